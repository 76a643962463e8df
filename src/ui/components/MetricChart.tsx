import { useMemo, useRef, useState, type ReactNode } from 'react';
import { CartesianGrid, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { formatNumber, smoothedKey, withSmoothed, X_AXIS_LABELS, type XAxisKey } from '../chart-data';
import { chartToPng } from '../chart-image';
import { downloadFile } from '../download';
import { useOnePerTask } from '../one-per-task';

export interface SeriesSpec {
  key: string;
  label: string;
  color: string;
  dashed?: boolean;
}

/** A settings change already placed on the chart's x-axis. */
export interface ChartMarker {
  x: number;
  label: string;
}

export interface ReferenceLevel {
  value: number;
  label: string;
  color: string;
}

interface MetricChartProps {
  title: string;
  description: ReactNode;
  data: readonly Record<string, number | undefined>[];
  series: SeriesSpec[];
  markers: ChartMarker[];
  xAxis: XAxisKey;
  /** EMA weight; when above 0 each series is drawn faint (raw) with its smoothed curve on top. */
  smoothing?: number;
  references?: ReferenceLevel[];
  /** Sparse data (evaluations): draw the points. */
  dots?: boolean;
  /** A line of current values under the title. */
  summary?: ReactNode;
  yDomain?: YDomain;
  percent?: boolean;
}

type YDomain = [number | 'auto', number | 'auto'];

const NO_REFERENCES: ReferenceLevel[] = [];
const AUTO_DOMAIN: YDomain = ['auto', 'auto'];

/** The previous value while the new one is equal by content (plain data only). */
function useByValue<T>(value: T): T {
  const key = JSON.stringify(value);
  return useMemo(() => value, [key]);
}

/** "Collapse detection (std)" → "collapse-detection-std". */
const fileNameOf = (title: string) => title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'chart';

const formatPercent = (v: number) => `${(v * 100).toFixed(0)}%`;
const formatX = (axis: XAxisKey) => (v: number) => (axis === 'step' ? String(v) : axis === 'epoch' ? v.toFixed(2) : v.toFixed(0));

/** A live line chart with settings-change markers, optional smoothing and reference levels. */
export function MetricChart({ title, description, data: latestData, series: seriesProp, markers: markersProp, xAxis, smoothing = 0, references: referencesProp = NO_REFERENCES, dots = false, summary, yDomain: yDomainProp = AUTO_DOMAIN, percent = false }: MetricChartProps) {
  const data = useOnePerTask(latestData);
  // Callers pass these as literals; equal values keep their identity so the drawn chart is reused.
  const series = useByValue(seriesProp);
  const markers = useByValue(markersProp);
  const references = useByValue(referencesProp);
  const yDomain = useByValue(yDomainProp);
  const smoothed = smoothing > 0;
  const rows = useMemo(
    () => (smoothed ? withSmoothed(data, series.map((s) => s.key), smoothing) : data),
    [data, series, smoothing, smoothed],
  );
  const points = data.filter((row) => series.some((s) => typeof row[s.key] === 'number')).length;
  const body = useRef<HTMLDivElement>(null);
  const [saveError, setSaveError] = useState<string | null>(null);
  const savePng = async () => {
    const svg = body.current?.querySelector<SVGSVGElement>('svg.recharts-surface');
    try {
      if (!svg) throw new Error(`The chart "${title}" has nothing drawn yet.`);
      downloadFile(`${fileNameOf(title)}.png`, await chartToPng(svg, title), 'image/png');
      setSaveError(null);
    } catch (error) {
      setSaveError(error instanceof Error ? error.message : String(error));
    }
  };

  const chart = useMemo(
    () => (
        <div className="chart-body" ref={body}>
          <ResponsiveContainer width="100%" height={220}>
            <LineChart data={rows as Record<string, number>[]} margin={{ top: 8, right: 16, bottom: 4, left: 0 }}>
              <CartesianGrid stroke="#e5e7eb" strokeDasharray="3 3" />
              <XAxis dataKey={xAxis} type="number" domain={['dataMin', 'dataMax']} tickFormatter={formatX(xAxis)} fontSize={12} />
              <YAxis fontSize={12} width={56} tickFormatter={percent ? formatPercent : formatNumber} domain={yDomain} allowDataOverflow={false} />
              <Tooltip
                formatter={(v, name) => [typeof v === 'number' ? (percent ? `${(v * 100).toFixed(1)}%` : v.toPrecision(4)) : String(v), name]}
                labelFormatter={(x) => `${X_AXIS_LABELS[xAxis].toLowerCase()} ${typeof x === 'number' ? formatX(xAxis)(x) : x}`}
              />
              {references.map((r) => (
                <ReferenceLine key={r.label} y={r.value} ifOverflow="extendDomain" stroke={r.color} strokeDasharray="6 4" label={{ value: r.label, position: 'insideTopRight', fontSize: 11, fill: r.color }} />
              ))}
              {markers.map((m, i) => (
                <ReferenceLine
                  key={`${m.x}-${i}`}
                  x={m.x}
                  className="settings-marker"
                  stroke="#9333ea"
                  strokeDasharray="2 3"
                  label={{ value: m.label, position: 'insideTopLeft', fontSize: 10, fill: '#7e22ce' }}
                />
              ))}
              {series.map((s) => (
                <Line
                  key={s.key}
                  type="monotone"
                  dataKey={s.key}
                  name={smoothed ? `${s.label} (raw)` : s.label}
                  stroke={s.color}
                  strokeOpacity={smoothed ? 0.25 : 1}
                  strokeDasharray={s.dashed ? '5 4' : undefined}
                  dot={dots ? { r: 3 } : false}
                  connectNulls
                  isAnimationActive={false}
                  strokeWidth={smoothed ? 1.2 : 1.8}
                />
              ))}
              {smoothed
                ? series.map((s) => (
                    <Line
                      key={smoothedKey(s.key)}
                      type="monotone"
                      dataKey={smoothedKey(s.key)}
                      name={s.label}
                      stroke={s.color}
                      strokeDasharray={s.dashed ? '5 4' : undefined}
                      dot={false}
                      connectNulls
                      isAnimationActive={false}
                      strokeWidth={1.8}
                    />
                  ))
                : null}
            </LineChart>
          </ResponsiveContainer>
        </div>
    ),
    [rows, markers, xAxis, series, references, dots, yDomain, percent, smoothed],
  );

  return (
    <figure className="chart" aria-label={title} data-point-count={points}>
      <figcaption>
        <div className="chart-head">
          <h3>{title}</h3>
          <button type="button" className="chart-save" aria-label={`Save ${title} as PNG`} disabled={points === 0} onClick={() => void savePng()}>
            PNG
          </button>
        </div>
        {saveError ? (
          <p role="alert" className="field-error">
            {saveError}
          </p>
        ) : null}
        {summary ? <p className="chart-summary">{summary}</p> : null}
        <p>{description}</p>
      </figcaption>
      {chart}
    </figure>
  );
}
