/**
 * The typed messages between the Compare view and the comparison worker, which trains several
 * runs side by side (src/engine/comparison.ts). Separate from the training worker's protocol: the
 * two workers run independently.
 */
import type { ComparisonRunSpec, KnnEvaluation, RunUpdate } from '../engine/comparison';
import type { BackendInfo, BackendName } from './backend-labels';
import type { DatasetSummary, RunState } from './protocol';

/** The built-in shapes at a chosen size: the full set for experiments, a small one for quick looks and tests. */
export interface CompareDataset {
  id: 'shapes';
  trainCount: number;
  testCount: number;
}

export type ToCompareWorker =
  | { type: 'init'; backend?: BackendName }
  /** Replaces any comparison in the worker with these runs, trained on one copy of the data. */
  | { type: 'start'; runs: ComparisonRunSpec[]; dataset: CompareDataset; evaluations: number }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'reset' };

export interface CompareProgress {
  /** One entry per run, in the order they were given. */
  runs: RunUpdate[];
  /** Images per second of all runs together since the previous report (timed steps and evaluations included). */
  imagesPerSecond: number;
  tensors: number;
  bytes: number;
}

export type FromCompareWorker =
  | { type: 'backend'; info: BackendInfo }
  | { type: 'state'; state: RunState; message: string | null }
  | { type: 'dataset'; summary: DatasetSummary }
  | { type: 'progress'; progress: CompareProgress }
  | { type: 'evaluation'; evaluation: KnnEvaluation };
