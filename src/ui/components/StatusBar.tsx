import { backendLabel, describeChoice, type BackendInfo } from '../../worker/backend-labels';
import type { DatasetSummary, RunState } from '../../worker/protocol';
import { useAppStore } from '../store';

const STATE_LABELS = { idle: 'Ready', loading: 'Loading', running: 'Training', paused: 'Paused', finished: 'Finished', error: 'Error' } as const;

/** The run state and the backend in use: the head of every status bar. */
export function StateAndBackend({ runState, backend }: { runState: RunState; backend: BackendInfo | null }) {
  return (
    <>
      <span className={`state state-${runState}`}>{STATE_LABELS[runState]}</span>
      <span aria-label="Backend">
        Backend: <strong>{backend ? backendLabel(backend.name) : 'starting…'}</strong>
        {backend?.adapter ? <span className="muted"> ({backend.adapter})</span> : null}
      </span>
    </>
  );
}

/** The dataset, why a faster backend was not used, and the latest message: the tail of every status bar. */
export function DatasetAndMessages({ dataset, backend, message }: { dataset: DatasetSummary | null; backend: BackendInfo | null; message: string | null }) {
  return (
    <>
      {dataset ? (
        <span className="muted" aria-label="Dataset">
          {dataset.name}: {dataset.trainCount} train / {dataset.testCount} held out, {dataset.classNames.length} classes
        </span>
      ) : null}
      {backend && backend.choice !== 'default' ? (
        <span className="muted" aria-label="Backend choice">
          {describeChoice(backend)}
        </span>
      ) : null}
      {backend && backend.fallbackReasons.length > 0 ? (
        <span className="fallback" aria-label="Backend fallback">
          {backend.fallbackReasons.join(' · ')} — using {backendLabel(backend.name)}.
        </span>
      ) : null}
      {message ? <span className="status-message">{message}</span> : null}
    </>
  );
}

export function megabytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MB`;
}

/** Always names the backend in use (and why a faster one was not), the step and the speed. */
export function StatusBar() {
  const backend = useAppStore((s) => s.backend);
  const runState = useAppStore((s) => s.runState);
  const message = useAppStore((s) => s.message);
  const progress = useAppStore((s) => s.progress);
  const config = useAppStore((s) => s.config);
  const dataset = useAppStore((s) => s.dataset);

  return (
    <div className="status-bar" role="status" aria-label="Training status" aria-live="polite">
      <StateAndBackend runState={runState} backend={backend} />
      <span aria-label="Step">
        Step <strong data-testid="step-counter">{progress?.steps ?? 0}</strong>
        {config ? <span className="muted"> / {config.totalSteps}</span> : null}
      </span>
      <span aria-label="Epoch">Epoch {(progress?.epochs ?? 0).toFixed(2)}</span>
      <span aria-label="Images per second">
        <strong>{Math.round(progress?.imagesPerSecond ?? 0)}</strong> img/s
      </span>
      <span aria-label="Step time">{(progress?.stepMilliseconds ?? 0).toFixed(0)} ms/step</span>
      {progress ? (
        <span className="muted" aria-label="Device memory">
          {progress.gpuBytes !== null ? <>GPU memory {megabytes(progress.gpuBytes)} · </> : null}
          {megabytes(progress.bytes)} in {progress.tensors} tensors
        </span>
      ) : null}
      <DatasetAndMessages dataset={dataset} backend={backend} message={message} />
    </div>
  );
}
