import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { untrainedReference } from '../../compare-store';
import { useAppStore } from '../../store';

const asPercent = (v: number) => `${Math.round(v * 100)}%`;

/**
 * An experiment's answer at a glance: each run's latest kNN accuracy (its final one once it has
 * finished) against the value it was run with, one line or bar group per method.
 */
export function SweepSummary() {
  const active = useAppStore((s) => s.compare.active);
  const results = useAppStore((s) => s.compare.results);
  const untrainedKnn = useAppStore((s) => s.compare.untrainedKnn);
  if (!active?.experiment || active.runs.some((r) => !r.sweep)) return null;
  const { axis } = active.experiment;
  const values = [...new Set(active.runs.map((r) => r.sweep!.value))];
  const series = [...new Set(active.runs.map((r) => r.sweep!.series))].map((name) => ({ name, color: active.runs.find((r) => r.sweep!.series === name)!.color }));
  const rows = values.map((value) => {
    const row: Record<string, string | number | null> = { value };
    for (const { name } of series) {
      const run = active.runs.find((r) => r.sweep!.series === name && r.sweep!.value === value);
      const knn = run ? results[run.id]?.knn : undefined;
      row[name] = knn && knn.length > 0 ? knn[knn.length - 1].accuracy : null;
    }
    return row;
  });
  // Numbers (τ, batch size) read as a trend; names (recipes, methods) as separate bars.
  const ordered = values.every((v) => Number.isFinite(Number(v)));
  const finished = active.runs.every((r) => results[r.id]?.status !== 'training');
  const title = `Final kNN accuracy against ${axis}`;
  const untrained = untrainedReference({ active, untrainedKnn });
  const reference =
    untrained === null ? null : <ReferenceLine y={untrained.accuracy} stroke="#6b7280" strokeDasharray="6 4" label={{ value: `${untrained.label}: ${asPercent(untrained.accuracy)}`, position: 'insideTopLeft', fontSize: 11 }} />;

  const common = (
    <>
      <CartesianGrid stroke="#e5e7eb" strokeDasharray="3 3" />
      <XAxis dataKey="value" type="category" padding={{ left: 24, right: 24 }} fontSize={12} label={{ value: axis, position: 'insideBottomRight', offset: -2, fontSize: 11 }} />
      <YAxis fontSize={12} width={48} domain={[0, 1]} tickFormatter={asPercent} />
      <Tooltip formatter={(v) => (typeof v === 'number' ? asPercent(v) : '–')} labelFormatter={(v) => `${axis}: ${v}`} />
      <Legend />
      {reference}
    </>
  );
  return (
    <figure className="chart sweep-summary" aria-label={title} data-point-count={rows.reduce((n, r) => n + series.filter((s) => r[s.name] !== null).length, 0)}>
      <figcaption>
        <h3>{title}</h3>
        <p>{finished ? 'Each run’s kNN accuracy at its last step.' : 'Each run’s latest kNN accuracy so far; final once every run has finished.'}</p>
      </figcaption>
      <div className="chart-body">
        <ResponsiveContainer width="100%" height={240}>
          {ordered ? (
            <LineChart data={rows} margin={{ top: 8, right: 16, bottom: 4, left: 0 }}>
              {common}
              {series.map((s) => (
                <Line key={s.name} dataKey={s.name} stroke={s.color} dot={{ r: 4, fill: s.color }} isAnimationActive={false} strokeWidth={2} connectNulls />
              ))}
            </LineChart>
          ) : (
            <BarChart data={rows} margin={{ top: 8, right: 16, bottom: 4, left: 0 }}>
              {common}
              {series.map((s) => (
                <Bar key={s.name} dataKey={s.name} fill={s.color} isAnimationActive={false} />
              ))}
            </BarChart>
          )}
        </ResponsiveContainer>
      </div>
    </figure>
  );
}
