import { describeInterruption, useAppStore, type InterruptionCause } from '../store';
import { training } from '../worker-client';

const TITLES: Record<InterruptionCause, string> = {
  worker: 'Training worker stopped',
  device: 'GPU device lost',
  memory: 'Out of memory',
};

/**
 * After a fault stopped the run (dead worker, lost GPU device, out of memory): what was lost, and
 * Resume from the last checkpoint in one click — or, after a lost device, that it resumes by itself.
 */
export function InterruptionNotice() {
  const interruption = useAppStore((s) => s.interruption);
  const ready = useAppStore((s) => s.backend !== null && s.datasetLoad === null);
  if (!interruption) return null;
  const { runId, checkpointStep, resuming } = interruption;
  const resume = () => {
    useAppStore.setState({ interruption: null });
    void training.open(runId!);
  };
  return (
    <div className="alarm run-interrupted" role="alert" aria-label={TITLES[interruption.cause]}>
      <p>{describeInterruption(interruption)}</p>
      {resuming ? (
        <button type="button" onClick={() => useAppStore.setState({ interruption: null })}>
          Dismiss
        </button>
      ) : runId !== null && checkpointStep !== null ? (
        <button type="button" className="primary" disabled={!ready} onClick={resume}>
          Resume from step {checkpointStep}
        </button>
      ) : (
        <p className="panel-note">Press Train to start the run again.</p>
      )}
    </div>
  );
}
