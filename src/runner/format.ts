/** Human-readable lines for the runner's records (the `--json` output prints the records themselves). */
import { backendLabel } from '../worker/backend-labels';
import type { KnnProtocol, RunRecord } from './run';

const percent = (x: number) => `${(x * 100).toFixed(1)}%`;

/** The protocol behind a kNN figure, printed next to it. */
function protocolText(p: KnnProtocol): string {
  return `k ${p.k}, σ ${p.sigma}, bank ${p.bank} of ${p.bankAvailable}, held-out ${p.heldOut} of ${p.heldOutAvailable}`;
}

export function formatRecord(record: RunRecord): string {
  switch (record.type) {
    case 'start': {
      const d = record.dataset;
      const held = d.test > 0 ? `${d.test} held out, ${d.classes} classes` : 'no held-out split';
      const adapter = record.adapter ? ` (${record.adapter})` : '';
      const fallback = record.fallbackReasons.length > 0 ? `\n  ${record.fallbackReasons.join('; ')}` : '';
      const warm = record.warmUpMs > 0 ? `; kernels compiled in ${(record.warmUpMs / 1000).toFixed(1)} s` : '';
      const knn = record.knn ? `\n  kNN: ${protocolText(record.knn)}` : '';
      return (
        `${record.method} on ${backendLabel(record.backend)}${adapter}${fallback}\n` +
        `  ${d.name}: ${d.train} train / ${held}, ${d.imageSize} px; ${record.encoder}, batch ${record.batchSize}, ${record.steps} steps${warm}${knn}`
      );
    }
    case 'report': {
      const parts = [`step ${String(record.step).padStart(6)}`];
      if (record.loss !== null) parts.push(`loss ${record.loss.toFixed(4)}`);
      if (record.featureStd !== null) parts.push(`feature std ${record.featureStd.toFixed(4)}`);
      if (record.knn !== undefined) parts.push(`kNN ${percent(record.knn)}`);
      if (record.imagesPerSecond > 0) parts.push(`${record.imagesPerSecond.toFixed(0)} img/s`);
      const g = record.gradients;
      if (g) parts.push(`gradient +${g.positive.toFixed(3)} −${g.negative.toFixed(3)} ratio ${g.ratio.toFixed(2)} UniGrad cos ${g.unigradCosine.toFixed(2)}`);
      return parts.join('  ');
    }
    case 'summary': {
      const knn =
        record.finalKnn === null || record.bestKnn === null
          ? 'kNN accuracy: not measured (no labelled held-out images)'
          : `kNN accuracy: final ${percent(record.finalKnn)}, best ${percent(record.bestKnn)} (step ${record.bestKnnStep}; ${record.knn ? protocolText(record.knn) : ''})`;
      if (record.steps === 0) return `Untrained ${record.method} encoder. ${knn}.`;
      return (
        `Done: ${record.steps} steps of ${record.method} on ${backendLabel(record.backend)} in ${record.trainSeconds.toFixed(1)} s ` +
        `(${record.imagesPerSecond.toFixed(0)} img/s; evaluation ${record.evalSeconds.toFixed(1)} s). Final loss ${record.finalLoss?.toFixed(4)}. ${knn}.`
      );
    }
  }
}
