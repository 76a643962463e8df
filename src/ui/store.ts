/**
 * The one UI store. It holds what the worker reported (backend, state, metric history) and the
 * configuration being edited; components read it, and only `actions` talk to the worker.
 */
import { create } from 'zustand';
import type { LiveSettings, PresetName, TrainConfig } from '../engine/config';
import type { StoredRun } from '../storage/runs-db';
import type { BackendInfo } from '../worker/backend-labels';
import type { DatasetSummary, FromWorker, MethodSummary, ProgressReport, RunState } from '../worker/protocol';
import { createCompareSlice, type CompareSlice } from './compare-store';

export interface ChartPoint {
  step: number;
  loss: number;
  featureStd: number;
  learningRate: number;
  tau: number;
  [term: string]: number;
}

export interface SettingsMarker {
  step: number;
  label: string;
}

/** Oldest points are thinned past this many, so long runs keep the charts responsive. */
const MAX_CHART_POINTS = 4000;

export interface AppState extends CompareSlice {
  methods: MethodSummary[];
  backend: BackendInfo | null;
  runState: RunState;
  message: string | null;
  dataset: DatasetSummary | null;
  progress: Omit<ProgressReport, 'records'> | null;
  history: ChartPoint[];
  markers: SettingsMarker[];
  settingsError: string | null;
  config: TrainConfig | null;
  /** Configuration of the run in the worker, live changes included; null before the first run. */
  runConfig: TrainConfig | null;
  /** Runs kept in the browser (IndexedDB), oldest first. */
  savedRuns: StoredRun[];
  /** The saved run the worker's current run is recorded into. */
  currentRunId: string | null;
  /** The last storage problem (storage full, no IndexedDB), shown until a checkpoint is saved again. */
  storageError: string | null;
  receive(message: FromWorker): void;
  chooseMethod(id: string, preset: PresetName): void;
  editConfig(changes: Partial<TrainConfig>): void;
  clearRun(): void;
}

function thin(points: ChartPoint[]): ChartPoint[] {
  if (points.length <= MAX_CHART_POINTS) return points;
  const half = Math.floor(points.length / 2);
  return [...points.slice(0, half).filter((_, i) => i % 2 === 0), ...points.slice(half)];
}

export function describeChanges(changes: Partial<LiveSettings>): string {
  return Object.entries(changes)
    .map(([key, value]) => (typeof value === 'object' ? key : `${key}=${value}`))
    .join(', ');
}

export const useAppStore = create<AppState>()((set, get) => ({
  ...createCompareSlice(set, get),
  methods: [],
  backend: null,
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
  currentRunId: null,
  storageError: null,

  receive(message) {
    switch (message.type) {
      case 'catalog': {
        const first = message.methods[0];
        set({ methods: message.methods, config: get().config ?? (first ? structuredClone(first.defaults.classroom) : null) });
        return;
      }
      case 'backend':
        set({ backend: message.info });
        return;
      case 'state':
        set({ runState: message.state, message: message.message });
        return;
      case 'dataset':
        set({ dataset: message.summary });
        return;
      case 'progress': {
        const { records, ...progress } = message.report;
        const points = records.map((r) => ({ ...r.terms, step: r.step, loss: r.loss, featureStd: r.featureStd, learningRate: r.learningRate, tau: r.tau }));
        set((s) => ({ progress, history: thin([...s.history, ...points]) }));
        return;
      }
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
    set({ history: [], markers: [], progress: null, dataset: null, settingsError: null, message: null });
  },
}));
