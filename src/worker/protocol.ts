/**
 * The typed messages between the UI and the training worker. The UI never touches tfjs; it only
 * sends these and renders what comes back.
 */
import type { LiveSettings, PresetName, TrainConfig } from '../engine/config';
import type { EvaluationResult, EvaluationSettings, NeighbourResult } from '../engine/evaluation';
import type { MethodDefinition } from '../engine/methods/types';
import type { StepRecord } from '../engine/trainer';
import type { BackendInfo, BackendName } from './backend-labels';

export type DatasetSource = { kind: 'builtin'; id: 'shapes' };

export type RunState = 'idle' | 'loading' | 'running' | 'paused' | 'finished' | 'error';

export type ToWorker =
  | { type: 'init'; backend?: BackendName }
  | { type: 'start'; config: TrainConfig; dataset: DatasetSource; evaluation?: EvaluationSettings }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'step' }
  | { type: 'reset' }
  | { type: 'update'; changes: Partial<LiveSettings> }
  /** Evaluation cadence and protocol; applies from the next check, between steps. */
  | { type: 'evaluationSettings'; changes: Partial<EvaluationSettings> }
  | { type: 'evaluateNow' }
  /** Nearest training images of held-out point `row` of the embedding view. */
  | { type: 'neighbours'; row: number };

export interface DatasetSummary {
  name: string;
  trainCount: number;
  testCount: number;
  classNames: string[];
  imageSize: number;
}

export interface ProgressReport {
  records: StepRecord[];
  step: number;
  epoch: number;
  imagesPerSecond: number;
  /** Wall time per step over the steps in this report, including the read-back. */
  stepMilliseconds: number;
  tensors: number;
  bytes: number;
  /** Bytes the GPU backend holds (WebGPU/WebGL report it; null on the CPU). */
  gpuBytes: number | null;
  embeddingDim: number;
  /** Active run time so far (pauses excluded), for the wall-time axis. */
  elapsedSeconds: number;
}

/** What the UI needs to know of a method, sent by the worker so the page never loads the engine. */
export interface MethodSummary {
  id: string;
  label: string;
  family: MethodDefinition['family'];
  explanation: string;
  uses: MethodDefinition['uses'];
  defaults: Record<PresetName, TrainConfig>;
}

export type FromWorker =
  | { type: 'catalog'; methods: MethodSummary[] }
  | { type: 'backend'; info: BackendInfo }
  | { type: 'state'; state: RunState; message: string | null }
  | { type: 'dataset'; summary: DatasetSummary }
  | { type: 'progress'; report: ProgressReport }
  | { type: 'settingsApplied'; step: number; changes: Partial<LiveSettings> }
  | { type: 'settingsRejected'; message: string }
  /** costShare: evaluation time so far as a fraction of the run's active time. */
  | { type: 'evaluation'; result: EvaluationResult; elapsedSeconds: number; costShare: number }
  | { type: 'neighbours'; result: NeighbourResult | null; message: string | null };
