/// <reference lib="webworker" />
/**
 * The training worker: owns tfjs and the Trainer, runs steps back to back, reads their numbers in
 * batches and posts throttled progress reports. Messages from the UI (pause, settings) are handled
 * between steps.
 */
import * as tf from '@tensorflow/tfjs';
import { shapesDataset } from '../data/shapes';
import type { DatasetSplits } from '../engine/dataset';
import { METHODS } from '../engine/methods/registry';
import { Trainer, type StepRecord } from '../engine/trainer';
import { needsWarmUp, warmUpKernels } from '../engine/warmup';
import { selectBackend } from './backend';
import type { DatasetSource, FromWorker, RunState, ToWorker } from './protocol';

declare const self: DedicatedWorkerGlobalScope;

/** Read back and report at most this often, and at least every this many steps. */
const REPORT_INTERVAL_MS = 250;
const MAX_STEPS_PER_REPORT = 20;

let trainer: Trainer | null = null;
let state: RunState = 'idle';
let looping = false;
/** Set by pause/reset; the loop stops after the current step, reports, then enters this state. */
let stopRequest: RunState | null = null;
let lastReport = { time: 0, step: 0 };
let backendReady: Promise<unknown> | null = null;
/** Bumped by start and reset, so a start still warming up knows it was superseded. */
let runGeneration = 0;

function post(message: FromWorker): void {
  self.postMessage(message);
}

function setState(next: RunState, message: string | null = null): void {
  state = next;
  post({ type: 'state', state: next, message });
}

function loadDataset(source: DatasetSource, imageSize: number): DatasetSplits {
  switch (source.id) {
    case 'shapes':
      return shapesDataset({ size: imageSize });
  }
}

/** Lets queued messages (pause, settings) run between steps without the 4 ms timer clamp. */
function yieldToMessages(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(null);
  });
}

async function report(run: Trainer): Promise<StepRecord[]> {
  const records = await run.flush();
  if (records.length === 0) return records;
  const now = performance.now();
  const steps = run.steps - lastReport.step;
  const seconds = (now - lastReport.time) / 1000;
  const memory = tf.memory();
  post({
    type: 'progress',
    report: {
      records,
      step: run.steps,
      epoch: run.epochs,
      imagesPerSecond: seconds > 0 ? (steps * run.settings.batchSize) / seconds : 0,
      stepMilliseconds: steps > 0 ? (seconds * 1000) / steps : 0,
      tensors: memory.numTensors,
      bytes: memory.numBytes,
      embeddingDim: run.embeddingDim,
    },
  });
  lastReport = { time: now, step: run.steps };
  const bad = records.find((r) => !Number.isFinite(r.loss));
  if (bad) {
    setState(
      'paused',
      `The loss became ${bad.loss} at step ${bad.step}, so the run is paused. This usually means the learning rate is ` +
        'too high for this batch size or method. Lower it and resume, or reset the run.',
    );
  }
  return records;
}

async function trainLoop(): Promise<void> {
  if (looping) return;
  looping = true;
  lastReport = { time: performance.now(), step: trainer?.steps ?? 0 };
  try {
    while (state === 'running' && trainer && !stopRequest) {
      const run = trainer;
      if (run.finished) {
        await report(run);
        setState('finished', `Finished ${run.steps} steps.`);
        break;
      }
      run.step();
      const due = performance.now() - lastReport.time >= REPORT_INTERVAL_MS || run.steps - lastReport.step >= MAX_STEPS_PER_REPORT;
      if (due) await report(run);
      else await yieldToMessages();
    }
    // Whatever stopped the loop, the last steps' numbers reach the charts before the new state does.
    if (trainer) await report(trainer);
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

async function handle(message: ToWorker): Promise<void> {
  switch (message.type) {
    case 'init': {
      post({
        type: 'catalog',
        methods: METHODS.map((m) => ({
          id: m.id,
          label: m.label,
          family: m.family,
          explanation: m.explanation,
          uses: m.uses,
          defaults: { reference: m.defaults('reference'), classroom: m.defaults('classroom') },
        })),
      });
      backendReady = selectBackend(message.backend).then((info) => post({ type: 'backend', info }));
      await backendReady;
      return;
    }
    case 'start': {
      await (backendReady ?? handle({ type: 'init' }));
      if (looping) stopRequest = 'idle';
      while (looping) await yieldToMessages();
      trainer?.dispose();
      trainer = null;
      const generation = ++runGeneration;
      setState('loading', 'Preparing data and building the networks…');
      const data = loadDataset(message.dataset, message.config.imageSize);
      post({
        type: 'dataset',
        summary: {
          name: data.name,
          trainCount: data.train.count,
          testCount: data.test?.count ?? 0,
          classNames: data.classNames,
          imageSize: data.train.size,
        },
      });
      if (needsWarmUp()) {
        // Compile every kernel before the first visible step, so the first numbers are the real speed.
        setState('loading', 'Compiling the GPU kernels for this configuration…');
        await warmUpKernels(message.config, data);
        if (generation !== runGeneration) return; // reset or restarted meanwhile
      }
      trainer = new Trainer(message.config, data);
      setState('running');
      void trainLoop();
      return;
    }
    case 'pause':
      if (state === 'running') stopRequest = 'paused';
      return;
    case 'resume':
      if (trainer && (state === 'paused' || state === 'finished') && !trainer.finished) {
        setState('running');
        void trainLoop();
      }
      return;
    case 'step':
      if (trainer && state === 'paused' && !looping) {
        trainer.step();
        lastReport = { time: performance.now(), step: trainer.steps - 1 };
        await report(trainer);
      }
      return;
    case 'reset':
      runGeneration += 1;
      if (looping) stopRequest = 'idle';
      while (looping) await yieldToMessages();
      setState('idle');
      trainer?.dispose();
      trainer = null;
      return;
    case 'update':
      if (!trainer) return;
      try {
        trainer.updateSettings(message.changes);
        post({ type: 'settingsApplied', step: trainer.steps, changes: message.changes });
      } catch (error) {
        post({ type: 'settingsRejected', message: error instanceof Error ? error.message : String(error) });
      }
      return;
  }
}

self.onmessage = (event: MessageEvent<ToWorker>) => {
  handle(event.data).catch(fail);
};
