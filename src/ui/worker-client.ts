/** The page's only link to the training worker: typed messages out, store updates in. */
import type { LiveSettings, TrainConfig } from '../engine/config';
import type { BackendName } from '../worker/backend-labels';
import type { PickedFile } from '../data/folder-loader';
import type { DatasetSource, FromWorker, PreviewRequest, ToWorker } from '../worker/protocol';
import { useAppStore } from './store';

let worker: Worker | null = null;

function send(message: ToWorker): void {
  if (!worker) throw new Error('The training worker has not been started');
  worker.postMessage(message);
}

/** Starts the worker and asks it to pick a backend; `?backend=webgl|cpu` skips the faster ones. */
export function startWorker(preferred?: BackendName): void {
  if (worker) return;
  worker = new Worker(new URL('../worker/training.worker.ts', import.meta.url), { type: 'module' });
  worker.onmessage = (event: MessageEvent<FromWorker>) => useAppStore.getState().receive(event.data);
  worker.onerror = (event) => useAppStore.getState().receive({ type: 'state', state: 'error', message: `The training worker crashed: ${event.message}` });
  send({ type: 'init', backend: preferred });
}

export const training = {
  start(config: TrainConfig, dataset: DatasetSource) {
    useAppStore.getState().clearRun();
    send({ type: 'start', config, dataset });
  },
  pause: () => send({ type: 'pause' }),
  resume: () => send({ type: 'resume' }),
  step: () => send({ type: 'step' }),
  reset() {
    send({ type: 'reset' });
    useAppStore.getState().clearRun();
  },
  update: (changes: Partial<LiveSettings>) => send({ type: 'update', changes }),
};

/** Datasets live in the worker: the page sends sources and files, and receives reports and previews. */
export const datasets = {
  load(source: DatasetSource, imageSize: number) {
    const name = source.kind === 'builtin' ? (source.id === 'mnist' ? 'MNIST digits' : 'coloured shapes') : source.name;
    useAppStore.getState().beginDatasetLoad(`Loading ${name} at ${imageSize} px`);
    send({ type: 'loadDataset', source, imageSize });
  },
  /** File objects are structured-cloned to the worker (a reference, not a copy): images never leave the machine. */
  openFolder(name: string, files: PickedFile[], imageSize: number) {
    useAppStore.getState().beginDatasetLoad(`Reading ${name}`);
    send({ type: 'openFolder', name, files, imageSize });
  },
  cancel: () => send({ type: 'cancelLoad' }),
  preview: (request: PreviewRequest) => send({ type: 'preview', request }),
};
