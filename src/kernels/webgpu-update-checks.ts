/**
 * Browser checks (kernel-checks.ts) of the fused updates webgpu-updates.ts registers: each runs the
 * engine's own code (optimizers, EMA, BatchNorm, the ReLU gradient), which takes the fused kernel where
 * the backend has it and its composite otherwise, and compares the two. Tensors of more than 1,000
 * values are in every case, so that the composite runs on the GPU and not only on tfjs's CPU hand-off.
 */
import * as tf from '@tensorflow/tfjs';
import { emaUpdate } from '../engine/ema';
import { ADAMW_UPDATE, EMA_UPDATE, MOMENTUM_UPDATE, RELU_BACKWARD, RUNNING_STATISTICS_UPDATE } from '../engine/fused-updates';
import { batchNorm, variableFrom, type Param, type ParamRole } from '../engine/nn';
import { createOptimizer, type OptimizerConfig } from '../engine/optimizers';
import type { KernelCheck } from './kernel-checks';

/** Float32 rounding of a few operations' results, relative to the largest magnitude. */
const TIGHT = 1e-6;

type Values = Record<string, ArrayLike<number>>;

/** Parameters of every role and shape, one of them zero (LARS's trust ratio falls back to 1), fixed random values. */
function mixedParams(seed: number): Param[] {
  const specs: [string, ParamRole, number[]][] = [
    ['conv', 'weight', [3, 3, 8, 16]], ['dense', 'weight', [40, 30]], ['bias', 'bias', [30]], ['gamma', 'norm', [16]], ['zero', 'weight', [2, 2]], ['small', 'weight', [5, 3]],
  ];
  return specs.map(([name, role, shape], i) => ({
    name,
    role,
    variable: variableFrom(name === 'zero' ? tf.zeros(shape) : tf.randomNormal(shape, 0, 1, 'float32', seed + i), true),
  }));
}

/** Gradients at `step`: fixed random values, and tensors of zeros (a parameter the loss does not reach) at steps 1 and 2. */
function stepGradients(params: Param[], step: number): tf.Tensor[] {
  return params.map((p, i) => ((p.name === 'bias' && step === 1) || (p.name === 'dense' && step === 2) ? tf.zerosLike(p.variable) : tf.randomNormal(p.variable.shape, 0, 0.5, 'float32', 100 * (step + 1) + i)));
}

/** Four steps with a changing learning rate: the weights and the optimizer state after each; and a clone of the first weight taken before, which must not change. */
async function optimizerSteps(config: OptimizerConfig): Promise<Values> {
  const params = mixedParams(30);
  const optimizer = createOptimizer(config, params);
  const clone = params[0].variable.clone();
  const values: Values = {};
  for (let step = 0; step < 4; step++) {
    const grads = stepGradients(params, step);
    optimizer.step(params, grads, 0.1 / (step + 1));
    grads.forEach((g) => g.dispose());
    for (const p of params) values[`step ${step} ${p.name}`] = await p.variable.data();
    for (const [i, s] of optimizer.state.entries()) values[`step ${step} state ${i}`] = await s.data();
  }
  values['clone of conv'] = await clone.data();
  [...params.map((p) => p.variable), clone].forEach((t) => t.dispose());
  optimizer.dispose();
  return values;
}

const OPTIMIZERS: [string, OptimizerConfig][] = [
  ['AdamW (weights decayed, biases and norms not)', { kind: 'adamw', beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.05 }],
  ['AdamW without weight decay', { kind: 'adamw', beta1: 0.8, beta2: 0.99, epsilon: 1e-6, weightDecay: 0 }],
  ['SGD with momentum', { kind: 'sgd', momentum: 0.9, weightDecay: 1e-3 }],
  ['LARS (biases and norms excluded, clipped)', { kind: 'lars', momentum: 0.9, weightDecay: 1e-2, eta: 0.02, clipLr: true, excludeBiasAndNorm: true }],
  ['LARS (nothing excluded, not clipped)', { kind: 'lars', momentum: 0.9, weightDecay: 1e-2, eta: 0.02, clipLr: false, excludeBiasAndNorm: false }],
];

async function emaSteps(): Promise<Values> {
  const online = mixedParams(50);
  const targets = mixedParams(70);
  const values: Values = {};
  for (const tau of [0.99, 0.5, 1]) {
    emaUpdate(targets, online, tau);
    for (const t of targets) values[`τ ${tau} ${t.name}`] = await t.variable.data();
  }
  for (const o of online) values[`online ${o.name}`] = await o.variable.data();
  [...online, ...targets].forEach((p) => p.variable.dispose());
  return values;
}

/** Two training-mode BatchNorm calls per layer (a small one and one past the CPU hand-off), then the running statistics. */
async function runningStatistics(): Promise<Values> {
  const values: Values = {};
  for (const [channels, rows] of [[6, 5], [1100, 3]]) {
    const layer = batchNorm(`bn${channels}`, channels, { momentum: 0.1 });
    for (let call = 0; call < 2; call++) {
      const x = tf.randomNormal([rows, channels], 1, 2, 'float32', channels + call);
      tf.tidy(() => layer.apply(x, true)).dispose();
      x.dispose();
    }
    for (const b of layer.buffers) values[b.name] = await b.variable.data();
    [...layer.params, ...layer.buffers].forEach((p) => p.variable.dispose());
  }
  return values;
}

/** The gradient of a sum of ReLUs weighted by dy, with zeros, tiny values, NaN and infinities, and a large random tensor. */
async function reluGradient(): Promise<Values> {
  const special = tf.tensor1d([-2, -0.5, 0, -0, 0.25, 3, -1e-30, 1e-30, NaN, Infinity, -Infinity, 1]);
  const specialDy = tf.tensor1d([1, -2, 3, -4, 5, -6, 7, -8, 9, 10, 11, -0]);
  const large = tf.randomNormal([3, 20, 20], 0, 1, 'float32', 9);
  const largeDy = tf.randomNormal([3, 20, 20], 0, 1, 'float32', 10);
  const gradient = tf.grad((x: tf.Tensor) => tf.relu(x));
  const values: Values = {};
  for (const [label, x, dy] of [['special', special, specialDy], ['large', large, largeDy]] as const) {
    const dx = gradient(x, dy);
    values[`dx ${label}`] = await dx.data();
    dx.dispose();
  }
  [special, specialDy, large, largeDy].forEach((t) => t.dispose());
  return values;
}

export const UPDATE_CHECKS: KernelCheck[] = [
  ...OPTIMIZERS.map(([label, config]): KernelCheck => ({
    name: `${label}: weights and state over four steps`,
    backends: ['webgpu'],
    kernels: [config.kind === 'adamw' ? ADAMW_UPDATE : MOMENTUM_UPDATE],
    tolerance: TIGHT,
    run: () => optimizerSteps(config),
  })),
  { name: 'EMA of every target in one kernel', backends: ['webgpu'], kernels: [EMA_UPDATE], tolerance: TIGHT, run: emaSteps },
  { name: 'BatchNorm running statistics', backends: ['webgpu'], kernels: [RUNNING_STATISTICS_UPDATE], tolerance: TIGHT, run: runningStatistics },
  { name: 'ReLU gradient', backends: ['webgpu'], kernels: [RELU_BACKWARD], tolerance: 0, run: reluGradient },
];
