import { useEffect, useId, useState, type ChangeEvent, type KeyboardEvent } from 'react';

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
/**
 * A number input's text, kept apart from the committed value: `problemOf` (null when the number is
 * acceptable) is checked on Enter or blur, and only an acceptable, changed value is committed.
 */
export function useCommittedNumber(value: number, problemOf: (parsed: number) => string | null, onCommit: (value: number) => void, shown = String(value)) {
  const [text, setText] = useState(shown);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => setText(shown), [shown]);
  const commit = () => {
    const parsed = Number(text);
    const problem = text.trim() === '' || !Number.isFinite(parsed) ? 'must be a number' : problemOf(parsed);
    setError(problem);
    if (!problem && parsed !== value) onCommit(parsed);
  };
  return {
    error,
    inputProps: {
      value: text,
      'aria-invalid': error ? true : undefined,
      onChange: (e: ChangeEvent<HTMLInputElement>) => setText(e.target.value),
      onBlur: commit,
      onKeyDown: (e: KeyboardEvent) => e.key === 'Enter' && commit(),
    },
  };
}

export function NumberField({ label, value, onCommit, step, min, max, integer, hint }: NumberFieldProps) {
  const id = useId();
  const { error: problem, inputProps } = useCommittedNumber(
    value,
    (parsed) => (integer && !Number.isInteger(parsed) ? 'must be a whole number' : min !== undefined && parsed < min ? `must be at least ${min}` : max !== undefined && parsed > max ? `must be at most ${max}` : null),
    onCommit,
  );
  const error = problem && `${label} ${problem}`;

  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="number"
        step={step}
        min={min}
        max={max}
        aria-describedby={error ? `${id}-error` : hint ? `${id}-hint` : undefined}
        {...inputProps}
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
