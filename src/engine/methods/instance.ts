/**
 * What the trainer does with what a method declares: moves its EMA targets and frees its
 * modules and state. Methods never do either themselves, so no method can forget a pair or a
 * variable.
 */
import * as tf from '@tensorflow/tfjs';
import { emaUpdate } from '../ema';
import type { MethodInstance } from './types';

/** target ← τ·target + (1 − τ)·online for every declared pair. */
export function applyEma(instance: MethodInstance, tau: number): void {
  for (const { online, target } of instance.emaPairs ?? []) emaUpdate(target.params, online.params, tau);
}

/** Disposes every variable of the declared modules (each once, however many modules share it) and the state. */
export function disposeInstance(instance: MethodInstance): void {
  const variables = new Set<tf.Variable>(instance.state ?? []);
  for (const module of instance.modules) for (const p of [...module.params, ...module.buffers]) variables.add(p.variable);
  variables.forEach((v) => v.dispose());
}
