/// <reference lib="webworker" />
/**
 * The training worker: owns tfjs and the Trainer, runs steps back to back, reads their numbers in
 * batches and posts throttled progress reports. Messages from the UI (pause, settings) are handled
 * between steps.
 */
import * as tf from '@tensorflow/tfjs';
import { shapesDataset } from '../data/shapes';
import type { DatasetSplits } from '../engine/dataset';
import { DEFAULT_EVALUATION } from '../engine/evaluation';
import { METHODS } from '../engine/methods/registry';
import { Trainer, type StepRecord } from '../engine/trainer';
import { selectBackend } from './backend';
import type { DatasetSource, FromWorker, RunState, ToWorker } from './protocol';
import { RunMetrics } from './run-metrics';

declare const self: DedicatedWorkerGlobalScope;

/** Read back and report at most this often, and at least every this many steps. */
const REPORT_INTERVAL_MS = 250;
const MAX_STEPS_PER_REPORT = 20;

let trainer: Trainer | null = null;
let metrics: RunMetrics | null = null;
let state: RunState = 'idle';
let looping = false;
/** Set by pause/reset; the loop stops after the current step, reports, then enters this state. */
let stopRequest: RunState | null = null;
let lastReport = { time: 0, step: 0 };
let backendReady: Promise<unknown> | null = null;

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
  const memory = tf.memory() as ReturnType<typeof tf.memory> & { numBytesInGPU?: number };
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
      gpuBytes: memory.numBytesInGPU ?? null,
      embeddingDim: run.embeddingDim,
      elapsedSeconds: metrics?.elapsedSeconds ?? 0,
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
  metrics?.clock.start();
  try {
    while (state === 'running' && trainer && !stopRequest) {
      const run = trainer;
      if (metrics?.due()) {
        await report(run);
        await metrics.evaluate();
        lastReport = { time: performance.now(), step: run.steps };
        continue;
      }
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
    metrics?.clock.stop();
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
      metrics?.dispose();
      metrics = null;
      trainer?.dispose();
      trainer = null;
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
      trainer = new Trainer(message.config, data);
      metrics = new RunMetrics(trainer, message.evaluation ?? DEFAULT_EVALUATION, post);
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
        metrics?.clock.start();
        trainer.step();
        lastReport = { time: performance.now(), step: trainer.steps - 1 };
        await report(trainer);
        if (metrics?.due()) await metrics.evaluate();
        metrics?.clock.stop();
      }
      return;
    case 'reset':
      if (looping) stopRequest = 'idle';
      while (looping) await yieldToMessages();
      setState('idle');
      metrics?.dispose();
      metrics = null;
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
    case 'evaluationSettings':
      if (!metrics) return;
      try {
        metrics.updateSettings(message.changes);
      } catch (error) {
        post({ type: 'settingsRejected', message: error instanceof Error ? error.message : String(error) });
      }
      return;
    case 'evaluateNow':
      if (!metrics || !trainer) return;
      if (looping) metrics.request();
      else {
        await report(trainer);
        await metrics.evaluate();
      }
      return;
    case 'neighbours':
      await metrics?.neighbours(message.row);
      return;
  }
}

self.onmessage = (event: MessageEvent<ToWorker>) => {
  handle(event.data).catch(fail);
};
