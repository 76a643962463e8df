/**
 * What a training worker does, apart from being a worker: it owns tfjs, the datasets and one
 * `RunSession`, answers the page's messages (protocol.ts) between steps, and posts reports,
 * evaluations and checkpoints. The Train tab's worker hosts a session of one run, Compare's a
 * session of several; both are this host. `post` is the only way out, so tests drive a host in
 * Node exactly as the page drives the worker.
 */
import * as tf from '@tensorflow/tfjs';
import { LoadCancelled, type ImageDecoder } from '../data/folder-loader';
import { folderClassOf } from '../data/layout';
import { checkpointBuffers, type Checkpoint } from '../engine/checkpoint-format';
import type { TrainConfig } from '../engine/config';
import type { DatasetSplits } from '../engine/dataset';
import { estimateTrainingMemory } from '../engine/memory-estimate';
import type { EvaluationSettings } from '../engine/evaluation-settings';
import { exportEncoder } from '../engine/export';
import { LabellingRounds, activeLearningProblem, simulateActiveLearning } from '../engine/active-learning';
import { methodCatalog } from '../engine/methods/catalog';
import { buildPytorchProject, loadRunWeights, methodWeights, pytorchExportProblem } from '../engine/pytorch-export';
import { decodeSafetensors } from '../engine/safetensors';
import { getMethod } from '../engine/methods/registry';
import { RunSession, type RunSpec, type SessionOptions } from '../engine/run-session';
import { runFileBaseName } from '../engine/run-names';
import { backendMemoryLimit, chooseBackend, defaultBackend, destroyGpuDevice, probeBackends, watchGpuDevice } from './backend';
import { capMemory, isAllocationFailure } from './memory-cap';
import type { BackendMeasurement, BackendName, BackendRequest } from './backend-labels';
import { WorkerDatasets } from './datasets';
import { PYTORCH_SOURCES } from './pytorch-sources';
import { renderPreview, storedImageRgba } from './preview';
import { LABELLING_MAP_SUGGESTED, LABELLING_MAP_UNLABELLED, LABELS_ONLY_SERIES, assertNever, type ActiveLearningRequest, type DatasetSource, type LabellingCycleRequest, type DeviceMemory, type FromWorker, type PreviewRequest, type RunState, type ToWorker } from './protocol';
import { yieldToMessages } from './yield-to-messages';

export type Post = (message: FromWorker, transfer?: Transferable[]) => void;

/** Read back and report at most this often, and at least every this many steps of any run. */
const REPORT_INTERVAL_MS = 250;
const MAX_STEPS_PER_REPORT = 20;
/** A checkpoint goes to the page (which keeps it in IndexedDB) at least this often, and on every pause. */
const CHECKPOINT_EVERY_STEPS = 100;

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function deviceMemory(): DeviceMemory {
  const memory = tf.memory() as ReturnType<typeof tf.memory> & { numBytesInGPU?: number };
  return { tensors: memory.numTensors, bytes: memory.numBytes, gpuBytes: memory.numBytesInGPU ?? null };
}

export class SessionHost {
  private session: RunSession | null = null;
  private state: RunState = 'idle';
  private backendReady: Promise<unknown> | null = null;
  /** What this browser offers, found at init. */
  private backends: BackendMeasurement[] = [];
  private readonly datasets: WorkerDatasets;
  /** Bumped by start, restore and reset, so work still warming up knows it was superseded. */
  private generation = 0;
  private checkpoints = false;
  private lastCheckpointStep = 0;
  /** Name of the data the session trains on, for export metadata. */
  private datasetName: string | null = null;
  /** Only the latest preview request waiting while one is drawn is kept: settings change faster than previews draw. */
  private previewing = false;
  private nextPreview: PreviewRequest | null = null;
  /** The memory estimate being measured: a start or restore waits for it, so the two never share the backend. */
  private estimating: Promise<void> = Promise.resolve();
  /** Your own folder's labelling rounds: kept (warm start) while the folder, its classes and the settings stay the same. */
  private labelling: { data: DatasetSplits; key: string; rounds: LabellingRounds } | null = null;

  /** `decode`: how folder images are decoded (the browser's codecs unless a test in Node passes its own). */
  constructor(
    private readonly post: Post,
    decode?: ImageDecoder,
  ) {
    this.datasets = new WorkerDatasets((message) => post(message), decode);
  }

  /** Handles one message from the page; a failure puts the host in the error state with its message. */
  async handle(message: ToWorker): Promise<void> {
    try {
      await this.dispatch(message);
    } catch (error) {
      this.setState('error', messageOf(error));
    }
  }

  private async dispatch(message: ToWorker): Promise<void> {
    switch (message.type) {
      case 'init':
        this.post({ type: 'catalog', methods: methodCatalog() });
        this.backendReady = (async () => {
          this.backends = await probeBackends();
          this.post({ type: 'backends', backends: this.backends });
          this.post({ type: 'backend', info: await defaultBackend(this.backends, message.backend) });
          this.watchDevice();
        })();
        await this.backendReady;
        return;
      case 'start':
        await this.start(message);
        return;
      case 'pause':
        this.session?.pause();
        return;
      case 'resume':
        if (this.session && this.state === 'paused' && !this.session.finished) void this.train();
        return;
      case 'step': {
        const session = this.session;
        if (session && this.state === 'paused' && !session.running) {
          try {
            await session.stepOnce();
          } catch (error) {
            return this.failed(session, error);
          }
          if (session.finished) this.finish();
        }
        return;
      }
      case 'reset':
        this.generation += 1;
        await this.stopAndDispose();
        this.setState('idle');
        return;
      case 'update':
        this.updateSettings(message.changes);
        return;
      case 'exportEncoder':
        await this.exportEncoder();
        return;
      case 'exportEmbeddings':
        await this.exportEmbeddings();
        return;
      case 'exportPytorch':
        await this.exportPytorch();
        return;
      case 'importWeights':
        await this.importWeights(message.data);
        return;
      case 'restore':
        await this.restore(message.checkpoint, message.dataset, message.name, message.evaluation, message.backend, message.train ?? false);
        return;
      case 'loadDataset':
        await this.datasets.request(message.source, message.imageSize);
        return;
      case 'folderFiles':
        this.datasets.receiveFiles(message.files, message.first);
        return;
      case 'openFolder':
        await this.datasets.openFolder(message.name, message.imageSize, message.asFlat ?? false);
        return;
      case 'cancelLoad':
        this.datasets.cancel();
        return;
      case 'preview':
        await this.preview(message.request);
        return;
      case 'evaluationSettings':
        try {
          this.session?.updateEvaluation(message.changes);
        } catch (error) {
          this.post({ type: 'settingsRejected', message: messageOf(error) });
        }
        return;
      case 'evaluateNow':
        await this.session?.requestEvaluation();
        return;
      case 'neighbours':
        await this.neighbours(message.row);
        return;
      case 'activeLearning':
        await this.activeLearning(message.request);
        return;
      case 'labellingCycle':
        await this.labellingCycle(message.request);
        return;
      case 'estimateMemory':
        this.estimating = this.estimating.then(() => this.estimateMemory(message.config));
        await this.estimating;
        return;
      case 'simulateDeviceLoss':
        if (!destroyGpuDevice()) this.post({ type: 'settingsRejected', message: `There is no GPU device to lose: this worker trains on ${tf.getBackend()}, not WebGPU.` });
        return;
      case 'capMemory':
        capMemory(message.bytes);
        return;
      default:
        assertNever(message);
    }
  }

  private setState(next: RunState, message: string | null = null): void {
    this.state = next;
    this.post({ type: 'state', state: next, message });
  }

  private ready(): Promise<unknown> {
    return this.backendReady ?? this.dispatch({ type: 'init' });
  }

  private async start({ runs, dataset: source, backend, evaluation, evaluationsPerRun, untrainedReference, checkpoints }: Extract<ToWorker, { type: 'start' }>): Promise<void> {
    await this.ready();
    await this.estimating;
    await this.stopAndDispose();
    const generation = ++this.generation;
    if (runs.length === 0) return this.setState('error', 'Add at least one run.');
    this.setState('loading', runs.length === 1 ? 'Preparing data and building the networks…' : `Preparing data and building ${runs.length} runs…`);
    // One copy of the data for every run, at the largest image size any run asks for.
    const data = await this.loadData(source, Math.max(...runs.map((r) => r.config.imageSize)));
    if (!data || generation !== this.generation) return;
    await this.useBackend(backend, runs[0].config, data);
    if (generation !== this.generation) return;
    const session = this.createSession(runs, data, evaluation, { evaluationsPerRun, untrainedReference });
    this.checkpoints = checkpoints;
    this.lastCheckpointStep = 0;
    if ((await this.warmUp(session)) && generation === this.generation) {
      this.session = session;
      void this.train(session.knnProblem);
    } else await session.dispose();
  }

  /**
   * A simulated active-learning experiment: each series in turn, one cycle message after each cycle.
   * A start, restore or reset sent meanwhile takes over once the cycle in progress is done.
   */
  private async activeLearning(request: ActiveLearningRequest): Promise<void> {
    await this.ready();
    await this.estimating;
    await this.stopAndDispose();
    const generation = ++this.generation;
    const base = { ...getMethod('mobyv2al').defaults('classroom'), seed: request.seed, imageSize: request.imageSize, batchSize: request.batchSize };
    const series = [
      ...request.strategies.map((strategy) => ({ name: strategy, strategy, config: base })),
      ...(request.labelsOnly ? [{ name: LABELS_ONLY_SERIES, strategy: 'random' as const, config: { ...base, options: { ...base.options, mobyWeight: 0 } } }] : []),
    ];
    if (series.length === 0) return this.setState('error', 'Choose at least one strategy or the labels-only baseline.');
    this.setState('loading', 'Preparing data…');
    const data = await this.loadData(request.dataset, base.imageSize);
    if (!data || generation !== this.generation) return;
    const { initial, budget, cycles, stepsPerCycle, reinitialise } = request;
    const problem = activeLearningProblem({ config: base, strategy: 'random', initial, budget, cycles, stepsPerCycle, reinitialise }, data);
    if (problem) return this.setState('error', problem);
    await this.useBackend(request.backend, base, data);
    for (const { name, strategy, config } of series) {
      if (generation !== this.generation) return;
      this.setState('running', `Active learning: ${name}…`);
      await simulateActiveLearning({ config, strategy, initial, budget, cycles, stepsPerCycle, reinitialise }, data, (result) => {
        if (generation !== this.generation) return;
        const { cycle, labelled, accuracy, perClassLabels, reveals } = result;
        this.post({ type: 'activeLearningCycle', series: name, point: { cycle, labelled, accuracy, perClassLabels, reveals }, classNames: data.classNames });
      });
    }
    if (generation === this.generation) this.setState('finished', `Finished ${series.length} series of ${cycles} cycles.`);
  }

  /**
   * One cycle on your own folder: the labels given so far (by path; a path given twice keeps its last
   * label), plus the folder's own class sub-folders for images not labelled by hand, train MoBYv2AL
   * on from the previous cycle; then the suggestions go to the page with their thumbnails.
   */
  private async labellingCycle(request: LabellingCycleRequest): Promise<void> {
    await this.ready();
    await this.estimating;
    await this.stopAndDispose(true);
    const generation = ++this.generation;
    this.setState('loading', 'Preparing the folder…');
    const data = await this.loadData({ kind: 'folder', name: request.folder }, request.imageSize);
    if (!data || generation !== this.generation) return;
    const paths = this.datasets.trainPaths;
    if (!paths) return this.setState('error', `"${request.folder}" is not open in this tab: open it again (your labels are kept).`);
    const { classNames, strategy, budget, stepsPerCycle, plannedCycles, seed, imageSize, batchSize } = request;
    const key = JSON.stringify([classNames, strategy, budget, stepsPerCycle, plannedCycles, seed, imageSize, batchSize]);
    if (!this.labelling || this.labelling.data !== data || this.labelling.key !== key) {
      await this.labelling?.rounds.dispose();
      this.labelling = null;
      const config = { ...getMethod('mobyv2al').defaults('classroom'), seed, imageSize, batchSize };
      const rounds = new LabellingRounds({ config, strategy, budget, stepsPerCycle, plannedCycles }, { name: data.name, classNames, train: { ...data.train, labels: null }, test: null });
      await this.useBackend(request.backend, config, data);
      this.labelling = { data, key, rounds };
    }
    const { rounds } = this.labelling;
    const indexOf = new Map(paths.map((path, index) => [path, index]));
    const labelOf = new Map<number, number>();
    let elsewhere = 0;
    for (const { path, label } of request.labels) {
      const index = indexOf.get(path);
      if (index === undefined) elsewhere += 1;
      else labelOf.set(index, label);
    }
    let fromFolder = 0;
    paths.forEach((path, index) => {
      const folderClass = folderClassOf(path);
      const label = folderClass === null ? -1 : classNames.indexOf(folderClass);
      if (labelOf.has(index) || label < 0) return;
      labelOf.set(index, label);
      fromFolder += 1;
    });
    this.setState('running', `Cycle ${rounds.completedCycles + 1}: training on ${labelOf.size} labelled images and every other one…`);
    const result = await rounds.cycle({ indices: Int32Array.from(labelOf.keys()), labels: Int32Array.from(labelOf.values()) });
    if (generation !== this.generation) return;
    const notes = [...result.notes];
    const suggested = new Set(result.selected);
    const kinds = Int32Array.from(result.map.indices, (index) => labelOf.get(index) ?? (suggested.has(index) ? LABELLING_MAP_SUGGESTED : LABELLING_MAP_UNLABELLED));
    if (elsewhere > 0) notes.push(`${elsewhere} of your labels name images that are not among this folder's training images (moved, renamed or held out); they are kept, not trained on.`);
    this.post({
      type: 'labellingSuggestions',
      result: {
        cycle: result.cycle,
        trainedWith: result.trainedWith,
        fromFolder,
        perClassLabels: result.perClassLabels,
        unlabelled: result.unlabelled,
        trainCount: data.train.count,
        size: data.train.size,
        suggestions: Array.from(result.selected, (index) => ({ path: paths[index], pixels: storedImageRgba(data.train, index) })),
        notes,
        map: { x: result.map.x, y: result.map.y, kinds },
      },
    });
    this.setState('finished', `Cycle ${result.cycle} trained on ${result.trainedWith} labelled images; ${result.selected.length} suggested.`);
  }

  /** Sets the backend a run trains on (measuring the candidates where asked) and tells the page. */
  private async useBackend(request: BackendRequest, config: TrainConfig, data: DatasetSplits): Promise<void> {
    if (request.kind === 'fastest' && request.remembered === null) this.setState('loading', 'Timing a few steps on each backend to pick the fastest…');
    this.post({ type: 'backend', info: await chooseBackend(request, this.backends, config, data) });
    this.watchDevice();
  }

  /** A lost WebGPU device or a GPU allocation failure interrupts the run, as the page expects. */
  private watchDevice(): void {
    watchGpuDevice(
      (detail) => void this.interrupt('device', detail),
      (detail) => void this.interrupt('memory', detail),
    );
  }

  /** A step failed: out of memory interrupts the run (the page offers its last checkpoint), anything else is an error. */
  private failed(session: RunSession, error: unknown): void {
    if (this.session !== session) return;
    if (isAllocationFailure(error)) void this.interrupt('memory', messageOf(error));
    else this.setState('error', messageOf(error));
  }

  /**
   * Ends the session after a fault the page recovers from, and says at which step. A lost device may
   * fail or never answer while its tensors are freed, so the page hears first and the freeing is not awaited.
   */
  private async interrupt(cause: 'device' | 'memory', detail: string): Promise<void> {
    const session = this.session;
    if (!session) return;
    this.generation += 1;
    this.session = null;
    this.post({ type: 'runInterrupted', cause, step: session.run().trainer.steps, detail });
    this.state = 'idle';
    session.dispose().catch(() => {});
  }

  /** The dataset, or null when loading was cancelled (the state says so). */
  private async loadData(source: DatasetSource, imageSize: number): Promise<DatasetSplits | null> {
    try {
      return await this.datasets.ensure(source, imageSize);
    } catch (error) {
      if (error instanceof LoadCancelled) {
        this.setState('idle', 'Loading was cancelled.');
        return null;
      }
      throw error;
    }
  }

  private createSession(runs: RunSpec[], data: DatasetSplits, evaluation: EvaluationSettings | null, compare: Pick<SessionOptions, 'evaluationsPerRun' | 'untrainedReference'> = {}): RunSession {
    const session = new RunSession(
      runs,
      data,
      { evaluation, ...compare, reportEverySteps: MAX_STEPS_PER_REPORT, reportIntervalMs: REPORT_INTERVAL_MS, betweenSteps: yieldToMessages, gradientsEvery: evaluation?.gradientsEvery ?? 0 },
      {
        report: (report) => {
          if (this.session !== session) return;
          this.post({ type: 'progress', report, memory: deviceMemory() });
          if (this.checkpoints && session.run().trainer.steps - this.lastCheckpointStep >= CHECKPOINT_EVERY_STEPS) void this.postCheckpoint(session);
        },
        evaluation: (evaluation) => {
          if (this.session === session) this.post({ type: 'evaluation', ...evaluation });
        },
      },
    );
    this.datasetName = data.name;
    this.post({
      type: 'dataset',
      summary: { name: data.name, trainCount: data.train.count, testCount: data.test?.count ?? 0, classNames: data.classNames, imageSize: data.train.size, deviceBytes: session.trainImages.bytes },
    });
    return session;
  }

  /** Compiles the GPU kernels before the first visible step; false when the session was replaced meanwhile. */
  private async warmUp(session: RunSession): Promise<boolean> {
    const generation = this.generation;
    this.setState('loading', 'Compiling the kernels for this configuration…');
    await session.warmUp();
    return generation === this.generation;
  }

  private async train(note: string | null = null): Promise<void> {
    const session = this.session;
    if (!session || session.running) return;
    this.setState('running', note);
    try {
      const outcome = await session.train();
      if (this.session !== session) return;
      if (outcome === 'finished') this.finish();
      else this.setState('paused');
      if (this.checkpoints) void this.postCheckpoint(session);
    } catch (error) {
      this.failed(session, error);
    }
  }

  /** Every run is done: finished, or stopped by a diverged loss (which the message says). */
  private finish(): void {
    const session = this.session!;
    const stopped = session.runs.filter((r) => r.status === 'diverged');
    if (session.runs.length === 1) {
      const run = session.runs[0];
      this.setState('finished', run.problem ?? `Finished ${run.trainer.steps} steps.`);
      return;
    }
    const all = `Finished: ${session.runs.length} runs`;
    this.setState('finished', stopped.length === 0 ? `${all}, every one to its last step.` : `${all}; ${stopped.map((r) => `"${r.name}"`).join(', ')} stopped early (see the table).`);
  }

  private updateSettings(changes: Parameters<RunSession['updateSettings']>[1]): void {
    const session = this.session;
    if (!session) return;
    try {
      session.updateSettings(undefined, changes);
      this.post({ type: 'settingsApplied', step: session.run().trainer.steps, changes });
      // While paused no interval checkpoint will come: save now so a reload keeps the change.
      if (this.state === 'paused' && this.checkpoints) void this.postCheckpoint(session);
    } catch (error) {
      this.post({ type: 'settingsRejected', message: messageOf(error) });
    }
  }

  /** Sends the first run's checkpoint to the page, unless its loss is not finite or the session was replaced meanwhile. */
  private async postCheckpoint(session: RunSession): Promise<void> {
    const run = session.run();
    if (run.status === 'diverged') return;
    this.lastCheckpointStep = run.trainer.steps;
    try {
      const checkpoint = await run.trainer.saveCheckpoint();
      if (this.session !== session) return;
      this.post({ type: 'checkpoint', checkpoint }, checkpointBuffers(checkpoint));
    } catch (error) {
      if (this.session === session) this.post({ type: 'checkpointFailed', message: `Could not save a checkpoint: ${messageOf(error)}` });
    }
  }

  /** Stops training after its current step and frees the session (and the labelling rounds, unless kept for their next cycle). */
  private async stopAndDispose(keepLabelling = false): Promise<void> {
    const session = this.session;
    this.session = null;
    await session?.dispose();
    if (keepLabelling) return;
    const labelling = this.labelling;
    this.labelling = null;
    await labelling?.rounds.dispose();
  }

  /** Rebuilds a saved run: same data, networks built from the checkpoint's configuration, then its state. */
  private async restore(checkpoint: Checkpoint, source: DatasetSource, name: string, evaluation: EvaluationSettings, backend: BackendRequest, train: boolean): Promise<void> {
    await this.ready();
    await this.estimating;
    await this.stopAndDispose();
    const generation = ++this.generation;
    this.setState('loading', `Loading "${name}" from its checkpoint…`);
    const config = checkpoint.config;
    const data = await this.loadData(source, config.imageSize);
    if (!data || generation !== this.generation) return;
    await this.useBackend(backend, config, data);
    if (generation !== this.generation) return;
    const session = this.createSession([{ id: 'run', name, config }], data, evaluation);
    try {
      session.restore(undefined, checkpoint);
    } catch (error) {
      await session.dispose();
      throw error;
    }
    this.session = session;
    this.checkpoints = true;
    const run = session.run();
    this.lastCheckpointStep = run.trainer.steps;
    // The restored step on the status bar before any new one.
    await session.report(true);
    const finished = run.trainer.finished;
    if (train && !finished) return void this.train(`Restored "${name}" at step ${run.trainer.steps}; training on.`);
    this.setState(finished ? 'finished' : 'paused', `Restored "${name}" at step ${run.trainer.steps}.${finished ? '' : ' Press Resume to continue training.'}`);
  }

  /**
   * Measures what a run of `config` would need on the current backend and the loaded dataset. Only
   * while nothing trains: a running session's own allocations would be counted, and it would be slowed.
   */
  private async estimateMemory(config: TrainConfig): Promise<void> {
    await this.ready();
    const data = this.datasets.current;
    if (this.session?.running || this.state === 'loading' || !data || data.train.size !== config.imageSize) return;
    try {
      const estimate = await estimateTrainingMemory(config, data);
      this.post({ type: 'memoryEstimate', config, estimate: { ...estimate, backend: tf.getBackend() as BackendName, limitBytes: backendMemoryLimit() }, problem: null });
    } catch (error) {
      this.post({ type: 'memoryEstimate', config, estimate: null, problem: messageOf(error) });
    }
  }

  private async preview(request: PreviewRequest): Promise<void> {
    this.nextPreview = request;
    if (this.previewing) return;
    this.previewing = true;
    try {
      await this.ready();
      while (this.nextPreview) {
        const current = this.nextPreview;
        this.nextPreview = null;
        const data = this.datasets.current;
        if (data) this.post({ type: 'preview', preview: await renderPreview(data, current) });
      }
    } finally {
      this.previewing = false;
    }
  }

  /** Builds the LayersModel files between steps; the weights are copied at once, so training may go on meanwhile. */
  private async exportEncoder(): Promise<void> {
    if (!this.session) return this.post({ type: 'exportFailed', message: 'There is no encoder to export yet: start a run first.' });
    const { trainer } = this.session.run();
    try {
      const config = trainer.settings;
      const baseName = runFileBaseName(config, trainer.steps);
      const files = await exportEncoder(trainer.method.encoder, config.imageSize, baseName, {
        generatedBy: 'Siamese Playground',
        method: trainer.definition.label,
        step: trainer.steps,
        dataset: this.datasetName,
        config,
      });
      this.post({ type: 'encoderExported', files: { ...files, baseName } }, [files.weights]);
    } catch (error) {
      this.post({ type: 'exportFailed', message: `Exporting the encoder failed: ${messageOf(error)}` });
    }
  }

  /** The run as a PyTorch project; the weights are snapshotted at once, the parity batch runs on a copy. */
  private async exportPytorch(): Promise<void> {
    if (!this.session) return this.post({ type: 'exportFailed', message: 'There is no run to export yet: start a run first.' });
    const { trainer } = this.session.run();
    const config = trainer.settings;
    const problem = pytorchExportProblem(config);
    if (problem) return this.post({ type: 'exportFailed', message: problem });
    try {
      const step = trainer.steps;
      const files = await buildPytorchProject(config, await methodWeights(trainer.method), step, this.session.data.train.count, PYTORCH_SOURCES);
      const buffers = files.flatMap((f) => (typeof f.data === 'string' ? [] : [f.data.buffer as ArrayBuffer]));
      this.post({ type: 'pytorchExported', baseName: runFileBaseName(config, step), files }, buffers);
    } catch (error) {
      this.post({ type: 'exportFailed', message: `Exporting the PyTorch project failed: ${messageOf(error)}` });
    }
  }

  /** Weights from PyTorch into the current run, between steps; then a fresh evaluation shows that encoder. */
  private async importWeights(data: ArrayBuffer): Promise<void> {
    if (!this.session) return this.post({ type: 'exportFailed', message: 'Start or open a run first: the weights go into its networks.' });
    try {
      const { tensors } = decodeSafetensors(data);
      const message = loadRunWeights(this.session.run().trainer.method, tensors);
      await this.session.requestEvaluation();
      this.post({ type: 'weightsImported', message });
    } catch (error) {
      this.post({ type: 'exportFailed', message: `The weights were not loaded: ${messageOf(error)}` });
    }
  }

  /** The held-out features of the last evaluation, for the Embedding Projector. */
  private async exportEmbeddings(): Promise<void> {
    const evaluator = this.session?.run().evaluator;
    if (!evaluator) return this.post({ type: 'exportFailed', message: 'There are no embeddings yet: start a run first.' });
    try {
      const embeddings = await evaluator.heldOutEmbeddings();
      this.post({ type: 'embeddingsExported', embeddings }, [embeddings.vectors.buffer]);
    } catch (error) {
      this.post({ type: 'exportFailed', message: messageOf(error) });
    }
  }

  private async neighbours(row: number): Promise<void> {
    const evaluator = this.session?.run().evaluator;
    if (!evaluator) return;
    try {
      this.post({ type: 'neighbours', result: await evaluator.nearestNeighbours(row), message: null });
    } catch (error) {
      this.post({ type: 'neighbours', result: null, message: messageOf(error) });
    }
  }
}
