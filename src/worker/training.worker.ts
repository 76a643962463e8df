/// <reference lib="webworker" />
/**
 * The training worker: owns tfjs and the Trainer, runs steps back to back, reads their numbers in
 * batches and posts throttled progress reports. Messages from the UI (pause, settings) are handled
 * between steps.
 */
import * as tf from '@tensorflow/tfjs';
import { LoadCancelled } from '../data/folder-loader';
import { checkpointBuffers, type Checkpoint } from '../engine/checkpoint-format';
import type { DatasetSplits } from '../engine/dataset';
import { exportEncoder } from '../engine/export';
import { runFileBaseName } from '../engine/run-names';
import { DEFAULT_EVALUATION } from '../engine/evaluation';
import { methodCatalog } from '../engine/methods/catalog';
import { Trainer, type StepRecord } from '../engine/trainer';
import { needsWarmUp, warmUpKernels } from '../engine/warmup';
import { selectBackend } from './backend';
import { WorkerDatasets } from './datasets';
import { renderPreview } from './preview';
import type { DatasetSource, FromWorker, PreviewRequest, RunState, ToWorker } from './protocol';
import { RunMetrics } from './run-metrics';
import { yieldToMessages } from './yield-to-messages';

declare const self: DedicatedWorkerGlobalScope;

/** Read back and report at most this often, and at least every this many steps. */
const REPORT_INTERVAL_MS = 250;
const MAX_STEPS_PER_REPORT = 20;
/** A checkpoint goes to the page (which keeps it in IndexedDB) at least this often, and on every pause. */
const CHECKPOINT_EVERY_STEPS = 100;

let trainer: Trainer | null = null;
let metrics: RunMetrics | null = null;
let state: RunState = 'idle';
let looping = false;
/** Set by pause/reset; the loop stops after the current step, reports, then enters this state. */
let stopRequest: RunState | null = null;
let lastReport = { time: 0, step: 0 };
let backendReady: Promise<unknown> | null = null;
/** Name of the data the current run trains on, for export metadata. */
let datasetName: string | null = null;
let lastCheckpointStep = 0;
/** False once a reported loss is NaN or infinite: such weights are not worth a checkpoint. */
let lossFinite = true;
/** Bumped by start and reset, so a start still warming up knows it was superseded. */
let runGeneration = 0;

function post(message: FromWorker): void {
  self.postMessage(message);
}

/** Tensors and bytes tfjs holds, and the GPU's share where the backend reports it (WebGL, WebGPU). */
function deviceMemory(): { tensors: number; bytes: number; gpuBytes: number | null } {
  const memory = tf.memory() as ReturnType<typeof tf.memory> & { numBytesInGPU?: number };
  return { tensors: memory.numTensors, bytes: memory.numBytes, gpuBytes: memory.numBytesInGPU ?? null };
}

function postDatasetSummary(data: DatasetSplits, run: Trainer): void {
  datasetName = data.name;
  post({
    type: 'dataset',
    summary: {
      name: data.name,
      trainCount: data.train.count,
      testCount: data.test?.count ?? 0,
      classNames: data.classNames,
      imageSize: data.train.size,
      deviceBytes: run.trainImages.bytes,
    },
  });
}

function setState(next: RunState, message: string | null = null): void {
  state = next;
  post({ type: 'state', state: next, message });
}

const datasets = new WorkerDatasets(post);

/** Only the latest preview request waiting while one is drawn is kept: settings change faster than previews draw. */
let previewing = false;
let nextPreview: PreviewRequest | null = null;

async function preview(request: PreviewRequest): Promise<void> {
  nextPreview = request;
  if (previewing) return;
  previewing = true;
  try {
    await (backendReady ?? handle({ type: 'init' }));
    while (nextPreview) {
      const current = nextPreview;
      nextPreview = null;
      const data = datasets.current;
      if (data) post({ type: 'preview', preview: await renderPreview(data, current) });
    }
  } finally {
    previewing = false;
  }
}

async function report(run: Trainer): Promise<StepRecord[]> {
  const records = await run.flush();
  if (records.length === 0) return records;
  const now = performance.now();
  const steps = run.steps - lastReport.step;
  const seconds = (now - lastReport.time) / 1000;
  const memory = deviceMemory();
  post({
    type: 'progress',
    report: {
      records,
      step: run.steps,
      epoch: run.epochs,
      imagesPerSecond: seconds > 0 ? (steps * run.settings.batchSize) / seconds : 0,
      stepMilliseconds: steps > 0 ? (seconds * 1000) / steps : 0,
      ...memory,
      embeddingDim: run.embeddingDim,
      elapsedSeconds: metrics?.elapsedSeconds ?? 0,
    },
  });
  lastReport = { time: now, step: run.steps };
  const bad = records.find((r) => !Number.isFinite(r.loss));
  lossFinite = !bad;
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
      // Always let queued messages (pause, settings) in: on the CPU backend report() never yields to them.
      await yieldToMessages();
      if (run.steps - lastCheckpointStep >= CHECKPOINT_EVERY_STEPS) void postCheckpoint(run);
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
    if (trainer && (state === 'paused' || state === 'finished')) void postCheckpoint(trainer);
  }
}

function fail(error: unknown): void {
  setState('error', error instanceof Error ? error.message : String(error));
}

async function handle(message: ToWorker): Promise<void> {
  switch (message.type) {
    case 'init': {
      post({ type: 'catalog', methods: methodCatalog() });
      backendReady = selectBackend(message.backend).then((info) => post({ type: 'backend', info }));
      await backendReady;
      return;
    }
    case 'start': {
      await (backendReady ?? handle({ type: 'init' }));
      await stopAndDispose();
      const generation = ++runGeneration;
      setState('loading', 'Preparing data and building the networks…');
      let data: DatasetSplits;
      try {
        data = await datasets.ensure(message.dataset, message.config.imageSize);
      } catch (error) {
        if (error instanceof LoadCancelled) return setState('idle', 'Loading was cancelled.');
        throw error;
      }
      if (needsWarmUp()) {
        // Compile every kernel before the first visible step, so the first numbers are the real speed.
        setState('loading', 'Compiling the GPU kernels for this configuration…');
        await warmUpKernels(message.config, data);
        if (generation !== runGeneration) return; // reset or restarted meanwhile
      }
      trainer = new Trainer(message.config, data);
      postDatasetSummary(data, trainer);
      lastCheckpointStep = 0;
      lossFinite = true;
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
      runGeneration += 1;
      await stopAndDispose();
      setState('idle');
      return;
    case 'exportEncoder':
      await exportTrainedEncoder();
      return;
    case 'exportEmbeddings':
      await exportHeldOutEmbeddings();
      return;
    case 'restore':
      await restoreRun(message.checkpoint, message.dataset, message.name);
      return;
    case 'update':
      if (!trainer) return;
      try {
        trainer.updateSettings(message.changes);
        post({ type: 'settingsApplied', step: trainer.steps, changes: message.changes });
        // While paused no interval checkpoint will come: save now so a reload keeps the change.
        if (state === 'paused') void postCheckpoint(trainer);
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
    case 'loadDataset':
      await datasets.request(message.source, message.imageSize);
      return;
    case 'folderFiles':
      datasets.receiveFiles(message.files, message.first);
      return;
    case 'openFolder':
      await datasets.openFolder(message.name, message.imageSize);
      return;
    case 'cancelLoad':
      datasets.cancel();
      return;
    case 'preview':
      await preview(message.request);
      return;
  }
}

/** Sends a checkpoint of `run` to the page, unless the run was replaced while it was read back. */
async function postCheckpoint(run: Trainer): Promise<void> {
  if (!lossFinite) return;
  lastCheckpointStep = run.steps;
  try {
    const checkpoint = await run.saveCheckpoint();
    if (run !== trainer) return;
    const message: FromWorker = { type: 'checkpoint', checkpoint };
    self.postMessage(message, checkpointBuffers(checkpoint));
  } catch (error) {
    if (run === trainer) post({ type: 'checkpointFailed', message: `Could not save a checkpoint: ${error instanceof Error ? error.message : String(error)}` });
  }
}

/** Stops the training loop after its current step and frees the run (metrics first: they read the trainer). */
async function stopAndDispose(): Promise<void> {
  if (looping) stopRequest = 'idle';
  while (looping) await yieldToMessages();
  metrics?.dispose();
  metrics = null;
  trainer?.dispose();
  trainer = null;
}

/** Rebuilds a saved run: same data, networks built from the checkpoint's configuration, then its state. */
async function restoreRun(checkpoint: Checkpoint, source: DatasetSource, name: string): Promise<void> {
  await (backendReady ?? handle({ type: 'init' }));
  const evaluation = metrics?.settings ?? DEFAULT_EVALUATION;
  await stopAndDispose();
  setState('loading', `Loading "${name}" from its checkpoint…`);
  const config = checkpoint.config;
  const data = await datasets.ensure(source, config.imageSize);
  const restored = new Trainer(config, data);
  postDatasetSummary(data, restored);
  try {
    restored.restoreCheckpoint(checkpoint);
  } catch (error) {
    restored.dispose();
    throw error;
  }
  trainer = restored;
  metrics = new RunMetrics(restored, evaluation, post);
  lastCheckpointStep = restored.steps;
  lossFinite = true;
  post({
    type: 'progress',
    report: {
      records: [],
      step: restored.steps,
      epoch: restored.epochs,
      imagesPerSecond: 0,
      stepMilliseconds: 0,
      ...deviceMemory(),
      embeddingDim: restored.embeddingDim,
      elapsedSeconds: 0,
    },
  });
  setState(restored.finished ? 'finished' : 'paused', `Restored "${name}" at step ${restored.steps}.${restored.finished ? '' : ' Press Resume to continue training.'}`);
}

/** Builds the LayersModel files between steps; the weights are copied at once, so training may go on meanwhile. */
async function exportTrainedEncoder(): Promise<void> {
  if (!trainer) {
    post({ type: 'exportFailed', message: 'There is no encoder to export yet: start a run first.' });
    return;
  }
  const run = trainer;
  try {
    const config = run.settings;
    const baseName = runFileBaseName(config, run.steps);
    const files = await exportEncoder(run.method.encoder, config.imageSize, baseName, {
      generatedBy: 'Siamese Playground',
      method: run.definition.label,
      step: run.steps,
      dataset: datasetName,
      config,
    });
    const message: FromWorker = { type: 'encoderExported', files: { ...files, baseName } };
    self.postMessage(message, [files.weights]);
  } catch (error) {
    post({ type: 'exportFailed', message: `Exporting the encoder failed: ${error instanceof Error ? error.message : String(error)}` });
  }
}

/** The held-out features of the last evaluation, for the Embedding Projector. */
async function exportHeldOutEmbeddings(): Promise<void> {
  if (!metrics) {
    post({ type: 'exportFailed', message: 'There are no embeddings yet: start a run first.' });
    return;
  }
  try {
    const embeddings = await metrics.embeddings();
    const message: FromWorker = { type: 'embeddingsExported', embeddings };
    self.postMessage(message, [embeddings.vectors.buffer]);
  } catch (error) {
    post({ type: 'exportFailed', message: error instanceof Error ? error.message : String(error) });
  }
}

self.onmessage = (event: MessageEvent<ToWorker>) => {
  handle(event.data).catch(fail);
};
