import type { LiveSettings } from '../../engine/config';
import { usesTau } from '../../engine/methods/options';
import { useAppStore } from '../store';
import { training } from '../worker-client';
import { NumberField } from './NumberField';

/** Settings that may change mid-run: they go to the worker at once and apply from the next step. */
export function LiveControls() {
  const config = useAppStore((s) => s.config);
  const methods = useAppStore((s) => s.methods);
  const runState = useAppStore((s) => s.runState);
  const editConfig = useAppStore((s) => s.editConfig);
  const settingsError = useAppStore((s) => s.settingsError);
  const trainCount = useAppStore((s) => s.dataset?.trainCount);
  if (!config) return null;
  const method = methods.find((m) => m.id === config.method);
  const uses = method?.uses;
  const live = runState === 'running' || runState === 'paused' || runState === 'finished';

  const change = (changes: Partial<LiveSettings>) => {
    editConfig(changes);
    if (live) training.update(changes);
  };

  return (
    <section className="panel" aria-labelledby="live-controls-title">
      <h2 id="live-controls-title">Live settings</h2>
      <p className="panel-note">{live ? 'Changes apply from the next step; weights and optimizer state are kept.' : 'These can also be changed while training.'}</p>
      <NumberField
        label="Batch size"
        value={config.batchSize}
        integer
        min={2}
        max={trainCount}
        hint={trainCount ? `At most ${trainCount}, the size of the training set. A change rebuilds only the input pipeline.` : undefined}
        onCommit={(batchSize) => change({ batchSize })}
      />
      <NumberField label="Learning rate" value={config.learningRate} step={0.001} min={0} onCommit={(learningRate) => change({ learningRate })} />
      {method && usesTau(method, config.options) ? (
        <>
          <NumberField label="τ (target momentum)" value={config.tau} step={0.001} min={0} max={1} onCommit={(tau) => change({ tau })} />
          <div className="field field-inline">
            <input id="tau-schedule" type="checkbox" checked={config.tauSchedule} onChange={(e) => change({ tauSchedule: e.target.checked })} />
            <label htmlFor="tau-schedule">Cosine τ schedule (τ → 1)</label>
          </div>
        </>
      ) : null}
      {uses?.temperature ? (
        <NumberField label="Temperature" value={config.temperature} step={0.01} min={0.001} onCommit={(temperature) => change({ temperature })} />
      ) : null}
      {settingsError ? (
        <p role="alert" className="field-error">
          {settingsError}
        </p>
      ) : null}
    </section>
  );
}
