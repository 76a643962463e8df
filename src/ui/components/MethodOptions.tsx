import type { MethodOptionSpec } from '../../engine/methods/options';
import { useAppStore } from '../store';
import { NumberField } from './NumberField';

/**
 * The chosen method's own settings (queue size, λ, the stop-gradient switch, …), as the method
 * declares them in the catalog; they apply to the next run.
 */
export function MethodOptions() {
  const config = useAppStore((s) => s.config);
  const methods = useAppStore((s) => s.methods);
  const editConfig = useAppStore((s) => s.editConfig);
  const specs = methods.find((m) => m.id === config?.method)?.options;
  if (!config || !specs || Object.keys(specs).length === 0) return null;
  const setOption = (name: string, value: number) => editConfig({ options: { ...config.options, [name]: value } });

  return (
    <fieldset className="method-options">
      <legend>Method settings</legend>
      {Object.entries(specs).map(([name, spec]) => (
        <MethodOption key={name} name={name} spec={spec} value={config.options[name] ?? spec.default} onChange={(value) => setOption(name, value)} />
      ))}
    </fieldset>
  );
}

function MethodOption({ name, spec, value, onChange }: { name: string; spec: MethodOptionSpec; value: number; onChange(value: number): void }) {
  const id = `method-option-${name}`;
  const hintId = `${id}-hint`;
  if (spec.kind === 'toggle') {
    return (
      <div className="field field-inline">
        <input id={id} type="checkbox" checked={value !== 0} aria-describedby={hintId} onChange={(e) => onChange(e.target.checked ? 1 : 0)} />
        <label htmlFor={id}>{spec.label}</label>
        <span id={hintId} className="field-hint">
          {spec.hint}
        </span>
      </div>
    );
  }
  if (spec.kind === 'choice') {
    return (
      <div className="field">
        <label htmlFor={id}>{spec.label}</label>
        <select id={id} value={value} aria-describedby={hintId} onChange={(e) => onChange(Number(e.target.value))}>
          {(spec.choices ?? []).map((choice) => (
            <option key={choice.value} value={choice.value}>
              {choice.label}
            </option>
          ))}
        </select>
        <span id={hintId} className="field-hint">
          {spec.hint}
        </span>
      </div>
    );
  }
  return <NumberField label={spec.label} value={value} hint={spec.hint} min={spec.min} max={spec.max} integer={spec.integer} step={spec.step} onCommit={onChange} />;
}
