/// <reference lib="webworker" />
/**
 * The comparison worker: owns tfjs and a `Comparison` (several runs on one dataset, stepped
 * round-robin), reads their numbers in batches and posts throttled progress reports and kNN
 * evaluations. Pause and reset are handled between steps.
 */
import * as tf from '@tensorflow/tfjs';
import { shapesDataset } from '../data/shapes';
import { Comparison, type ComparisonRunSpec } from '../engine/comparison';
import type { DatasetSplits } from '../engine/dataset';
import { selectBackend } from './backend';
import type { CompareDataset, FromCompareWorker, ToCompareWorker } from './compare-protocol';
import type { RunState } from './protocol';
import { yieldToMessages } from './yield-to-messages';

declare const self: DedicatedWorkerGlobalScope;

/** Report at most this often, and at least every this many steps per run. */
const REPORT_INTERVAL_MS = 250;
const MAX_STEPS_PER_RUN_PER_REPORT = 20;
/** Largest built-in dataset a comparison may ask for: generation is on the CPU, the upload per run. */
const MAX_IMAGES = 20_000;

let comparison: Comparison | null = null;
let state: RunState = 'idle';
let looping = false;
/** Set by pause/reset; the loop stops after the current step, reports, then enters this state. */
let stopRequest: RunState | null = null;
let backendReady: Promise<unknown> | null = null;
let lastReport = { time: 0, images: 0 };
/** Images trained on by all runs since the comparison started. */
let imagesTrained = 0;

function post(message: FromCompareWorker): void {
  self.postMessage(message);
}

function setState(next: RunState, message: string | null = null): void {
  state = next;
  post({ type: 'state', state: next, message });
}

function loadDataset(source: CompareDataset, imageSize: number): DatasetSplits {
  const { trainCount, testCount } = source;
  const valid = (n: number, min: number) => Number.isInteger(n) && n >= min && n <= MAX_IMAGES;
  if (!valid(trainCount, 2) || !valid(testCount, 1)) {
    throw new Error(`The dataset needs 2 to ${MAX_IMAGES} training images and 1 to ${MAX_IMAGES} held-out images (asked for ${trainCount} and ${testCount}).`);
  }
  return shapesDataset({ trainCount, testCount, size: imageSize });
}

async function report(current: Comparison): Promise<void> {
  const updates = await current.flush();
  const now = performance.now();
  updates.forEach((update, i) => (imagesTrained += update.records.length * current.runs[i].trainer.settings.batchSize));
  const seconds = (now - lastReport.time) / 1000;
  const memory = tf.memory();
  post({
    type: 'progress',
    progress: {
      runs: updates,
      imagesPerSecond: seconds > 0 ? (imagesTrained - lastReport.images) / seconds : 0,
      tensors: memory.numTensors,
      bytes: memory.numBytes,
    },
  });
  lastReport = { time: now, images: imagesTrained };
}

function finishMessage(current: Comparison): string {
  const stopped = current.runs.filter((r) => r.status === 'diverged').map((r) => `"${r.name}"`);
  const all = `Finished: ${current.runs.length} run${current.runs.length === 1 ? '' : 's'}`;
  return stopped.length === 0 ? `${all}, every one to its last step.` : `${all}; ${stopped.join(', ')} stopped early (see the table).`;
}

async function compareLoop(): Promise<void> {
  if (looping) return;
  looping = true;
  lastReport = { time: performance.now(), images: imagesTrained };
  let stepsSinceReport = 0;
  try {
    while (state === 'running' && comparison && !stopRequest) {
      const current = comparison;
      if (current.finished) {
        await report(current);
        setState('finished', finishMessage(current));
        break;
      }
      const { evaluation } = await current.advance();
      stepsSinceReport += 1;
      if (evaluation) post({ type: 'evaluation', evaluation });
      const due = performance.now() - lastReport.time >= REPORT_INTERVAL_MS || stepsSinceReport >= MAX_STEPS_PER_RUN_PER_REPORT * current.runs.length;
      if (due) {
        await report(current);
        stepsSinceReport = 0;
      }
      await yieldToMessages();
    }
    // Whatever stopped the loop, the last steps' numbers reach the charts before the new state does.
    if (comparison && state !== 'finished') await report(comparison);
  } catch (error) {
    fail(error);
  } finally {
    looping = false;
    if (stopRequest) setState(stopRequest);
    stopRequest = null;
  }
}

function fail(error: unknown): void {
  setState('error', error instanceof Error ? error.message : String(error));
}

/** Stops the loop after its current step and frees the comparison. */
async function stopAndDispose(): Promise<void> {
  if (looping) stopRequest = 'idle';
  while (looping) await yieldToMessages();
  comparison?.dispose();
  comparison = null;
}

async function start(runs: ComparisonRunSpec[], source: CompareDataset, evaluations: number): Promise<void> {
  await (backendReady ?? handle({ type: 'init' }));
  await stopAndDispose();
  if (runs.length === 0) {
    setState('error', 'Add at least one run to compare.');
    return;
  }
  setState('loading', `Preparing data and building ${runs.length} run${runs.length === 1 ? '' : 's'}…`);
  // One copy of the data for every run, at the largest image size any run asks for.
  const data = loadDataset(source, Math.max(...runs.map((r) => r.config.imageSize)));
  post({
    type: 'dataset',
    summary: { name: data.name, trainCount: data.train.count, testCount: data.test?.count ?? 0, classNames: data.classNames, imageSize: data.train.size },
  });
  comparison = new Comparison(runs, data, { evaluations });
  imagesTrained = 0;
  setState('running', comparison.evaluationProblem);
  void compareLoop();
}

async function handle(message: ToCompareWorker): Promise<void> {
  switch (message.type) {
    case 'init':
      backendReady = selectBackend(message.backend).then((info) => post({ type: 'backend', info }));
      await backendReady;
      return;
    case 'start':
      await start(message.runs, message.dataset, message.evaluations);
      return;
    case 'pause':
      if (state === 'running') stopRequest = 'paused';
      return;
    case 'resume':
      if (comparison && state === 'paused' && !comparison.finished) {
        setState('running');
        void compareLoop();
      }
      return;
    case 'reset':
      await stopAndDispose();
      setState('idle');
      return;
  }
}

self.onmessage = (event: MessageEvent<ToCompareWorker>) => {
  handle(event.data).catch(fail);
};
