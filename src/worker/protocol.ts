/**
 * The typed messages between the UI and the training worker. The UI never touches tfjs; it only
 * sends these and renders what comes back.
 */
import type { Checkpoint } from '../engine/checkpoint-format';
import type { LiveSettings, PresetName, TrainConfig } from '../engine/config';
import type { ExportedEncoder } from '../engine/export';
import type { MethodDefinition } from '../engine/methods/types';
import type { StepRecord } from '../engine/trainer';
import type { BackendInfo, BackendName } from './backend-labels';

export type DatasetSource = { kind: 'builtin'; id: 'shapes' };

export type RunState = 'idle' | 'loading' | 'running' | 'paused' | 'finished' | 'error';

export type ToWorker =
  | { type: 'init'; backend?: BackendName }
  | { type: 'start'; config: TrainConfig; dataset: DatasetSource }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'step' }
  | { type: 'reset' }
  | { type: 'update'; changes: Partial<LiveSettings> }
  | { type: 'exportEncoder' }
  /** Rebuilds a saved run from its checkpoint (configuration included) and leaves it paused. */
  | { type: 'restore'; dataset: DatasetSource; checkpoint: Checkpoint; name: string };

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
  embeddingDim: number;
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
  | { type: 'encoderExported'; files: EncoderFiles }
  | { type: 'exportFailed'; message: string }
  /** Sent every CHECKPOINT_EVERY_STEPS steps, on pause and finish, and after a change while paused. */
  | { type: 'checkpoint'; checkpoint: Checkpoint }
  | { type: 'checkpointFailed'; message: string };

/** The trained encoder as a LayersModel: `<baseName>.model.json` refers to `weightsFileName`. */
export interface EncoderFiles extends ExportedEncoder {
  baseName: string;
}
