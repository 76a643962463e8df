import { useMemo } from 'react';
import { CartesianGrid, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { formatNumber } from '../../chart-data';
import { useOnePerTask } from '../../one-per-task';

export interface OverlaySeries {
  id: string;
  name: string;
  color: string;
  points: { x: number; y: number }[];
}

interface OverlayChartProps {
  title: string;
  description: string;
  xLabel: string;
  series: OverlaySeries[];
  references?: { value: number; label: string }[];
  /** Marks every point: for sparse series such as kNN evaluations. */
  dots?: boolean;
  yDomain?: [number | 'auto', number | 'auto'];
  formatY?: (value: number) => string;
}

/**
 * The runs' points as rows keyed by x, one column per run, so the tooltip lists every run that
 * has a point at the hovered x (runs stepped together share their steps) and never another x's value.
 */
function mergeByX(series: OverlaySeries[]): Record<string, number>[] {
  const rows = new Map<number, Record<string, number>>();
  for (const s of series) {
    for (const { x, y } of s.points) {
      const row = rows.get(x) ?? { x };
      row[s.id] = y;
      rows.set(x, row);
    }
  }
  return [...rows.values()].sort((a, b) => a.x - b.x);
}

/** One metric of several runs overlaid on shared axes, one line per run. */
export function OverlayChart({ title, description, xLabel, series: latestSeries, references = [], dots = false, yDomain = ['auto', 'auto'], formatY = formatNumber }: OverlayChartProps) {
  // Each chart takes new points in a task of its own (see one-per-task.ts).
  const series = useOnePerTask(latestSeries);
  const pointCount = series.reduce((n, s) => n + s.points.length, 0);
  const rows = useMemo(() => mergeByX(series), [series]);
  return (
    <figure className="chart" aria-label={title} data-point-count={pointCount} data-series-count={series.length}>
      <figcaption>
        <h3>{title}</h3>
        <p>{description}</p>
      </figcaption>
      <div className="chart-body">
        <ResponsiveContainer width="100%" height={220}>
          <LineChart data={rows} margin={{ top: 8, right: 16, bottom: 4, left: 0 }}>
            <CartesianGrid stroke="#e5e7eb" strokeDasharray="3 3" />
            <XAxis dataKey="x" type="number" domain={[0, 'dataMax']} fontSize={12} label={{ value: xLabel, position: 'insideBottomRight', offset: -2, fontSize: 11 }} />
            <YAxis fontSize={12} width={56} tickFormatter={formatY} domain={yDomain} />
            <Tooltip formatter={(v) => (typeof v === 'number' ? formatY(v) : String(v))} labelFormatter={(x) => `${xLabel} ${x}`} />
            {references.map((r) => (
              <ReferenceLine key={r.label} y={r.value} ifOverflow="extendDomain" stroke="#16a34a" strokeDasharray="6 4" label={{ value: r.label, position: 'insideTopRight', fontSize: 12, fill: '#15803d' }} />
            ))}
            {series.map((s) => (
              <Line key={s.id} dataKey={s.id} name={s.name} stroke={s.color} type="monotone" dot={dots ? { r: 3, fill: s.color } : false} isAnimationActive={false} strokeWidth={1.8} connectNulls />
            ))}
          </LineChart>
        </ResponsiveContainer>
      </div>
    </figure>
  );
}
