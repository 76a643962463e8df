import type { EvaluationSettings } from '../../engine/evaluation-settings';
import { useAppStore } from '../store';
import { training } from '../worker-client';
import { NumberField } from './NumberField';

/** How often the encoder is evaluated, what the evaluation covers and what it costs. */
export function EvaluationPanel() {
  const settings = useAppStore((s) => s.evaluationSettings);
  const setEvaluationSettings = useAppStore((s) => s.setEvaluationSettings);
  const runState = useAppStore((s) => s.runState);
  const latest = useAppStore((s) => s.latestEvaluation);
  const cost = useAppStore((s) => s.evaluationCost);
  const hasRun = runState === 'running' || runState === 'paused' || runState === 'finished';
  // Cadence and budget act on the running evaluation; before a run they are kept for the next one.
  const live = (changes: Partial<EvaluationSettings>) => (hasRun ? training.evaluationSettings(changes) : setEvaluationSettings(changes));

  return (
    <section className="panel" aria-labelledby="evaluation-title">
      <h2 id="evaluation-title">Evaluation</h2>
      <p className="panel-note">
        kNN (k = {settings.k}, σ = {settings.sigma}), linear probe, RankMe and the embedding view, on un-augmented images: after the first step, every N steps within the time budget, and after the last. Compare uses the same settings.
      </p>
      <NumberField label="Evaluate every (steps)" value={settings.everySteps} integer min={0} hint="0: only after the last step." onCommit={(everySteps) => live({ everySteps })} />
      <NumberField
        label="Evaluation time budget (%)"
        value={Math.round(settings.maxTimeShare * 1000) / 10}
        min={0.1}
        max={100}
        hint="An evaluation waits until it would take at most this share of the run time. 100 turns the budget off."
        onCommit={(percent) => live({ maxTimeShare: percent / 100 })}
      />
      <NumberField
        label="kNN bank (max training images)"
        value={settings.maxBankImages}
        integer
        min={1}
        hint={hasRun ? 'Applies to the next run: a run keeps its bank, so its accuracies stay comparable.' : 'Larger sets are sampled (seeded) down to this.'}
        onCommit={(maxBankImages) => setEvaluationSettings({ maxBankImages })}
      />
      <NumberField
        label="Held-out images (max)"
        value={settings.maxHeldOutImages}
        integer
        min={1}
        hint={hasRun ? 'Applies to the next run.' : undefined}
        onCommit={(maxHeldOutImages) => setEvaluationSettings({ maxHeldOutImages })}
      />
      <NumberField
        label="Gradient anatomy every (steps)"
        value={settings.gradientsEvery}
        integer
        min={0}
        hint="Splits the loss's gradient into UniGrad's pull and push (the Gradient anatomy charts). It reuses the step's own backward pass, so it is cheap to leave on. 0: never."
        onCommit={(gradientsEvery) => live({ gradientsEvery })}
      />
      <button type="button" disabled={!hasRun} onClick={training.evaluateNow}>
        Evaluate now
      </button>
      {latest ? (
        <p className="panel-note" aria-label="Last evaluation">
          Step {latest.step}: {latest.milliseconds.toFixed(0)} ms
          {cost !== null ? <> · evaluation is <strong data-testid="evaluation-cost">{(cost * 100).toFixed(1)}%</strong> of the run time so far</> : null}.
          <br />
          Bank: {latest.bankSize} training images
          {latest.bankSize < latest.bankAvailable ? ` (a fixed random sample of the ${latest.bankAvailable}, to keep evaluation cheap)` : ''}; scored:{' '}
          {latest.heldOutSize} {latest.heldOutSplit === 'test' ? 'held-out' : 'training'} images
          {latest.heldOutSize < latest.heldOutAvailable ? ` (sample of ${latest.heldOutAvailable})` : ''}.
        </p>
      ) : null}
    </section>
  );
}
