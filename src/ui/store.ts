/**
 * The one UI store. It holds what the worker reported (backend, state, metric history) and the
 * configuration being edited; components read it, and only `actions` talk to the worker.
 */
import { create } from 'zustand';
import { INITIAL_COLLAPSE_ALARM, updateCollapseAlarm, type CollapseAlarmState } from '../engine/collapse';
import type { RunReport } from '../engine/run-session';
import type { LiveSettings, PresetName, TrainConfig } from '../engine/config';
import type { DatasetReport } from '../data/report';
import type { EvaluationResult, NeighbourResult } from '../engine/evaluation';
import { DEFAULT_EVALUATION, type EvaluationSettings } from '../engine/evaluation-settings';
import type { StoredRun, UnreadableRun } from '../storage/runs-db';
import { requestedBackend, type BackendInfo, type BackendMeasurement, type BackendName } from '../worker/backend-labels';
import { rememberChoice } from './backend-memory';
import { assertNever, type AugmentationPreview, type DatasetSource, type DatasetSummary, type DeviceMemory, type FromWorker, type LoadProgress, type MemoryReport, type MethodSummary, type RunState } from '../worker/protocol';
import { evaluationToPoint, recordsToPoints, thin, type ChartPoint, type EvaluationPoint, type XAxisKey } from './chart-data';
import { createActiveLearningSlice, type ActiveLearningSlice } from './active-learning-store';
import { createCompareSlice, type CompareSlice } from './compare-store';


export interface ChartOptions {
  /** EMA weight for per-step curves, 0 (raw) to 0.99. */
  smoothing: number;
  xAxis: XAxisKey;
}

export interface NeighbourView {
  row: number;
  result: NeighbourResult | null;
  message: string | null;
}

export interface SettingsMarker {
  step: number;
  label: string;
}

/** Oldest points are thinned past this many, so long runs keep the charts responsive. */
const MAX_CHART_POINTS = 4000;

export interface AppState extends CompareSlice, ActiveLearningSlice {
  methods: MethodSummary[];
  /** The backend in use and how it was chosen. */
  backend: BackendInfo | null;
  /** Every backend of the app, as this browser offers it. */
  backends: BackendMeasurement[];
  /** Which backend runs train on: the fastest by measurement, or one the user picked (both tabs). */
  backendSetting: BackendName | 'fastest';
  setBackendSetting(setting: BackendName | 'fastest'): void;
  runState: RunState;
  message: string | null;
  dataset: DatasetSummary | null;
  /** The Train tab's run as of the latest report (its records go to `history`), and the device's memory. */
  progress: (Omit<RunReport, 'records'> & DeviceMemory) | null;
  history: ChartPoint[];
  markers: SettingsMarker[];
  settingsError: string | null;
  config: TrainConfig | null;
  /** Configuration of the run in the worker, live changes included; null before the first run. */
  runConfig: TrainConfig | null;
  /** Runs kept in the browser (IndexedDB), oldest first. */
  savedRuns: StoredRun[];
  /** Records in the browser's storage that cannot be used (a newer app's, edited by hand), with the reason. */
  unreadableRuns: UnreadableRun[];
  /** Saved runs another tab of the app owns (trains or has open): read-only here. */
  runsElsewhere: string[];
  /** The saved run the worker's current run is recorded into. */
  currentRunId: string | null;
  /** The last storage problem (storage full, no IndexedDB), shown until a checkpoint is saved again. */
  storageError: string | null;
  /** The memory the setup needs, as the worker last measured it, with the configuration it measured. */
  memoryEstimate: { config: TrainConfig; estimate: MemoryReport | null; problem: string | null } | null;
  /** The Train tab's run stopped by a fault (dead worker, lost GPU device, out of memory): where it was, and the checkpoint it can resume from. */
  interruption: RunInterruption | null;
  /**
   * Records that the run stopped for `cause` at `step` (a dead worker cannot say: the last step
   * reported), with the steps a resume from the last checkpoint would train again.
   */
  interruptRun(cause: InterruptionCause, step?: number, detail?: string): void;
  /** Name of the folder picked last (in either tab): Compare offers it as data. */
  pickedFolderName: string | null;
  /** The dataset Train uses: the last one the worker loaded successfully. */
  datasetSource: DatasetSource;
  datasetReport: DatasetReport | null;
  /** Set while the worker loads or decodes a dataset. */
  datasetLoad: LoadProgress | null;
  /** Why the last load failed (the previous dataset stays). */
  datasetError: string | null;
  /** The failed load's report, when there is one: its skipped files explain the failure. */
  rejectedReport: DatasetReport | null;
  preview: AugmentationPreview | null;
  /** Marks a load as started before the worker's first progress message arrives. */
  beginDatasetLoad(label: string): void;
  /** Names of the loss terms seen in this run, in arrival order. */
  termNames: string[];
  evaluations: EvaluationPoint[];
  latestEvaluation: EvaluationResult | null;
  /** Evaluation time so far as a share of the run's active time. */
  evaluationCost: number | null;
  evaluationSettings: EvaluationSettings;
  /** The run's active time at the latest report or evaluation: where the next steps' wall times start. */
  elapsedSeconds: number;
  collapse: CollapseAlarmState;
  collapseDismissed: boolean;
  neighbours: NeighbourView | null;
  chartOptions: ChartOptions;
  receive(message: FromWorker): void;
  chooseMethod(id: string, preset: PresetName): void;
  editConfig(changes: Partial<TrainConfig>): void;
  clearRun(): void;
  setChartOptions(changes: Partial<ChartOptions>): void;
  setEvaluationSettings(changes: Partial<EvaluationSettings>): void;
  dismissCollapse(): void;
  requestNeighbours(row: number): void;
}

/** Why a run stopped without being asked: its worker died, its WebGPU device was lost, or an allocation failed. */
export type InterruptionCause = 'worker' | 'device' | 'memory';

export interface RunInterruption {
  cause: InterruptionCause;
  runId: string | null;
  /** Steps done when the run stopped. */
  step: number;
  /** The saved checkpoint's step, or null when none was saved yet. */
  checkpointStep: number | null;
  /** What the worker said: how the device was lost, which allocation failed; null for a dead worker. */
  detail: string | null;
  /** The run's batch size when it stopped: the setting to lower after running out of memory. */
  batchSize: number | null;
  /** After a lost device the page resumes from the checkpoint by itself. */
  resuming: boolean;
}

const WORKER_STOPPED = 'The training worker stopped (it crashed, or the browser ended it for memory)';

function stepsLost({ step, checkpointStep }: RunInterruption): string {
  const lost = checkpointStep === null ? step : step - checkpointStep;
  return `${lost} step${lost === 1 ? '' : 's'} lost`;
}

/** What the user reads, e.g. "The training worker stopped at step 130 (…); a new one has started. Its last checkpoint is step 100: 30 steps lost." */
export function describeInterruption(interruption: RunInterruption): string {
  const { cause, step, checkpointStep, detail, batchSize } = interruption;
  const lost = stepsLost(interruption);
  if (cause === 'worker') {
    const where = checkpointStep === null ? 'No checkpoint had been saved yet' : `Its last checkpoint is step ${checkpointStep}`;
    return `${WORKER_STOPPED.replace('stopped', `stopped at step ${step}`)}; a new one has started. ${where}: ${lost}.`;
  }
  if (cause === 'device') {
    const restart = 'A new worker restarts the backend (WebGPU again if the device comes back, else the next fastest)';
    const resume = checkpointStep === null ? 'no checkpoint had been saved yet, so press Train to start again' : `resumes from the last checkpoint, step ${checkpointStep}`;
    return `The GPU device was lost at step ${step}: ${detail}. ${restart} and ${resume}: ${lost}.`;
  }
  const lower = `Lower the batch size${batchSize === null ? '' : ` (now ${batchSize})`} or the image size; the setup panel shows what fits`;
  const resume = checkpointStep === null ? 'No checkpoint had been saved yet, so press Train to start again' : `Then resume from the last checkpoint, step ${checkpointStep}`;
  return `Out of memory at step ${step}: ${detail} The run stopped and nothing saved is lost. ${lower}. ${resume}: ${lost}.`;
}

export function describeChanges(changes: Partial<LiveSettings>): string {
  return Object.entries(changes)
    .map(([key, value]) => (typeof value === 'object' ? key : `${key}=${value}`))
    .join(', ');
}

export const useAppStore = create<AppState>()((set, get) => ({
  ...createCompareSlice(set, get),
  ...createActiveLearningSlice(set),
  methods: [],
  backend: null,
  backends: [],
  backendSetting: typeof location === 'undefined' ? 'fastest' : (requestedBackend(location.search) ?? 'fastest'),
  setBackendSetting(backendSetting) {
    set({ backendSetting });
  },
  runState: 'idle',
  message: null,
  dataset: null,
  progress: null,
  history: [],
  markers: [],
  settingsError: null,
  config: null,
  runConfig: null,
  savedRuns: [],
  unreadableRuns: [],
  runsElsewhere: [],
  currentRunId: null,
  storageError: null,
  memoryEstimate: null,
  interruption: null,
  interruptRun(cause, step, detail) {
    const { progress, currentRunId, savedRuns, runState, runConfig } = get();
    const training = cause !== 'worker' || runState === 'running' || runState === 'paused' || runState === 'loading';
    if (!training) return set({ interruption: null, runState: 'error', message: `${WORKER_STOPPED}; a new one has started.` });
    const interruption: RunInterruption = {
      cause,
      runId: currentRunId,
      step: step ?? progress?.steps ?? 0,
      checkpointStep: savedRuns.find((r) => r.id === currentRunId)?.checkpointStep ?? null,
      detail: detail ?? null,
      batchSize: runConfig?.batchSize ?? null,
      resuming: false,
    };
    set({ interruption, runState: 'error', message: describeInterruption(interruption) });
  },
  pickedFolderName: null,
  datasetSource: { kind: 'builtin', id: 'shapes' },
  datasetReport: null,
  datasetLoad: null,
  datasetError: null,
  rejectedReport: null,
  preview: null,

  beginDatasetLoad(label) {
    set({ datasetLoad: { done: 0, total: 0, label }, datasetError: null, rejectedReport: null });
  },
  termNames: [],
  evaluations: [],
  latestEvaluation: null,
  evaluationCost: null,
  evaluationSettings: DEFAULT_EVALUATION,
  elapsedSeconds: 0,
  collapse: INITIAL_COLLAPSE_ALARM,
  collapseDismissed: false,
  neighbours: null,
  chartOptions: { smoothing: 0.6, xAxis: 'step' },

  receive(message) {
    switch (message.type) {
      case 'catalog': {
        const first = message.methods[0];
        set({ methods: message.methods, config: get().config ?? (first ? structuredClone(first.defaults.classroom) : null) });
        return;
      }
      case 'backends':
        set({ backends: message.backends });
        return;
      case 'backend': {
        const { runConfig, backends } = get();
        if (runConfig) rememberChoice(message.info, backends, runConfig);
        set({ backend: message.info });
        return;
      }
      case 'state':
        set({ runState: message.state, message: message.message });
        return;
      case 'dataset':
        set({ dataset: message.summary });
        return;
      case 'progress': {
        const { records, ...run } = message.report.runs[0];
        const { elapsedSeconds } = message.report;
        set((s) => {
          const points = recordsToPoints(records, s.elapsedSeconds, elapsedSeconds);
          const newTerms = records.flatMap((r) => Object.keys(r.terms)).filter((name, i, all) => !s.termNames.includes(name) && all.indexOf(name) === i);
          const collapse = updateCollapseAlarm(s.collapse, records, run.embeddingDim);
          return {
            progress: { ...run, ...message.memory },
            elapsedSeconds,
            history: thin([...s.history, ...points], MAX_CHART_POINTS),
            termNames: newTerms.length > 0 ? [...s.termNames, ...newTerms] : s.termNames,
            collapse,
            // A new collapse after recovery shows the alarm again even if the last one was dismissed.
            collapseDismissed: collapse.active && !s.collapse.active ? false : s.collapseDismissed,
          };
        });
        return;
      }
      case 'evaluation':
        set((s) => ({
          latestEvaluation: message.result,
          evaluationCost: message.costShare,
          elapsedSeconds: message.elapsedSeconds,
          evaluations: [...s.evaluations, evaluationToPoint(message.result, message.elapsedSeconds, s.evaluations.at(-1)?.bestKnnAccuracy ?? null)],
        }));
        return;
      case 'neighbours':
        set((s) => (s.neighbours ? { neighbours: { ...s.neighbours, result: message.result, message: message.message } } : {}));
        return;
      case 'memoryEstimate':
        set({ memoryEstimate: { config: message.config, estimate: message.estimate, problem: message.problem } });
        return;
      case 'settingsApplied':
        set((s) => ({
          settingsError: null,
          markers: [...s.markers, { step: message.step, label: describeChanges(message.changes) }],
          runConfig: s.runConfig ? { ...s.runConfig, ...message.changes } : null,
        }));
        return;
      case 'settingsRejected':
        set({ settingsError: message.message });
        return;
      case 'loadProgress':
        set({ datasetLoad: message.progress });
        return;
      case 'datasetReady':
        set({ datasetSource: message.source, datasetReport: message.report, datasetLoad: null, datasetError: null, rejectedReport: null });
        return;
      case 'datasetError':
        set({ datasetLoad: null, datasetError: message.message, rejectedReport: message.report });
        return;
      case 'preview':
        set({ preview: message.preview });
        return;
      case 'runInterrupted':
        get().interruptRun(message.cause, message.step, message.detail);
        return;
      // Export replies go to the request that asked (worker-connection.ts); checkpoints to the run keeper.
      case 'encoderExported':
      case 'embeddingsExported':
      case 'pytorchExported':
      case 'weightsImported':
      case 'exportFailed':
      case 'checkpoint':
      case 'checkpointFailed':
      // The Active learning tab's own worker sends these; this one never does.
      case 'activeLearningCycle':
      case 'labellingSuggestions':
        return;
      default:
        assertNever(message);
    }
  },

  chooseMethod(id, preset) {
    const method = get().methods.find((m) => m.id === id);
    if (method) set({ config: structuredClone(method.defaults[preset]) });
  },

  editConfig(changes) {
    const config = get().config;
    if (config) set({ config: { ...config, ...changes } });
  },

  clearRun() {
    set({
      history: [],
      markers: [],
      progress: null,
      dataset: null,
      settingsError: null,
      message: null,
      termNames: [],
      evaluations: [],
      latestEvaluation: null,
      evaluationCost: null,
      elapsedSeconds: 0,
      collapse: INITIAL_COLLAPSE_ALARM,
      collapseDismissed: false,
      neighbours: null,
      interruption: null,
    });
  },

  setChartOptions(changes) {
    set((s) => ({ chartOptions: { ...s.chartOptions, ...changes } }));
  },

  setEvaluationSettings(changes) {
    set((s) => ({ evaluationSettings: { ...s.evaluationSettings, ...changes } }));
  },

  dismissCollapse() {
    set({ collapseDismissed: true });
  },

  requestNeighbours(row) {
    set({ neighbours: { row, result: null, message: null } });
  },
}));
