import { useMemo } from 'react';
import { useAppStore } from '../../store';
import { selectActiveRuns, type CompareAxis, type CompareGradientPoint } from '../../compare-store';
import { GRADIENT_ANATOMY_EXPLANATION, GRADIENT_RATIO_EXPLANATION, UNIGRAD_COSINE_EXPLANATION } from '../../gradient-anatomy-text';
import { OverlayChart, type OverlaySeries } from './OverlayChart';

const AXIS_LABELS: Record<CompareAxis, string> = { step: 'step', images: 'images seen' };

/** Loss, collapse, kNN and the gradient anatomy of every shown run, overlaid on one x-axis (steps, or images seen for runs with different batch sizes). */
export function CompareCharts() {
  const runs = useAppStore(selectActiveRuns);
  const results = useAppStore((s) => s.compare.results);
  const hidden = useAppStore((s) => s.compare.hidden);
  const xAxis = useAppStore((s) => s.compare.xAxis);
  const setXAxis = useAppStore((s) => s.compareActions.setXAxis);

  const { loss, featureStd, knn, gradients, references } = useMemo(() => {
    const shown = runs.filter((r) => !hidden.includes(r.id));
    const series = (values: (id: string) => { x: number; y: number }[]): OverlaySeries[] => shown.map((r) => ({ id: r.id, name: r.name, color: r.color, points: values(r.id) }));
    const history = (id: string) => results[id]?.history ?? [];
    const anatomy = (key: keyof Omit<CompareGradientPoint, 'step' | 'images'>) => series((id) => (results[id]?.gradients ?? []).map((p) => ({ x: p[xAxis], y: p[key] })));
    // One healthy level per embedding width among the shown runs (usually one).
    const dims = [...new Set(shown.map((r) => r.config.projector.out))];
    return {
      loss: series((id) => history(id).map((p) => ({ x: p[xAxis], y: p.loss }))),
      featureStd: series((id) => history(id).map((p) => ({ x: p[xAxis], y: p.featureStd }))),
      knn: series((id) => (results[id]?.knn ?? []).map((p) => ({ x: p[xAxis], y: p.accuracy }))),
      gradients: { positive: anatomy('positive'), negative: anatomy('negative'), ratio: anatomy('ratio'), unigradCosine: anatomy('unigradCosine') },
      references: dims.map((d) => ({ value: 1 / Math.sqrt(d), label: `healthy 1/√${d} = ${(1 / Math.sqrt(d)).toFixed(3)}` })),
    };
  }, [runs, results, hidden, xAxis]);

  const xLabel = AXIS_LABELS[xAxis];
  return (
    <>
      <fieldset className="axis-choice">
        <legend>Horizontal axis</legend>
        {(Object.keys(AXIS_LABELS) as CompareAxis[]).map((axis) => (
          <label key={axis}>
            <input type="radio" name="compare-axis" value={axis} checked={xAxis === axis} onChange={() => setXAxis(axis)} />
            {axis === 'step' ? 'Steps' : 'Images seen (fair across batch sizes)'}
          </label>
        ))}
      </fieldset>
      <div className="charts">
        <OverlayChart title="Loss" description="Each run's training objective. Methods' losses live on different scales: compare shapes, not heights, across methods." xLabel={xLabel} series={loss} />
        <OverlayChart
          title="Collapse detection"
          description="Mean per-dimension std of the L2-normalised projector outputs. Healthy embeddings sit near 1/√d; a collapsed encoder drops to 0."
          xLabel={xLabel}
          series={featureStd}
          references={references}
        />
        <OverlayChart
          title="kNN accuracy"
          description="Held-out accuracy of a weighted kNN classifier (k = 200, σ = 0.1) on the encoder's features of un-augmented images: how useful the features are."
          xLabel={xLabel}
          series={knn}
          dots
          yDomain={[0, 1]}
          formatY={(v) => `${Math.round(v * 100)}%`}
        />
      </div>
      {gradients.ratio.some((s) => s.points.length > 0) ? (
        <section aria-labelledby="compare-gradients-title">
          <h3 id="compare-gradients-title">Gradient anatomy</h3>
          <p className="panel-note">{GRADIENT_ANATOMY_EXPLANATION}</p>
          <div className="charts">
            <OverlayChart title="Positive term" description="Mean norm of the pull of u₁ towards the other view's target u₂." xLabel={xLabel} series={gradients.positive} />
            <OverlayChart title="Negative term" description="Mean norm of the rest of the gradient: the push (implicit, through the predictor, for BYOL and SimSiam)." xLabel={xLabel} series={gradients.negative} />
            <OverlayChart title="Effective λ" description={GRADIENT_RATIO_EXPLANATION} xLabel={xLabel} series={gradients.ratio} />
            <OverlayChart title="Cosine with UniGrad's form" description={UNIGRAD_COSINE_EXPLANATION} xLabel={xLabel} series={gradients.unigradCosine} yDomain={[-1, 1]} />
          </div>
        </section>
      ) : null}
    </>
  );
}
