/** The page's only link to the training worker: typed messages out, store updates in. */
import { checkpointBuffers } from '../engine/checkpoint-format';
import type { LiveSettings, TrainConfig } from '../engine/config';
import type { EvaluationSettings } from '../engine/evaluation-settings';
import type { BackendName } from '../worker/backend-labels';
import type { PickedFile } from '../data/folder-loader';
import type { HeldOutEmbeddings } from '../engine/evaluation';
import type { DatasetSource, EncoderFiles, FromWorker, PreviewRequest, ToWorker } from '../worker/protocol';
import { prepareResume, recordNewRun, recordWorkerMessage, stopRecording } from './run-keeper';
import { useAppStore } from './store';

let worker: Worker | null = null;
type ExportReply = Extract<FromWorker, { type: 'encoderExported' | 'embeddingsExported' }>;

/** The one export in flight, answered by the worker's encoderExported / embeddingsExported / exportFailed. */
let pendingExport: { resolve(reply: ExportReply): void; reject(error: Error): void } | null = null;

/** Settles a pending request with a worker reply; true when the message was such a reply. */
function settleRequest(message: FromWorker): boolean {
  if (message.type !== 'encoderExported' && message.type !== 'embeddingsExported' && message.type !== 'exportFailed') return false;
  const pending = pendingExport;
  pendingExport = null;
  if (message.type === 'exportFailed') pending?.reject(new Error(message.message));
  else pending?.resolve(message);
  return true;
}

function requestExport(request: ToWorker): Promise<ExportReply> {
  if (pendingExport) return Promise.reject(new Error('An export is already being prepared.'));
  return new Promise((resolve, reject) => {
    pendingExport = { resolve, reject };
    send(request);
  });
}

function send(message: ToWorker, transfer: Transferable[] = []): void {
  if (!worker) throw new Error('The training worker has not been started');
  worker.postMessage(message, transfer);
}

/** Starts the worker and asks it to pick a backend; `?backend=webgl|cpu` skips the faster ones. */
export function startWorker(preferred?: BackendName): void {
  if (worker) return;
  worker = new Worker(new URL('../worker/training.worker.ts', import.meta.url), { type: 'module' });
  worker.onmessage = (event: MessageEvent<FromWorker>) => {
    if (!settleRequest(event.data)) useAppStore.getState().receive(event.data);
    recordWorkerMessage(event.data);
  };
  worker.onerror = (event) => useAppStore.getState().receive({ type: 'state', state: 'error', message: `The training worker crashed: ${event.message}` });
  send({ type: 'init', backend: preferred });
}

export const training = {
  start(config: TrainConfig, dataset: DatasetSource) {
    const store = useAppStore.getState();
    store.clearRun();
    useAppStore.setState({ runConfig: structuredClone(config) });
    recordNewRun(config, dataset);
    send({ type: 'start', config, dataset, evaluation: store.evaluationSettings });
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
  /** Reopens a saved run: its charts come back and the worker rebuilds it, paused, from its checkpoint. */
  async open(runId: string) {
    const saved = await prepareResume(runId);
    if (saved) send({ type: 'restore', ...saved }, checkpointBuffers(saved.checkpoint));
  },
  /** The current run's encoder as LayersModel files, built in the worker. */
  async exportEncoder(): Promise<EncoderFiles> {
    const reply = await requestExport({ type: 'exportEncoder' });
    if (reply.type !== 'encoderExported') throw new Error(`Expected the encoder, got ${reply.type}`);
    return reply.files;
  },
  /** The held-out features of the last evaluation, with their labels. */
  async exportEmbeddings(): Promise<HeldOutEmbeddings> {
    const reply = await requestExport({ type: 'exportEmbeddings' });
    if (reply.type !== 'embeddingsExported') throw new Error(`Expected embeddings, got ${reply.type}`);
    return reply.embeddings;
  },
  evaluationSettings(changes: Partial<EvaluationSettings>) {
    useAppStore.getState().setEvaluationSettings(changes);
    send({ type: 'evaluationSettings', changes });
  },
  evaluateNow: () => send({ type: 'evaluateNow' }),
  neighbours(row: number) {
    useAppStore.getState().requestNeighbours(row);
    send({ type: 'neighbours', row });
  },
};

/**
 * Cloning a File costs the page 0.2–2 ms (more on a busy machine), so files go in small messages
 * until this much time has passed, then the page gets its turn.
 */
const FILES_PER_MESSAGE = 10;
const HANDOVER_SLICE_MS = 12;
/** Counts handovers, so a cancelled or replaced one stops sending. */
let folderHandover = 0;
let handingOver = false;

/** Datasets live in the worker: the page sends sources and files, and receives reports and previews. */
export const datasets = {
  load(source: DatasetSource, imageSize: number) {
    const name = source.kind === 'builtin' ? (source.id === 'mnist' ? 'MNIST digits' : 'coloured shapes') : source.name;
    useAppStore.getState().beginDatasetLoad(`Loading ${name} at ${imageSize} px`);
    send({ type: 'loadDataset', source, imageSize });
  },
  /**
   * File objects are structured-cloned to the worker (a reference, not a copy: images never leave
   * the machine), in chunks with a pause between them so the page keeps responding.
   */
  async openFolder(name: string, files: PickedFile[], imageSize: number) {
    const handover = ++folderHandover;
    handingOver = true;
    const store = useAppStore.getState();
    const label = `Handing ${name} to the worker`;
    store.beginDatasetLoad(label);
    let sent = 0;
    let shown = 0;
    while (sent < files.length) {
      if (handover !== folderHandover) return;
      const sliceStart = performance.now();
      while (sent < files.length && performance.now() - sliceStart < HANDOVER_SLICE_MS) {
        send({ type: 'folderFiles', files: files.slice(sent, sent + FILES_PER_MESSAGE), first: sent === 0 });
        sent += FILES_PER_MESSAGE;
      }
      // Progress redraws the panel: at most ten times a second.
      if (performance.now() - shown >= 100) {
        shown = performance.now();
        store.receive({ type: 'loadProgress', progress: { done: Math.min(sent, files.length), total: files.length, label } });
      }
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    if (handover !== folderHandover) return;
    handingOver = false;
    send({ type: 'openFolder', name, imageSize });
  },
  cancel() {
    if (handingOver) {
      // Stops the handover; the worker drops the files it received.
      folderHandover += 1;
      handingOver = false;
      useAppStore.getState().receive({ type: 'datasetError', message: 'Loading was cancelled; the previous dataset is still selected.', report: null });
    }
    send({ type: 'cancelLoad' });
  },
  preview: (request: PreviewRequest) => send({ type: 'preview', request }),
};
