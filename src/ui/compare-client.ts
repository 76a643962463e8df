/** The page's only link to the comparison worker: typed messages out, store updates in. */
import { requestedBackend } from '../worker/backend-labels';
import type { FromCompareWorker, ToCompareWorker } from '../worker/compare-protocol';
import { COMPARE_DATASETS } from './compare-store';
import { useAppStore } from './store';

let worker: Worker | null = null;

function receive(message: FromCompareWorker): void {
  useAppStore.getState().compareActions.receive(message);
}

function send(message: ToCompareWorker): void {
  if (!worker) throw new Error('The comparison worker has not been started');
  worker.postMessage(message);
}

/** Starts the worker (once) so it picks its backend before the first comparison. */
export function startCompareWorker(): void {
  if (worker) return;
  worker = new Worker(new URL('../worker/compare.worker.ts', import.meta.url), { type: 'module' });
  worker.onmessage = (event: MessageEvent<FromCompareWorker>) => receive(event.data);
  worker.onerror = (event) => receive({ type: 'state', state: 'error', message: `The comparison worker crashed: ${event.message}` });
  send({ type: 'init', backend: requestedBackend(location.search) });
}

export const comparing = {
  /** Trains the run list as it is now; the charts restart empty. */
  start() {
    startCompareWorker();
    const { compare, compareActions } = useAppStore.getState();
    const runs = compareActions.begin();
    send({
      type: 'start',
      runs: runs.map(({ id, name, config }) => ({ id, name, config })),
      dataset: COMPARE_DATASETS[compare.dataSize].source,
      evaluations: compare.evaluations,
    });
  },
  pause: () => send({ type: 'pause' }),
  resume: () => send({ type: 'resume' }),
  reset() {
    send({ type: 'reset' });
    useAppStore.getState().compareActions.clearResults();
  },
};
