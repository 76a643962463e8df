import { percentText } from '../../chart-data';
import { selectActiveRuns, summarise } from '../../compare-store';
import { useAppStore } from '../../store';

const number = (v: number | null, digits: number) => (v === null ? '–' : Number.isFinite(v) ? v.toFixed(digits) : String(v));
const STATUS_LABELS = { training: 'training', finished: 'finished', diverged: 'stopped early' } as const;

/** The runs side by side: where each stands now and the best it reached. */
export function CompareTable() {
  const runs = useAppStore(selectActiveRuns);
  const results = useAppStore((s) => s.compare.results);
  const methods = useAppStore((s) => s.methods);
  const rows = runs.map((run) => ({ run, result: results[run.id], summary: summarise(results[run.id]) }));
  const bestKnn = Math.max(...rows.map((r) => r.summary.bestKnn ?? -1));
  const problems = rows.filter((r) => r.result?.problem);

  return (
    <div className="compare-table-wrap">
      <table className="compare-table" aria-label="Run comparison">
        <caption>
          Loss and collapse std: mean of the last 10 steps. kNN: the latest evaluation and the best so far. Images per second: each run's own speed, timed on steps it ran alone.
        </caption>
        <thead>
          <tr>
            <th scope="col">Run</th>
            <th scope="col">Method</th>
            <th scope="col">Steps</th>
            <th scope="col">Loss</th>
            <th scope="col">Collapse std</th>
            <th scope="col">kNN now</th>
            <th scope="col">Best kNN</th>
            <th scope="col">img/s</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(({ run, result, summary }) => (
            <tr key={run.id}>
              <th scope="row">
                <span className="run-swatch" style={{ background: run.color, borderColor: run.color }} aria-hidden="true" />
                {run.name}
              </th>
              <td>{methods.find((m) => m.id === run.config.method)?.label ?? run.config.method}</td>
              <td>
                {result?.steps ?? 0} / {run.config.totalSteps}
              </td>
              <td>{number(summary.loss, 4)}</td>
              <td>{number(summary.featureStd, 4)}</td>
              <td>{percentText(summary.knn)}</td>
              <td>{summary.bestKnn !== null && summary.bestKnn === bestKnn && rows.length > 1 ? <strong title="Best of all runs">{percentText(summary.bestKnn)} ★</strong> : percentText(summary.bestKnn)}</td>
              <td>{result?.imagesPerSecond ? Math.round(result.imagesPerSecond) : '–'}</td>
              <td>{STATUS_LABELS[result?.status ?? 'training']}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {problems.map(({ run, result }) => (
        <p key={run.id} className="field-error" role="alert">
          {run.name}: {result?.problem}
        </p>
      ))}
    </div>
  );
}
