import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { copyWeights, emaUpdate } from '../engine/ema';
import { BATCH_NORM_BACKWARD, BATCH_NORM_FORWARD } from '../engine/fused-batchnorm';
import { ADAMW_UPDATE, EMA_UPDATE, MOMENTUM_UPDATE, RELU_BACKWARD, RUNNING_STATISTICS_UPDATE } from '../engine/fused-updates';
import { METHODS } from '../engine/methods/registry';
import { batchNorm, dense, sequential, type Param, type ParamRole } from '../engine/nn';
import { createOptimizer, type OptimizerConfig } from '../engine/optimizers';
import { Rng } from '../engine/random';
import { disposeModule } from '../engine/testing/reference';
import { tinyConfig, tinyData } from '../engine/testing/tiny';
import { Trainer } from '../engine/trainer';
import { instantiateHelpers, relaxedSimdSupported, replacedWasmKernels, useDirectConvolutions, useShiftedFilterGradients } from './wasm-kernels';
import { AUGMENT_CASES } from './webgpu-augment-checks';
import { AUGMENT_VIEW, augmentBatch } from '../engine/augment';
import { withStockKernels } from '../engine/testing/stock-kernels';

type Shape4 = [number, number, number, number];
type Padding = 'same' | 'valid' | tf.backend_util.ExplicitPadding;

/** Runs `fn` on `backend` and returns its results as plain arrays; the tests' default backend is restored by afterAll. */
async function on<T>(backend: 'cpu' | 'wasm', fn: () => T): Promise<T> {
  await tf.setBackend(backend);
  return fn();
}

afterAll(async () => {
  await tf.setBackend('cpu');
});

/** Every value within `tolerance` of the reference, relative to the reference's largest magnitude. */
function expectClose(actual: ArrayLike<number>, reference: ArrayLike<number>, tolerance = 1e-5): void {
  expect(actual.length).toBe(reference.length);
  let scale = 1;
  for (let i = 0; i < reference.length; i++) scale = Math.max(scale, Math.abs(reference[i]));
  let worst = 0;
  for (let i = 0; i < reference.length; i++) worst = Math.max(worst, Math.abs(actual[i] - reference[i]));
  expect(worst / scale).toBeLessThan(tolerance);
}

interface ConvCase {
  name: string;
  x: Shape4;
  filter: Shape4;
  stride: number;
  pad: Padding;
}

const convCases: ConvCase[] = [
  { name: '3×3 same, stride 1', x: [2, 5, 5, 3], filter: [3, 3, 3, 4], stride: 1, pad: 'same' },
  { name: '3×3 same, stride 2, odd sizes', x: [2, 7, 5, 2], filter: [3, 3, 2, 3], stride: 2, pad: 'same' },
  { name: '1×1 same, stride 2 (ResNet shortcut)', x: [3, 6, 6, 4], filter: [1, 1, 4, 5], stride: 2, pad: 'same' },
  { name: '1×1 valid, stride 1', x: [2, 5, 3, 6], filter: [1, 1, 6, 2], stride: 1, pad: 'valid' },
  { name: '3×3 valid, stride 1', x: [1, 6, 6, 2], filter: [3, 3, 2, 2], stride: 1, pad: 'valid' },
  { name: '3×3 valid, stride 2, odd sizes', x: [2, 7, 6, 3], filter: [3, 3, 3, 2], stride: 2, pad: 'valid' },
  { name: '1×3 same, stride 1', x: [2, 6, 5, 3], filter: [1, 3, 3, 4], stride: 1, pad: 'same' },
  { name: 'explicit asymmetric padding, stride 1', x: [2, 6, 7, 3], filter: [3, 3, 3, 2], stride: 1, pad: [[0, 0], [2, 0], [1, 2], [0, 0]] },
  // Padding beyond filter − 1: the input gradient cannot be a rotated convolution and takes the columns path.
  { name: 'explicit padding wider than the filter, stride 1', x: [2, 5, 4, 2], filter: [3, 3, 2, 3], stride: 1, pad: [[0, 0], [3, 1], [0, 4], [0, 0]] },
  { name: 'explicit padding, stride 2', x: [2, 8, 7, 3], filter: [3, 3, 3, 4], stride: 2, pad: [[0, 0], [1, 0], [0, 1], [0, 0]] },
  // Batches beyond one chunk: several XNNPACK products, summed or scattered per chunk (one image per
  // chunk here, for the stride-1 filter gradient's grid of shifted views and for im2col alike).
  { name: 'batch over several chunks, stride 1', x: [3, 72, 72, 64], filter: [3, 3, 64, 2], stride: 1, pad: 'same' },
  { name: 'batch over several chunks, stride 2', x: [5, 80, 80, 64], filter: [3, 3, 64, 4], stride: 2, pad: 'same' },
  // Channels in multiples of 8, which the direct kernels need (output channels; input channels too for the input gradient).
  { name: 'direct: ResNet stem, 3 → 16 channels', x: [2, 9, 9, 3], filter: [3, 3, 3, 16], stride: 1, pad: 'same' },
  { name: 'direct: 3×3 same, stride 1, rows not a multiple of 4', x: [2, 7, 6, 8], filter: [3, 3, 8, 8], stride: 1, pad: 'same' },
  { name: 'direct: 3×3 same, stride 2, odd sizes', x: [2, 9, 7, 16], filter: [3, 3, 16, 24], stride: 2, pad: 'same' },
  { name: 'direct: 1×1 same, stride 2 (ResNet shortcut)', x: [3, 6, 6, 8], filter: [1, 1, 8, 16], stride: 2, pad: 'same' },
  { name: 'direct: 3×3 valid, stride 1, input channels not a multiple of 4', x: [2, 8, 9, 6], filter: [3, 3, 6, 8], stride: 1, pad: 'valid' },
  { name: 'direct: explicit asymmetric padding, stride 1', x: [2, 6, 7, 8], filter: [3, 3, 8, 16], stride: 1, pad: [[0, 0], [2, 0], [1, 2], [0, 0]] },
  { name: 'direct: explicit padding, stride 2', x: [2, 8, 7, 8], filter: [3, 3, 8, 8], stride: 2, pad: [[0, 0], [1, 0], [0, 1], [0, 0]] },
  { name: 'direct: 3×3 valid, stride 2, odd sizes', x: [2, 9, 8, 8], filter: [3, 3, 8, 8], stride: 2, pad: 'valid' },
  { name: 'direct: explicit padding wider than the filter, stride 1', x: [2, 5, 4, 8], filter: [3, 3, 8, 8], stride: 1, pad: [[0, 0], [3, 1], [0, 4], [0, 0]] },
  { name: 'direct: explicit padding wider than the filter, stride 2', x: [2, 6, 5, 8], filter: [3, 3, 8, 8], stride: 2, pad: [[0, 0], [3, 2], [1, 4], [0, 0]] },
  { name: 'direct: a ResNet layer\'s size, 32 × 32 × 16', x: [4, 32, 32, 16], filter: [3, 3, 16, 16], stride: 1, pad: 'same' },
];

/** Each way the wasm kernels can compute a convolution and its gradients; set before a case, reset after. */
const CONVOLUTION_PATHS: [string, () => void][] = [
  ['direct kernels', () => useDirectConvolutions(true)],
  ['XNNPACK, shifted views for a stride-1 filter gradient', () => (useDirectConvolutions(false), useShiftedFilterGradients(true))],
  ['XNNPACK, im2col', () => (useDirectConvolutions(false), useShiftedFilterGradients(false))],
];

function convolutionAndGradients(c: ConvCase): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.randomNormal(c.x, 0, 1, 'float32', 1) as tf.Tensor4D;
    const filter = tf.randomNormal(c.filter, 0, 1, 'float32', 2) as tf.Tensor4D;
    const conv = (input: tf.Tensor, w: tf.Tensor) => tf.conv2d(input as tf.Tensor4D, w as tf.Tensor4D, c.stride, c.pad);
    const y = conv(x, filter);
    const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 3);
    // The gradients of sum(conv(x, w) · dy) are exactly Conv2DBackpropInput(dy, w) and Conv2DBackpropFilter(x, dy).
    const [dx, dw] = tf.grads((input: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(conv(input, w), dy)))([x, filter]);
    return [y, dx, dw].map((t) => t.dataSync() as Float32Array);
  });
}

describe('wasm convolution gradients', () => {
  for (const c of convCases) {
    it(`match the CPU backend: ${c.name}`, async () => {
      const reference = await on('cpu', () => convolutionAndGradients(c));
      const tensors = await on('wasm', () => tf.memory().numTensors);
      // The kernels' intermediates are backend data, not tensors: count both.
      const data = tf.engine().backend.numDataIds();
      // Every path: the direct kernels (where the channels allow; XNNPACK otherwise), and on XNNPACK both
      // stride-1 filter gradients, the grid's shifted products and im2col (other strides take im2col either way).
      for (const [, choose] of CONVOLUTION_PATHS) {
        choose();
        const [y, dx, dw] = convolutionAndGradients(c);
        expectClose(y, reference[0]);
        expectClose(dx, reference[1]);
        expectClose(dw, reference[2]);
        expect(tf.memory().numTensors).toBe(tensors);
        expect(tf.engine().backend.numDataIds()).toBe(data);
      }
      useDirectConvolutions('auto');
      useShiftedFilterGradients('auto');
    });
  }

  it('refuses the NCHW layout with a clear message', async () => {
    await on('wasm', () => {
      const x = tf.zeros([1, 2, 4, 4]);
      const dy = tf.zeros([1, 2, 4, 4]);
      expect(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 2, 2] })).toThrow(/NHWC only/);
      [x, dy].forEach((t) => t.dispose());
    });
  });
});

/** Cases each replacement must reproduce, on fixed random inputs. */
function replacedOpCases(): Record<string, () => tf.Tensor> {
  const a = tf.randomNormal([7, 5], 0, 1, 'float32', 1) as tf.Tensor2D;
  const b = tf.randomNormal([7, 3], 0, 1, 'float32', 2) as tf.Tensor2D;
  const c = tf.randomNormal([3, 5], 0, 1, 'float32', 3) as tf.Tensor2D;
  const maps = tf.randomNormal([3, 7, 7, 5], 0, 1, 'float32', 4) as tf.Tensor4D;
  const planes = [0, 1, 2].map((seed) => tf.randomNormal([2, 4, 3], 0, 1, 'float32', seed + 10));
  return {
    'matMul with the first operand transposed': () => tf.matMul(a, b, true, false),
    'matMul with the second operand transposed': () => tf.matMul(a, c, false, true),
    'matMul with both transposed': () => tf.matMul(c, b, true, true),
    // A queue much larger than the batch: computed as (Q · aᵀ)ᵀ.
    'matMul against a transposed queue': () => tf.matMul(tf.slice(a, [0, 0], [2, 5]), tf.concat([a, c, a, c, a], 0), false, true),
    'matMul of rank-3 single matrices, transposed': () => tf.matMul(tf.reshape(a, [1, 7, 5]), tf.reshape(b, [1, 7, 3]), true, false),
    'matMul of a batch of matrices (stock path)': () => tf.matMul(tf.stack([a, a]), tf.stack([b, b]), true, false),
    'sum over leading axes': () => tf.sum(maps, [0, 1, 2]),
    'mean over leading axes keeping dims': () => tf.mean(maps, [0, 1], true),
    'sum of everything': () => tf.sum(maps),
    'mean of everything keeping dims': () => tf.mean(maps, undefined, true),
    'sum over inner axes (stock path)': () => tf.sum(maps, [1, 2]),
    'slice of whole rows (one contiguous run)': () => tf.slice(maps, [1, 0, 0, 0], [2, -1, -1, -1]),
    'slice of a window of every image': () => tf.slice(maps, [0, 2, 1, 1], [3, 4, 5, 3]),
    'slice of a 2-D block': () => tf.slice(a, [2, 1], [4, 3]),
    'slice of int32 values': () => tf.slice(tf.range(0, 60, 1, 'int32').reshape([3, 4, 5]), [1, 1, 2], [2, 3, 2]),
    'empty slice': () => tf.slice(a, [2, 1], [0, 3]),
    'stack along a new last axis': () => tf.stack(planes, -1),
    'stack along the first axis (stock path)': () => tf.stack(planes, 0),
    'cast to the same dtype': () => tf.mul(tf.cast(a, 'float32'), 3),
    'cast to another dtype (stock path)': () => tf.cast(tf.mul(a, 3), 'int32'),
    'identity shares nothing visible': () => {
      const copy = tf.clone(a);
      const doubled = tf.mul(copy, 2);
      copy.dispose();
      return doubled;
    },
  };
}

describe('the augmentation on wasm', () => {
  // The same recipes as the WebGPU kernel's browser checks: both BYOL views, resampled sources, exact-size flips, jitter with and without hue, grayscale only.
  AUGMENT_CASES.forEach((c, i) => {
    it(`computes what the composite computes: ${c.name}`, async () => {
      const view = () =>
        tf.tidy(() => {
          const images = tf.randomUniform([c.count, c.inSize, c.inSize, 3], 0, 1, 'float32', 100 + i) as tf.Tensor4D;
          return augmentBatch(images, c.view, c.outSize, new Rng(100 + i)).dataSync() as Float32Array;
        });
      const before = tf.memory().numTensors;
      const [fused, composite] = await on('wasm', () => [view(), withStockKernels('wasm', replacedWasmKernels, view)]);
      expect(tf.memory().numTensors).toBe(before);
      expect(fused.length).toBe(c.count * c.outSize * c.outSize * 3);
      expectClose(fused, composite);
    });
  });

  it('runs as one kernel', async () => {
    const kernels = await on('wasm', async () => {
      const images = tf.randomUniform([4, 16, 16, 3]) as tf.Tensor4D;
      const profile = await tf.profile(() => augmentBatch(images, AUGMENT_CASES[0].view, 16, new Rng(1)));
      tf.dispose([images, profile.result as tf.Tensor]);
      return profile.kernels.map((k) => k.name);
    });
    expect(kernels.filter((name) => name === AUGMENT_VIEW)).toHaveLength(1);
    expect(kernels).not.toContain('CropAndResize');
  });
});

describe('wasm kernel replacements', () => {
  it('are installed for every kernel they replace', () => {
    expect([...replacedWasmKernels.keys()].sort()).toEqual(
      [
        'BatchMatMul', 'Cast', 'Conv2D', 'Conv2DBackpropFilter', 'Conv2DBackpropInput', 'Identity', 'MaxPoolGrad', 'Mean', 'Pack', 'Slice', 'Sum',
        BATCH_NORM_BACKWARD, BATCH_NORM_FORWARD, ADAMW_UPDATE, MOMENTUM_UPDATE, EMA_UPDATE, RUNNING_STATISTICS_UPDATE, RELU_BACKWARD, AUGMENT_VIEW,
      ].sort(),
    );
  });

  it('step aside for the stock kernels in tests, the fused ones unregistered, and come back after', () => {
    const fused = [BATCH_NORM_BACKWARD, BATCH_NORM_FORWARD, ADAMW_UPDATE, MOMENTUM_UPDATE, EMA_UPDATE, RUNNING_STATISTICS_UPDATE, RELU_BACKWARD, AUGMENT_VIEW];
    const registered = () => [...replacedWasmKernels.keys()].map((name) => tf.getKernel(name, 'wasm'));
    const replacements = registered();
    const during = withStockKernels('wasm', replacedWasmKernels, registered);
    fused.forEach((name) => expect(during[[...replacedWasmKernels.keys()].indexOf(name)]).toBeUndefined());
    expect(during.filter((config) => config !== undefined)).toEqual([...replacedWasmKernels.values()].filter((config) => config !== null));
    expect(registered()).toEqual(replacements);
  });

  for (const [name, run] of Object.entries(replacedOpCases())) {
    it(`match the stock kernels: ${name}`, async () => {
      const [fast, stock] = await on('wasm', () => [tf.tidy(run), withStockKernels('wasm', replacedWasmKernels, () => tf.tidy(run))]);
      expect(fast.shape).toEqual(stock.shape);
      expectClose(await fast.data(), await stock.data());
      [fast, stock].forEach((t) => t.dispose());
    });
  }

  // The stock wasm MaxPoolGrad sends an all-negative window's gradient to its first position and a tie's to its last.
  const poolCases: [string, (x: tf.Tensor4D) => tf.Tensor4D][] = [
    // 7 × 7 leaves a row and a column outside the 2 × 2 windows.
    ['2 × 2 windows, negative values and a remainder', (x) => tf.maxPool(x, 2, 2, 'valid')],
    ['2 × 2 windows over ReLU outputs (ties at 0)', (x) => tf.maxPool(tf.relu(x), 2, 2, 'valid')],
    ['overlapping 3 × 3 windows, stride 2, same padding', (x) => tf.maxPool(x, 3, 2, 'same')],
    ['overlapping 3 × 3 windows, stride 1, valid', (x) => tf.maxPool(x, 3, 1, 'valid')],
  ];
  for (const [name, pool] of poolCases) {
    it(`max-pool gradient matches the CPU backend (first maximum of each window): ${name}`, async () => {
      const run = () => tf.tidy(() => {
        const x = tf.randomNormal([3, 7, 7, 5], 0, 1, 'float32', 4) as tf.Tensor4D;
        const weights = tf.randomNormal([5], 1, 1, 'float32', 5);
        return tf.grad((v: tf.Tensor) => tf.sum(tf.mul(pool(v as tf.Tensor4D), weights)))(x).dataSync();
      });
      const reference = await on('cpu', run);
      expectClose(await on('wasm', run), reference);
    });
  }
});

describe('fused BatchNorm on wasm', () => {
  for (const [label, shape, affine, offset] of [
    ['NHWC maps, affine', [4, 5, 3, 6], true, 3],
    ['[N, d] vectors, affine', [9, 7], true, 3],
    ['[N, d] vectors, no affine', [9, 7], false, 3],
    // The mean far from 0 next to the spread: the variance and x − mean must not cancel away.
    ['NHWC maps far from 0', [4, 5, 3, 6], true, 100],
  ] as const) {
    it(`is what nn.ts runs, and matches the CPU backend's composite (output, gradients, running statistics): ${label}`, async () => {
      /** The objective, the gradients for the input and each parameter, and the running statistics after the passes. */
      const run = (): Float32Array[] => {
        const bn = batchNorm('bn', shape[shape.length - 1], { affine });
        const results = tf.tidy(() => {
          bn.params.forEach((p, i) => p.variable.assign(tf.randomNormal(p.variable.shape, 1, 0.5, 'float32', 20 + i)));
          const x = tf.randomNormal([...shape], offset, 2, 'float32', 1);
          const weights = tf.randomNormal([...shape], 0, 1, 'float32', 2);
          const objective = (input: tf.Tensor) => tf.sum(tf.mul(bn.apply(input, true), weights)) as tf.Scalar;
          const { value, grad: dx } = tf.valueAndGrad(objective)(x);
          const grads = bn.params.length > 0 ? tf.variableGrads(() => objective(x), bn.params.map((p) => p.variable)).grads : {};
          const tensors = [value, dx, ...bn.params.map((p) => grads[p.variable.name]), ...bn.buffers.map((b) => b.variable)];
          return tensors.map((t) => t.dataSync() as Float32Array);
        });
        disposeModule(bn);
        return results;
      };
      const reference = await on('cpu', run);
      const profile = await on('wasm', () => tf.profile(() => run() as unknown as tf.TensorContainer));
      expect(profile.kernelNames).toEqual(expect.arrayContaining([BATCH_NORM_FORWARD, BATCH_NORM_BACKWARD, RUNNING_STATISTICS_UPDATE]));
      const results = profile.result as unknown as Float32Array[];
      expect(results).toHaveLength(reference.length);
      results.forEach((values, i) => expectClose(values, reference[i]));
    });
  }
});

/** `fn`'s result and the kernels it ran, by name, in order. */
function withKernelNames<T>(fn: () => T): { result: T; kernels: string[] } {
  const spy = vi.spyOn(tf.engine(), 'runKernel');
  try {
    const result = fn();
    return { result, kernels: spy.mock.calls.map(([name]) => name) };
  } finally {
    spy.mockRestore();
  }
}

/** Parameters of every role and shape (a zero weight: LARS's trust ratio falls back to 1), fixed random values. */
function mixedParams(): Param[] {
  const specs: [string, ParamRole, number[]][] = [['conv', 'weight', [3, 3, 2, 4]], ['dense', 'weight', [5, 3]], ['bias', 'bias', [3]], ['gamma', 'norm', [4]], ['zero', 'weight', [2, 2]]];
  return specs.map(([name, role, shape], i) => ({
    name,
    role,
    variable: tf.variable(name === 'zero' ? tf.zeros(shape) : tf.randomNormal(shape, 0, 1, 'float32', 30 + i)),
  }));
}

/** Gradients for `params` at step `step`: fixed random values, one tensor of zeros (a parameter the loss does not reach). */
function stepGradients(params: Param[], step: number): tf.Tensor[] {
  return params.map((p, i) => (p.name === 'bias' && step === 1 ? tf.zerosLike(p.variable) : tf.randomNormal(p.variable.shape, 0, 0.5, 'float32', 100 * (step + 1) + i)));
}

const OPTIMIZERS: Record<string, OptimizerConfig> = {
  AdamW: { kind: 'adamw', beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.05 },
  'SGD with momentum': { kind: 'sgd', momentum: 0.9, weightDecay: 1e-3 },
  'LARS (biases and norms excluded, clipped)': { kind: 'lars', momentum: 0.9, weightDecay: 1e-2, eta: 0.02, clipLr: true, excludeBiasAndNorm: true },
  'LARS (nothing excluded, not clipped)': { kind: 'lars', momentum: 0.9, weightDecay: 1e-2, eta: 0.02, clipLr: false, excludeBiasAndNorm: false },
};

/** Four steps with a changing learning rate: the weights and the optimizer state after each, and the kernels of each step. */
function optimizerSteps(config: OptimizerConfig): { values: Float32Array[][]; kernels: string[][] } {
  const params = mixedParams();
  const optimizer = createOptimizer(config, params);
  const values: Float32Array[][] = [];
  const kernels: string[][] = [];
  for (let step = 0; step < 4; step++) {
    const grads = stepGradients(params, step);
    kernels.push(withKernelNames(() => optimizer.step(params, grads, 0.1 / (step + 1))).kernels);
    grads.forEach((g) => g.dispose());
    values.push([...params.map((p) => p.variable), ...optimizer.state].map((v) => v.dataSync() as Float32Array));
  }
  params.forEach((p) => p.variable.dispose());
  optimizer.dispose();
  return { values, kernels };
}

describe('fused updates on wasm', () => {
  for (const [label, config] of Object.entries(OPTIMIZERS)) {
    it(`${label}: one kernel per step, weights and state as the composite's over four steps`, async () => {
      const fused = await on('wasm', () => optimizerSteps(config));
      const composite = withStockKernels('wasm', replacedWasmKernels, () => optimizerSteps(config));
      const kernel = config.kind === 'adamw' ? ADAMW_UPDATE : MOMENTUM_UPDATE;
      expect(fused.kernels).toEqual([[kernel], [kernel], [kernel], [kernel]]);
      expect(composite.kernels.flat()).not.toContain(kernel);
      fused.values.forEach((step, s) => step.forEach((values, i) => expectClose(values, composite.values[s][i], 1e-6)));
    });
  }

  it('an optimizer step leaves tensors that shared the weights\' data unchanged (an EMA target just copied, a clone)', async () => {
    await on('wasm', () => {
      const rng = new Rng(5);
      const online = sequential(dense('online/a', rng, 4, 3), dense('online/b', rng, 3, 2));
      const target = sequential(dense('target/a', rng, 4, 3), dense('target/b', rng, 3, 2));
      copyWeights(online, target);
      const clone = online.params[0].variable.clone();
      const before = [...target.params.map((p) => p.variable), clone].map((t) => t.dataSync().slice());
      for (const config of Object.values(OPTIMIZERS)) {
        const optimizer = createOptimizer(config, online.params);
        optimizer.step(online.params, online.params.map((p) => tf.onesLike(p.variable)), 0.1);
        optimizer.dispose();
      }
      expect(Array.from(online.params[0].variable.dataSync())).not.toEqual(Array.from(before[before.length - 1]));
      [...target.params.map((p) => p.variable), clone].forEach((t, i) => expect(t.dataSync()).toEqual(before[i]));
      // And the EMA moves the target, never the online weights it reads.
      const onlineBefore = online.params.map((p) => p.variable.dataSync().slice());
      emaUpdate(target.params, online.params, 0.5);
      online.params.forEach((p, i) => expect(p.variable.dataSync()).toEqual(onlineBefore[i]));
      expect(Array.from(target.params[0].variable.dataSync())).not.toEqual(Array.from(before[0]));
      [...online.params, ...target.params].forEach((p) => p.variable.dispose());
      clone.dispose();
    });
  });

  it('EMA: every pair in one kernel, as the composite', async () => {
    const run = () => {
      const params = mixedParams();
      const targets = mixedParams().map((p, i) => ({ ...p, variable: tf.variable(tf.randomNormal(p.variable.shape, 0, 1, 'float32', 60 + i)) }));
      const { kernels } = withKernelNames(() => [0.99, 0.5, 1].forEach((tau) => emaUpdate(targets, params, tau)));
      const values = targets.map((t) => t.variable.dataSync() as Float32Array);
      [...params, ...targets].forEach((p) => p.variable.dispose());
      return { values, kernels };
    };
    const fused = await on('wasm', run);
    const composite = withStockKernels('wasm', replacedWasmKernels, run);
    expect(fused.kernels).toEqual([EMA_UPDATE, EMA_UPDATE, EMA_UPDATE]);
    expect(composite.kernels).not.toContain(EMA_UPDATE);
    fused.values.forEach((values, i) => expectClose(values, composite.values[i], 1e-6));
  });

  it('the ReLU gradient is one kernel, dy where x > 0 and 0 elsewhere, as the composite', async () => {
    const run = () => {
      const x = tf.tensor1d([-2, -0.5, 0, 0, 0.25, 3, -1e-30, 1e-30]);
      const dy = tf.tensor1d([1, -2, 3, -4, 5, -6, 7, -8]);
      const { result: dx, kernels } = withKernelNames(() => tf.grad((input: tf.Tensor) => tf.relu(input))(x, dy));
      const result = { dx: Array.from(dx.dataSync()), kernels };
      [x, dy, dx].forEach((t) => t.dispose());
      return result;
    };
    const fused = await on('wasm', run);
    const composite = withStockKernels('wasm', replacedWasmKernels, run);
    expect(fused.dx).toEqual([0, -0, 0, -0, 5, -6, 0, -8]);
    expect(fused.dx).toEqual(composite.dx);
    expect(fused.kernels).toContain(RELU_BACKWARD);
    expect(fused.kernels).not.toContain('Step');
    expect(composite.kernels).toContain('Step');
  });

  it('refuses lists that do not match, naming the kernel', async () => {
    await on('wasm', () => {
      const [a, b, c] = [tf.zeros([2]), tf.zeros([3]), tf.zeros([2])];
      expect(() => tf.engine().runKernel(EMA_UPDATE, [a, b] as unknown as tf.NamedTensorMap, { rate: 0.1 })).toThrow(`${EMA_UPDATE}: tensor 0 has 2 values in one list and 3 in another.`);
      expect(() => tf.engine().runKernel(MOMENTUM_UPDATE, [a, c] as unknown as tf.NamedTensorMap, {})).toThrow(/2 inputs are not 3 lists/);
      [a, b, c].forEach((t) => t.dispose());
    });
  });
});

describe('the WebAssembly helpers', () => {
  // Node's backend has plain memory; the browser's threaded build has shared memory, which needs the other build.
  for (const shared of [false, true]) {
    it(`work in ${shared ? 'shared' : 'plain'} memory: column sums of a [3, 4] matrix`, () => {
      // Two pages: the minimum the modules declare.
      const memory = new WebAssembly.Memory({ initial: 2, maximum: 65536, shared });
      const helpers = instantiateHelpers(memory);
      const floats = new Float32Array(memory.buffer);
      floats.set([1, 2, 3, 4, 10, 20, 30, 40, 100, 200, 300, 400]);
      // Matrix at byte 0, sums at byte 64, double scratch at byte 128.
      helpers.sum_rows(0, 64, 128, 3, 4, 0.5);
      expect(Array.from(floats.subarray(16, 20))).toEqual([55.5, 111, 166.5, 222]);
    });
  }

  it('compile with relaxed SIMD here (Node 20 behind the flag src/runner/relaxed-simd.ts sets), so the tests above ran the fused build', () => {
    expect(relaxedSimdSupported()).toBe(true);
  });

  // The wasm backend instantiates one build; both must compute the convolution the loops below define.
  for (const relaxed of [false, true]) {
    it(`${relaxed ? 'with' : 'without'} relaxed SIMD: a direct convolution and its filter gradient are the sums they stand for`, () => {
      const [n, h, w, c, k, co] = [2, 5, 6, 3, 3, 8];
      const memory = new WebAssembly.Memory({ initial: 2, maximum: 65536 });
      const helpers = instantiateHelpers(memory, relaxed);
      const floats = new Float32Array(memory.buffer);
      const random = new Rng(7);
      const x = Float32Array.from({ length: n * h * w * c }, () => random.normal());
      const filter = Float32Array.from({ length: k * k * c * co }, () => random.normal());
      const dy = Float32Array.from({ length: n * h * w * co }, () => random.normal());
      // Float offsets of each buffer in the memory; 'same' padding of 1 on every side.
      const at = { x: 0, filter: 1024, padded: 2048, packed: 4096, y: 5120, dy: 6144, dw: 7168 };
      floats.set(x, at.x);
      floats.set(filter, at.filter);
      floats.set(dy, at.dy);
      helpers.pad_images(at.x * 4, at.padded * 4, n, h, w, c, 1, 1, 1, 1);
      helpers.pack_filter(at.filter * 4, at.packed * 4, k, k, c, co, 0);
      helpers.conv_packed(at.padded * 4, at.packed * 4, at.y * 4, n, h + 2, w + 2, c, h, w, k, k, 1, 1, co);
      helpers.conv_filter_grad(at.padded * 4, at.dy * 4, at.dw * 4, n, h + 2, w + 2, c, h, w, k, k, 1, 1, co);
      const input = (b: number, y: number, xi: number, ci: number) => (y < 0 || y >= h || xi < 0 || xi >= w ? 0 : x[((b * h + y) * w + xi) * c + ci]);
      const y = new Float32Array(n * h * w * co);
      const dw = new Float32Array(k * k * c * co);
      for (let b = 0; b < n; b++)
        for (let oy = 0; oy < h; oy++)
          for (let ox = 0; ox < w; ox++)
            for (let kh = 0; kh < k; kh++)
              for (let kw = 0; kw < k; kw++)
                for (let ci = 0; ci < c; ci++)
                  for (let o = 0; o < co; o++) {
                    const value = input(b, oy + kh - 1, ox + kw - 1, ci);
                    y[((b * h + oy) * w + ox) * co + o] += value * filter[((kh * k + kw) * c + ci) * co + o];
                    dw[((kh * k + kw) * c + ci) * co + o] += value * dy[((b * h + oy) * w + ox) * co + o];
                  }
      expectClose(floats.subarray(at.y, at.y + y.length), y);
      expectClose(floats.subarray(at.dw, at.dw + dw.length), dw);
    });
  }
});

/** One training step from a fresh trainer: its loss and every weight and buffer afterwards. */
async function oneStep(method: string): Promise<{ loss: number; weights: Record<string, Float32Array> }> {
  // SGD: the update is linear in the gradient, so the weights compare the gradients. (AdamW's first
  // step is ±lr wherever a gradient is nonzero, and a gradient that is zero in exact arithmetic, such
  // as a bias before a BatchNorm, has a float-noise sign that differs between backends.)
  const trainer = new Trainer(tinyConfig(method, { optimizer: { kind: 'sgd', momentum: 0.9, weightDecay: 1e-4 } }), tinyData());
  trainer.step();
  const [record] = await trainer.flush();
  const weights: Record<string, Float32Array> = {};
  const variables = [
    ...trainer.method.modules.flatMap((m, i) => [...m.params, ...m.buffers].map((p) => [`${i}/${p.name}`, p.variable] as const)),
    ...(trainer.method.state ?? []).map((v, i) => [`state ${i}`, v] as const),
  ];
  for (const [name, variable] of variables) weights[name] = (await variable.data()) as Float32Array;
  trainer.dispose();
  return { loss: record.loss, weights };
}

describe('a training step on wasm', () => {
  it.each(METHODS.map((m) => m.id))('%s: same loss and updated weights as on the CPU backend', async (id) => {
    const reference = await on('cpu', () => oneStep(id));
    const result = await on('wasm', () => oneStep(id));
    expect(result.loss).toBeCloseTo(reference.loss, 4);
    expect(Object.keys(result.weights)).toEqual(Object.keys(reference.weights));
    for (const [name, values] of Object.entries(reference.weights)) expectClose(result.weights[name], values, 1e-4);
  });

  it('leaks no tensors and no backend data across steps', async () => {
    await on('wasm', async () => {
      const trainer = new Trainer(tinyConfig('byol'), tinyData());
      trainer.step();
      await trainer.flush();
      const tensors = tf.memory().numTensors;
      const data = tf.engine().backend.numDataIds();
      for (let i = 0; i < 3; i++) trainer.step();
      await trainer.flush();
      expect(tf.memory().numTensors).toBe(tensors);
      expect(tf.engine().backend.numDataIds()).toBe(data);
      trainer.dispose();
    });
  });
});
