/**
 * Runs kept in IndexedDB, so that a reload loses nothing: each run's record (configuration,
 * dataset, status), its metric history appended in chunks (a long run never rewrites what it has
 * written), and its latest checkpoint.
 *
 * Every write is one transaction, so a failed write (a full disk, most often) rolls back whole
 * and leaves earlier data as it was: a checkpoint that does not fit leaves the previous one in
 * place. Failures are reported as `StorageError`, with `quota` set when storage was full.
 *
 * Works wherever IndexedDB exists (page or worker); tests pass fake-indexeddb's factory.
 */
import { checkpointBytes, type Checkpoint } from '../engine/checkpoint-format';
import type { MetricMarker, MetricPoint } from '../ui/export';
import { readLabellingProject, type LabellingProject } from './labelling-project';
import { readStoredRun, type StoredRun, type UnreadableRun } from './stored-run';

export { RUN_FORMAT, type StoredRun, type UnreadableRun } from './stored-run';

export const DATABASE_NAME = 'siamese-playground';
/** 2 added the labelling store (your own folder's labels, the Active learning tab). */
const DATABASE_VERSION = 2;
const RUNS = 'runs';
const HISTORY = 'history';
const CHECKPOINTS = 'checkpoints';
const LABELLING = 'labelling';

export interface StoredHistory {
  points: MetricPoint[];
  markers: MetricMarker[];
}

export interface StoredCheckpoint {
  runId: string;
  step: number;
  savedAt: number;
  bytes: number;
  checkpoint: Checkpoint;
}

/** The saved runs that can be used, oldest first, and the records that cannot, with the reason. */
export interface SavedRunList {
  runs: StoredRun[];
  unreadable: UnreadableRun[];
}

interface HistoryChunk extends StoredHistory {
  runId: string;
  /** Smallest and largest step in the chunk (points and markers). */
  firstStep: number;
  lastStep: number;
}

/** A failed read or write. `quota` is true when the browser's storage for the site is full. */
export class StorageError extends Error {
  constructor(
    message: string,
    readonly quota: boolean,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'StorageError';
  }
}

function isQuotaError(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  // Firefox used its own name before adopting the standard one.
  return name === 'QuotaExceededError' || name === 'NS_ERROR_DOM_QUOTA_REACHED';
}

function toStorageError(error: unknown, what: string): StorageError {
  if (error instanceof StorageError) return error;
  if (isQuotaError(error)) {
    return new StorageError(
      `Browser storage is full, so ${what} failed. Nothing already saved was changed; delete runs you no longer need to free space.`,
      true,
      error,
    );
  }
  const detail = error instanceof Error || error instanceof DOMException ? error.message : String(error);
  return new StorageError(`Could not ${what}: ${detail || 'the browser refused the operation'}.`, false, error);
}

function bytesText(bytes: number): string {
  return bytes >= 2 ** 20 ? `${(bytes / 2 ** 20).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} KB`;
}

/** Steps spanned by a chunk, or null for an empty one. */
function stepRange(history: StoredHistory): [number, number] | null {
  const steps = [...history.points.map((p) => p.step), ...history.markers.map((m) => m.step)];
  return steps.length > 0 ? [Math.min(...steps), Math.max(...steps)] : null;
}

type Body<T> = (tx: IDBTransaction, finish: (value: T) => void, fail: (error: unknown) => void) => void;

export class RunsDatabase {
  private constructor(private readonly db: IDBDatabase) {}

  /** Opens (creating or upgrading) the database. */
  static open(options: { factory?: IDBFactory; name?: string } = {}): Promise<RunsDatabase> {
    const factory = options.factory ?? globalThis.indexedDB;
    if (!factory) return Promise.reject(new StorageError('This browser offers no IndexedDB storage, so runs cannot be kept across reloads.', false));
    return new Promise((resolve, reject) => {
      const request = factory.open(options.name ?? DATABASE_NAME, DATABASE_VERSION);
      request.onupgradeneeded = () => {
        const db = request.result;
        if (!db.objectStoreNames.contains(RUNS)) db.createObjectStore(RUNS, { keyPath: 'id' });
        if (!db.objectStoreNames.contains(HISTORY)) db.createObjectStore(HISTORY, { autoIncrement: true }).createIndex('runId', 'runId');
        if (!db.objectStoreNames.contains(CHECKPOINTS)) db.createObjectStore(CHECKPOINTS, { keyPath: 'runId' });
        if (!db.objectStoreNames.contains(LABELLING)) db.createObjectStore(LABELLING, { keyPath: 'id' });
      };
      request.onsuccess = () => resolve(new RunsDatabase(request.result));
      request.onerror = () => reject(toStorageError(request.error, 'open the saved-runs database'));
      request.onblocked = () => reject(new StorageError('The saved-runs database is being upgraded in another tab; close the other tabs of this app and reload.', false));
    });
  }

  close(): void {
    this.db.close();
  }

  /** Creates or replaces a run record. */
  putRun(run: StoredRun): Promise<void> {
    return this.transact([RUNS], 'readwrite', `saving run "${run.name}"`, (tx, finish) => {
      tx.objectStore(RUNS).put(run);
      finish(undefined);
    });
  }

  /** Changes some fields of a run and returns the updated record. */
  updateRun(id: string, changes: Partial<Omit<StoredRun, 'id' | 'created'>>): Promise<StoredRun> {
    return this.transact([RUNS], 'readwrite', 'updating a saved run', (tx, finish, fail) => {
      const store = tx.objectStore(RUNS);
      this.read(store.get(id), fail, (value: unknown) => {
        const run = this.usable(id, value);
        const updated: StoredRun = { ...run, ...changes, id: run.id, created: run.created, updated: changes.updated ?? Date.now() };
        store.put(updated);
        finish(updated);
      });
    });
  }

  getRun(id: string): Promise<StoredRun | null> {
    return this.transact([RUNS], 'readonly', 'reading a saved run', (tx, finish, fail) => {
      this.read(tx.objectStore(RUNS).get(id), fail, (value: unknown) => finish(value === undefined ? null : this.usable(id, value)));
    });
  }

  /** Every run, oldest first (older formats migrated as they are read), and the records that cannot be used, with the reason. */
  listRuns(): Promise<SavedRunList> {
    const list: SavedRunList = { runs: [], unreadable: [] };
    return this.transact([RUNS], 'readonly', 'listing saved runs', (tx, finish, fail) => {
      this.iterate(tx.objectStore(RUNS).openCursor(), fail, () => finish({ ...list, runs: list.runs.sort((a, b) => a.created - b.created) }), (cursor) => {
        const read = readStoredRun(cursor.key, cursor.value);
        if (read.ok) list.runs.push(read.run);
        else list.unreadable.push(read.unreadable);
      });
    });
  }

  /** Appends points and settings markers as one new chunk; earlier chunks are not rewritten. */
  appendHistory(runId: string, history: StoredHistory): Promise<void> {
    const range = stepRange(history);
    if (!range) return Promise.resolve();
    const chunk: HistoryChunk = { runId, firstStep: range[0], lastStep: range[1], points: history.points, markers: history.markers };
    return this.transact([HISTORY], 'readwrite', `saving metrics up to step ${range[1]}`, (tx, finish) => {
      tx.objectStore(HISTORY).add(chunk);
      finish(undefined);
    });
  }

  /** The run's whole history, in the order it was appended. */
  loadHistory(runId: string): Promise<StoredHistory> {
    return this.transact([HISTORY], 'readonly', 'reading saved metrics', (tx, finish, fail) => {
      this.read(tx.objectStore(HISTORY).index('runId').getAll(runId), fail, (chunks: HistoryChunk[]) =>
        finish({ points: chunks.flatMap((c) => c.points), markers: chunks.flatMap((c) => c.markers) }),
      );
    });
  }

  /**
   * Forgets the history after `step` (points and markers with step > `step`, steps counted from 1):
   * what a run resumed from a checkpoint at `step` will record again. Only chunks reaching past
   * `step` are touched.
   */
  truncateHistory(runId: string, step: number): Promise<void> {
    return this.transact([HISTORY], 'readwrite', 'trimming saved metrics', (tx, finish, fail) => {
      const request = tx.objectStore(HISTORY).index('runId').openCursor(runId);
      this.iterate(request, fail, finish, (cursor) => {
        const chunk = cursor.value as HistoryChunk;
        if (chunk.lastStep <= step) return;
        const kept: StoredHistory = { points: chunk.points.filter((p) => p.step <= step), markers: chunk.markers.filter((m) => m.step <= step) };
        const range = stepRange(kept);
        if (range) cursor.update({ ...chunk, ...kept, firstStep: range[0], lastStep: range[1] });
        else cursor.delete();
      });
    });
  }

  /**
   * Stores the run's checkpoint in place of the previous one and records its step on the run, in
   * one transaction: if it does not fit, the previous checkpoint stays.
   */
  saveCheckpoint(runId: string, checkpoint: Checkpoint, savedAt = Date.now()): Promise<StoredCheckpoint> {
    const bytes = checkpointBytes(checkpoint);
    const record: StoredCheckpoint = { runId, step: checkpoint.step, savedAt, bytes, checkpoint };
    const what = `saving the checkpoint at step ${checkpoint.step} (${bytesText(bytes)})`;
    return this.transact([RUNS, CHECKPOINTS], 'readwrite', what, (tx, finish, fail) => {
      const runs = tx.objectStore(RUNS);
      this.read(runs.get(runId), fail, (value: unknown) => {
        const run = this.usable(runId, value, ' to checkpoint');
        tx.objectStore(CHECKPOINTS).put(record);
        runs.put({ ...run, checkpointStep: checkpoint.step, step: Math.max(run.step, checkpoint.step), updated: savedAt });
        finish(record);
      });
    });
  }

  loadCheckpoint(runId: string): Promise<StoredCheckpoint | null> {
    return this.transact([CHECKPOINTS], 'readonly', 'reading a saved checkpoint', (tx, finish, fail) => {
      this.read(tx.objectStore(CHECKPOINTS).get(runId), fail, (record: StoredCheckpoint | undefined) => finish(record ?? null));
    });
  }

  /** Removes the run, its history and its checkpoint together. */
  deleteRun(runId: string | number): Promise<void> {
    return this.transact([RUNS, HISTORY, CHECKPOINTS], 'readwrite', 'deleting a saved run', (tx, finish, fail) => {
      tx.objectStore(RUNS).delete(runId);
      tx.objectStore(CHECKPOINTS).delete(runId);
      const request = tx.objectStore(HISTORY).index('runId').openKeyCursor(runId);
      this.iterate(request, fail, finish, (cursor) => {
        tx.objectStore(HISTORY).delete(cursor.primaryKey);
      });
    });
  }

  /** Creates or replaces a folder's labelling project (its labels, classes and latest suggestions), in one transaction. */
  putLabelling(project: LabellingProject): Promise<void> {
    const count = Object.keys(project.labels).length;
    return this.transact([LABELLING], 'readwrite', `saving ${count} label${count === 1 ? '' : 's'} of "${project.id}"`, (tx, finish) => {
      tx.objectStore(LABELLING).put(project);
      finish(undefined);
    });
  }

  /** The labelling project of the folder named `id`, or null when there is none. */
  getLabelling(id: string): Promise<LabellingProject | null> {
    return this.transact([LABELLING], 'readonly', `reading the labels of "${id}"`, (tx, finish, fail) => {
      this.read(tx.objectStore(LABELLING).get(id), fail, (value: unknown) => {
        if (value === undefined) return finish(null);
        const project = readLabellingProject(value);
        if (typeof project === 'string') throw new StorageError(`The saved labels of "${id}" cannot be read: ${project}.`, false);
        finish(project);
      });
    });
  }

  /** The labelling project changed last, or null when there is none (what a reload reopens). */
  latestLabelling(): Promise<LabellingProject | null> {
    let latest: LabellingProject | null = null;
    return this.transact([LABELLING], 'readonly', 'reading saved labels', (tx, finish, fail) => {
      this.iterate(tx.objectStore(LABELLING).openCursor(), fail, () => finish(latest), (cursor) => {
        const project = readLabellingProject(cursor.value);
        if (typeof project !== 'string' && (!latest || project.updated > latest.updated)) latest = project;
      });
    });
  }

  /**
   * Runs `body` in one transaction. The promise settles when the transaction has committed (with
   * the value passed to `finish`) or rolled back (with a StorageError).
   */
  private transact<T>(stores: string[], mode: IDBTransactionMode, what: string, body: Body<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let result: T;
      let failure: unknown = null;
      let tx: IDBTransaction;
      try {
        tx = this.db.transaction(stores, mode);
      } catch (error) {
        reject(toStorageError(error, what));
        return;
      }
      const fail = (error: unknown) => {
        failure ??= error;
        try {
          tx.abort();
        } catch {
          // Already finished or aborting: the abort handler reports `failure`.
        }
      };
      tx.oncomplete = () => resolve(result);
      tx.onabort = () => reject(toStorageError(failure ?? tx.error ?? new Error('the transaction was aborted'), what));
      try {
        body(tx, (value) => (result = value), fail);
      } catch (error) {
        // Some browsers throw QuotaExceededError from put() itself rather than aborting later.
        fail(error);
      }
    });
  }

  /** The run stored under `id`, in the current format; throws (aborting the transaction) when there is none or it cannot be used. */
  private usable(id: string, value: unknown, purpose = ''): StoredRun {
    if (value === undefined) throw new StorageError(`There is no saved run with id ${id}${purpose}.`, false);
    const read = readStoredRun(id, value);
    if (!read.ok) throw new StorageError(`The saved run ${read.unreadable.name === null ? id : `"${read.unreadable.name}"`} cannot be read: ${read.unreadable.reason}.`, false);
    return read.run;
  }

  private read<T>(request: IDBRequest, fail: (error: unknown) => void, then: (value: T) => void): void {
    request.onsuccess = () => {
      try {
        then(request.result as T);
      } catch (error) {
        fail(error);
      }
    };
  }

  private iterate<C extends IDBCursor>(request: IDBRequest<C | null>, fail: (error: unknown) => void, finish: (value: undefined) => void, visit: (cursor: C) => void): void {
    request.onsuccess = () => {
      const cursor = request.result;
      if (!cursor) return finish(undefined);
      try {
        visit(cursor);
        cursor.continue();
      } catch (error) {
        fail(error);
      }
    };
  }
}
