/** The page's only link to the training worker: typed messages out, store updates in. */
import type { LiveSettings, TrainConfig } from '../engine/config';
import type { EvaluationSettings } from '../engine/evaluation-settings';
import type { BackendName } from '../worker/backend-labels';
import type { DatasetSource, FromWorker, ToWorker } from '../worker/protocol';
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
    const store = useAppStore.getState();
    store.clearRun();
    send({ type: 'start', config, dataset, evaluation: store.evaluationSettings });
  },
  pause: () => send({ type: 'pause' }),
  resume: () => send({ type: 'resume' }),
  step: () => send({ type: 'step' }),
  reset() {
    send({ type: 'reset' });
    useAppStore.getState().clearRun();
  },
  update: (changes: Partial<LiveSettings>) => send({ type: 'update', changes }),
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
