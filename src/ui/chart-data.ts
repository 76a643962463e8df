/**
 * Turning worker reports into chart rows: per-step points with step, epoch and wall time, the
 * evaluation points, TensorBoard-style smoothing and where a settings marker sits on each x-axis.
 * Pure functions, tested in Node.
 */
import type { EvaluationResult } from '../engine/evaluation';
import type { GradientAnatomy } from '../engine/gradient-anatomy';
import type { StepRecord } from '../engine/trainer';

export type XAxisKey = 'step' | 'epoch' | 'time';

export const X_AXIS_LABELS: Record<XAxisKey, string> = { step: 'Step', epoch: 'Epoch', time: 'Wall time (s)' };

export interface ChartPoint {
  step: number;
  epoch: number;
  /** Seconds of active run time (pauses excluded) when the step's numbers were read. */
  time: number;
  loss: number;
  featureStd: number;
  learningRate: number;
  tau: number;
  /** Loss terms as `term:<name>`, view geometry and probe metrics where the step had them. */
  [series: string]: number;
}

export interface EvaluationPoint {
  step: number;
  epoch: number;
  time: number;
  effectiveRank: number;
  knnAccuracy?: number;
  bestKnnAccuracy?: number;
  probeAccuracy?: number;
  [series: string]: number | undefined;
}

export function termKey(name: string): string {
  return `term:${name}`;
}

/**
 * Chart points for one progress report. The worker reads a report's steps at once, so their wall
 * times are spread evenly between the previous report and this one.
 */
export function recordsToPoints(records: readonly StepRecord[], previousSeconds: number, elapsedSeconds: number): ChartPoint[] {
  const span = Math.max(elapsedSeconds - previousSeconds, 0);
  return records.map((r, i) => {
    const point: ChartPoint = {
      step: r.step,
      epoch: r.epoch,
      time: previousSeconds + (span * (i + 1)) / records.length,
      loss: r.loss,
      featureStd: r.featureStd,
      learningRate: r.learningRate,
      tau: r.tau,
    };
    for (const [name, value] of Object.entries(r.terms)) point[termKey(name)] = value;
    if (r.views) Object.assign(point, r.views);
    if (r.probe) Object.assign(point, { probeLoss: r.probe.loss, probeAccuracy: r.probe.accuracy });
    if (r.gradients) Object.assign(point, gradientSeries(r.gradients));
    return point;
  });
}

/** The gradient anatomy as chart series (docs/metrics.md); `implicitNegative` is 1 for BYOL and SimSiam, 0 otherwise. */
export function gradientSeries(g: GradientAnatomy): Record<string, number> {
  return { gradientPositive: g.positive, gradientNegative: g.negative, gradientRatio: g.ratio, unigradCosine: g.unigradCosine, implicitNegative: g.implicitNegative ? 1 : 0 };
}

export function evaluationToPoint(result: EvaluationResult, elapsedSeconds: number, previousBest: number | null): EvaluationPoint {
  const point: EvaluationPoint = { step: result.step, epoch: result.epoch, time: elapsedSeconds, effectiveRank: result.effectiveRank };
  if (result.knnAccuracy !== null) {
    point.knnAccuracy = result.knnAccuracy;
    point.bestKnnAccuracy = Math.max(result.knnAccuracy, previousBest ?? -Infinity);
  }
  if (result.probeAccuracy !== null) point.probeAccuracy = result.probeAccuracy;
  return point;
}

/**
 * Exponential moving average with TensorBoard's debiasing: s_t = (w·m_{t−1} + (1−w)·v_t) / (1 − wᵗ).
 * Non-finite values pass through and do not disturb the average; weight 0 returns the values.
 */
export function emaSmooth(values: readonly number[], weight: number): number[] {
  let average = 0;
  let count = 0;
  return values.map((value) => {
    if (!Number.isFinite(value)) return value;
    average = average * weight + (1 - weight) * value;
    count += 1;
    return weight === 1 ? value : average / (1 - weight ** count);
  });
}

/** Adds `<key>:smoothed` to every row for each key (rows missing a key are skipped for that key). */
export function withSmoothed<T extends Record<string, number | undefined>>(rows: readonly T[], keys: readonly string[], weight: number): (T & Record<string, number>)[] {
  const out = rows.map((row) => ({ ...row })) as (T & Record<string, number>)[];
  for (const key of keys) {
    const present = out.map((row, i) => ({ row, i, value: row[key] })).filter((entry): entry is { row: T & Record<string, number>; i: number; value: number } => typeof entry.value === 'number');
    const smoothed = emaSmooth(present.map((p) => p.value), weight);
    present.forEach((p, j) => ((p.row as Record<string, number>)[smoothedKey(key)] = smoothed[j]));
  }
  return out;
}

export function smoothedKey(key: string): string {
  return `${key}:smoothed`;
}

/**
 * Where a change made before step `step` sits on the chosen x-axis: at the first point of that
 * step or later; null when no such point exists yet.
 */
export function markerX(points: readonly ChartPoint[], step: number, axis: XAxisKey): number | null {
  if (axis === 'step') return step;
  let low = 0;
  let high = points.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (points[middle].step < step) low = middle + 1;
    else high = middle;
  }
  return low < points.length ? points[low][axis] : null;
}

/**
 * Keeps a long history drawable: past `max` points, the older half is thinned to every other point,
 * so recent steps stay exact and the whole run stays visible.
 */
export function thin<T>(points: T[], max: number): T[] {
  if (points.length <= max) return points;
  const half = Math.floor(points.length / 2);
  return [...points.slice(0, half).filter((_, i) => i % 2 === 0), ...points.slice(half)];
}

/** Axis and tooltip numbers: whole above 100, two decimals above 1, two significant digits below. */
export function formatNumber(v: number): string {
  return Math.abs(v) >= 100 || v === 0 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(2);
}

/** A fraction as a percentage with one decimal; a dash when there is none yet. */
export function percentText(v: number | null | undefined): string {
  return v === null || v === undefined ? '–' : `${(v * 100).toFixed(1)}%`;
}
