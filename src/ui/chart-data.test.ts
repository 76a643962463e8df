import { describe, expect, it } from 'vitest';
import type { EvaluationResult } from '../engine/evaluation';
import type { StepRecord } from '../engine/trainer';
import { emaSmooth, evaluationToPoint, formatNumber, markerX, percentText, recordsToPoints, smoothedKey, thin, withSmoothed, type ChartPoint } from './chart-data';

function record(step: number, extra: Partial<StepRecord> = {}): StepRecord {
  return { step, loss: 1, featureStd: 0.1, learningRate: 0.01, tau: 0.99, terms: {}, epoch: step / 10, views: null, probe: null, gradients: null, ...extra };
}

describe('emaSmooth', () => {
  it('is TensorBoard’s debiased EMA, worked by hand', () => {
    // w = 0.5: m1 = 0.5·1 → 0.5/(1−0.5) = 1; m2 = 0.25 + 0 → 0.25/(1−0.25) = 1/3; m3 = 0.125 + 0.5·4 → 2.125/0.875.
    const smoothed = emaSmooth([1, 0, 4], 0.5);
    expect(smoothed[0]).toBeCloseTo(1, 12);
    expect(smoothed[1]).toBeCloseTo(1 / 3, 12);
    expect(smoothed[2]).toBeCloseTo(2.125 / 0.875, 12);
  });

  it('leaves a constant series and weight 0 unchanged, and skips non-finite values', () => {
    expect(emaSmooth([3, 3, 3, 3], 0.9).map((v) => Number(v.toFixed(12)))).toEqual([3, 3, 3, 3]);
    expect(emaSmooth([1, 5, 2], 0)).toEqual([1, 5, 2]);
    const withGap = emaSmooth([1, NaN, 0], 0.5);
    expect(withGap[1]).toBeNaN();
    expect(withGap[2]).toBeCloseTo(1 / 3, 12);
  });
});

describe('withSmoothed', () => {
  it('adds smoothed copies and smooths each key over the rows that have it', () => {
    const rows = [{ step: 0, a: 1 }, { step: 1 }, { step: 2, a: 0 }] as Record<string, number>[];
    const out = withSmoothed(rows, ['a'], 0.5);
    expect(out[0][smoothedKey('a')]).toBeCloseTo(1, 12);
    expect(out[1][smoothedKey('a')]).toBeUndefined();
    expect(out[2][smoothedKey('a')]).toBeCloseTo(1 / 3, 12);
    expect(rows[0][smoothedKey('a')]).toBeUndefined();
  });
});

describe('recordsToPoints', () => {
  it('adds the gradient anatomy only to the steps that measured it', () => {
    const gradients = { positive: 2, negative: 3, ratio: 1.5, unigradCosine: 0.9, implicitNegative: true };
    const [plain, measured] = recordsToPoints([record(1), record(2, { gradients })], 0, 1);
    expect(plain.gradientRatio).toBeUndefined();
    expect(measured).toMatchObject({ gradientPositive: 2, gradientNegative: 3, gradientRatio: 1.5, unigradCosine: 0.9, implicitNegative: 1 });
  });

  it('spreads wall time over the report and flattens terms, view metrics and probe', () => {
    const records = [
      record(10, { terms: { onDiagonal: 0.5 } }),
      record(11, { views: { alignment: 0.4, uniformity: -2, positiveCosine: 0.8, negativeCosine: 0.1 }, probe: { loss: 1.2, accuracy: 0.5 } }),
    ];
    const points = recordsToPoints(records, 4, 5);
    expect(points.map((p) => p.time)).toEqual([4.5, 5]);
    expect(points[0]['term:onDiagonal']).toBe(0.5);
    expect(points[0].epoch).toBe(1);
    expect(points[1].alignment).toBe(0.4);
    expect(points[1].negativeCosine).toBe(0.1);
    expect(points[1].probeAccuracy).toBe(0.5);
    expect('alignment' in points[0]).toBe(false);
  });
});

describe('evaluationToPoint', () => {
  it('keeps the best kNN accuracy so far', () => {
    const result = { step: 50, epoch: 2, knnAccuracy: 0.4, probeAccuracy: 0.5, effectiveRank: 7 } as EvaluationResult;
    expect(evaluationToPoint(result, 12, 0.6)).toEqual({ step: 50, epoch: 2, time: 12, effectiveRank: 7, knnAccuracy: 0.4, bestKnnAccuracy: 0.6, probeAccuracy: 0.5 });
    expect(evaluationToPoint(result, 12, null).bestKnnAccuracy).toBe(0.4);
    const unlabelled = evaluationToPoint({ ...result, knnAccuracy: null, probeAccuracy: null }, 1, null);
    expect('knnAccuracy' in unlabelled).toBe(false);
  });
});

describe('markerX', () => {
  const points = [0, 1, 2, 5, 6].map((step) => ({ step, epoch: step / 4, time: step * 2 }) as ChartPoint);
  it('places a change at the first point of its step or later, on any axis', () => {
    expect(markerX(points, 2, 'step')).toBe(2);
    expect(markerX(points, 2, 'epoch')).toBe(0.5);
    expect(markerX(points, 3, 'time')).toBe(10);
    expect(markerX(points, 0, 'time')).toBe(0);
    expect(markerX(points, 7, 'epoch')).toBeNull();
  });
});

describe('number formats', () => {
  it('formatNumber: whole above 100, two decimals above 1, two significant digits below', () => {
    expect([formatNumber(1234.5), formatNumber(3.14159), formatNumber(0.012345), formatNumber(0), formatNumber(-250)]).toEqual(['1235', '3.14', '0.012', '0', '-250']);
  });

  it('percentText: one decimal, a dash when missing', () => {
    expect([percentText(0.4567), percentText(1), percentText(null), percentText(undefined)]).toEqual(['45.7%', '100.0%', '–', '–']);
  });
});

describe('thin', () => {
  it('leaves short histories alone and halves the older half of long ones, keeping the recent half exact', () => {
    const short = [1, 2, 3];
    expect(thin(short, 3)).toBe(short);
    expect(thin([0, 1, 2, 3, 4, 5, 6, 7], 6)).toEqual([0, 2, 4, 5, 6, 7]);
  });
});
