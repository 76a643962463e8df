/** The page's only link to the training worker: typed messages out, store updates in. */
import { checkpointBuffers } from '../engine/checkpoint-format';
import type { LiveSettings, TrainConfig } from '../engine/config';
import type { BackendName } from '../worker/backend-labels';
import type { DatasetSource, EncoderFiles, FromWorker, ToWorker } from '../worker/protocol';
import { prepareResume, recordNewRun, recordWorkerMessage, stopRecording } from './run-keeper';
import { useAppStore } from './store';

let worker: Worker | null = null;
/** The one export in flight, answered by the worker's encoderExported / exportFailed. */
let pendingExport: { resolve(files: EncoderFiles): void; reject(error: Error): void } | null = null;

/** Settles a pending request with a worker reply; true when the message was such a reply. */
function settleRequest(message: FromWorker): boolean {
  if (message.type !== 'encoderExported' && message.type !== 'exportFailed') return false;
  const pending = pendingExport;
  pendingExport = null;
  if (message.type === 'encoderExported') pending?.resolve(message.files);
  else pending?.reject(new Error(message.message));
  return true;
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
    useAppStore.getState().clearRun();
    useAppStore.setState({ runConfig: structuredClone(config) });
    recordNewRun(config, dataset);
    send({ type: 'start', config, dataset });
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
  exportEncoder(): Promise<EncoderFiles> {
    if (pendingExport) return Promise.reject(new Error('An export is already being prepared.'));
    return new Promise((resolve, reject) => {
      pendingExport = { resolve, reject };
      send({ type: 'exportEncoder' });
    });
  },
};
