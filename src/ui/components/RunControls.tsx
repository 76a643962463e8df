import { useAppStore } from '../store';
import { training } from '../worker-client';

/** Train / Pause / Resume / Step / Reset. Train always starts a fresh run with the current setup. */
export function RunControls() {
  const runState = useAppStore((s) => s.runState);
  const config = useAppStore((s) => s.config);
  const backend = useAppStore((s) => s.backend);
  const datasetLoading = useAppStore((s) => s.datasetLoad !== null);
  const ready = config !== null && backend !== null && !datasetLoading;
  const hasRun = runState === 'running' || runState === 'paused' || runState === 'finished';

  return (
    <div className="run-controls" role="toolbar" aria-label="Run controls">
      <button type="button" className="primary" disabled={!ready || runState === 'running' || runState === 'loading'} onClick={() => config && training.start(config, useAppStore.getState().datasetSource)}>
        {hasRun ? 'Train again' : 'Train'}
      </button>
      {runState === 'paused' ? (
        <button type="button" onClick={training.resume}>
          Resume
        </button>
      ) : (
        <button type="button" disabled={runState !== 'running'} onClick={training.pause}>
          Pause
        </button>
      )}
      <button type="button" disabled={runState !== 'paused'} onClick={training.step}>
        Step
      </button>
      <button type="button" disabled={!hasRun} onClick={training.reset}>
        Reset
      </button>
    </div>
  );
}
