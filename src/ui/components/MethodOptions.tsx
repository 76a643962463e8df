import { METHOD_OPTION_SPECS } from '../../engine/methods/option-specs';
import { useAppStore } from '../store';
import { NumberField } from './NumberField';

/** The chosen method's own settings (queue size, λ, the stop-gradient switch, …); they apply to the next run. */
export function MethodOptions() {
  const config = useAppStore((s) => s.config);
  const editConfig = useAppStore((s) => s.editConfig);
  if (!config) return null;
  const keys = Object.keys(config.options).filter((key) => key in METHOD_OPTION_SPECS);
  if (keys.length === 0) return null;
  const setOption = (key: string, value: number) => editConfig({ options: { ...config.options, [key]: value } });

  return (
    <fieldset className="method-options">
      <legend>Method settings</legend>
      {keys.map((key) => {
        const spec = METHOD_OPTION_SPECS[key];
        const value = config.options[key];
        if (spec.kind === 'toggle') {
          const id = `method-option-${key}`;
          return (
            <div key={key} className="field field-inline">
              <input id={id} type="checkbox" checked={value !== 0} aria-describedby={`${id}-hint`} onChange={(e) => setOption(key, e.target.checked ? 1 : 0)} />
              <label htmlFor={id}>{spec.label}</label>
              <span id={`${id}-hint`} className="field-hint">
                {spec.hint}
              </span>
            </div>
          );
        }
        return (
          <NumberField
            key={key}
            label={spec.label}
            value={value}
            hint={spec.hint}
            min={spec.min}
            max={spec.max}
            integer={spec.integer}
            step={spec.step}
            onCommit={(next) => setOption(key, next)}
          />
        );
      })}
    </fieldset>
  );
}
