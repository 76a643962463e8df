import type { RunState } from '../../worker/protocol';
import { useAppStore } from '../store';
import { training } from '../worker-client';

interface RunToolbarProps {
  label: string;
  runState: RunState;
  startLabel: string;
  canStart: boolean;
  canReset: boolean;
  start(): void;
  pause(): void;
  resume(): void;
  /** One step while paused; left out where stepping means nothing (Compare). */
  step?: () => void;
  reset(): void;
}

/** Start / Pause or Resume / Step / Reset, for the Train tab's run and for a comparison. */
export function RunToolbar({ label, runState, startLabel, canStart, canReset, start, pause, resume, step, reset }: RunToolbarProps) {
  return (
    <div className="run-controls" role="toolbar" aria-label={label}>
      <button type="button" className="primary" disabled={!canStart || runState === 'running' || runState === 'loading'} onClick={start}>
        {startLabel}
      </button>
      {runState === 'paused' ? (
        <button type="button" onClick={resume}>
          Resume
        </button>
      ) : (
        <button type="button" disabled={runState !== 'running'} onClick={pause}>
          Pause
        </button>
      )}
      {step ? (
        <button type="button" disabled={runState !== 'paused'} onClick={step}>
          Step
        </button>
      ) : null}
      <button type="button" disabled={!canReset} onClick={reset}>
        Reset
      </button>
    </div>
  );
}

/** Train / Pause / Resume / Step / Reset. Train always starts a fresh run with the current setup. */
export function RunControls() {
  const runState = useAppStore((s) => s.runState);
  const config = useAppStore((s) => s.config);
  const ready = useAppStore((s) => s.config !== null && s.backend !== null && s.datasetLoad === null);
  const hasRun = runState === 'running' || runState === 'paused' || runState === 'finished';
  return (
    <RunToolbar
      label="Run controls"
      runState={runState}
      startLabel={hasRun ? 'Train again' : 'Train'}
      canStart={ready}
      canReset={hasRun}
      start={() => config && training.start(config, useAppStore.getState().datasetSource)}
      pause={training.pause}
      resume={training.resume}
      step={training.step}
      reset={training.reset}
    />
  );
}
