import { describe, expect, it } from 'vitest';
import { DEFAULT_EVALUATION } from '../engine/evaluation';
import { metricsCost } from './bench-engine';

describe('cost of metrics at the default cadence', () => {
  it('defaults: every 50 steps, within a 5% time budget', () => {
    expect([DEFAULT_EVALUATION.everySteps, DEFAULT_EVALUATION.maxTimeShare]).toEqual([50, 0.05]);
  });

  it('a cheap evaluation runs every 50 steps', () => {
    // 100 ms steps, 2 ms of them metrics, a 100 ms evaluation: the budget alone would allow one every 19 steps.
    const { intervalSteps, share } = metricsCost(100, 2, 100);
    expect(intervalSteps).toBe(50);
    expect(share).toBeCloseTo((50 * 2 + 100) / (50 * 100 + 100), 12);
  });

  it('a costly evaluation waits until it is 5% of the time since the last one', () => {
    // A 1 s evaluation needs 19 s of training in between: 190 steps of 100 ms.
    const { intervalSteps, share } = metricsCost(100, 2, 1000);
    expect(intervalSteps).toBe(190);
    expect(share).toBeCloseTo((190 * 2 + 1000) / (190 * 100 + 1000), 12);
    // Without the per-step metrics the evaluations alone take exactly the budget.
    expect(metricsCost(100, 0, 1000).share).toBeCloseTo(0.05, 12);
  });
});
