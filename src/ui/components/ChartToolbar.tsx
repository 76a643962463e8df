import { useId } from 'react';
import { X_AXIS_LABELS, type XAxisKey } from '../chart-data';
import { useAppStore } from '../store';
import { SelectField } from './SelectField';

/** Smoothing and x-axis choice for every chart. */
export function ChartToolbar() {
  const { smoothing, xAxis } = useAppStore((s) => s.chartOptions);
  const setChartOptions = useAppStore((s) => s.setChartOptions);
  const smoothingId = useId();

  return (
    <div className="chart-toolbar" role="group" aria-label="Chart options">
      <div className="field field-inline">
        <label htmlFor={smoothingId}>Smoothing</label>
        <input
          id={smoothingId}
          type="range"
          min={0}
          max={0.99}
          step={0.01}
          value={smoothing}
          onChange={(e) => setChartOptions({ smoothing: Number(e.target.value) })}
        />
        <output htmlFor={smoothingId}>{smoothing.toFixed(2)}</output>
        <span className="field-hint">EMA as in TensorBoard; per-step curves only, evaluations are shown as measured.</span>
      </div>
      <SelectField inline label="X axis" value={xAxis} choices={(Object.keys(X_AXIS_LABELS) as XAxisKey[]).map((key) => ({ value: key, label: X_AXIS_LABELS[key] }))} onChange={(key) => setChartOptions({ xAxis: key })} />
    </div>
  );
}
