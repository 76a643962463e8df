import { describe, expect, it } from 'vitest';
import { collapseThreshold, INITIAL_COLLAPSE_ALARM, updateCollapseAlarm, type CollapseAlarmSettings } from './collapse';

const DIM = 64; // 1/√d = 0.125, threshold at 0.2/√d = 0.025
const SETTINGS: CollapseAlarmSettings = { thresholdFactor: 0.2, patience: 3 };

function steps(values: number[], first = 0) {
  return values.map((featureStd, i) => ({ step: first + i, featureStd }));
}

describe('collapse alarm', () => {
  it('threshold is factor / √d', () => {
    expect(collapseThreshold(64, 0.2)).toBeCloseTo(0.025, 12);
    expect(collapseThreshold(128)).toBeCloseTo(0.2 / Math.sqrt(128), 12);
  });

  it('fires after `patience` consecutive low steps, naming the first of them', () => {
    const twoLow = updateCollapseAlarm(INITIAL_COLLAPSE_ALARM, steps([0.1, 0.01, 0.01]), DIM, SETTINGS);
    expect(twoLow.active).toBe(false);
    expect(twoLow.lowStreak).toBe(2);
    const fired = updateCollapseAlarm(twoLow, steps([0.01], 3), DIM, SETTINGS);
    expect(fired.active).toBe(true);
    expect(fired.collapsedSince).toBe(1);
    expect(fired.lastFeatureStd).toBe(0.01);
  });

  it('a healthy step in between restarts the count', () => {
    const state = updateCollapseAlarm(INITIAL_COLLAPSE_ALARM, steps([0.01, 0.01, 0.03, 0.01, 0.01]), DIM, SETTINGS);
    expect(state.active).toBe(false);
    expect(state.lowStreak).toBe(2);
    expect(state.lowSince).toBe(3);
  });

  it('the threshold itself counts as healthy; values just below count as low', () => {
    const atThreshold = updateCollapseAlarm(INITIAL_COLLAPSE_ALARM, steps([0.025, 0.025, 0.025]), DIM, SETTINGS);
    expect(atThreshold.active).toBe(false);
    const below = updateCollapseAlarm(INITIAL_COLLAPSE_ALARM, steps([0.0249, 0.0249, 0.0249]), DIM, SETTINGS);
    expect(below.active).toBe(true);
  });

  it('clears only after `patience` healthy steps, and a single spike does not clear it', () => {
    const fired = updateCollapseAlarm(INITIAL_COLLAPSE_ALARM, steps([0.01, 0.01, 0.01]), DIM, SETTINGS);
    expect(fired.active).toBe(true);
    const spike = updateCollapseAlarm(fired, steps([0.1, 0.01], 3), DIM, SETTINGS);
    expect(spike.active).toBe(true);
    expect(spike.collapsedSince).toBe(0);
    const recovered = updateCollapseAlarm(spike, steps([0.1, 0.1, 0.1], 5), DIM, SETTINGS);
    expect(recovered.active).toBe(false);
    expect(recovered.collapsedSince).toBeNull();
  });

  it('skips non-finite values (divergence is not collapse)', () => {
    const state = updateCollapseAlarm(INITIAL_COLLAPSE_ALARM, steps([0.01, NaN, Infinity, 0.01, 0.01]), DIM, SETTINGS);
    expect(state.active).toBe(true);
    expect(state.lastFeatureStd).toBe(0.01);
  });

  it('does not modify the state it is given', () => {
    const before = { ...INITIAL_COLLAPSE_ALARM };
    updateCollapseAlarm(INITIAL_COLLAPSE_ALARM, steps([0.01, 0.01, 0.01]), DIM, SETTINGS);
    expect(INITIAL_COLLAPSE_ALARM).toEqual(before);
  });
});
