import { useEffect } from 'react';
import type { StoredRun } from '../../storage/runs-db';
import { deleteSavedRun, loadSavedRuns, refreshOwnership } from '../run-keeper';
import { useAppStore } from '../store';
import { training } from '../worker-client';

/** How often the list looks for runs other tabs own (and let go of). */
const OWNERSHIP_POLL_MS = 1000;

function describeRun(run: StoredRun, isCurrent: boolean, elsewhere: boolean): string {
  // A run recorded as training but neither here nor in another tab was cut off by a reload or a closed tab.
  const status = elsewhere ? 'in another tab' : !isCurrent && (run.status === 'running' || run.status === 'loading') ? 'interrupted' : run.status === 'error' ? 'failed' : run.status;
  const checkpoint = run.checkpointStep === null ? 'no checkpoint yet' : `checkpoint at step ${run.checkpointStep}`;
  return `${status} · step ${run.step} of ${run.config.totalSteps} · ${checkpoint}`;
}

/** Runs kept in this browser: reopen one to see its charts and resume it from its checkpoint, or delete it. */
export function RunsPanel() {
  const savedRuns = useAppStore((s) => s.savedRuns);
  const currentRunId = useAppStore((s) => s.currentRunId);
  const runState = useAppStore((s) => s.runState);
  const storageError = useAppStore((s) => s.storageError);
  const unreadableRuns = useAppStore((s) => s.unreadableRuns);
  const runsElsewhere = useAppStore((s) => s.runsElsewhere);
  const workerBusy = runState === 'running' || runState === 'loading';

  useEffect(() => {
    void loadSavedRuns();
    const poll = setInterval(() => void refreshOwnership(), OWNERSHIP_POLL_MS);
    return () => clearInterval(poll);
  }, []);

  return (
    <section className="panel" aria-labelledby="saved-runs-title">
      <h2 id="saved-runs-title">Saved runs</h2>
      {savedRuns.length === 0 && unreadableRuns.length === 0 ? (
        <p className="panel-note">Runs are kept in this browser while they train, with a checkpoint on every pause, and come back after a reload.</p>
      ) : (
        <ul className="saved-runs" aria-label="Saved runs">
          {[...savedRuns].reverse().map((run) => {
            const isCurrent = run.id === currentRunId;
            const elsewhere = runsElsewhere.includes(run.id);
            return (
              <li key={run.id} aria-label={run.name} aria-current={isCurrent ? 'true' : undefined}>
                <span className="saved-run-name">{run.name}</span>
                <span className="saved-run-detail">{describeRun(run, isCurrent, elsewhere)}</span>
                <div className="button-row">
                  <button
                    type="button"
                    aria-label={`Open run ${run.name}`}
                    disabled={isCurrent || elsewhere || workerBusy || run.checkpointStep === null}
                    title={elsewhere ? 'Open in another tab of this app: close it there to take it over' : workerBusy ? 'Pause the current run first' : 'Show its charts and load its checkpoint, ready to resume'}
                    onClick={() => void training.open(run.id)}
                  >
                    Open
                  </button>
                  <button type="button" aria-label={`Delete run ${run.name}`} disabled={isCurrent || elsewhere} title={isCurrent ? 'Reset the run first' : elsewhere ? 'Open in another tab of this app' : undefined} onClick={() => void deleteSavedRun(run.id)}>
                    Delete
                  </button>
                </div>
              </li>
            );
          })}
          {unreadableRuns.map((record) => (
            <li key={record.key} aria-label={`Unreadable run ${record.name ?? record.key}`} className="unreadable-run">
              <span className="saved-run-name">{record.name ?? `Record ${record.key}`}</span>
              <span className="saved-run-detail">unreadable: {record.reason}</span>
              <div className="button-row">
                <button type="button" aria-label={`Delete unreadable run ${record.name ?? record.key}`} onClick={() => void deleteSavedRun(record.key)}>
                  Delete
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
      {storageError ? (
        <p role="alert" className="field-error">
          {storageError}
        </p>
      ) : null}
    </section>
  );
}
