/**
 * A saved run's record as read back from IndexedDB, where anything may be found: records of an older
 * version of the app (migrated here), of a newer one, or edited by hand. A record that cannot be used
 * is reported with the reason instead of breaking the list of the others.
 */
import type { TrainConfig } from '../engine/config';
import type { DatasetSource, DatasetSummary, RunState } from '../worker/protocol';

/**
 * The record format this version writes. Format 0 (no `format` field) is the first app's: it may lack
 * `updated`, `step`, `checkpointStep` and the dataset summary, which are filled in on reading.
 */
export const RUN_FORMAT = 1;

const RUN_STATES: readonly RunState[] = ['idle', 'loading', 'running', 'paused', 'finished', 'error'];

export interface StoredRun {
  format: typeof RUN_FORMAT;
  id: string;
  name: string;
  /** Milliseconds since the epoch. */
  created: number;
  updated: number;
  /** The configuration as it is now (live changes included). */
  config: TrainConfig;
  dataset: { source: DatasetSource; summary: DatasetSummary | null };
  status: RunState;
  /** Steps taken, as last reported. */
  step: number;
  /** Step of the stored checkpoint, or null when there is none. */
  checkpointStep: number | null;
}

/** A record the app cannot use: listed with the reason, and deletable by its key. */
export interface UnreadableRun {
  /** The key it is stored under (text for every record the app wrote). */
  key: string | number;
  /** Its name, where the record has one. */
  name: string | null;
  reason: string;
}

export type ReadRun = { ok: true; run: StoredRun; migrated: boolean } | { ok: false; unreadable: UnreadableRun };

type Fields = Record<string, unknown>;

const isObject = (value: unknown): value is Fields => typeof value === 'object' && value !== null && !Array.isArray(value);
const isCount = (value: unknown): value is number => Number.isInteger(value) && (value as number) >= 0;
const isTime = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** Why `config` cannot be a run's configuration, or null: the fields every screen of a run reads. */
function configProblem(config: unknown): string | null {
  if (!isObject(config)) return 'it has no configuration';
  if (typeof config.method !== 'string' || config.method === '') return 'its configuration names no method';
  if (!isObject(config.backbone) || typeof config.backbone.kind !== 'string') return 'its configuration has no encoder';
  for (const field of ['totalSteps', 'batchSize', 'imageSize']) {
    if (!isCount(config[field]) || config[field] === 0) return `its configuration's ${field} is ${JSON.stringify(config[field])}, not a positive whole number`;
  }
  return null;
}

function datasetProblem(dataset: unknown): string | null {
  if (!isObject(dataset) || !isObject(dataset.source)) return 'it does not say which dataset it trained on';
  const { source } = dataset;
  if (source.kind === 'builtin' ? typeof source.id !== 'string' : source.kind !== 'folder' || typeof source.name !== 'string') return 'its dataset is of an unknown kind';
  if (dataset.summary !== undefined && dataset.summary !== null && !isObject(dataset.summary)) return 'its dataset summary is not a record';
  return null;
}

/** Reads a record stored under `key`: the run (migrated to the current format where it was older), or why it cannot be used. */
export function readStoredRun(key: IDBValidKey, value: unknown): ReadRun {
  const name = isObject(value) && typeof value.name === 'string' ? value.name : null;
  const unreadable = (reason: string): ReadRun => ({ ok: false, unreadable: { key: typeof key === 'number' ? key : String(key), name, reason } });
  if (typeof key !== 'string') return unreadable('its id is not text');
  if (!isObject(value)) return unreadable('the record is not an object');
  const format = value.format ?? 0;
  if (!isCount(format)) return unreadable(`its format ${JSON.stringify(value.format)} is not a version number`);
  if (format > RUN_FORMAT) return unreadable(`it was saved by a newer version of the app (format ${format}; this one reads up to ${RUN_FORMAT})`);
  if (value.id !== key) return unreadable('its id does not match the key it is stored under');
  if (name === null) return unreadable('it has no name');
  if (!isTime(value.created)) return unreadable('it has no creation time');
  const problem = configProblem(value.config) ?? datasetProblem(value.dataset);
  if (problem) return unreadable(problem);
  if (!RUN_STATES.includes(value.status as RunState)) return unreadable(`its status ${JSON.stringify(value.status)} is unknown`);
  const filled = format < RUN_FORMAT;
  const step = value.step ?? (filled ? 0 : undefined);
  const checkpointStep = value.checkpointStep === undefined && filled ? null : value.checkpointStep;
  if (!isCount(step)) return unreadable(`its step ${JSON.stringify(value.step)} is not a whole number`);
  if (checkpointStep !== null && !isCount(checkpointStep)) return unreadable(`its checkpoint step ${JSON.stringify(value.checkpointStep)} is not a whole number`);
  const updated = value.updated ?? (filled ? value.created : undefined);
  if (!isTime(updated)) return unreadable('it has no time of its last change');
  const dataset = value.dataset as Fields;
  const run: StoredRun = {
    format: RUN_FORMAT,
    id: key,
    name,
    created: value.created,
    updated,
    config: value.config as unknown as TrainConfig,
    dataset: { source: dataset.source as unknown as DatasetSource, summary: (dataset.summary ?? null) as DatasetSummary | null },
    status: value.status as RunState,
    step,
    checkpointStep,
  };
  return { ok: true, run, migrated: filled };
}
