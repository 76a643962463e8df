/** Compare's link to its own training worker: a session of several runs on one dataset. */
import { requestedBackend } from '../worker/backend-labels';
import type { PickedFile } from '../data/folder-loader';
import type { DatasetSource } from '../worker/protocol';
import { backendRequest } from './backend-memory';
import { useAppStore } from './store';
import { lastPickedFolder } from './worker-client';
import { WorkerConnection } from './worker-connection';

export const compareWorker = new WorkerConnection(
  'comparison',
  (message) => {
    useAppStore.getState().compareActions.receive(message);
    // A lost device cannot come back in the same worker: a new one probes the backends again.
    if (message.type === 'runInterrupted' && message.cause === 'device') {
      folderInWorker = null;
      compareWorker.replace();
    }
  },
  () => {
    // Comparisons keep no checkpoints: the charts stay as they were, and a new worker waits for the next start.
    folderInWorker = null;
    useAppStore.getState().compareActions.receive({ type: 'state', state: 'error', message: 'The comparison worker stopped (it crashed, or the browser ended it for memory); its charts are kept. A new worker has started: start the comparison again.' });
    compareWorker.restart();
  },
);

/** The picked folder's files the comparison worker holds, so the next comparison on it needs no handover. */
let folderInWorker: readonly PickedFile[] | null = null;

/** Starts the worker (once) so it picks its backend before the first comparison. */
export function startCompareWorker(): void {
  compareWorker.start(requestedBackend(location.search));
}

/** The folder picked last (in either tab), handed to the comparison worker unless it has it already; null when there is none. */
async function folderSource(imageSize: number): Promise<DatasetSource | null> {
  const { compareActions } = useAppStore.getState();
  const folder = lastPickedFolder();
  if (!folder) {
    compareActions.receive({ type: 'state', state: 'error', message: 'No folder is open: open one first, or choose a built-in dataset.' });
    return null;
  }
  if (folderInWorker !== folder.files) {
    const label = `Handing ${folder.name} to the comparison worker`;
    compareActions.receive({ type: 'state', state: 'loading', message: `${label}…` });
    const handed = await compareWorker.openFolder(folder.name, folder.files, imageSize, (done, total) => compareActions.receive({ type: 'loadProgress', progress: { done, total, label } }));
    if (!handed) return null;
    folderInWorker = folder.files;
  }
  return { kind: 'folder', name: folder.name };
}

export const comparing = {
  /** Trains the run list as it is now, on the chosen data; the charts restart empty. */
  async start() {
    startCompareWorker();
    const { compare, compareActions, evaluationSettings, backendSetting, backends } = useAppStore.getState();
    const runs = compareActions.begin();
    const imageSize = Math.max(...runs.map((r) => r.config.imageSize));
    const dataset = compare.dataset.kind === 'folder' ? await folderSource(imageSize) : compare.dataset;
    if (!dataset) return;
    compareWorker.send({
      type: 'start',
      runs: runs.map(({ id, name, config }) => ({ id, name, config })),
      dataset,
      // Measured (or remembered) on the first run's configuration.
      backend: backendRequest(backendSetting, backends, runs[0].config),
      // The Train tab's protocol (k, σ, bank and held-out sizes); no time budget, so every run is evaluated at the same steps.
      evaluation: { ...evaluationSettings, maxTimeShare: 1 },
      evaluationsPerRun: compare.evaluations,
      // The summary's reference line: the untrained encoder every run of the experiment starts from, at step 0.
      untrainedReference: compare.experiment?.untrainedReference === true,
      checkpoints: false,
    });
  },
  pause: () => compareWorker.send({ type: 'pause' }),
  resume: () => compareWorker.send({ type: 'resume' }),
  reset() {
    compareWorker.send({ type: 'reset' });
    useAppStore.getState().compareActions.clearResults();
  },
};
