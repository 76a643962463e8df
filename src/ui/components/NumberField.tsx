import { useEffect, useId, useState } from 'react';

interface NumberFieldProps {
  label: string;
  value: number;
  onCommit(value: number): void;
  step?: number;
  min?: number;
  max?: number;
  integer?: boolean;
  hint?: string;
}

/**
 * A labelled number input that commits on Enter or blur, so a half-typed value (e.g. "0.") never
 * reaches a running training loop. Out-of-range values are refused here with a message.
 */
export function NumberField({ label, value, onCommit, step, min, max, integer, hint }: NumberFieldProps) {
  const id = useId();
  const [text, setText] = useState(String(value));
  const [error, setError] = useState<string | null>(null);
  useEffect(() => setText(String(value)), [value]);

  const commit = () => {
    const parsed = Number(text);
    let problem: string | null = null;
    if (text.trim() === '' || !Number.isFinite(parsed)) problem = `${label} must be a number`;
    else if (integer && !Number.isInteger(parsed)) problem = `${label} must be a whole number`;
    else if (min !== undefined && parsed < min) problem = `${label} must be at least ${min}`;
    else if (max !== undefined && parsed > max) problem = `${label} must be at most ${max}`;
    setError(problem);
    if (problem) return;
    if (parsed !== value) onCommit(parsed);
  };

  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="number"
        value={text}
        step={step}
        min={min}
        max={max}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : hint ? `${id}-hint` : undefined}
        onChange={(e) => setText(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => {
          if (e.key === 'Enter') commit();
        }}
      />
      {error ? (
        <span id={`${id}-error`} role="alert" className="field-error">
          {error}
        </span>
      ) : hint ? (
        <span id={`${id}-hint`} className="field-hint">
          {hint}
        </span>
      ) : null}
    </div>
  );
}
