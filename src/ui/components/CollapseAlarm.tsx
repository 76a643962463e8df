import { collapseThreshold, DEFAULT_COLLAPSE_ALARM } from '../../engine/collapse';
import { usesTau } from '../../engine/methods/options';
import { useAppStore } from '../store';
import { training } from '../worker-client';

/**
 * The collapse alarm: says what is happening, what collapse is, what usually causes it, and offers
 * to pause so a setting can be changed before the run is wasted.
 */
export function CollapseAlarm() {
  const collapse = useAppStore((s) => s.collapse);
  const dismissed = useAppStore((s) => s.collapseDismissed);
  const dismiss = useAppStore((s) => s.dismissCollapse);
  const runState = useAppStore((s) => s.runState);
  const dim = useAppStore((s) => s.progress?.embeddingDim ?? null);
  const config = useAppStore((s) => s.config);
  const method = useAppStore((s) => s.methods.find((m) => m.id === s.config?.method) ?? null);
  if (!collapse.active || dismissed || dim === null) return null;
  const threshold = collapseThreshold(dim);

  return (
    <div role="alert" className="alarm" aria-labelledby="collapse-alarm-title">
      <h2 id="collapse-alarm-title">Collapse detected</h2>
      <p>
        The feature std of the projector outputs has stayed below {threshold.toFixed(4)} ({DEFAULT_COLLAPSE_ALARM.thresholdFactor}/√d, d = {dim}) for at least{' '}
        {DEFAULT_COLLAPSE_ALARM.patience} steps, since step {collapse.collapsedSince}; the latest value is {collapse.lastFeatureStd?.toPrecision(3)}. Healthy
        embeddings sit near 1/√d = {(1 / Math.sqrt(dim)).toFixed(3)}.
      </p>
      <p>
        <strong>What collapse is:</strong> the encoder maps every image to (nearly) the same point. Any two views then agree perfectly, so the loss of a
        method without negatives can look fine while the representation carries no information about the image; kNN accuracy falls to chance.
      </p>
      <p>
        <strong>Usual causes:</strong>
      </p>
      <ul>
        <li>a learning rate far too high{config ? ` (now ${config.learningRate})` : ''} — lower it;</li>
        <li>a missing predictor or stop-gradient in an asymmetric method (BYOL, SimSiam) — nothing then stops both branches agreeing on a constant;</li>
        {method && config && usesTau(method, config.options) ? <li>τ too low{config ? ` (now ${config.tau})` : ''} — the target follows the online network too closely to be a stable target;</li> : null}
        <li>for decorrelation methods, too little weight on the variance or redundancy terms; for contrastive ones, too few or too easy negatives.</li>
      </ul>
      <div className="alarm-actions">
        {runState === 'running' ? (
          <button type="button" className="primary" onClick={training.pause}>
            Pause training
          </button>
        ) : null}
        <button type="button" onClick={dismiss}>
          Dismiss
        </button>
      </div>
    </div>
  );
}
