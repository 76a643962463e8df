import { memo } from 'react';
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { useAppStore } from '../store';

const NO_CLASSES: string[] = [];

/** kNN accuracy per class at the latest evaluation: which classes the representation separates. */
export const PerClassChart = memo(function PerClassChart() {
  const latest = useAppStore((s) => s.latestEvaluation);
  const dataset = useAppStore((s) => s.dataset);
  const classNames = dataset?.classNames ?? NO_CLASSES;
  const perClass = latest?.perClassAccuracy;
  if (!latest || !perClass) return null;
  const data = perClass.map((accuracy, c) => ({ name: classNames[c] ?? `class ${c}`, accuracy }));

  return (
    <figure className="chart" aria-label="Per-class kNN accuracy" data-point-count={data.length}>
      <figcaption>
        <h3>Per-class kNN accuracy</h3>
        <p>At step {latest.step}. Chance is {(100 / Math.max(perClass.length, 1)).toFixed(0)}%; classes the encoder confuses stay low.</p>
      </figcaption>
      <div className="chart-body">
        <ResponsiveContainer width="100%" height={220}>
          <BarChart data={data} margin={{ top: 8, right: 16, bottom: 4, left: 0 }}>
            <CartesianGrid stroke="#e5e7eb" strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="name" fontSize={12} interval={0} />
            <YAxis domain={[0, 1]} fontSize={12} width={56} tickFormatter={(v: number) => `${(v * 100).toFixed(0)}%`} />
            <Tooltip formatter={(v) => (typeof v === 'number' ? `${(v * 100).toFixed(1)}%` : String(v))} />
            <Bar dataKey="accuracy" name="kNN accuracy" fill="#2563eb" isAnimationActive={false} />
          </BarChart>
        </ResponsiveContainer>
      </div>
    </figure>
  );
});
