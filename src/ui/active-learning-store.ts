/**
 * The Active learning tab's part of the one UI store (a slice, as Compare's): the experiment's
 * settings, and the curve each series drew so far (accuracy on the held-out split against labels).
 */
import type { StoreApi } from 'zustand';
import type { SelectionStrategy } from '../engine/active-learning';
import { withCycle, type LabellingProject } from '../storage/labelling-project';
import type { ActiveLearningPoint, ActiveLearningRequest, BuiltinDatasetId, FromWorker, LabellingMap, LabellingSuggestions, RunState } from '../worker/protocol';
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

/** Your own folder's cycle settings (image size, batch size and seed are the simulation's). */
export interface LabellingSettings {
  strategy: SelectionStrategy;
  budget: number;
  stepsPerCycle: number;
  plannedCycles: number;
}

/** Your own folder: the folder open in the worker, its project (the label store) and the latest cycle. */
export interface LabellingState {
  settings: LabellingSettings;
  /** The folder the worker holds in this page (a reload forgets it; the project stays). */
  folder: { name: string; trainCount: number; folderClasses: string[] } | null;
  project: LabellingProject | null;
  /** What the last action did, or why it could not (shown beside the grid). */
  note: string | null;
  lastCycle: Omit<LabellingSuggestions, 'suggestions' | 'size' | 'map'> | null;
  /** The latest cycle's embedding map (not kept across reloads: the next cycle draws it again). */
  map: LabellingMap | null;
}

export type ActiveLearningMode = 'simulation' | 'folder';

export interface ActiveLearningState {
  mode: ActiveLearningMode;
  labelling: LabellingState;
  settings: ActiveLearningSettings;
  runState: RunState;
  message: string | null;
  /** Each series' cycles so far, by series name, in the order they arrived. */
  series: Record<string, ActiveLearningPoint[]>;
  classNames: string[];
}

export interface ActiveLearningActions {
  edit(changes: Partial<ActiveLearningSettings>): void;
  setMode(mode: ActiveLearningMode): void;
  editLabelling(changes: Partial<LabellingSettings>): void;
  /** The label store after a change (the caller saves it), and what the change did. */
  setProject(project: LabellingProject | null, note?: string | null): void;
  setLabellingNote(note: string | null): void;
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

const DEFAULT_LABELLING: LabellingSettings = { strategy: 'coreset', budget: 12, stepsPerCycle: 60, plannedCycles: 5 };

export function createActiveLearningSlice(set: StoreApi<AppState>['setState']): ActiveLearningSlice {
  const patch = (changes: Partial<ActiveLearningState> | ((state: ActiveLearningState) => Partial<ActiveLearningState>)) =>
    set((s) => ({ activeLearning: { ...s.activeLearning, ...(typeof changes === 'function' ? changes(s.activeLearning) : changes) } }));
  const patchLabelling = (changes: (labelling: LabellingState) => Partial<LabellingState>) => patch((state) => ({ labelling: { ...state.labelling, ...changes(state.labelling) } }));
  return {
    activeLearning: {
      mode: 'simulation',
      labelling: { settings: DEFAULT_LABELLING, folder: null, project: null, note: null, lastCycle: null, map: null },
      settings: DEFAULT_SETTINGS,
      runState: 'idle',
      message: null,
      series: {},
      classNames: [],
    },
    activeLearningActions: {
      edit(changes) {
        patch((state) => ({ settings: { ...state.settings, ...changes } }));
      },
      setMode(mode) {
        patch({ mode });
      },
      editLabelling(changes) {
        patchLabelling((labelling) => ({ settings: { ...labelling.settings, ...changes } }));
      },
      setProject(project, note) {
        patchLabelling(() => ({ project, ...(note !== undefined ? { note } : {}) }));
      },
      setLabellingNote(note) {
        patchLabelling(() => ({ note }));
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
        } else if (message.type === 'loadProgress') {
          const { done, total, label } = message.progress;
          patch({ runState: 'loading', message: total > 0 ? `${label}: ${done} of ${total}` : `${label}…` });
        } else if (message.type === 'datasetReady' && message.source.kind === 'folder') {
          const { name, trainCount, folderClasses = [] } = message.report;
          patch({ runState: 'idle', message: `Opened "${name}": ${trainCount} images to label.` });
          patchLabelling(() => ({ folder: { name, trainCount, folderClasses } }));
        } else if (message.type === 'labellingSuggestions') {
          const { suggestions, size, map, ...numbers } = message.result;
          const { cycle, trainedWith, perClassLabels } = numbers;
          patchLabelling((labelling) => ({
            lastCycle: numbers,
            map,
            project: labelling.project && withCycle(labelling.project, { cycle, trainedWith, perClassLabels }, suggestions, size),
          }));
        }
      },
    },
  };
}
