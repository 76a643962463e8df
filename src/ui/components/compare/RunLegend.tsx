import { selectActiveRuns } from '../../compare-store';
import { useAppStore } from '../../store';

/** One button per run: pressed = drawn in every chart. Clicking shows or hides that run everywhere. */
export function RunLegend() {
  const runs = useAppStore(selectActiveRuns);
  const hidden = useAppStore((s) => s.compare.hidden);
  const toggleRun = useAppStore((s) => s.compareActions.toggleRun);
  return (
    <div className="run-legend" role="group" aria-label="Runs shown in the charts">
      {runs.map((run) => {
        const shown = !hidden.includes(run.id);
        return (
          <button key={run.id} type="button" aria-pressed={shown} title={shown ? 'Hide this run in the charts' : 'Show this run in the charts'} onClick={() => toggleRun(run.id)}>
            <span className="run-swatch" style={{ background: shown ? run.color : 'transparent', borderColor: run.color }} aria-hidden="true" />
            {run.name}
          </button>
        );
      })}
    </div>
  );
}
