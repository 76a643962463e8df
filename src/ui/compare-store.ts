/**
 * The Compare view's part of the one UI store (zustand's slice pattern: store.ts spreads this
 * slice into the store). `compare` holds the run list being edited, what the comparison worker
 * reported and what the charts show; `compareActions` are the only functions that change it.
 */
import type { StoreApi } from 'zustand';
import type { PresetName, TrainConfig } from '../engine/config';
import type { Experiment } from '../engine/experiments';
import type { RunStatus } from '../engine/run-session';
import type { BackendInfo } from '../worker/backend-labels';
import { assertNever, type DatasetSource, type DatasetSummary, type FromWorker, type LoadProgress, type RunState } from '../worker/protocol';
import type { AppState } from './store';
import { rememberChoice } from './backend-memory';
import { thin } from './chart-data';

/** Distinct, colour-blind-friendlier line colours, handed out in order. */
export const RUN_COLOURS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];

/** The data every run of a comparison trains on: a built-in set, or the folder picked last (in either tab). */
export const COMPARE_DATASETS: { value: string; label: string; source: DatasetSource }[] = [
  // First: the ready-made experiments' data (docs/experiments.md says why).
  { value: 'silhouettes', label: 'Shape silhouettes: 1,200 train, 300 held out', source: { kind: 'builtin', id: 'silhouettes' } },
  { value: 'shapes', label: 'Coloured shapes: 1,200 train, 300 held out', source: { kind: 'builtin', id: 'shapes' } },
  { value: 'shapes-quick', label: 'Shapes, quick: 240 train, 60 held out', source: { kind: 'builtin', id: 'shapes-quick' } },
  { value: 'mnist', label: 'MNIST digits: 8,000 train, 2,000 held out', source: { kind: 'builtin', id: 'mnist' } },
];

/** Oldest points of a run are thinned past this many, so long comparisons keep the charts responsive. */
const MAX_POINTS_PER_RUN = 2000;

export interface CompareRunDraft {
  id: string;
  name: string;
  color: string;
  config: TrainConfig;
  /** The run's line and place on an experiment's summary chart; dropped once the run list is edited. */
  sweep: { series: string; value: string } | null;
}

export type ExperimentInfo = Pick<Experiment, 'id' | 'title' | 'question' | 'paper' | 'lookFor' | 'measured' | 'axis' | 'untrainedReference'>;

export interface ComparePoint {
  /** Steps done, this one included (1 for the first step), as kNN evaluations count them. */
  step: number;
  /** Images the run has trained on after this step. */
  images: number;
  loss: number;
  featureStd: number;
}

/** A run's gradient anatomy at one measured step (docs/metrics.md). */
export interface CompareGradientPoint {
  step: number;
  images: number;
  positive: number;
  negative: number;
  ratio: number;
  unigradCosine: number;
}

export interface CompareKnnPoint {
  step: number;
  images: number;
  accuracy: number;
}

export interface CompareRunResult {
  history: ComparePoint[];
  knn: CompareKnnPoint[];
  /** Sparse: the steps that measured the gradient anatomy. */
  gradients: CompareGradientPoint[];
  steps: number;
  epochs: number;
  imagesPerSecond: number | null;
  status: RunStatus;
  problem: string | null;
}

export type CompareAxis = 'step' | 'images';

export interface CompareState {
  /** The runs being edited; Start sends them to the worker. */
  draft: CompareRunDraft[];
  dataset: DatasetSource;
  /** kNN evaluations per run, evenly spaced, the last at the end. */
  evaluations: number;
  /** The ready-made experiment the draft is, until the run list is edited. */
  experiment: ExperimentInfo | null;
  /** What the worker is training: the draft as it was at Start. */
  active: { runs: CompareRunDraft[]; experiment: ExperimentInfo | null } | null;
  results: Record<string, CompareRunResult>;
  /**
   * kNN accuracy of the first run's untrained encoder, evaluated at step 0 before any run trained
   * (only experiments with `untrainedReference` ask for it); kept apart from the runs' own kNN points.
   */
  untrainedKnn: number | null;
  runState: RunState;
  message: string | null;
  backend: BackendInfo | null;
  datasetSummary: DatasetSummary | null;
  /** Set while the worker loads or decodes the data. */
  datasetLoad: LoadProgress | null;
  /** All runs together, since the previous report. */
  imagesPerSecond: number;
  tensors: number;
  bytes: number;
  /** Runs hidden from the charts (legend toggles). */
  hidden: string[];
  xAxis: CompareAxis;
}

export interface CompareActions {
  /** Adds a run: a copy of the last one (the usual next step is to change one setting), or the first method's classroom preset. */
  addRun(): void;
  removeRun(id: string): void;
  renameRun(id: string, name: string): void;
  recolourRun(id: string, color: string): void;
  editRun(id: string, changes: Partial<TrainConfig>): void;
  /** Switches a run to another method or preset; encoder, image size, seed and length stay. */
  chooseRunMethod(id: string, method: string, preset: PresetName): void;
  /** Sets one or more settings on every run (the shared encoder, image size and seed controls). */
  editAllRuns(changes: Partial<TrainConfig>): void;
  setDataset(source: DatasetSource): void;
  setEvaluations(count: number): void;
  loadExperiment(experiment: Experiment): void;
  /** Freezes the draft as the comparison being trained and clears old results; returns its runs. */
  begin(): CompareRunDraft[];
  receive(message: FromWorker): void;
  toggleRun(id: string): void;
  setXAxis(axis: CompareAxis): void;
  clearResults(): void;
}

/** A stable empty run list for selectors (a new [] per call would re-render forever). */
export const NO_RUNS: CompareRunDraft[] = [];

/** The runs being trained or last trained; selectors use this for a stable reference. */
export const selectActiveRuns = (s: { compare: CompareState }): CompareRunDraft[] => s.compare.active?.runs ?? NO_RUNS;

export interface CompareSlice {
  compare: CompareState;
  compareActions: CompareActions;
}

const initialState: CompareState = {
  draft: [],
  dataset: COMPARE_DATASETS[0].source,
  evaluations: 6,
  experiment: null,
  active: null,
  results: {},
  untrainedKnn: null,
  runState: 'idle',
  message: null,
  backend: null,
  datasetSummary: null,
  datasetLoad: null,
  imagesPerSecond: 0,
  tensors: 0,
  bytes: 0,
  hidden: [],
  xAxis: 'step',
};

function emptyResult(): CompareRunResult {
  return { history: [], knn: [], gradients: [], steps: 0, epochs: 0, imagesPerSecond: null, status: 'training', problem: null };
}

let nextRunNumber = 1;

export function createCompareSlice(set: StoreApi<AppState>['setState'], get: () => AppState): CompareSlice {
  const patch = (changes: Partial<CompareState> | ((compare: CompareState) => Partial<CompareState>)) =>
    set((s) => ({ compare: { ...s.compare, ...(typeof changes === 'function' ? changes(s.compare) : changes) } }));
  /** A config edit turns an experiment into a comparison of one's own: its summary labels no longer hold. */
  const editDraft = (update: (draft: CompareRunDraft[]) => CompareRunDraft[]) =>
    patch((c) => ({ draft: update(c.draft).map((run) => ({ ...run, sweep: null })), experiment: null }));
  const methodLabel = (id: string) => get().methods.find((m) => m.id === id)?.label ?? id;
  const freeColour = (draft: CompareRunDraft[]) => RUN_COLOURS.find((c) => !draft.some((r) => r.color === c)) ?? RUN_COLOURS[draft.length % RUN_COLOURS.length];

  return {
    compare: initialState,
    compareActions: {
      addRun() {
        const { draft } = get().compare;
        const last = draft[draft.length - 1];
        const first = get().methods[0];
        const config = last ? structuredClone(last.config) : first ? structuredClone(first.defaults.classroom) : null;
        if (!config) return;
        const number = nextRunNumber++;
        editDraft((runs) => [...runs, { id: `run-${number}`, name: `${methodLabel(config.method)} ${number}`, color: freeColour(runs), config, sweep: null }]);
      },
      removeRun(id) {
        editDraft((runs) => runs.filter((r) => r.id !== id));
      },
      renameRun(id, name) {
        patch((c) => ({ draft: c.draft.map((r) => (r.id === id ? { ...r, name } : r)) }));
      },
      recolourRun(id, color) {
        patch((c) => ({ draft: c.draft.map((r) => (r.id === id ? { ...r, color } : r)) }));
      },
      editRun(id, changes) {
        editDraft((runs) => runs.map((r) => (r.id === id ? { ...r, config: { ...r.config, ...changes } } : r)));
      },
      chooseRunMethod(id, method, preset) {
        const summary = get().methods.find((m) => m.id === method);
        if (!summary) return;
        editDraft((runs) =>
          runs.map((r) => {
            if (r.id !== id) return r;
            const { backbone, imageSize, seed, totalSteps } = r.config;
            return { ...r, config: { ...structuredClone(summary.defaults[preset]), backbone, imageSize, seed, totalSteps } };
          }),
        );
      },
      editAllRuns(changes) {
        editDraft((runs) => runs.map((r) => ({ ...r, config: { ...r.config, ...structuredClone(changes) } })));
      },
      setDataset(dataset) {
        patch({ dataset });
      },
      setEvaluations(evaluations) {
        patch({ evaluations });
      },
      loadExperiment(experiment) {
        const { id, title, question, paper, lookFor, measured, axis, untrainedReference } = experiment;
        patch({
          draft: experiment.runs.map((run, i) => ({
            id: `run-${nextRunNumber++}`,
            name: run.name,
            color: RUN_COLOURS[i % RUN_COLOURS.length],
            config: structuredClone(run.config),
            sweep: { series: run.series, value: run.value },
          })),
          experiment: { id, title, question, paper, lookFor, measured, axis, untrainedReference },
          evaluations: experiment.evaluations,
          dataset: COMPARE_DATASETS[0].source,
        });
      },
      begin() {
        const { draft, experiment } = get().compare;
        // A run left unnamed still needs a name for the legend and the table.
        const runs = structuredClone(draft).map((r, i) => (r.name.trim() ? r : { ...r, name: `Run ${i + 1}` }));
        patch({
          active: { runs, experiment },
          results: Object.fromEntries(runs.map((r) => [r.id, emptyResult()])),
          untrainedKnn: null,
          hidden: [],
          datasetSummary: null,
          imagesPerSecond: 0,
          message: null,
        });
        return runs;
      },
      receive(message) {
        switch (message.type) {
          case 'backend': {
            const first = get().compare.active?.runs[0];
            if (first) rememberChoice(message.info, get().backends, first.config);
            patch({ backend: message.info });
            return;
          }
          case 'state':
            patch({ runState: message.state, message: message.message, ...(message.state === 'loading' ? {} : { datasetLoad: null }) });
            return;
          case 'dataset':
            patch({ datasetSummary: message.summary, datasetLoad: null });
            return;
          case 'loadProgress':
            patch({ datasetLoad: message.progress });
            return;
          case 'datasetError':
            patch({ datasetLoad: null, runState: 'error', message: message.message });
            return;
          case 'progress': {
            const { runs, imagesPerSecond } = message.report;
            const { tensors, bytes } = message.memory;
            patch((c) => {
              const results = { ...c.results };
              for (const update of runs) {
                const previous = results[update.runId];
                const batch = c.active?.runs.find((r) => r.id === update.runId)?.config.batchSize;
                if (!previous || batch === undefined) continue;
                const points = update.records.map((r) => ({ step: r.step, images: r.step * batch, loss: r.loss, featureStd: r.featureStd }));
                const gradients = update.records.flatMap(({ step, gradients: g }) => (g ? [{ step, images: step * batch, positive: g.positive, negative: g.negative, ratio: g.ratio, unigradCosine: g.unigradCosine }] : []));
                results[update.runId] = {
                  ...previous,
                  history: points.length > 0 ? thin([...previous.history, ...points], MAX_POINTS_PER_RUN) : previous.history,
                  gradients: gradients.length > 0 ? thin([...previous.gradients, ...gradients], MAX_POINTS_PER_RUN) : previous.gradients,
                  steps: update.steps,
                  epochs: update.epochs,
                  imagesPerSecond: update.imagesPerSecond,
                  status: update.status,
                  problem: update.problem,
                };
              }
              // A report with no new steps (the last one, after a pause) says nothing about speed.
              const trained = runs.some((u) => u.records.length > 0);
              return { results, imagesPerSecond: trained ? imagesPerSecond : c.imagesPerSecond, tensors, bytes };
            });
            return;
          }
          case 'evaluation': {
            const { runId, result } = message;
            const { step, knnAccuracy: accuracy } = result;
            if (accuracy === null) return;
            // Step 0 comes only from the untrained reference: the runs' own curves start after step 1.
            if (step === 0) return patch({ untrainedKnn: accuracy });
            patch((c) => {
              const previous = c.results[runId];
              const batch = c.active?.runs.find((r) => r.id === runId)?.config.batchSize;
              if (!previous || batch === undefined) return {};
              return { results: { ...c.results, [runId]: { ...previous, knn: [...previous.knn, { step, images: step * batch, accuracy }] } } };
            });
            return;
          }
          case 'runInterrupted': {
            // Comparisons keep no checkpoints: say why they stopped; after a lost device the page starts a new worker.
            const why = message.cause === 'device' ? `the GPU device was lost (${message.detail}); a new worker has started` : `out of memory (${message.detail}); lower the batch sizes`;
            patch({ runState: 'error', message: `The comparison stopped at step ${message.step}: ${why}. Its charts are kept: start it again.` });
            return;
          }
          // Catalog, previews and exports concern the Train tab; Compare's worker has no use for them.
          case 'catalog':
          case 'backends':
          case 'settingsApplied':
          case 'settingsRejected':
          case 'encoderExported':
          case 'embeddingsExported':
          case 'pytorchExported':
          case 'weightsImported':
          case 'exportFailed':
          case 'checkpoint':
          case 'checkpointFailed':
          case 'datasetReady':
          case 'preview':
          case 'neighbours':
          case 'memoryEstimate':
          case 'activeLearningCycle':
          case 'labellingSuggestions':
            return;
          default:
            assertNever(message);
        }
      },
      toggleRun(id) {
        patch((c) => ({ hidden: c.hidden.includes(id) ? c.hidden.filter((h) => h !== id) : [...c.hidden, id] }));
      },
      setXAxis(xAxis) {
        patch({ xAxis });
      },
      clearResults() {
        patch({ active: null, results: {}, untrainedKnn: null, hidden: [], datasetSummary: null, datasetLoad: null, imagesPerSecond: 0, message: null });
      },
    },
  };
}

/** The value every run shares, or undefined when they differ (the shared controls then show "mixed"). */
export function commonValue<T>(runs: CompareRunDraft[], pick: (config: TrainConfig) => T): T | undefined {
  if (runs.length === 0) return undefined;
  const first = JSON.stringify(pick(runs[0].config));
  return runs.every((r) => JSON.stringify(pick(r.config)) === first) ? pick(runs[0].config) : undefined;
}

/**
 * The summary chart's reference line: the untrained encoder's kNN at step 0, for an experiment that
 * shows one. Never a later evaluation: until step 0's arrives there is no line. Every run of such an
 * experiment starts from that encoder (experiments.test.ts checks it), so it is every run's start.
 */
export function untrainedReference(compare: Pick<CompareState, 'active' | 'untrainedKnn'>): { accuracy: number; label: string } | null {
  if (!compare.active?.experiment?.untrainedReference || compare.untrainedKnn === null) return null;
  return { accuracy: compare.untrainedKnn, label: 'untrained (step 0)' };
}

/** A run's headline numbers for the table. */
export function summarise(result: CompareRunResult | undefined): {
  loss: number | null;
  featureStd: number | null;
  knn: number | null;
  bestKnn: number | null;
} {
  if (!result) return { loss: null, featureStd: null, knn: null, bestKnn: null };
  // The last 10 steps, so one noisy batch does not decide the comparison.
  const recent = result.history.slice(-10);
  const mean = (values: number[]) => (values.length > 0 ? values.reduce((a, b) => a + b, 0) / values.length : null);
  return {
    loss: mean(recent.map((p) => p.loss)),
    featureStd: mean(recent.map((p) => p.featureStd)),
    knn: result.knn.length > 0 ? result.knn[result.knn.length - 1].accuracy : null,
    bestKnn: result.knn.length > 0 ? Math.max(...result.knn.map((p) => p.accuracy)) : null,
  };
}
