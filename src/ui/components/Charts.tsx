import { useMemo } from 'react';
import { collapseThreshold, DEFAULT_COLLAPSE_ALARM } from '../../engine/collapse';
import { usesTau } from '../../engine/methods/options';
import { formatNumber, markerX, percentText, termKey } from '../chart-data';
import { GRADIENT_ANATOMY_EXPLANATION, GRADIENT_RATIO_EXPLANATION, UNIGRAD_COSINE_EXPLANATION, negativeTermLabel } from '../gradient-anatomy-text';
import { useAppStore } from '../store';
import { ChartToolbar } from './ChartToolbar';
import { CollapseAlarm } from './CollapseAlarm';
import { EmbeddingView } from './EmbeddingView';
import { MetricChart, type ChartMarker, type SeriesSpec } from './MetricChart';
import { PerClassChart } from './PerClassChart';

const TERM_COLORS = ['#0891b2', '#d97706', '#be185d', '#4d7c0f', '#7c3aed', '#b91c1c'];

/** Every live chart: per-step curves, evaluation results, per-class accuracy and the embedding view. */
export function Charts() {
  const history = useAppStore((s) => s.history);
  const rawMarkers = useAppStore((s) => s.markers);
  const evaluations = useAppStore((s) => s.evaluations);
  const latest = useAppStore((s) => s.latestEvaluation);
  const termNames = useAppStore((s) => s.termNames);
  const { smoothing, xAxis } = useAppStore((s) => s.chartOptions);
  const dim = useAppStore((s) => s.progress?.embeddingDim ?? s.config?.projector.out ?? null);
  const tauUsed = useAppStore((s) => {
    const method = s.methods.find((m) => m.id === s.config?.method);
    return method !== undefined && s.config !== null && usesTau(method, s.config.options);
  });

  const markers = useMemo<ChartMarker[]>(
    () => rawMarkers.flatMap((m) => {
      const x = markerX(history, m.step, xAxis);
      return x === null ? [] : [{ x, label: m.label }];
    }),
    [rawMarkers, history, xAxis],
  );
  const lossSeries = useMemo<SeriesSpec[]>(
    () => [{ key: 'loss', label: 'loss', color: '#2563eb' }, ...termNames.map((name, i) => ({ key: termKey(name), label: name, color: TERM_COLORS[i % TERM_COLORS.length] }))],
    [termNames],
  );
  const healthy = dim ? 1 / Math.sqrt(dim) : null;
  const last = evaluations.at(-1);
  const hasViews = history.some((p) => p.alignment !== undefined);
  const hasProbe = history.some((p) => p.probeAccuracy !== undefined);
  const lastGradients = useMemo(() => [...history].reverse().find((p) => p.gradientRatio !== undefined), [history]);
  const common = { markers, xAxis };
  const perStep = { ...common, data: history, smoothing };
  const perEvaluation = { ...common, data: evaluations, dots: true };

  return (
    <div className="charts-area">
      <CollapseAlarm />
      <ChartToolbar />
      <div className="charts">
        <MetricChart
          {...perStep}
          title="Loss"
          description={termNames.length > 0 ? 'The training objective per step, with its separate terms.' : "The method's training objective, per step."}
          series={lossSeries}
        />
        <MetricChart
          {...perStep}
          title="Collapse detection"
          description="Mean per-dimension std of the L2-normalised projector outputs. Healthy embeddings sit near 1/√d; a collapsed encoder (every image mapped to the same point) drops to 0. The alarm fires below the red line."
          series={[{ key: 'featureStd', label: 'feature std', color: '#ea580c' }]}
          references={
            healthy && dim
              ? [
                  { value: healthy, label: `healthy 1/√d = ${healthy.toFixed(3)}`, color: '#15803d' },
                  { value: collapseThreshold(dim), label: `alarm ${DEFAULT_COLLAPSE_ALARM.thresholdFactor}/√d`, color: '#dc2626' },
                ]
              : []
          }
        />
        <MetricChart
          {...perEvaluation}
          title="Held-out accuracy"
          percent
          yDomain={[0, 1]}
          summary={
            last?.knnAccuracy !== undefined ? (
              <>
                kNN <strong data-testid="knn-current">{percentText(last.knnAccuracy)}</strong> · best <strong data-testid="knn-best">{percentText(last.bestKnnAccuracy)}</strong>
                {last.probeAccuracy !== undefined ? <> · linear probe <strong>{percentText(last.probeAccuracy)}</strong></> : null}
              </>
            ) : evaluations.length > 0 ? (
              'No labels: kNN accuracy needs a labelled held-out split.'
            ) : null
          }
          description={
            latest
              ? `Weighted kNN (k = 200, σ = 0.1, cosine) on backbone features: ${latest.bankSize} training images as the bank, ${latest.heldOutSize} held-out images scored; and the online linear probe on the same features.`
              : 'Weighted kNN (k = 200, σ = 0.1, cosine) on backbone features of un-augmented images, and the online linear probe. Measured at each evaluation.'
          }
          series={[
            { key: 'knnAccuracy', label: 'kNN', color: '#2563eb' },
            { key: 'bestKnnAccuracy', label: 'kNN best so far', color: '#93c5fd', dashed: true },
            { key: 'probeAccuracy', label: 'linear probe', color: '#16a34a' },
          ]}
        />
        <MetricChart
          {...perEvaluation}
          title="Effective rank (RankMe)"
          summary={last ? <>rank <strong>{last.effectiveRank.toFixed(1)}</strong> of at most {latest ? Math.min(latest.featureDim, latest.heldOutSize) : '–'}</> : null}
          description="How many dimensions the held-out backbone features really use: exp of the entropy of their normalised singular values. Dimensional collapse shows as a falling rank."
          series={[{ key: 'effectiveRank', label: 'RankMe', color: '#7c3aed' }]}
          references={latest ? [{ value: Math.min(latest.featureDim, latest.heldOutSize), label: `max ${Math.min(latest.featureDim, latest.heldOutSize)}`, color: '#6b7280' }] : []}
        />
        {hasViews ? (
          <MetricChart
            {...perStep}
            title="Alignment and uniformity"
            description="Wang & Isola on the batch's projector outputs: alignment is the mean squared distance between the two views of an image (lower: views agree); uniformity is log E exp(−2‖zᵢ − zⱼ‖²) (lower: spread over the sphere, 0 when collapsed)."
            series={[
              { key: 'alignment', label: 'alignment', color: '#0891b2' },
              { key: 'uniformity', label: 'uniformity', color: '#be185d' },
            ]}
          />
        ) : null}
        {hasViews ? (
          <MetricChart
            {...perStep}
            title="Positive and negative cosine"
            description="Mean cosine similarity between the two views of the same image (positive) and between different images (negative). Collapse drives both to 1."
            series={[
              { key: 'positiveCosine', label: 'positive pairs', color: '#16a34a' },
              { key: 'negativeCosine', label: 'negative pairs', color: '#dc2626' },
            ]}
          />
        ) : null}
        {lastGradients ? (
          <>
            <MetricChart
              {...perStep}
              title="Gradient anatomy"
              summary={
                <>
                  <span className="series-positive">positive</span> {formatNumber(lastGradients.gradientPositive)} ·{' '}
                  <span className="series-negative">{negativeTermLabel(lastGradients.implicitNegative === 1)}</span> {formatNumber(lastGradients.gradientNegative)} · effective λ{' '}
                  <strong data-testid="gradient-ratio">{formatNumber(lastGradients.gradientRatio)}</strong> · cosine with UniGrad's form{' '}
                  <strong data-testid="unigrad-cosine">{lastGradients.unigradCosine.toFixed(2)}</strong>
                </>
              }
              description={GRADIENT_ANATOMY_EXPLANATION}
              series={[
                { key: 'gradientPositive', label: 'positive (pull towards u₂)', color: '#16a34a' },
                { key: 'gradientNegative', label: negativeTermLabel(lastGradients.implicitNegative === 1), color: '#dc2626' },
              ]}
            />
            <MetricChart {...perStep} title="Effective λ (negative ÷ positive)" description={GRADIENT_RATIO_EXPLANATION} series={[{ key: 'gradientRatio', label: 'effective λ', color: '#7c3aed' }]} />
            <MetricChart
              {...perStep}
              title="Agreement with UniGrad's form"
              yDomain={[-1, 1]}
              description={UNIGRAD_COSINE_EXPLANATION}
              series={[{ key: 'unigradCosine', label: 'cosine', color: '#0891b2' }]}
            />
          </>
        ) : null}
        <MetricChart {...perStep} smoothing={0} title="Learning-rate schedule" description="The rate applied at each step: linear warm-up, then cosine decay." series={[{ key: 'learningRate', label: 'learning rate', color: '#4b5563' }]} />
        {tauUsed ? (
          <MetricChart {...perStep} smoothing={0} title="Target momentum τ" description="EMA decay of the target network at each step; the cosine schedule raises it to 1." series={[{ key: 'tau', label: 'τ', color: '#9333ea' }]} />
        ) : null}
        {hasProbe ? (
          <MetricChart
            {...perStep}
            title="Online linear probe (training batches)"
            percent
            yDomain={[0, 1]}
            description="Accuracy of the linear classifier on each training batch (augmented views, before its update). It learns on detached features and never changes the encoder."
            series={[{ key: 'probeAccuracy', label: 'batch accuracy', color: '#16a34a' }]}
          />
        ) : null}
        <PerClassChart />
      </div>
      <EmbeddingView />
    </div>
  );
}
