/**
 * Method options: the method-specific numbers in `TrainConfig.options` (queue size, λ, the
 * stop-gradient switch, …). Each method file declares its options once, as plain data with a
 * default; presets, the setup form, links and the engine's checks all derive from that
 * declaration. No tfjs import: the page uses this module without loading the engine.
 */
import type { TrainConfig } from '../config';

export interface MethodOptionChoice {
  readonly value: number;
  readonly label: string;
}

export interface MethodOptionSpec {
  readonly label: string;
  readonly hint: string;
  /** 'toggle': 1 on, 0 off (a checkbox). 'choice': one of `choices` (a select). 'number': any number in range. */
  readonly kind: 'toggle' | 'number' | 'choice';
  readonly default: number;
  readonly min?: number;
  readonly max?: number;
  readonly integer?: boolean;
  /** Step of the number field's arrows. */
  readonly step?: number;
  /** The values a 'choice' option may take, each with what it means. */
  readonly choices?: readonly MethodOptionChoice[];
}

/**
 * Values of the `targetBranch` option: what a two-view method compares each view's embedding against
 * (UniGrad's ablation, Tao et al. 2022). `own` the method's own form (SimCLR, Barlow Twins and VICReg:
 * one network, gradients through both views; SimSiam: one network, its stop-gradient); `stopGradient`
 * the same network with the target view detached; `momentum` a momentum encoder, a copy moved by EMA
 * with τ as in BYOL, MoCo and UniGrad.
 */
export const TARGET_BRANCH = { own: 0, stopGradient: 1, momentum: 2 } as const;

/** Whether τ matters to a method: always, never, or when option `option` is `value`. */
export type TauUse = boolean | { readonly option: string; readonly value: number };

/** Whether τ matters to a method (its `uses` and option specs) with these options. */
export function usesTau(method: { uses: { tau: TauUse }; options: MethodOptionSpecs }, options: Readonly<Record<string, number>>): boolean {
  const use = method.uses.tau;
  if (typeof use === 'boolean') return use;
  return (options[use.option] ?? method.options[use.option]?.default) === use.value;
}

/** A method's options by name, in the order the setup form lists them. */
export type MethodOptionSpecs = Readonly<Record<string, MethodOptionSpec>>;

/** Every declared option at its default. */
export function defaultOptions(specs: MethodOptionSpecs): Record<string, number> {
  return Object.fromEntries(Object.entries(specs).map(([name, spec]) => [name, spec.default]));
}

/** What a value must be, in words, e.g. "a whole number, at least 1". */
export function describeOption(spec: MethodOptionSpec): string {
  if (spec.kind === 'toggle') return '0 (off) or 1 (on)';
  if (spec.kind === 'choice') return `one of ${(spec.choices ?? []).map((c) => `${c.value} (${c.label})`).join(', ')}`;
  const parts = [spec.integer ? 'a whole number' : 'a number'];
  if (spec.min !== undefined) parts.push(`at least ${spec.min}`);
  if (spec.max !== undefined) parts.push(`at most ${spec.max}`);
  return parts.join(', ');
}

/** Whether `value` is allowed for the option. */
export function isValidOption(spec: MethodOptionSpec, value: number): boolean {
  if (!Number.isFinite(value)) return false;
  if (spec.kind === 'toggle') return value === 0 || value === 1;
  if (spec.kind === 'choice') return (spec.choices ?? []).some((c) => c.value === value);
  return (!spec.integer || Number.isInteger(value)) && (spec.min === undefined || value >= spec.min) && (spec.max === undefined || value <= spec.max);
}

/** One line per option that is unknown or out of range; empty when every option is allowed. */
export function optionProblems(specs: MethodOptionSpecs, options: Readonly<Record<string, number>>): string[] {
  const problems: string[] = [];
  const known = Object.keys(specs);
  for (const [name, value] of Object.entries(options)) {
    const spec = specs[name];
    if (!spec) {
      problems.push(`there is no option "${name}" (${known.length > 0 ? `its options: ${known.join(', ')}` : 'it has no options'})`);
    } else if (!isValidOption(spec, value)) {
      problems.push(`${spec.label} (${name}) is ${value} but must be ${describeOption(spec)}`);
    }
  }
  return problems;
}

/** Refuses options a method does not declare or values outside their range, naming each. */
export function assertValidOptions(methodLabel: string, specs: MethodOptionSpecs, options: Readonly<Record<string, number>>): void {
  const problems = optionProblems(specs, options);
  if (problems.length > 0) throw new Error(`Invalid ${methodLabel} settings: ${problems.join('; ')}.`);
}

/**
 * A method's option values: what the configuration gives, the declared default for the rest.
 * Typed by the declaration, so a misspelt option name does not compile.
 */
export function readOptions<Name extends string>(specs: Readonly<Record<Name, MethodOptionSpec>>, config: Pick<TrainConfig, 'options'>): Record<Name, number> {
  const out = {} as Record<Name, number>;
  for (const name of Object.keys(specs) as Name[]) out[name] = config.options[name] ?? specs[name].default;
  return out;
}
