import { useId } from 'react';
import type { CompareRunDraft } from '../../compare-store';
import { usesTau } from '../../../engine/methods/options';
import { useAppStore } from '../../store';
import { NumberField } from '../NumberField';
import { SelectField } from '../SelectField';
import { PRESET_CHOICES } from '../SetupPanel';

/** One run of the comparison: its name and colour, method and preset, and the settings runs usually differ in. */
export function RunEditor({ run, index }: { run: CompareRunDraft; index: number }) {
  const methods = useAppStore((s) => s.methods);
  const actions = useAppStore((s) => s.compareActions);
  const ids = { name: useId(), colour: useId(), schedule: useId() };
  const method = methods.find((m) => m.id === run.config.method);
  const { config } = run;
  const edit = (changes: Partial<typeof config>) => actions.editRun(run.id, changes);

  return (
    <fieldset className="run-editor" style={{ borderLeftColor: run.color }}>
      <legend>Run {index + 1}</legend>
      <div className="field-pair">
        <div className="field">
          <label htmlFor={ids.name}>Name</label>
          <input id={ids.name} type="text" value={run.name} onChange={(e) => actions.renameRun(run.id, e.target.value)} />
        </div>
        <div className="field field-colour">
          <label htmlFor={ids.colour}>Colour</label>
          <input id={ids.colour} type="color" value={run.color} onChange={(e) => actions.recolourRun(run.id, e.target.value)} />
        </div>
      </div>
      <div className="field-pair">
        <SelectField label="Method" value={config.method} choices={methods.map((m) => ({ value: m.id, label: m.label }))} onChange={(id) => actions.chooseRunMethod(run.id, id, config.preset)} />
        <SelectField label="Preset" value={config.preset} choices={PRESET_CHOICES} onChange={(preset) => actions.chooseRunMethod(run.id, config.method, preset)} />
      </div>
      <div className="field-pair">
        <NumberField label="Batch size" value={config.batchSize} integer min={2} max={8192} onCommit={(batchSize) => edit({ batchSize })} />
        <NumberField label="Learning rate" value={config.learningRate} min={1e-6} max={100} step={0.001} onCommit={(learningRate) => edit({ learningRate })} />
      </div>
      {method && usesTau(method, config.options) ? (
        <div className="field-pair">
          <NumberField label="τ (target momentum)" value={config.tau} min={0} max={1} step={0.001} onCommit={(tau) => edit({ tau })} />
          <div className="field field-inline">
            <input id={ids.schedule} type="checkbox" checked={config.tauSchedule} onChange={(e) => edit({ tauSchedule: e.target.checked })} />
            <label htmlFor={ids.schedule}>Cosine τ schedule (τ → 1)</label>
          </div>
        </div>
      ) : null}
      {method?.uses.temperature ? <NumberField label="Temperature" value={config.temperature} min={1e-4} max={100} step={0.01} onCommit={(temperature) => edit({ temperature })} /> : null}
      <NumberField label="Total steps" value={config.totalSteps} integer min={1} max={1_000_000} onCommit={(totalSteps) => edit({ totalSteps })} />
      <button type="button" className="run-remove" aria-label={`Remove run ${index + 1} (${run.name})`} onClick={() => actions.removeRun(run.id)}>
        Remove
      </button>
    </fieldset>
  );
}
