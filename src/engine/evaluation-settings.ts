/**
 * Evaluation cadence and protocol. Plain data with no tfjs import, so the page can show and check
 * the settings without loading the engine. Every kNN figure the app, Compare, the runner and the
 * benchmark report is measured with these settings, and they say which bank and held-out sizes it used.
 */

export interface EvaluationSettings {
  /**
   * Evaluate after the first step (the near-untrained baseline), then at every multiple of this many
   * steps the time budget allows, and after the last step. 0: only after the last step.
   */
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
  /**
   * Measure the gradient anatomy (UniGrad's positive and negative terms, docs/metrics.md) every this
   * many steps; 0: never. It rides on the step's own backward pass, so it costs a few small kernels.
   */
  gradientsEvery: number;
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
  gradientsEvery: 10,
};

/** Refuses evaluation settings that cannot work, with a message a user can act on. */
export function validateEvaluationSettings(settings: EvaluationSettings): void {
  const problems: string[] = [];
  const wholeAtLeast = (value: number, min: number) => Number.isInteger(value) && value >= min;
  if (!wholeAtLeast(settings.everySteps, 0)) problems.push('the evaluation interval must be a whole number of steps (0: only at the end)');
  if (!(settings.maxTimeShare > 0 && settings.maxTimeShare <= 1)) problems.push('the evaluation time budget must be above 0% and at most 100%');
  if (!wholeAtLeast(settings.k, 1)) problems.push('k must be a whole number, at least 1');
  if (!(settings.sigma > 0 && Number.isFinite(settings.sigma))) problems.push('σ must be a positive number');
  if (!wholeAtLeast(settings.maxBankImages, 1)) problems.push('the bank size must be a whole number, at least 1');
  if (!wholeAtLeast(settings.maxHeldOutImages, 1)) problems.push('the held-out size must be a whole number, at least 1');
  if (!wholeAtLeast(settings.maxProjectedPoints, 1)) problems.push('the number of projected points must be a whole number, at least 1');
  if (!wholeAtLeast(settings.gradientsEvery, 0)) problems.push('the gradient anatomy interval must be a whole number of steps (0: never)');
  if (problems.length > 0) throw new Error(`Invalid evaluation settings: ${problems.join('; ')}.`);
}

export interface EvaluationTiming {
  /** Steps done. */
  step: number;
  totalSteps: number;
  /** Step of the last evaluation; null before the first. */
  lastEvaluatedStep: number | null;
  /** Active run time since the last evaluation ended. */
  millisecondsSinceLast: number;
  /** How long the last evaluation took. */
  lastEvaluationMilliseconds: number;
}

/**
 * Whether an evaluation is due now. The first comes after the first step, so a run shows its first
 * numbers at once; the last after the final step. In between, at each multiple of `everySteps`
 * reached since the last one, but only once the training time since the last one is at least
 * (1 − s)/s times what it took, so that evaluation stays within the share s of the run time.
 */
export function evaluationDue(timing: EvaluationTiming, settings: EvaluationSettings): boolean {
  const { step, lastEvaluatedStep } = timing;
  if (step === 0 || step === lastEvaluatedStep) return false;
  if (step >= timing.totalSteps) return true;
  if (settings.everySteps === 0) return false;
  if (lastEvaluatedStep === null) return true;
  const next = (Math.floor(lastEvaluatedStep / settings.everySteps) + 1) * settings.everySteps;
  if (step < next) return false;
  const share = settings.maxTimeShare;
  return share >= 1 || timing.millisecondsSinceLast >= (timing.lastEvaluationMilliseconds * (1 - share)) / share;
}
