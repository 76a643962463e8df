/**
 * Keeps runs across reloads. Every run started on the page is recorded in IndexedDB as it trains:
 * its record when it starts, its metric history one chunk per progress report, settings changes,
 * status changes, and the checkpoints the worker sends (every CHECKPOINT_EVERY_STEPS steps, on
 * pause and on finish). A saved run can later be reopened: its history goes back on the charts
 * and the worker rebuilds it from the checkpoint, paused, ready to resume.
 *
 * Writes run one after another in the order they were asked for. A failed write (storage full)
 * is shown to the user and loses nothing already saved; training goes on regardless.
 */
import type { Checkpoint } from '../engine/checkpoint-format';
import type { TrainConfig } from '../engine/config';
import { backbonePresetOf } from '../engine/presets';
import { RUN_FORMAT, RunsDatabase, type StoredRun } from '../storage/runs-db';
import { assertNever, type DatasetSource, type FromWorker } from '../worker/protocol';
import { recordsToPoints, type ChartPoint } from './chart-data';
import { ownRun, releaseRun, runsOwnedElsewhere } from './run-ownership';
import { describeChanges, useAppStore } from './store';

let database: Promise<RunsDatabase> | null = null;
let queue: Promise<unknown> = Promise.resolve();
/**
 * The saved run that the worker's messages belong to. `accepting` turns on with the worker's
 * "loading" state for this run: anything before it is the previous run's last words.
 */
let recording: { id: string; accepting: boolean; elapsedSeconds: number } | null = null;

function openDatabase(): Promise<RunsDatabase> {
  database ??= RunsDatabase.open();
  return database;
}

function reportProblem(error: unknown): void {
  useAppStore.setState({ storageError: error instanceof Error ? error.message : String(error) });
}

/** Runs storage work after everything asked for earlier; failures are reported, never thrown. */
function enqueue<T>(work: (db: RunsDatabase) => Promise<T>): Promise<T | null> {
  const next = queue.then(async () => {
    try {
      return await work(await openDatabase());
    } catch (error) {
      reportProblem(error);
      return null;
    }
  });
  queue = next;
  return next;
}

/** Puts a changed record into the list the UI shows. */
function showRun(run: StoredRun | null): void {
  if (!run) return;
  useAppStore.setState((s) => ({ savedRuns: [...s.savedRuns.filter((r) => r.id !== run.id), run].sort((a, b) => a.created - b.created) }));
}

/**
 * Follows the runs other tabs own: their records are read again while another tab writes them, and once
 * more when it lets go (then this tab may take them over).
 */
export async function refreshOwnership(): Promise<void> {
  const elsewhere = await runsOwnedElsewhere();
  const before = useAppStore.getState().runsElsewhere;
  if (elsewhere.length > 0 || before.length > 0) await loadSavedRuns();
  if (elsewhere.join() !== before.join()) useAppStore.setState({ runsElsewhere: elsewhere });
}

/** Loads the list of saved runs (once, on start-up). */
export async function loadSavedRuns(): Promise<void> {
  const list = await enqueue((db) => db.listRuns());
  if (list) useAppStore.setState({ savedRuns: list.runs, unreadableRuns: list.unreadable });
}

function runName(config: TrainConfig, methodLabel: string, created: Date): string {
  const encoder = backbonePresetOf(config.backbone) ?? `custom ${config.backbone.kind}`;
  return `${methodLabel} · ${encoder} · ${created.toLocaleString()}`;
}

/** Starts recording a new run (called as the page asks the worker to start it). */
export function recordNewRun(config: TrainConfig, dataset: DatasetSource): void {
  const created = new Date();
  const id = crypto.randomUUID();
  const methodLabel = useAppStore.getState().methods.find((m) => m.id === config.method)?.label ?? config.method;
  const run: StoredRun = {
    format: RUN_FORMAT,
    id,
    name: runName(config, methodLabel, created),
    created: created.getTime(),
    updated: created.getTime(),
    config: structuredClone(config),
    dataset: { source: dataset, summary: null },
    status: 'loading',
    step: 0,
    checkpointStep: null,
  };
  recording = { id, accepting: false, elapsedSeconds: 0 };
  void ownRun(id);
  useAppStore.setState({ currentRunId: id });
  showRun(run);
  void enqueue((db) => db.putRun(run));
}

/** Stops recording (the run was reset); what was saved stays. */
export function stopRecording(): void {
  recording = null;
  releaseRun();
  useAppStore.setState({ currentRunId: null });
}


/** The worker died: the run is saved as stopped at its last report; nothing more is recorded until a run starts or is resumed. */
/** The run stopped by a fault (its worker died, its device was lost, memory ran out) at `step`: its record says so; its checkpoint stays. */
export function recordInterruption(step = useAppStore.getState().progress?.steps ?? 0): void {
  if (!recording) return;
  const { id } = recording;
  recording.accepting = false;
  void enqueue((db) => db.updateRun(id, { status: 'error', step })).then(showRun);
}

/** Records what the worker reports about the current run. */
export function recordWorkerMessage(message: FromWorker): void {
  if (!recording) return;
  const { id } = recording;
  if (message.type === 'state' && message.state === 'loading') recording.accepting = true;
  if (!recording.accepting) return;
  switch (message.type) {
    case 'state':
      if (message.state !== 'idle') {
        const step = useAppStore.getState().progress?.steps ?? 0;
        void enqueue((db) => db.updateRun(id, { status: message.state, step })).then(showRun);
      }
      return;
    case 'dataset':
      void enqueue(async (db) => {
        const run = await db.getRun(id);
        return run ? db.updateRun(id, { dataset: { ...run.dataset, summary: message.summary } }) : null;
      }).then(showRun);
      return;
    case 'progress': {
      const points: ChartPoint[] = recordsToPoints(message.report.runs[0].records, recording.elapsedSeconds, message.report.elapsedSeconds);
      recording.elapsedSeconds = message.report.elapsedSeconds;
      if (points.length > 0) void enqueue((db) => db.appendHistory(id, { points, markers: [] }));
      return;
    }
    case 'evaluation':
      // Wall times continue from the end of the evaluation, as the live charts count them.
      recording.elapsedSeconds = message.elapsedSeconds;
      return;
    case 'settingsApplied':
      void enqueue(async (db) => {
        await db.appendHistory(id, { points: [], markers: [{ step: message.step, label: describeChanges(message.changes) }] });
        const run = await db.getRun(id);
        return run ? db.updateRun(id, { config: { ...run.config, ...message.changes } }) : null;
      }).then(showRun);
      return;
    case 'checkpoint':
      void enqueue(async (db) => {
        await db.saveCheckpoint(id, message.checkpoint);
        useAppStore.setState({ storageError: null });
        return db.getRun(id);
      }).then(showRun);
      return;
    case 'checkpointFailed':
      reportProblem(message.message);
      return;
    // Nothing of these is part of a saved run.
    case 'catalog':
    case 'backends':
    case 'backend':
    case 'settingsRejected':
    case 'encoderExported':
    case 'embeddingsExported':
    case 'pytorchExported':
    case 'weightsImported':
    case 'exportFailed':
    case 'loadProgress':
    case 'datasetReady':
    case 'datasetError':
    case 'preview':
    case 'neighbours':
    case 'memoryEstimate':
    case 'activeLearningCycle':
    case 'labellingSuggestions':
      return;
    case 'runInterrupted':
      recordInterruption(message.step);
      return;
    default:
      assertNever(message);
  }
}

/**
 * Loads a saved run for resuming: puts its history (up to its checkpoint) on the charts and
 * returns what the worker needs to rebuild it, or null (with a message) when it cannot be resumed.
 */
export async function prepareResume(id: string): Promise<{ checkpoint: Checkpoint; dataset: DatasetSource; name: string } | null> {
  if (!(await ownRun(id))) {
    reportProblem('That run is open in another tab of this app: close it there (or close that tab) to open it here.');
    return null;
  }
  const loaded = await enqueue(async (db) => {
    const [run, stored] = await Promise.all([db.getRun(id), db.loadCheckpoint(id)]);
    if (!run || !stored) return { run, stored, history: null };
    // The steps after the checkpoint will be trained again: their old numbers go.
    await db.truncateHistory(id, stored.step);
    return { run, stored, history: await db.loadHistory(id) };
  });
  if (!loaded) return null;
  const { run, stored, history } = loaded;
  if (!run || !stored || !history) {
    reportProblem(run ? `"${run.name}" has no checkpoint yet, so it cannot be resumed.` : 'That run is no longer saved.');
    return null;
  }
  const config = stored.checkpoint.config;
  const state = useAppStore.getState();
  state.clearRun();
  useAppStore.setState({
    history: history.points as ChartPoint[],
    markers: history.markers,
    config: structuredClone(config),
    runConfig: structuredClone(config),
    storageError: null,
    currentRunId: id,
  });
  recording = { id, accepting: false, elapsedSeconds: 0 };
  return { checkpoint: stored.checkpoint, dataset: run.dataset.source, name: run.name };
}

/** Deletes a saved run (or an unreadable record) with its history and checkpoint. */
export async function deleteSavedRun(id: string | number): Promise<void> {
  if (typeof id === 'string' && (await runsOwnedElsewhere()).includes(id)) {
    reportProblem('That run is open in another tab of this app: it cannot be deleted here.');
    return;
  }
  const done = await enqueue(async (db) => {
    await db.deleteRun(id);
    return true;
  });
  if (done) useAppStore.setState((s) => ({ savedRuns: s.savedRuns.filter((r) => r.id !== id), unreadableRuns: s.unreadableRuns.filter((r) => r.key !== id) }));
}
