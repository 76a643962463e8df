import { useId } from 'react';

/** A labelled select over `choices` (value, label); `inline` puts the label beside it. */
export function SelectField<T extends string | number>({ label, value, choices, onChange, inline }: { label: string; value: T; choices: readonly { value: T; label: string }[]; onChange(value: T): void; inline?: boolean }) {
  const id = useId();
  return (
    <div className={inline ? 'field field-inline' : 'field'}>
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(choices.find((c) => String(c.value) === e.target.value)!.value)}>
        {choices.map((c) => (
          <option key={c.value} value={c.value}>
            {c.label}
          </option>
        ))}
      </select>
    </div>
  );
}
