/** The Active learning tab's link to its own training worker: one simulated experiment at a time. */
import { requestedBackend } from '../worker/backend-labels';
import { unrememberedBackendRequest } from './backend-memory';
import { useAppStore } from './store';
import { WorkerConnection } from './worker-connection';

export const activeLearningWorker = new WorkerConnection(
  'active learning',
  (message) => useAppStore.getState().activeLearningActions.receive(message),
  () => {
    useAppStore.getState().activeLearningActions.receive({ type: 'state', state: 'error', message: 'The active-learning worker stopped (it crashed, or the browser ended it for memory); its curves are kept. A new worker has started: start again.' });
    activeLearningWorker.restart();
  },
);

/** Starts the worker (once) so it picks its backend before the first experiment. */
export function startActiveLearningWorker(): void {
  activeLearningWorker.start(requestedBackend(location.search));
}

/** Runs the experiment the tab's settings describe; the curves restart empty. */
export function startActiveLearning(): void {
  startActiveLearningWorker();
  const { activeLearning, activeLearningActions, backendSetting } = useAppStore.getState();
  const { dataset, ...settings } = activeLearning.settings;
  activeLearningActions.begin();
  activeLearningWorker.send({
    type: 'activeLearning',
    request: {
      ...settings,
      dataset: { kind: 'builtin', id: dataset },
      // The fastest backend is measured on MoBYv2AL's own configuration in the worker.
      backend: unrememberedBackendRequest(backendSetting),
    },
  });
}
