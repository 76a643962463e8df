/**
 * Browser checks (kernel-checks.ts) of the kernels webgpu-conv-bn.ts registers for WebGPU, each
 * against tfjs's stock kernel or the engine's composite BatchNorm, values and gradients, on the layer
 * shapes of the backbones (Tiny ConvNet at 16 px and batch 16; ResNet-8 and ResNet-18 at 32 px, at
 * small batches) and a few edge shapes. Each run also fails on a dispatch the device rejects: that
 * voids the whole command buffer, so both runs could read the same zeros.
 */
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { BATCH_NORM_BACKWARD, BATCH_NORM_FORWARD } from '../engine/fused-batchnorm';
import { batchNorm } from '../engine/nn';
import { disposeModule } from '../engine/testing/reference';
import type { KernelCheck } from './kernel-checks';

/** Float32 rounding of sums over up to a few thousand terms in another order, relative to the largest magnitude. */
const TOLERANCE = 1e-5;

type Values = Record<string, ArrayLike<number>>;
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
 * Reads the named tensors and disposes them. Asynchronously: a synchronous read of a WebGPU buffer
 * (dataSync) goes through a canvas, which reads zeros on SwiftShader.
 */
async function read(named: Record<string, tf.Tensor>): Promise<Values> {
  try {
    const entries = await Promise.all(Object.entries(named).map(async ([label, t]) => [label, await t.data()] as const));
    return Object.fromEntries(entries);
  } finally {
    Object.values(named).forEach((t) => t.dispose());
  }
}

/** `fn`'s values; an error where the device rejected any of its dispatches. */
export async function validated(fn: () => Promise<Values>): Promise<Values> {
  const device = (tf.backend() as WebGPUBackend).device;
  device.pushErrorScope('validation');
  let values: Values;
  try {
    values = await fn();
  } catch (error) {
    await device.popErrorScope();
    throw error;
  }
  const rejected = await device.popErrorScope();
  if (rejected) throw new Error(`the device rejected a dispatch: ${rejected.message}`);
  return values;
}

/** The convolution's output and its gradients for the input and the filter, under a random weighting. */
function convolution(c: ConvCase): Promise<Values> {
  return read(tf.tidy(() => {
    const x = tf.randomNormal(c.x, 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomNormal(c.filter, 0, 0.5, 'float32', 2) as tf.Tensor4D;
    const y = tf.conv2d(x, w, c.stride, c.pad);
    const weights = tf.randomNormal(y.shape, 0, 1, 'float32', 3);
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad), weights)))([x, w]);
    return { y, dx, dw };
  }));
}

/** The BatchNorm module's objective, gradients (input, γ, β) and running statistics after one training pass. */
async function batchNormPass(shape: number[], affine: boolean, offset: number): Promise<Values> {
  const bn = batchNorm('bn', shape[shape.length - 1], { affine });
  try {
    return await read(tf.tidy(() => {
      bn.params.forEach((p, i) => p.variable.assign(tf.randomNormal(p.variable.shape, 1, 0.5, 'float32', 20 + i)));
      const x = tf.randomNormal(shape, offset, 2, 'float32', 1);
      const weights = tf.randomNormal(shape, 0, 1, 'float32', 2);
      const objective = (input: tf.Tensor) => tf.sum(tf.mul(bn.apply(input, true), weights)) as tf.Scalar;
      const { value, grad: dx } = tf.valueAndGrad(objective)(x);
      const grads = bn.params.length > 0 ? tf.variableGrads(() => objective(x), bn.params.map((p) => p.variable)).grads : {};
      // The running statistics copied: the module's variables are disposed with it.
      const named: Record<string, tf.Tensor> = { objective: value, dx };
      bn.params.forEach((p) => (named[`d ${p.name}`] = grads[p.variable.name]));
      bn.buffers.forEach((b) => (named[b.name] = tf.clone(b.variable)));
      return named;
    }));
  } finally {
    disposeModule(bn);
  }
}

export const CONV_BN_CHECKS: KernelCheck[] = [
  ...CONV_CASES.flatMap((c): KernelCheck[] => [
    { name: `Conv2DBackpropFilter (split-K tiles) vs stock: ${c.name}`, backends: ['webgpu'], kernels: [tf.Conv2DBackpropFilter], tolerance: TOLERANCE, run: () => validated(() => convolution(c)) },
    { name: `Conv2DBackpropInput (matrix product) vs stock (naive): ${c.name}`, backends: ['webgpu'], kernels: [tf.Conv2DBackpropInput], tolerance: TOLERANCE, run: () => validated(() => convolution(c)) },
  ]),
  ...BATCH_NORM_CASES.map((c): KernelCheck => ({
    name: `fused BatchNorm vs composite: ${c.name}`,
    backends: ['webgpu'],
    kernels: [BATCH_NORM_FORWARD, BATCH_NORM_BACKWARD],
    tolerance: TOLERANCE,
    run: () => validated(() => batchNormPass(c.shape, c.affine, c.offset)),
  })),
];
