/**
 * The typed messages between the UI and the training worker. The UI never touches tfjs; it only
 * sends these and renders what comes back.
 */
import type { SelectionStrategy } from '../engine/active-learning';
import type { Checkpoint } from '../engine/checkpoint-format';
import type { PickedFile } from '../data/folder-loader';
import type { DatasetReport } from '../data/report';
import type { AugmentationConfig } from '../engine/augment';
import type { LiveSettings, TrainConfig } from '../engine/config';
import type { MemoryEstimate } from '../engine/memory-estimate';
import type { ExportedEncoder } from '../engine/export';
import type { ProjectFile } from '../engine/pytorch-export';
import type { EvaluationSettings, HeldOutEmbeddings, NeighbourResult } from '../engine/evaluation';
import type { MethodSummary } from '../engine/methods/catalog';
import type { RunSpec, SessionEvaluation, SessionReport } from '../engine/run-session';
import type { BackendInfo, BackendMeasurement, BackendName, BackendRequest } from './backend-labels';

/** A simulated active-learning experiment (MoBYv2AL): one series per strategy, and the labels-only baseline where asked. */
export interface ActiveLearningRequest {
  dataset: DatasetSource;
  strategies: SelectionStrategy[];
  /** Adds the same classifier trained on the labels alone (random picks, the same first labels). */
  labelsOnly: boolean;
  initial: number;
  budget: number;
  cycles: number;
  stepsPerCycle: number;
  reinitialise: boolean;
  seed: number;
  imageSize: number;
  batchSize: number;
  backend: BackendRequest;
}

/**
 * One cycle on your own folder (the one last opened in this worker): train MoBYv2AL on the labels
 * given so far, then suggest the next images to label. Labels are by path, so they outlive reloads.
 */
export interface LabellingCycleRequest {
  folder: string;
  classNames: string[];
  /** Each label a class index into classNames; one per path. */
  labels: { path: string; label: number }[];
  strategy: SelectionStrategy;
  budget: number;
  stepsPerCycle: number;
  /** The learning-rate schedule spans this many cycles (warm start); later cycles extend it. */
  plannedCycles: number;
  seed: number;
  imageSize: number;
  batchSize: number;
  backend: BackendRequest;
}

/** What one cycle on your own folder trained with, and what to label next. */
export interface LabellingSuggestions {
  cycle: number;
  /** Labelled images the run trained with in this cycle (the trainer's own count). */
  trainedWith: number;
  /** Of those, labels taken from the folder's class sub-folders (images the person had not labelled). */
  fromFolder: number;
  perClassLabels: number[];
  unlabelled: number;
  trainCount: number;
  /** Side of the thumbnails. */
  size: number;
  /** The images to label next, each with its size × size RGBA pixels. */
  suggestions: { path: string; pixels: Uint8ClampedArray }[];
  notes: string[];
  /** The embedding view: a PCA map of the trained features, each point labelled (its class), unlabelled or suggested. */
  map: LabellingMap;
}

export interface LabellingMap {
  x: Float32Array;
  y: Float32Array;
  /** Per point: its class index when labelled, LABELLING_MAP_UNLABELLED or LABELLING_MAP_SUGGESTED. */
  kinds: Int32Array;
}

export const LABELLING_MAP_UNLABELLED = -1;
export const LABELLING_MAP_SUGGESTED = -2;

/** The series name of the labels-only baseline. */
export const LABELS_ONLY_SERIES = 'labels only';

/** One cycle of one series: the classifier's held-out accuracy with that many labels. */
export interface ActiveLearningPoint {
  cycle: number;
  labelled: number;
  accuracy: number;
  perClassLabels: number[];
  reveals: number;
}

export type BuiltinDatasetId = 'shapes' | 'shapes-quick' | 'silhouettes' | 'mnist';

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

/**
 * The page asks, the worker trains. The Train tab and Compare each run one worker of this kind: the
 * Train tab a session of one run, Compare a session of several on one dataset.
 */
export type ToWorker =
  /**
   * `backend`: the one the address asks for (?backend=), used before any run; each start names its own.
   * `lifeLock`: a Web Lock the worker holds until it ends, so the page learns at once that it died.
   */
  | { type: 'init'; backend?: BackendName; lifeLock?: string }
  /** Replaces any session in the worker with these runs, trained on one copy of the data. */
  | {
      type: 'start';
      runs: RunSpec[];
      dataset: DatasetSource;
      /** Which backend trains (the address's ?backend= overrides it). */
      backend: BackendRequest;
      /** null: no evaluation. */
      evaluation: EvaluationSettings | null;
      /** Compare: about this many evaluations per run, whatever its length (replaces the interval). */
      evaluationsPerRun?: number;
      /** Compare's experiments with a reference line: evaluate the first run's untrained encoder at step 0, before the first step. */
      untrainedReference?: boolean;
      /** Send the first run's checkpoints to the page (the Train tab keeps them in IndexedDB). */
      checkpoints: boolean;
    }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'step' }
  | { type: 'reset' }
  /** Live settings of the first run (the Train tab's). */
  | { type: 'update'; changes: Partial<LiveSettings> }
  | { type: 'exportEncoder' }
  /** The run as a PyTorch project (train.py, weights, parity batch): answered by pytorchExported. */
  | { type: 'exportPytorch' }
  /**
   * Weights (safetensors: app names, PyTorch layouts, as train.py writes them) into the current run's
   * networks, or into its encoder alone when they are another method's; answered by weightsImported.
   */
  | { type: 'importWeights'; data: ArrayBuffer }
  /** The held-out features of the last evaluation, for the Embedding Projector. */
  | { type: 'exportEmbeddings' }
  /** Rebuilds a saved run from its checkpoint (configuration included) and leaves it paused, or trains on with `train`. */
  | { type: 'restore'; dataset: DatasetSource; checkpoint: Checkpoint; name: string; evaluation: EvaluationSettings; backend: BackendRequest; train?: boolean }
  | { type: 'loadDataset'; source: DatasetSource; imageSize: number }
  /**
   * A folder's files arrive in chunks (cloning a File costs the page ~0.2 ms, so 6,000 at once froze
   * it for over a second); openFolder then decodes everything received since the last one.
   */
  | { type: 'folderFiles'; files: PickedFile[]; /** Starts a new folder: files received before are dropped. */ first: boolean }
  /** asFlat: every image unlabelled and for training, class folders only named (the labelling mode). */
  | { type: 'openFolder'; name: string; imageSize: number; asFlat?: boolean }
  | { type: 'cancelLoad' }
  | { type: 'preview'; request: PreviewRequest }
  /** Evaluation cadence and protocol; applies from the next check, between steps. */
  | { type: 'evaluationSettings'; changes: Partial<EvaluationSettings> }
  | { type: 'evaluateNow' }
  /** The memory a run of `config` needs on the current backend and dataset (while nothing trains); answered by memoryEstimate. */
  | { type: 'estimateMemory'; config: TrainConfig }
  /** Nearest training images of held-out point `row` of the embedding view. */
  | { type: 'neighbours'; row: number }
  /** Diagnostics: destroys the WebGPU device the worker trains on, so the real device-lost path runs. */
  | { type: 'simulateDeviceLoss' }
  /** Diagnostics: the most bytes of tensors the worker may hold (null: no cap); an allocation past it fails as a real one would. */
  | { type: 'capMemory'; bytes: number | null }
  /** Runs a simulated active-learning experiment; its cycles arrive as activeLearningCycle, its end as state 'finished'. */
  | { type: 'activeLearning'; request: ActiveLearningRequest }
  /** A cycle on your own folder; answered by labellingSuggestions, or a state 'error' that says why. */
  | { type: 'labellingCycle'; request: LabellingCycleRequest };

export interface DatasetSummary {
  name: string;
  trainCount: number;
  testCount: number;
  classNames: string[];
  imageSize: number;
  /** Device bytes the training images took when uploaded for this session. */
  deviceBytes?: number;
}

/** What tfjs holds: tensors and bytes, and the GPU's share where the backend reports it (WebGL, WebGPU). */
export interface DeviceMemory {
  tensors: number;
  bytes: number;
  gpuBytes: number | null;
}

/** What the UI needs to know of a method, sent by the worker so the page never loads the engine. */
export type { MethodSummary };

export type FromWorker =
  | { type: 'catalog'; methods: MethodSummary[] }
  /** Every backend of the app, as this browser offers it (the `note` says why one cannot run). */
  | { type: 'backends'; backends: BackendMeasurement[] }
  /** The backend in use and how it was chosen: at init (for previews), then at every start. */
  | { type: 'backend'; info: BackendInfo }
  | { type: 'state'; state: RunState; message: string | null }
  | { type: 'dataset'; summary: DatasetSummary }
  | { type: 'progress'; report: SessionReport; memory: DeviceMemory }
  | { type: 'settingsApplied'; step: number; changes: Partial<LiveSettings> }
  | { type: 'settingsRejected'; message: string }
  | { type: 'encoderExported'; files: EncoderFiles }
  | { type: 'embeddingsExported'; embeddings: HeldOutEmbeddings }
  | { type: 'pytorchExported'; baseName: string; files: ProjectFile[] }
  | { type: 'weightsImported'; message: string }
  | { type: 'exportFailed'; message: string }
  /** The first run's, every CHECKPOINT_EVERY_STEPS steps, on pause and finish, and after a change while paused. */
  | { type: 'checkpoint'; checkpoint: Checkpoint }
  | { type: 'checkpointFailed'; message: string }
  | { type: 'loadProgress'; progress: LoadProgress }
  | { type: 'datasetReady'; source: DatasetSource; report: DatasetReport }
  /** Loading failed or was cancelled; the previously loaded dataset stays selected. */
  | { type: 'datasetError'; message: string; report: DatasetReport | null }
  | { type: 'preview'; preview: AugmentationPreview }
  /** costShare: the run's evaluation time so far as a fraction of the session's active time. */
  | ({ type: 'evaluation' } & SessionEvaluation)
  | { type: 'neighbours'; result: NeighbourResult | null; message: string | null }
  /**
   * The run stopped at `step` for a cause the page recovers from: the GPU device was lost (the page
   * starts a new worker and resumes from the last checkpoint) or an allocation failed (the run waits
   * for a smaller setting). The session is gone; what was saved is untouched.
   */
  | { type: 'runInterrupted'; cause: 'device' | 'memory'; step: number; detail: string }
  /** `config`: the configuration it was asked for, so the page can tell a stale answer. */
  | { type: 'memoryEstimate'; config: TrainConfig; estimate: MemoryReport | null; problem: string | null }
  /** `series`: the strategy's name, or "labels only"; `classNames` name perClassLabels' entries. */
  | { type: 'activeLearningCycle'; series: string; point: ActiveLearningPoint; classNames: string[] }
  | { type: 'labellingSuggestions'; result: LabellingSuggestions };

/** A configuration's memory need on a backend, against what that backend can hold where it says. */
export interface MemoryReport extends MemoryEstimate {
  backend: BackendName;
  /** Most bytes the backend can hold, or null where the browser does not tell (a GPU's memory). */
  limitBytes: number | null;
}

/** Posted by the worker file (not the session) once it holds the init's life lock. */
export interface LifeLockHeld {
  type: 'lifeLockHeld';
}

/** The end of every switch over these messages: a message type nobody handles does not compile. */
export function assertNever(message: never): never {
  throw new Error(`Unknown message ${JSON.stringify(message)}`);
}

/** The trained encoder as a LayersModel: `<baseName>.model.json` refers to `weightsFileName`. */
export interface EncoderFiles extends ExportedEncoder {
  baseName: string;
}
