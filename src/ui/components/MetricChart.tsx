import { CartesianGrid, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { ChartPoint, SettingsMarker } from '../store';

export interface SeriesSpec {
  key: string;
  label: string;
  color: string;
}

interface MetricChartProps {
  title: string;
  description: string;
  data: ChartPoint[];
  series: SeriesSpec[];
  markers: SettingsMarker[];
  reference?: { value: number; label: string };
}

const formatNumber = (v: number) => (Math.abs(v) >= 100 || v === 0 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(2));

/** A live line chart over training steps, with settings-change markers and an optional reference level. */
export function MetricChart({ title, description, data, series, markers, reference }: MetricChartProps) {
  return (
    <figure className="chart" aria-label={title} data-point-count={data.length}>
      <figcaption>
        <h3>{title}</h3>
        <p>{description}</p>
      </figcaption>
      <div className="chart-body">
        <ResponsiveContainer width="100%" height={220}>
          <LineChart data={data} margin={{ top: 8, right: 16, bottom: 4, left: 0 }}>
            <CartesianGrid stroke="#e5e7eb" strokeDasharray="3 3" />
            <XAxis dataKey="step" type="number" domain={['dataMin', 'dataMax']} tickFormatter={(v: number) => String(v)} fontSize={12} />
            <YAxis fontSize={12} width={56} tickFormatter={formatNumber} domain={['auto', 'auto']} />
            <Tooltip formatter={(v) => (typeof v === 'number' ? v.toPrecision(4) : String(v))} labelFormatter={(s) => `step ${s}`} />
            {reference ? (
              <ReferenceLine y={reference.value} ifOverflow="extendDomain" stroke="#16a34a" strokeDasharray="6 4" label={{ value: reference.label, position: 'insideTopRight', fontSize: 12, fill: '#15803d' }} />
            ) : null}
            {markers.map((m, i) => (
              <ReferenceLine key={`${m.step}-${i}`} x={m.step} stroke="#9333ea" strokeDasharray="2 3" label={{ value: m.label, position: 'insideTopLeft', fontSize: 10, fill: '#7e22ce' }} />
            ))}
            {series.map((s) => (
              <Line key={s.key} type="monotone" dataKey={s.key} name={s.label} stroke={s.color} dot={false} isAnimationActive={false} strokeWidth={1.8} />
            ))}
          </LineChart>
        </ResponsiveContainer>
      </div>
    </figure>
  );
}
