/**
 * The typed messages between the UI and the training worker. The UI never touches tfjs; it only
 * sends these and renders what comes back.
 */
import type { Checkpoint } from '../engine/checkpoint-format';
import type { PickedFile } from '../data/folder-loader';
import type { DatasetReport } from '../data/report';
import type { AugmentationConfig } from '../engine/augment';
import type { LiveSettings, TrainConfig } from '../engine/config';
import type { ExportedEncoder } from '../engine/export';
import type { EvaluationResult, EvaluationSettings, HeldOutEmbeddings, NeighbourResult } from '../engine/evaluation';
import type { MethodSummary } from '../engine/methods/catalog';
import type { StepRecord } from '../engine/trainer';
import type { BackendInfo, BackendName } from './backend-labels';

export type BuiltinDatasetId = 'shapes' | 'mnist';

/** A built-in set, or the folder last opened (its files stay in the worker until replaced). */
export type DatasetSource = { kind: 'builtin'; id: BuiltinDatasetId } | { kind: 'folder'; name: string };

/** A few dataset images and both of their augmented views, redrawn when a setting changes. */
export interface PreviewRequest {
  /** Echoed back, so the page can drop answers to requests it has since replaced. */
  id: number;
  augmentations: AugmentationConfig;
  imageSize: number;
  count: number;
  /** Seeds the augmentation draws: the same seed shows the same draws, so a setting's effect is visible. */
  seed: number;
}

export interface PreviewImage {
  /** Class name, or null without labels. */
  label: string | null;
  /** imageSize × imageSize RGBA: the image as stored, then view 1 and view 2. */
  original: Uint8ClampedArray;
  views: [Uint8ClampedArray, Uint8ClampedArray];
}

export interface AugmentationPreview {
  id: number;
  size: number;
  datasetName: string;
  images: PreviewImage[];
}

export interface LoadProgress {
  done: number;
  total: number;
  /** What is being loaded, e.g. "Decoding cifar10-mini at 32 px". */
  label: string;
}

export type RunState = 'idle' | 'loading' | 'running' | 'paused' | 'finished' | 'error';

export type ToWorker =
  | { type: 'init'; backend?: BackendName }
  | { type: 'start'; config: TrainConfig; dataset: DatasetSource; evaluation?: EvaluationSettings }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'step' }
  | { type: 'reset' }
  | { type: 'update'; changes: Partial<LiveSettings> }
  | { type: 'exportEncoder' }
  /** The held-out features of the last evaluation, for the Embedding Projector. */
  | { type: 'exportEmbeddings' }
  /** Rebuilds a saved run from its checkpoint (configuration included) and leaves it paused. */
  | { type: 'restore'; dataset: DatasetSource; checkpoint: Checkpoint; name: string }
  | { type: 'loadDataset'; source: DatasetSource; imageSize: number }
  /**
   * A folder's files arrive in chunks (cloning a File costs the page ~0.2 ms, so 6,000 at once froze
   * it for over a second); openFolder then decodes everything received since the last one.
   */
  | { type: 'folderFiles'; files: PickedFile[]; /** Starts a new folder: files received before are dropped. */ first: boolean }
  | { type: 'openFolder'; name: string; imageSize: number }
  | { type: 'cancelLoad' }
  | { type: 'preview'; request: PreviewRequest }
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
  /** Device bytes the training images took when uploaded for this run. */
  deviceBytes?: number;
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
export type { MethodSummary };

export type FromWorker =
  | { type: 'catalog'; methods: MethodSummary[] }
  | { type: 'backend'; info: BackendInfo }
  | { type: 'state'; state: RunState; message: string | null }
  | { type: 'dataset'; summary: DatasetSummary }
  | { type: 'progress'; report: ProgressReport }
  | { type: 'settingsApplied'; step: number; changes: Partial<LiveSettings> }
  | { type: 'settingsRejected'; message: string }
  | { type: 'encoderExported'; files: EncoderFiles }
  | { type: 'embeddingsExported'; embeddings: HeldOutEmbeddings }
  | { type: 'exportFailed'; message: string }
  /** Sent every CHECKPOINT_EVERY_STEPS steps, on pause and finish, and after a change while paused. */
  | { type: 'checkpoint'; checkpoint: Checkpoint }
  | { type: 'checkpointFailed'; message: string }
  | { type: 'loadProgress'; progress: LoadProgress }
  | { type: 'datasetReady'; source: DatasetSource; report: DatasetReport }
  /** Loading failed or was cancelled; the previously loaded dataset stays selected. */
  | { type: 'datasetError'; message: string; report: DatasetReport | null }
  | { type: 'preview'; preview: AugmentationPreview }
  /** costShare: evaluation time so far as a fraction of the run's active time. */
  | { type: 'evaluation'; result: EvaluationResult; elapsedSeconds: number; costShare: number }
  | { type: 'neighbours'; result: NeighbourResult | null; message: string | null };


/** The trained encoder as a LayersModel: `<baseName>.model.json` refers to `weightsFileName`. */
export interface EncoderFiles extends ExportedEncoder {
  baseName: string;
}
