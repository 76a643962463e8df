/**
 * Checks of webgpu-conv-bn.ts, run in a browser on the tfjs WebGPU backend (Node has no WebGPU):
 * each kernel against tfjs's stock kernel or the engine's composite, values and gradients, on the
 * layer shapes of the backbones (Tiny ConvNet at 16 px, ResNet-8 and ResNet-18 at 32 px; the
 * ResNets at small batches), and no tensor left behind by any case.
 */
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { BATCH_NORM_BACKWARD, BATCH_NORM_FORWARD } from '../engine/fused-batchnorm';
import { batchNorm } from '../engine/nn';
import { disposeModule } from '../engine/testing/reference';
import { withStockKernels } from '../engine/testing/stock-kernels';
import { replacedWebGPUKernels } from './webgpu-conv-bn';

export interface KernelCheck {
  name: string;
  /** The largest difference from the reference, relative to the reference's largest magnitude (at least 1). */
  worst: number;
  tolerance: number;
  /** Tensors alive after the case minus before (0 expected). */
  leaked: number;
  /** Why the case failed besides its values (a missing kernel, a shape), or null. */
  problem: string | null;
  passed: boolean;
}

type Shape4 = [number, number, number, number];

interface ConvCase {
  name: string;
  x: Shape4;
  filter: Shape4;
  stride: number;
  pad: 'same' | 'valid';
}

/** The convolutions of the backbones (nn.ts's conv2d: 'same' padding), and a few edge shapes. */
export const CONV_CASES: ConvCase[] = [
  { name: 'Tiny ConvNet conv0 (16 px, batch 16)', x: [16, 16, 16, 3], filter: [3, 3, 3, 16], stride: 1, pad: 'same' },
  { name: 'Tiny ConvNet conv1', x: [16, 8, 8, 16], filter: [3, 3, 16, 32], stride: 1, pad: 'same' },
  { name: 'Tiny ConvNet conv3 (2 × 2 maps)', x: [16, 2, 2, 32], filter: [3, 3, 32, 32], stride: 1, pad: 'same' },
  { name: 'ResNet-8 stem (32 px, batch 4)', x: [4, 32, 32, 3], filter: [3, 3, 3, 16], stride: 1, pad: 'same' },
  { name: 'ResNet-8 stage 2 conv1, stride 2', x: [4, 32, 32, 16], filter: [3, 3, 16, 32], stride: 2, pad: 'same' },
  { name: 'ResNet-8 stage 2 shortcut, 1 × 1 stride 2', x: [4, 32, 32, 16], filter: [1, 1, 16, 32], stride: 2, pad: 'same' },
  { name: 'ResNet-18 stage 1 conv (batch 2)', x: [2, 32, 32, 64], filter: [3, 3, 64, 64], stride: 1, pad: 'same' },
  { name: 'ResNet-18 stage 4 conv1, stride 2', x: [2, 8, 8, 256], filter: [3, 3, 256, 512], stride: 2, pad: 'same' },
  { name: 'ResNet-18 stage 4 shortcut, 1 × 1 stride 2', x: [2, 8, 8, 256], filter: [1, 1, 256, 512], stride: 2, pad: 'same' },
  { name: 'ResNet-18 stage 4 conv2', x: [2, 4, 4, 512], filter: [3, 3, 512, 512], stride: 1, pad: 'same' },
  { name: 'odd sizes, 3 × 3 stride 2', x: [3, 7, 5, 5], filter: [3, 3, 5, 7], stride: 2, pad: 'same' },
  { name: 'odd sizes, 3 × 3 valid', x: [2, 7, 6, 3], filter: [3, 3, 3, 2], stride: 1, pad: 'valid' },
];

/** The BatchNorms of the backbones and heads: NHWC maps and [N, d] vectors, affine or not, a mean far from 0. */
export const BATCH_NORM_CASES: { name: string; shape: number[]; affine: boolean; offset: number }[] = [
  { name: 'Tiny ConvNet bn0 (16 px, batch 16)', shape: [16, 16, 16, 16], affine: true, offset: 1 },
  { name: 'Tiny ConvNet bn3 (2 × 2 maps, one workgroup)', shape: [16, 2, 2, 32], affine: true, offset: 1 },
  { name: 'ResNet-18 stage 1 (batch 2)', shape: [2, 32, 32, 64], affine: true, offset: 1 },
  { name: 'ResNet-18 stage 4 (batch 2)', shape: [2, 4, 4, 512], affine: true, offset: 1 },
  { name: 'projector vectors [16, 512]', shape: [16, 512], affine: true, offset: 1 },
  { name: 'projector vectors, no affine (SimSiam)', shape: [16, 70], affine: false, offset: 1 },
  { name: 'maps far from 0 (mean 100, spread 2)', shape: [8, 9, 7, 20], affine: true, offset: 100 },
];

/**
 * Values of every tensor, on the host, and the tensors disposed. Asynchronously: a synchronous read
 * of a WebGPU buffer (dataSync) goes through a canvas, which reads zeros on SwiftShader.
 */
async function values(tensors: tf.Tensor[]): Promise<Float32Array[]> {
  try {
    return await Promise.all(tensors.map(async (t) => (await t.data()) as Float32Array));
  } finally {
    tensors.forEach((t) => t.dispose());
  }
}

function worstRelative(actual: Float32Array[], reference: Float32Array[]): number {
  let worst = 0;
  if (actual.length !== reference.length) return Infinity;
  actual.forEach((a, k) => {
    const r = reference[k];
    if (a.length !== r.length) {
      worst = Infinity;
      return;
    }
    let scale = 1;
    for (let i = 0; i < r.length; i++) scale = Math.max(scale, Math.abs(r[i]));
    for (let i = 0; i < r.length; i++) worst = Math.max(worst, Math.abs(a[i] - r[i]) / scale);
  });
  return worst;
}

/** The case's values, its reference's, what it left behind, and any error it threw. */
async function check(name: string, tolerance: number, run: () => tf.Tensor[], reference: () => tf.Tensor[], kernels: string[]): Promise<KernelCheck> {
  const before = tf.memory().numTensors;
  let problem: string | null = null;
  let worst = Infinity;
  // A pipeline or binding the device rejects voids the whole command buffer, the reference's dispatches with it.
  const device = (tf.backend() as WebGPUBackend).device;
  device.pushErrorScope('validation');
  try {
    const ran = new Set<string>();
    const spy = tf.engine() as unknown as { runKernel: (name: string, ...rest: unknown[]) => unknown };
    const original = spy.runKernel;
    spy.runKernel = function (this: unknown, kernel: string, ...rest: unknown[]) {
      ran.add(kernel);
      return original.call(this, kernel, ...rest);
    };
    let actual: tf.Tensor[];
    try {
      actual = run();
    } finally {
      spy.runKernel = original;
    }
    const missing = kernels.filter((k) => !ran.has(k));
    if (missing.length > 0) problem = `did not run ${missing.join(', ')}`;
    const found = await values(actual);
    worst = worstRelative(found, await values(reference()));
  } catch (error) {
    problem = error instanceof Error ? error.message : String(error);
  }
  const rejected = await device.popErrorScope();
  if (rejected) problem = `the device rejected a dispatch: ${rejected.message}`;
  const leaked = tf.memory().numTensors - before;
  return { name, worst, tolerance, leaked, problem, passed: problem === null && leaked === 0 && worst < tolerance };
}

/** The convolution's output and its gradients for the input and the filter, under a random weighting. */
function convolution(c: ConvCase): tf.Tensor[] {
  return tf.tidy(() => {
    const x = tf.randomNormal(c.x, 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomNormal(c.filter, 0, 0.5, 'float32', 2) as tf.Tensor4D;
    const y = tf.conv2d(x, w, c.stride, c.pad);
    const weights = tf.randomNormal(y.shape, 0, 1, 'float32', 3);
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad), weights)))([x, w]);
    return [y, dx, dw];
  });
}

/** Runs `fn` with tfjs's naive input gradient (its default, which registerWebGPUConvBatchNormKernels turns off). */
function withNaiveInputGradient<T>(fn: () => T): T {
  const flag = 'WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE';
  const was = tf.env().getBool(flag);
  tf.env().set(flag, true);
  try {
    return fn();
  } finally {
    tf.env().set(flag, was);
  }
}

/** The BatchNorm module's objective, gradients (input, γ, β) and running statistics after one training pass. */
function batchNormPass(shape: number[], affine: boolean, offset: number): tf.Tensor[] {
  const bn = batchNorm('bn', shape[shape.length - 1], { affine });
  try {
    return tf.tidy(() => {
      bn.params.forEach((p, i) => p.variable.assign(tf.randomNormal(p.variable.shape, 1, 0.5, 'float32', 20 + i)));
      const x = tf.randomNormal(shape, offset, 2, 'float32', 1);
      const weights = tf.randomNormal(shape, 0, 1, 'float32', 2);
      const objective = (input: tf.Tensor) => tf.sum(tf.mul(bn.apply(input, true), weights)) as tf.Scalar;
      const { value, grad: dx } = tf.valueAndGrad(objective)(x);
      const grads = bn.params.length > 0 ? tf.variableGrads(() => objective(x), bn.params.map((p) => p.variable)).grads : {};
      // The running statistics copied: the module's variables are disposed with it.
      return [value, dx, ...bn.params.map((p) => grads[p.variable.name]), ...bn.buffers.map((b) => tf.clone(b.variable))];
    });
  } finally {
    disposeModule(bn);
  }
}

function stock(fn: () => tf.Tensor[]): tf.Tensor[] {
  return withStockKernels('webgpu', replacedWebGPUKernels, fn);
}

/** Every check, on the current backend (which must be 'webgpu', with the kernels registered). */
export async function checkWebGPUConvBatchNormKernels(): Promise<KernelCheck[]> {
  if (tf.getBackend() !== 'webgpu') throw new Error(`The WebGPU kernel checks need the webgpu backend, not ${tf.getBackend()}.`);
  const results: KernelCheck[] = [];
  for (const c of CONV_CASES) {
    results.push(await check(`Conv2DBackpropFilter vs stock: ${c.name}`, 1e-5, () => convolution(c), () => stock(() => convolution(c)), ['Conv2DBackpropFilter']));
    results.push(await check(`Conv2DBackpropInput (tiled) vs naive: ${c.name}`, 1e-5, () => convolution(c), () => withNaiveInputGradient(() => convolution(c)), ['Conv2DBackpropInput']));
  }
  for (const c of BATCH_NORM_CASES) {
    const pass = () => batchNormPass(c.shape, c.affine, c.offset);
    results.push(await check(`fused BatchNorm vs composite: ${c.name}`, 1e-5, pass, () => stock(pass), [BATCH_NORM_FORWARD, BATCH_NORM_BACKWARD]));
  }
  return results;
}
