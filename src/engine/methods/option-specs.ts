/**
 * What each method-specific number in `TrainConfig.options` means, for the setup form. Plain data
 * with no tfjs import, so the page can use it without loading the engine.
 */
export interface MethodOptionSpec {
  readonly label: string;
  readonly hint: string;
  /** A 1/0 switch shown as a checkbox, or a number. */
  readonly kind: 'toggle' | 'number';
  readonly min?: number;
  readonly max?: number;
  readonly integer?: boolean;
  readonly step?: number;
}

export const METHOD_OPTION_SPECS: Record<string, MethodOptionSpec> = {
  stopGradient: { label: 'Stop-gradient', hint: 'Turn it off to watch SimSiam collapse (feature std → 0).', kind: 'toggle' },
  symmetric: { label: 'Symmetric loss', hint: 'Score both directions, one key queue per view (MoCo v2+).', kind: 'toggle' },
  queueSize: { label: 'Queue size', hint: 'Keys of earlier batches kept as negatives, per queue.', kind: 'number', min: 1, integer: true, step: 256 },
  bankMomentum: { label: 'Memory-bank momentum', hint: 'How much of its old entry an image keeps at each update.', kind: 'number', min: 0, max: 0.999, step: 0.05 },
  lambda: { label: 'λ', hint: 'Weight of the term that pushes apart (off-diagonal / correlation).', kind: 'number', min: 0, step: 0.001 },
  scale: { label: 'Loss scale', hint: 'Multiplies the whole loss (solo-learn uses 0.1).', kind: 'number', min: 0, step: 0.01 },
  rho: { label: 'ρ', hint: 'Momentum of the running correlation matrix F.', kind: 'number', min: 0, max: 1, step: 0.01 },
  invarianceWeight: { label: 'Invariance weight', hint: 'Pull: squared distance between the two views.', kind: 'number', min: 0, step: 1 },
  varianceWeight: { label: 'Variance weight', hint: 'Push: keep each dimension\'s std above 1.', kind: 'number', min: 0, step: 1 },
  covarianceWeight: { label: 'Covariance weight', hint: 'Push: decorrelate the dimensions.', kind: 'number', min: 0, step: 0.1 },
};
