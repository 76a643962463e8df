import { compareWorker } from '../compare-client';
import { trainingWorker } from '../worker-client';

/** Shown only with `?diagnostics` in the address: causes the faults the app must survive (docs/reliability.md). */
export function DiagnosticsPanel() {
  if (typeof location === 'undefined' || !new URLSearchParams(location.search).has('diagnostics')) return null;
  return (
    <section className="panel" aria-labelledby="diagnostics-title">
      <h2 id="diagnostics-title">Diagnostics</h2>
      <p className="panel-note">Fault injection, to check that nothing is lost when things break.</p>
      <div className="button-row">
        <button type="button" onClick={() => trainingWorker.simulateCrash()}>
          Stop the training worker
        </button>
        <button type="button" onClick={() => compareWorker.simulateCrash()}>
          Stop the comparison worker
        </button>
      </div>
    </section>
  );
}
