/** The Train tab's link to its worker: the run, its exports, and the datasets the worker loads. */
import { checkpointBuffers } from '../engine/checkpoint-format';
import type { LiveSettings, TrainConfig } from '../engine/config';
import type { EvaluationSettings } from '../engine/evaluation-settings';
import type { BackendName } from '../worker/backend-labels';
import type { PickedFile } from '../data/folder-loader';
import type { HeldOutEmbeddings } from '../engine/evaluation';
import type { BackendRequest } from '../worker/backend-labels';
import type { ProjectFile } from '../engine/pytorch-export';
import type { BuiltinDatasetId, DatasetSource, EncoderFiles, PreviewRequest, ToWorker } from '../worker/protocol';
import { backendRequest } from './backend-memory';
import { prepareResume, recordInterruption, recordNewRun, recordWorkerMessage, stopRecording } from './run-keeper';
import { describeInterruption, useAppStore, type RunInterruption } from './store';
import { WorkerConnection } from './worker-connection';

/** The last folder the user picked, kept (as File references) so Compare can train on it too. */
let pickedFolder: { name: string; files: PickedFile[] } | null = null;

export function lastPickedFolder(): { name: string; files: PickedFile[] } | null {
  return pickedFolder;
}

/** Keeps a picked folder for Compare (the Train tab's worker gets its files only when it opens it). */
export function rememberFolder(folder: { name: string; files: PickedFile[] }): void {
  pickedFolder = folder;
  useAppStore.setState({ pickedFolderName: folder.name });
}

/** A new worker gets the dataset the last one had: a built-in set, or the picked folder's files again. */
async function giveDatasetBack(): Promise<void> {
  const { datasetSource, config } = useAppStore.getState();
  const imageSize = config?.imageSize ?? 32;
  if (datasetSource.kind === 'folder' && pickedFolder?.name === datasetSource.name) await datasets.openFolder(pickedFolder.name, pickedFolder.files, imageSize);
  else if (datasetSource.kind === 'builtin') datasets.load(datasetSource, imageSize);
}

/**
 * tfjs never recovers a lost WebGPU device, so a new worker probes the backends again and the run
 * resumes from its last checkpoint on WebGPU if a device comes back, else on the next fastest.
 */
async function recoverFromDeviceLoss(): Promise<void> {
  const lostOn = useAppStore.getState().backend?.name ?? null;
  trainingWorker.replace();
  await giveDatasetBack();
  const interruption = useAppStore.getState().interruption;
  if (interruption?.runId == null || interruption.checkpointStep === null) return;
  await training.open(interruption.runId, { train: true, backend: { kind: 'fastest', remembered: lostOn }, interruption: { ...interruption, resuming: true } });
}

export const trainingWorker = new WorkerConnection(
  'training',
  (message) => {
    useAppStore.getState().receive(message);
    recordWorkerMessage(message);
    if (message.type === 'runInterrupted' && message.cause === 'device') void recoverFromDeviceLoss();
  },
  () => {
    // Say what was lost, start a new worker at once and give it the dataset back; resuming is the user's click.
    useAppStore.getState().interruptRun('worker');
    recordInterruption();
    trainingWorker.restart();
    void giveDatasetBack();
  },
);

/** Starts the worker and asks it to pick a backend; `?backend=webgl|cpu` skips the faster ones. */
export function startWorker(preferred?: BackendName): void {
  trainingWorker.start(preferred);
}

const send = (message: ToWorker, transfer?: Transferable[]) => trainingWorker.send(message, transfer);

export const training = {
  start(config: TrainConfig, dataset: DatasetSource) {
    const store = useAppStore.getState();
    store.clearRun();
    useAppStore.setState({ runConfig: structuredClone(config) });
    recordNewRun(config, dataset);
    const backend = backendRequest(store.backendSetting, store.backends, config);
    send({ type: 'start', runs: [{ id: 'run', name: config.method, config }], dataset, backend, evaluation: store.evaluationSettings, checkpoints: true });
  },
  pause: () => send({ type: 'pause' }),
  resume: () => send({ type: 'resume' }),
  step: () => send({ type: 'step' }),
  reset() {
    stopRecording();
    send({ type: 'reset' });
    useAppStore.getState().clearRun();
  },
  update: (changes: Partial<LiveSettings>) => send({ type: 'update', changes }),
  /**
   * Reopens a saved run: its charts come back and the worker rebuilds it, paused, from its checkpoint.
   * After a fault: `train` trains on at once, `backend` overrides the usual choice, and `interruption`
   * stays on screen to say what was lost.
   */
  async open(runId: string, recovery: { train: boolean; backend: BackendRequest; interruption: RunInterruption } | null = null) {
    const saved = await prepareResume(runId);
    if (!saved) return;
    const { backendSetting, backends, evaluationSettings } = useAppStore.getState();
    if (recovery) useAppStore.setState({ interruption: recovery.interruption, message: describeInterruption(recovery.interruption) });
    const backend = recovery?.backend ?? backendRequest(backendSetting, backends, saved.checkpoint.config);
    send({ type: 'restore', ...saved, evaluation: evaluationSettings, backend, train: recovery?.train ?? false }, checkpointBuffers(saved.checkpoint));
  },
  /** Diagnostics: destroys the worker's WebGPU device, so the real device-lost path runs. */
  simulateDeviceLoss: () => send({ type: 'simulateDeviceLoss' }),
  /** Diagnostics: caps the bytes of tensors the worker may hold (null: no cap). */
  capMemory: (bytes: number | null) => send({ type: 'capMemory', bytes }),
  /** The current run's encoder as LayersModel files, built in the worker. */
  async exportEncoder(): Promise<EncoderFiles> {
    const reply = await trainingWorker.requestExport({ type: 'exportEncoder' });
    if (reply.type !== 'encoderExported') throw new Error(`Expected the encoder, got ${reply.type}`);
    return reply.files;
  },
  /** The current run as a PyTorch project (train.py, weights, parity batch), built in the worker. */
  async exportPytorch(): Promise<{ baseName: string; files: ProjectFile[] }> {
    const reply = await trainingWorker.requestExport({ type: 'exportPytorch' });
    if (reply.type !== 'pytorchExported') throw new Error(`Expected the PyTorch project, got ${reply.type}`);
    return { baseName: reply.baseName, files: reply.files };
  },
  /** Loads weights (safetensors from train.py or the app's export) into the current run; resolves to what was loaded. */
  async importWeights(data: ArrayBuffer): Promise<string> {
    const reply = await trainingWorker.requestExport({ type: 'importWeights', data }, [data]);
    if (reply.type !== 'weightsImported') throw new Error(`Expected the import's result, got ${reply.type}`);
    return reply.message;
  },
  /** The held-out features of the last evaluation, with their labels. */
  async exportEmbeddings(): Promise<HeldOutEmbeddings> {
    const reply = await trainingWorker.requestExport({ type: 'exportEmbeddings' });
    if (reply.type !== 'embeddingsExported') throw new Error(`Expected embeddings, got ${reply.type}`);
    return reply.embeddings;
  },
  evaluationSettings(changes: Partial<EvaluationSettings>) {
    useAppStore.getState().setEvaluationSettings(changes);
    send({ type: 'evaluationSettings', changes });
  },
  evaluateNow: () => send({ type: 'evaluateNow' }),
  estimateMemory: (config: TrainConfig) => send({ type: 'estimateMemory', config }),
  neighbours(row: number) {
    useAppStore.getState().requestNeighbours(row);
    send({ type: 'neighbours', row });
  },
};

const BUILTIN_NAMES: Record<BuiltinDatasetId, string> = {
  shapes: 'coloured shapes',
  'shapes-quick': 'coloured shapes',
  silhouettes: 'shape silhouettes',
  mnist: 'MNIST digits',
};

/** Datasets live in the worker: the page sends sources and files, and receives reports and previews. */
export const datasets = {
  load(source: DatasetSource, imageSize: number) {
    const name = source.kind === 'builtin' ? BUILTIN_NAMES[source.id] : source.name;
    useAppStore.getState().beginDatasetLoad(`Loading ${name} at ${imageSize} px`);
    send({ type: 'loadDataset', source, imageSize });
  },
  /**
   * File objects are structured-cloned to the worker (a reference, not a copy: images never leave
   * the machine), in chunks with a pause between them so the page keeps responding.
   */
  async openFolder(name: string, files: PickedFile[], imageSize: number) {
    rememberFolder({ name, files });
    const store = useAppStore.getState();
    const label = `Handing ${name} to the worker`;
    store.beginDatasetLoad(label);
    await trainingWorker.openFolder(name, files, imageSize, (done, total) => store.receive({ type: 'loadProgress', progress: { done, total, label } }));
  },
  cancel() {
    if (trainingWorker.cancelLoad()) {
      useAppStore.getState().receive({ type: 'datasetError', message: 'Loading was cancelled; the previous dataset is still selected.', report: null });
    }
  },
  preview: (request: PreviewRequest) => send({ type: 'preview', request }),
};
