/**
 * The method's weights as a PyTorch state dict and back. Names stay the app's
 * ("online/backbone/conv0/kernel", ".../bn0/moving_mean"): the exported project's modules carry
 * the same names (siamese_torch.py), so nothing needs a mapping table. Layouts are PyTorch's, so
 * the tensors drop into torch as they are: a convolution kernel [kh, kw, in, out] becomes
 * [out, in, kh, kw] and a dense kernel [in, out] becomes torch.nn.Linear's [out, in].
 */
import * as tf from '@tensorflow/tfjs';
import type { Module, Param } from './nn';
import type { NamedArray } from './safetensors';

/** A variable under its app name: a parameter, a BatchNorm statistic or a method's state ("state/0"). */
export type NamedVariable = Pick<Param, 'name' | 'variable'>;

/** Every parameter and buffer of `modules`, each variable once even where two modules share it. */
export function moduleTensors(modules: readonly Module[]): Param[] {
  const seen = new Set<tf.Variable>();
  const out: Param[] = [];
  for (const module of modules) {
    for (const p of [...module.params, ...module.buffers]) {
      if (seen.has(p.variable)) continue;
      seen.add(p.variable);
      out.push(p);
    }
  }
  return out;
}

/** The permutation from the app's layout to PyTorch's for a tensor of this name and rank (null: same layout). */
function torchPermutation(name: string, rank: number): number[] | null {
  if (!name.endsWith('/kernel')) return null;
  if (rank === 4) return [3, 2, 0, 1];
  if (rank === 2) return [1, 0];
  return null;
}

function transpose(data: Float32Array, shape: number[], permutation: number[]): { data: Float32Array; shape: number[] } {
  const outShape = permutation.map((axis) => shape[axis]);
  const inStrides = shape.map((_, i) => shape.slice(i + 1).reduce((n, d) => n * d, 1));
  const out = new Float32Array(data.length);
  const index = new Array<number>(outShape.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let source = 0;
    for (let k = 0; k < outShape.length; k++) source += index[k] * inStrides[permutation[k]];
    out[o] = data[source];
    for (let k = outShape.length - 1; k >= 0; k--) {
      if (++index[k] < outShape[k]) break;
      index[k] = 0;
    }
  }
  return { data: out, shape: outShape };
}

function inverse(permutation: number[]): number[] {
  const out = new Array<number>(permutation.length);
  permutation.forEach((axis, i) => (out[axis] = i));
  return out;
}

/** One tensor from the app's layout into PyTorch's. */
export function toTorchLayout(name: string, shape: number[], data: Float32Array): NamedArray {
  const permutation = torchPermutation(name, shape.length);
  return permutation ? { name, ...transpose(data, shape, permutation) } : { name, shape: shape.slice(), data };
}

/** One tensor from PyTorch's layout into the app's. */
export function toAppLayout(name: string, torchShape: number[], data: Float32Array): { shape: number[]; data: Float32Array } {
  const permutation = torchPermutation(name, torchShape.length);
  return permutation ? transpose(data, torchShape, inverse(permutation)) : { shape: torchShape.slice(), data };
}

/** The current values of `params` in PyTorch's layout, under their app names. Reads the device without blocking. */
export async function torchStateOf(params: readonly NamedVariable[]): Promise<NamedArray[]> {
  const clones = params.map((p) => tf.clone(p.variable));
  return Promise.all(
    clones.map(async (clone, i) => {
      const values = (await clone.data()) as Float32Array;
      const shape = clone.shape.slice();
      clone.dispose();
      return toTorchLayout(params[i].name, shape, values.slice());
    }),
  );
}

/**
 * The tensors of `state` (PyTorch layout) that `params` expect, by name, as app-layout tensors.
 * `rename` maps an app name to the name looked up in `state` (an encoder trained under another
 * method's prefix). Throws, naming what is missing or misshapen, before anything is assigned.
 */
export function matchTorchState(params: readonly NamedVariable[], state: readonly NamedArray[], rename: (name: string) => string = (n) => n): tf.Tensor[] {
  const byName = new Map(state.map((t) => [t.name, t]));
  const missing: string[] = [];
  const problems: string[] = [];
  const values: { shape: number[]; data: Float32Array }[] = [];
  for (const p of params) {
    const source = byName.get(rename(p.name));
    if (!source) {
      missing.push(rename(p.name));
      continue;
    }
    if (!(source.data instanceof Float32Array)) {
      problems.push(`${source.name} is not float32`);
      continue;
    }
    const converted = toAppLayout(source.name, source.shape, source.data);
    const expected = p.variable.shape;
    if (converted.shape.length !== expected.length || converted.shape.some((d, k) => d !== expected[k])) {
      problems.push(`${source.name} has shape [${source.shape.join(', ')}] (PyTorch layout); this network needs [${toTorchLayout(p.name, expected, new Float32Array(p.variable.size)).shape.join(', ')}]`);
      continue;
    }
    values.push(converted);
  }
  if (missing.length > 0) {
    const shown = missing.slice(0, 4).join(', ');
    throw new Error(`The weights lack ${missing.length} tensor${missing.length === 1 ? '' : 's'} this network needs (${shown}${missing.length > 4 ? ', …' : ''}); were they saved from another method or backbone?`);
  }
  if (problems.length > 0) throw new Error(`The weights do not fit this network: ${problems.slice(0, 4).join('; ')}${problems.length > 4 ? '; …' : ''}.`);
  return values.map((v) => tf.tensor(v.data, v.shape, 'float32'));
}

/** Assigns `state` (PyTorch layout, app names after `rename`) to `params`; nothing is written unless every tensor fits. */
export function loadTorchState(params: readonly NamedVariable[], state: readonly NamedArray[], rename?: (name: string) => string): void {
  const tensors = matchTorchState(params, state, rename);
  params.forEach((p, i) => p.variable.assign(tensors[i]));
  tensors.forEach((t) => t.dispose());
}
