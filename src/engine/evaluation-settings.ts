/**
 * Evaluation cadence and protocol. Plain data with no tfjs import, so the page can show and check
 * the settings without loading the engine.
 */

export interface EvaluationSettings {
  /** Evaluate at most every this many steps (also before the first step and after the last). */
  everySteps: number;
  /**
   * Time budget: an evaluation waits until the training time since the last one is large enough
   * for that one to be at most this share of the interval. 1 turns the budget off.
   */
  maxTimeShare: number;
  k: number;
  sigma: number;
  maxBankImages: number;
  maxHeldOutImages: number;
  /** Held-out points shown in the embedding view. */
  maxProjectedPoints: number;
}

/** The settings that fix which images a run evaluates on; they cannot change during a run. */
export const SAMPLE_SETTINGS = ['maxBankImages', 'maxHeldOutImages', 'maxProjectedPoints'] as const;

export const DEFAULT_EVALUATION: EvaluationSettings = {
  everySteps: 50,
  maxTimeShare: 0.05,
  k: 200,
  sigma: 0.1,
  maxBankImages: 5000,
  maxHeldOutImages: 2000,
  maxProjectedPoints: 1000,
};

/** Refuses evaluation settings that cannot work, with a message a user can act on. */
export function validateEvaluationSettings(settings: EvaluationSettings): void {
  const problems: string[] = [];
  const wholeAtLeast = (value: number, min: number) => Number.isInteger(value) && value >= min;
  if (!wholeAtLeast(settings.everySteps, 1)) problems.push('evaluation interval must be a whole number of steps, at least 1');
  if (!(settings.maxTimeShare > 0 && settings.maxTimeShare <= 1)) problems.push('the evaluation time budget must be above 0% and at most 100%');
  if (!wholeAtLeast(settings.k, 1)) problems.push('k must be a whole number, at least 1');
  if (!(settings.sigma > 0 && Number.isFinite(settings.sigma))) problems.push('σ must be a positive number');
  if (!wholeAtLeast(settings.maxBankImages, 1)) problems.push('the bank size must be a whole number, at least 1');
  if (!wholeAtLeast(settings.maxHeldOutImages, 1)) problems.push('the held-out size must be a whole number, at least 1');
  if (!wholeAtLeast(settings.maxProjectedPoints, 1)) problems.push('the number of projected points must be a whole number, at least 1');
  if (problems.length > 0) throw new Error(`Invalid evaluation settings: ${problems.join('; ')}.`);
}

export interface EvaluationTiming {
  step: number;
  /** Step of the last evaluation; null before the first. */
  lastEvaluatedStep: number | null;
  /** Active run time since the last evaluation ended. */
  millisecondsSinceLast: number;
  /** How long the last evaluation took. */
  lastEvaluationMilliseconds: number;
}

/**
 * Whether the regular evaluation is due: the first one at once; then after `everySteps` steps, and
 * only once the training time since the last one is at least (1 − s)/s times what it took, so that
 * evaluation stays within the share s of the run time.
 */
export function evaluationDue(timing: EvaluationTiming, settings: EvaluationSettings): boolean {
  if (timing.lastEvaluatedStep === null) return true;
  if (timing.step - timing.lastEvaluatedStep < settings.everySteps) return false;
  const share = settings.maxTimeShare;
  return share >= 1 || timing.millisecondsSinceLast >= (timing.lastEvaluationMilliseconds * (1 - share)) / share;
}
