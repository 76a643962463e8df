/**
 * Sweeps: one setting, a list of values, one run per value, everything else equal. Settings are
 * named by their path in TrainConfig, as shared links name them (src/ui/url-state.ts): `tau`,
 * `batchSize`, `augmentations.0.colorJitter`, or a whole part such as `augmentations`.
 * Plain data, no tfjs: the page builds sweeps and sends the configurations to the worker.
 */
import type { TrainConfig } from './config';

export interface SweepValue {
  /** How the value is shown on the summary chart's axis and in run names, e.g. "0.99" or "crop only". */
  label: string;
  value: unknown;
}

export interface SweepSpec {
  /** Path of the setting in TrainConfig, dot-separated, list items by index. */
  setting: string;
  values: readonly SweepValue[];
  /**
   * Batch-size sweeps only. 'equal-epochs' keeps what the base configuration trains on: the same
   * number of images (total and warm-up steps scale with 1 / batch size) and the same learning
   * rate per image (the linear scaling rule: learning rate ∝ batch size), as the BYOL and SimCLR
   * papers compare batch sizes. Without it only the batch size changes.
   */
  batchScaling?: 'equal-epochs';
}

export interface SweepPoint {
  label: string;
  value: unknown;
  config: TrainConfig;
}

/** Numbers for a sweep, labelled as JavaScript writes them. */
export function sweepNumbers(values: readonly number[]): SweepValue[] {
  return values.map((value) => ({ label: String(value), value }));
}

function segments(path: string): string[] {
  const parts = path.split('.');
  if (path === '' || parts.some((p) => p === '')) throw new Error(`"${path}" is not a setting path (write e.g. tau, batchSize or augmentations.0.colorJitter).`);
  return parts;
}

/** The value at `path` in `config`; throws, naming the path, when there is no such setting. */
export function settingAt(config: TrainConfig, path: string): unknown {
  const keys = segments(path);
  let node: unknown = config;
  for (const [depth, key] of keys.entries()) {
    const walked = keys.slice(0, depth).join('.');
    if (node === null) throw new Error(`Cannot sweep ${path}: ${walked} is switched off in this configuration; sweep ${walked} itself.`);
    if (typeof node !== 'object' || !Object.prototype.hasOwnProperty.call(node, key)) throw new Error(`Unknown setting "${path}": the configuration has no "${key}"${walked ? ` under ${walked}` : ''}.`);
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function kindOf(value: unknown): string {
  if (value === null) return 'part';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'object') return 'part';
  return typeof value;
}

/** A copy of `config` with `value` at `path`; the value must be of the setting's kind (a switchable part may be null). */
export function withSetting(config: TrainConfig, path: string, value: unknown): TrainConfig {
  const current = settingAt(config, path);
  if (kindOf(current) !== kindOf(value)) throw new Error(`Cannot set ${path} to ${JSON.stringify(value)}: it holds a ${kindOf(current)}, not a ${kindOf(value)}.`);
  if (typeof value === 'number' && !Number.isFinite(value)) throw new Error(`Cannot set ${path} to ${value}: it must be a finite number.`);
  const copy = structuredClone(config);
  const keys = segments(path);
  let node = copy as unknown as Record<string, unknown>;
  for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
  node[keys[keys.length - 1]] = structuredClone(value);
  return copy;
}

/** One configuration per value of the sweep, in the order given. */
export function expandSweep(base: TrainConfig, sweep: SweepSpec): SweepPoint[] {
  if (sweep.values.length === 0) throw new Error(`The sweep of ${sweep.setting} has no values.`);
  const labels = new Set(sweep.values.map((v) => v.label));
  if (labels.size !== sweep.values.length) throw new Error(`The sweep of ${sweep.setting} repeats a value label.`);
  if (sweep.batchScaling && sweep.setting !== 'batchSize') throw new Error(`Batch scaling applies to batch-size sweeps, not to ${sweep.setting}.`);
  return sweep.values.map(({ label, value }) => {
    let config = withSetting(base, sweep.setting, value);
    if (sweep.batchScaling === 'equal-epochs') {
      const ratio = base.batchSize / (value as number);
      config = {
        ...config,
        totalSteps: Math.max(1, Math.round(base.totalSteps * ratio)),
        warmupSteps: Math.round(base.warmupSteps * ratio),
        learningRate: base.learningRate / ratio,
      };
    }
    return { label, value, config };
  });
}
