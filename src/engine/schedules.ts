/** Linear warm-up followed by cosine decay to `finalLr`, as solo-learn's LinearWarmupCosineAnnealingLR. */
export function warmupCosineLr(step: number, totalSteps: number, baseLr: number, warmupSteps: number, finalLr = 0): number {
  if (warmupSteps > 0 && step < warmupSteps) return (baseLr * (step + 1)) / warmupSteps;
  const span = Math.max(totalSteps - warmupSteps, 1);
  const progress = Math.min(Math.max((step - warmupSteps) / span, 0), 1);
  return finalLr + (baseLr - finalLr) * (1 + Math.cos(Math.PI * progress)) / 2;
}

/** The linear scaling rule the papers state their learning rates in: lr = base · batch / 256. */
export function scaledLr(baseLr: number, batchSize: number): number {
  return (baseLr * batchSize) / 256;
}
