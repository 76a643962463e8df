import { describeWorkerLoss, useAppStore } from '../store';
import { training } from '../worker-client';

/** After the training worker died mid-run: what was lost, and Resume from the last checkpoint in one click. */
export function WorkerLostNotice() {
  const lost = useAppStore((s) => s.workerLost);
  const ready = useAppStore((s) => s.backend !== null && s.datasetLoad === null);
  if (!lost) return null;
  return (
    <div className="alarm worker-lost" role="alert" aria-label="Training worker stopped">
      <p>{describeWorkerLoss(lost)}</p>
      {lost.runId !== null && lost.checkpointStep !== null ? (
        <button type="button" className="primary" disabled={!ready} onClick={() => void training.open(lost.runId!)}>
          Resume from step {lost.checkpointStep}
        </button>
      ) : (
        <p className="panel-note">Press Train to start the run again.</p>
      )}
    </div>
  );
}
