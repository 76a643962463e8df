/**
 * The Active learning tab's part of the one UI store (a slice, as Compare's): the experiment's
 * settings, and the curve each series drew so far (accuracy on the held-out split against labels).
 */
import type { StoreApi } from 'zustand';
import type { SelectionStrategy } from '../engine/active-learning';
import type { ActiveLearningPoint, ActiveLearningRequest, BuiltinDatasetId, FromWorker, RunState } from '../worker/protocol';
import type { AppState } from './store';

/** The strategies, in the order the tab lists them (the engine's SELECTION_STRATEGIES, without loading it). */
export const STRATEGY_CHOICES: { value: SelectionStrategy; label: string }[] = [
  { value: 'coreset', label: 'Core-set (k-center greedy)' },
  { value: 'random', label: 'Random' },
  { value: 'uncertainty', label: 'Uncertainty (entropy)' },
  { value: 'loss', label: 'Highest MoBY loss' },
];

/** The tab's settings: the worker's request without what the page adds when it starts (the dataset as a source, the backend). */
export type ActiveLearningSettings = Omit<ActiveLearningRequest, 'dataset' | 'backend'> & { dataset: BuiltinDatasetId };

export interface ActiveLearningState {
  settings: ActiveLearningSettings;
  runState: RunState;
  message: string | null;
  /** Each series' cycles so far, by series name, in the order they arrived. */
  series: Record<string, ActiveLearningPoint[]>;
  classNames: string[];
}

export interface ActiveLearningActions {
  edit(changes: Partial<ActiveLearningSettings>): void;
  /** Clears the curves for a new experiment. */
  begin(): void;
  receive(message: FromWorker): void;
}

export interface ActiveLearningSlice {
  activeLearning: ActiveLearningState;
  activeLearningActions: ActiveLearningActions;
}

const DEFAULT_SETTINGS: ActiveLearningSettings = {
  dataset: 'shapes',
  strategies: ['coreset', 'random'],
  labelsOnly: false,
  initial: 60,
  budget: 60,
  cycles: 4,
  stepsPerCycle: 60,
  reinitialise: false,
  seed: 1,
  imageSize: 32,
  batchSize: 32,
};

export function createActiveLearningSlice(set: StoreApi<AppState>['setState']): ActiveLearningSlice {
  const patch = (changes: Partial<ActiveLearningState> | ((state: ActiveLearningState) => Partial<ActiveLearningState>)) =>
    set((s) => ({ activeLearning: { ...s.activeLearning, ...(typeof changes === 'function' ? changes(s.activeLearning) : changes) } }));
  return {
    activeLearning: { settings: DEFAULT_SETTINGS, runState: 'idle', message: null, series: {}, classNames: [] },
    activeLearningActions: {
      edit(changes) {
        patch((state) => ({ settings: { ...state.settings, ...changes } }));
      },
      begin() {
        patch({ series: {}, classNames: [], runState: 'loading', message: 'Starting…' });
      },
      receive(message) {
        if (message.type === 'activeLearningCycle') {
          patch((state) => ({ series: { ...state.series, [message.series]: [...(state.series[message.series] ?? []), message.point] }, classNames: message.classNames }));
        } else if (message.type === 'state') {
          patch({ runState: message.state, message: message.message });
        } else if (message.type === 'datasetError') {
          patch({ runState: 'error', message: message.message });
        }
      },
    },
  };
}
