import { useId } from 'react';
import { X_AXIS_LABELS, type XAxisKey } from '../chart-data';
import { useAppStore } from '../store';

/** Smoothing and x-axis choice for every chart. */
export function ChartToolbar() {
  const { smoothing, xAxis } = useAppStore((s) => s.chartOptions);
  const setChartOptions = useAppStore((s) => s.setChartOptions);
  const ids = { smoothing: useId(), axis: useId() };

  return (
    <div className="chart-toolbar" role="group" aria-label="Chart options">
      <div className="field field-inline">
        <label htmlFor={ids.smoothing}>Smoothing</label>
        <input
          id={ids.smoothing}
          type="range"
          min={0}
          max={0.99}
          step={0.01}
          value={smoothing}
          onChange={(e) => setChartOptions({ smoothing: Number(e.target.value) })}
        />
        <output htmlFor={ids.smoothing}>{smoothing.toFixed(2)}</output>
        <span className="field-hint">EMA as in TensorBoard; per-step curves only, evaluations are shown as measured.</span>
      </div>
      <div className="field field-inline">
        <label htmlFor={ids.axis}>X axis</label>
        <select id={ids.axis} value={xAxis} onChange={(e) => setChartOptions({ xAxis: e.target.value as XAxisKey })}>
          {(Object.keys(X_AXIS_LABELS) as XAxisKey[]).map((key) => (
            <option key={key} value={key}>
              {X_AXIS_LABELS[key]}
            </option>
          ))}
        </select>
      </div>
    </div>
  );
}
