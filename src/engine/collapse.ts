/**
 * The collapse alarm. A collapsed encoder maps every image to (nearly) the same point: the loss can
 * look fine while the representation carries no information. The per-step feature std of the
 * L2-normalised projector outputs is ≈ 1/√d for embeddings spread over the sphere and → 0 under
 * collapse, so the alarm fires when it stays below a fraction of 1/√d for several steps in a row,
 * and clears only after as many healthy steps (no flicker on a noisy boundary).
 * Plain numbers, no tfjs: the page, the worker and the headless runner can all use it.
 */

export interface CollapseAlarmSettings {
  /** Fires below thresholdFactor · 1/√d. */
  thresholdFactor: number;
  /** Consecutive low steps before it fires, and healthy steps before it clears. */
  patience: number;
}

export const DEFAULT_COLLAPSE_ALARM: CollapseAlarmSettings = { thresholdFactor: 0.2, patience: 5 };

export interface CollapseAlarmState {
  active: boolean;
  /** Consecutive steps below the threshold, up to the latest. */
  lowStreak: number;
  /** Consecutive steps at or above it, up to the latest. */
  healthyStreak: number;
  /** First step of the current low streak; null after a healthy step. */
  lowSince: number | null;
  /** While active: the first step of the low streak that made it fire. */
  collapsedSince: number | null;
  /** The last finite feature std seen. */
  lastFeatureStd: number | null;
}

export const INITIAL_COLLAPSE_ALARM: CollapseAlarmState = {
  active: false,
  lowStreak: 0,
  healthyStreak: 0,
  lowSince: null,
  collapsedSince: null,
  lastFeatureStd: null,
};

/** The feature std below which a step counts as collapsed, for embedding dimension d. */
export function collapseThreshold(embeddingDim: number, thresholdFactor = DEFAULT_COLLAPSE_ALARM.thresholdFactor): number {
  return thresholdFactor / Math.sqrt(embeddingDim);
}

/**
 * Feeds the alarm the steps of one report, in order. Non-finite values are skipped: a NaN loss is
 * divergence, which the trainer reports separately, not collapse.
 */
export function updateCollapseAlarm(
  state: CollapseAlarmState,
  steps: readonly { step: number; featureStd: number }[],
  embeddingDim: number,
  settings: CollapseAlarmSettings = DEFAULT_COLLAPSE_ALARM,
): CollapseAlarmState {
  const threshold = collapseThreshold(embeddingDim, settings.thresholdFactor);
  const next = { ...state };
  for (const { step, featureStd } of steps) {
    if (!Number.isFinite(featureStd)) continue;
    next.lastFeatureStd = featureStd;
    if (featureStd < threshold) {
      next.lowStreak += 1;
      next.healthyStreak = 0;
      next.lowSince ??= step;
      if (!next.active && next.lowStreak >= settings.patience) {
        next.active = true;
        next.collapsedSince = next.lowSince;
      }
    } else {
      next.healthyStreak += 1;
      next.lowStreak = 0;
      next.lowSince = null;
      if (next.active && next.healthyStreak >= settings.patience) {
        next.active = false;
        next.collapsedSince = null;
      }
    }
  }
  return next;
}
