import { memo, useEffect, useMemo, useRef } from 'react';
import { CartesianGrid, Legend, ResponsiveContainer, Scatter, ScatterChart, Tooltip, XAxis, YAxis } from 'recharts';
import { useAppStore } from '../store';
import { training } from '../worker-client';
import { NumberField } from './NumberField';

const NO_CLASSES: string[] = [];

/** Tableau 10: distinguishable classes, cycled for more. */
export const CLASS_COLORS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

interface ProjectedPoint {
  x: number;
  y: number;
  /** Row of the held-out set: what the worker needs for the neighbours. */
  row: number;
  index: number;
  label: number | null;
  predicted: number | null;
}

/** An RGB image from the worker, drawn pixel for pixel and scaled up without blurring. */
function PixelImage({ pixels, size, label }: { pixels: Uint8Array; size: number; label: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const context = canvas.current?.getContext('2d');
    if (!context) return;
    const image = context.createImageData(size, size);
    for (let i = 0; i < size * size; i++) {
      image.data.set([pixels[3 * i], pixels[3 * i + 1], pixels[3 * i + 2], 255], 4 * i);
    }
    context.putImageData(image, 0, 0);
  }, [pixels, size]);
  return <canvas ref={canvas} width={size} height={size} className="pixel-image" role="img" aria-label={label} />;
}

function PointTooltip({ active, payload, classNames }: { active?: boolean; payload?: { payload: ProjectedPoint }[]; classNames: string[] }) {
  const point = active ? payload?.[0]?.payload : undefined;
  if (!point) return null;
  const name = (c: number | null) => (c === null ? 'unlabelled' : (classNames[c] ?? `class ${c}`));
  return (
    <div className="scatter-tooltip">
      <strong>{name(point.label)}</strong> (point {point.row}, image {point.index})
      {point.predicted !== null ? <div>kNN says: {name(point.predicted)}</div> : null}
      <div className="muted">Click for its nearest training images</div>
    </div>
  );
}

/**
 * PCA of the held-out backbone features at the latest evaluation, coloured by class. Clicking a point
 * (or entering its number) shows the image and its nearest neighbours in the kNN bank.
 */
export const EmbeddingView = memo(function EmbeddingView() {
  const latest = useAppStore((s) => s.latestEvaluation);
  const dataset = useAppStore((s) => s.dataset);
  const classNames = dataset?.classNames ?? NO_CLASSES;
  const neighbours = useAppStore((s) => s.neighbours);

  const groups = useMemo(() => {
    if (!latest) return [];
    const { x, y, indices, labels, predicted } = latest.projection;
    const byClass = new Map<number, ProjectedPoint[]>();
    for (let row = 0; row < x.length; row++) {
      if (!Number.isFinite(x[row]) || !Number.isFinite(y[row])) continue;
      const label = labels ? labels[row] : -1;
      const point = { x: x[row], y: y[row], row, index: indices[row], label: labels ? labels[row] : null, predicted: predicted ? predicted[row] : null };
      const group = byClass.get(label);
      if (group) group.push(point);
      else byClass.set(label, [point]);
    }
    return [...byClass.entries()].sort(([a], [b]) => a - b);
  }, [latest]);

  if (!latest) return null;
  const { explainedVariance } = latest.projection;
  const pointCount = latest.projection.x.length;
  const name = (c: number | null) => (c === null ? 'unlabelled' : (classNames[c] ?? `class ${c}`));

  return (
    <figure className="chart embedding-view" aria-label="Embedding view" data-point-count={pointCount}>
      <figcaption>
        <h3>Embedding view</h3>
        <p>
          PCA of the held-out backbone features (L2-normalised) at step {latest.step}: {pointCount} of {latest.heldOutSize} {latest.heldOutSplit === 'test' ? 'held-out' : 'training'} images, the
          two axes explaining {(explainedVariance[0] * 100).toFixed(0)}% and {(explainedVariance[1] * 100).toFixed(0)}% of the variance. Classes that form separate clusters are
          what kNN accuracy rewards. Click a point to see the image and its nearest training images.
        </p>
      </figcaption>
      <div className="embedding-layout">
        <div className="chart-body">
          <ResponsiveContainer width="100%" height={360}>
            <ScatterChart margin={{ top: 8, right: 16, bottom: 4, left: 0 }}>
              <CartesianGrid stroke="#e5e7eb" strokeDasharray="3 3" />
              <XAxis dataKey="x" type="number" name="PC 1" fontSize={12} tickFormatter={(v: number) => v.toFixed(2)} domain={['auto', 'auto']} />
              <YAxis dataKey="y" type="number" name="PC 2" fontSize={12} width={56} tickFormatter={(v: number) => v.toFixed(2)} domain={['auto', 'auto']} />
              <Tooltip content={<PointTooltip classNames={classNames} />} />
              <Legend />
              {groups.map(([label, points]) => (
                <Scatter
                  key={label}
                  name={label < 0 ? 'images' : name(label)}
                  data={points}
                  fill={CLASS_COLORS[Math.max(label, 0) % CLASS_COLORS.length]}
                  isAnimationActive={false}
                  cursor="pointer"
                  onClick={(item: { payload?: ProjectedPoint }) => {
                    if (item.payload) training.neighbours(item.payload.row);
                  }}
                />
              ))}
            </ScatterChart>
          </ResponsiveContainer>
          <NumberField
            label="Show point number"
            value={neighbours?.row ?? 0}
            integer
            min={0}
            max={pointCount - 1}
            hint={`0 to ${pointCount - 1}: the same as clicking that point.`}
            onCommit={(row) => training.neighbours(row)}
          />
        </div>
        <section className="neighbours" aria-label="Nearest neighbours" aria-live="polite">
          {neighbours === null ? (
            <p className="muted">No point selected.</p>
          ) : neighbours.message ? (
            <p className="field-error">{neighbours.message}</p>
          ) : neighbours.result === null ? (
            <p className="muted">Looking up point {neighbours.row}…</p>
          ) : (
            <>
              <div className="query-image">
                <PixelImage pixels={neighbours.result.query.pixels} size={neighbours.result.imageSize} label={`Selected image: ${name(neighbours.result.query.label)}`} />
                <span>
                  <strong>{name(neighbours.result.query.label)}</strong>
                  <br />
                  point {neighbours.row} · {neighbours.result.query.split === 'test' ? 'held-out' : 'training'} image {neighbours.result.query.index}
                </span>
              </div>
              <p className="muted">Nearest training images (cosine similarity, features of step {neighbours.result.step}):</p>
              <ol className="neighbour-list">
                {neighbours.result.neighbours.map((n) => (
                  <li key={n.index}>
                    <PixelImage pixels={n.pixels} size={neighbours.result!.imageSize} label={`Neighbour: ${name(n.label)}, similarity ${n.similarity.toFixed(2)}`} />
                    <span className={n.label === neighbours.result!.query.label ? 'same-class' : 'other-class'}>{name(n.label)}</span>
                    <span className="muted">{n.similarity.toFixed(2)}</span>
                  </li>
                ))}
              </ol>
            </>
          )}
        </section>
      </div>
    </figure>
  );
});
