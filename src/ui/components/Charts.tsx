import { useAppStore } from '../store';
import { MetricChart } from './MetricChart';

/** The live charts: loss, and collapse detection against the healthy 1/√d level. */
export function Charts() {
  const history = useAppStore((s) => s.history);
  const markers = useAppStore((s) => s.markers);
  const dim = useAppStore((s) => s.progress?.embeddingDim ?? s.config?.projector.out ?? null);
  const healthy = dim ? 1 / Math.sqrt(dim) : undefined;

  return (
    <div className="charts">
      <MetricChart
        title="Loss"
        description="The method's training objective, per step."
        data={history}
        series={[{ key: 'loss', label: 'loss', color: '#2563eb' }]}
        markers={markers}
      />
      <MetricChart
        title="Collapse detection"
        description="Mean per-dimension std of the L2-normalised projector outputs. Healthy embeddings sit near 1/√d; a collapsed encoder (every image mapped to the same point) drops to 0."
        data={history}
        series={[{ key: 'featureStd', label: 'feature std', color: '#ea580c' }]}
        markers={markers}
        reference={healthy ? { value: healthy, label: `healthy 1/√d = ${healthy.toFixed(3)}` } : undefined}
      />
    </div>
  );
}
