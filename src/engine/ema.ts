/**
 * Momentum (EMA) targets, as BYOL, MoCo, MoBY and UniGrad use them. The target is always a
 * separately built network whose variables hold their own copy of the online weights: sharing
 * the objects (a common bug) would make the "target" just the online network.
 */
import * as tf from '@tensorflow/tfjs';
import { EMA_UPDATE, assignFromKernel, backendHas } from './fused-updates';
import type { Module, Param } from './nn';

/** Copies every parameter and buffer of `source` into the matching variables of `target`. */
export function copyWeights(source: Module, target: Module): void {
  const from = [...source.params, ...source.buffers];
  const to = [...target.params, ...target.buffers];
  if (from.length !== to.length) throw new Error(`copyWeights: ${from.length} source tensors vs ${to.length} target tensors`);
  tf.tidy(() => {
    from.forEach((p, i) => {
      if (p.variable === to[i].variable) throw new Error(`copyWeights: ${p.name} is shared, not copied`);
      to[i].variable.assign(p.variable.clone());
    });
  });
}

/**
 * target ← τ·target + (1 − τ)·online for every trainable parameter (BN statistics are the target's own),
 * computed as target + (online − target)·(1 − τ) with one shared scalar.
 */
export function emaUpdate(target: Param[], online: Param[], tau: number): void {
  if (target.length !== online.length) throw new Error('emaUpdate: parameter lists differ in length');
  target.forEach((t, i) => {
    if (t.variable.size !== online[i].variable.size) throw new Error(`emaUpdate: ${t.name} has ${t.variable.size} values, ${online[i].name} ${online[i].variable.size}`);
  });
  if (target.length === 0) return;
  // The backend's own kernel where it has one (wasm: one kernel in all). Otherwise chosen from the
  // benchmark's counts (BYOL, 17 target tensors): on WebGPU the fused form needs 29
  // dispatches against 51, each a compute-pass entry; on WebGL flattening packed textures costs a
  // program per tensor, so per tensor is no worse there (85 programs fused vs 51 + 1), and on the CPU
  // backend the fused form's extra copies only add work.
  if (backendHas(EMA_UPDATE)) emaKernel(target, online, tau);
  else if (tf.getBackend() === 'webgpu') emaFused(target, online, tau);
  else emaPerTensor(target, online, tau);
}

/** Three kernels per tensor. */
export function emaPerTensor(target: Param[], online: Param[], tau: number): void {
  tf.tidy(() => {
    const rate = tf.scalar(1 - tau);
    target.forEach((t, i) => t.variable.assign(tf.add(t.variable, tf.mul(tf.sub(online[i].variable, t.variable), rate))));
  });
}

/** Both sides flattened into one vector each, one lerp, split back: a handful of kernels in all. */
export function emaFused(target: Param[], online: Param[], tau: number): void {
  tf.tidy(() => {
    const flat = (params: Param[]) => tf.concat(params.map((p) => tf.reshape(p.variable, [-1])));
    const targetFlat = flat(target);
    const updated = tf.add(targetFlat, tf.mul(tf.sub(flat(online), targetFlat), tf.scalar(1 - tau)));
    const parts = tf.split(updated, target.map((p) => p.variable.size));
    target.forEach((t, i) => t.variable.assign(tf.reshape(parts[i], t.variable.shape)));
  });
}

/** Every pair in one kernel of the backend's (see fused-updates.ts), the new values in new buffers the targets take over. */
export function emaKernel(target: Param[], online: Param[], tau: number): void {
  assignFromKernel(EMA_UPDATE, [...target, ...online].map((p) => p.variable), { rate: 1 - tau }, target.map((t) => t.variable));
}

/**
 * BYOL's cosine schedule of the target decay: τ_k = 1 − (1 − τ_base)(cos(πk/K) + 1)/2,
 * from τ_base at step 0 up to 1 at step K.
 */
export function cosineTau(baseTau: number, step: number, totalSteps: number): number {
  const progress = Math.min(Math.max(step / Math.max(totalSteps, 1), 0), 1);
  return 1 - (1 - baseTau) * (Math.cos(Math.PI * progress) + 1) / 2;
}
