/**
 * A small functional layer library over tfjs. Each network is a `Module`: explicit lists of
 * trainable parameters and of state buffers (BatchNorm running statistics), and an `apply`
 * function. Explicit lists make the things self-supervised methods need easy and cheap:
 * a target network that is a true copy, an EMA over every weight, optimizers that exclude
 * biases and norm parameters from weight decay (LARS), and export to a LayersModel.
 */
import * as tf from '@tensorflow/tfjs';
import './cpu-kernels';
import { BATCH_NORM_BACKWARD, BATCH_NORM_FORWARD } from './fused-batchnorm';
import { RELU_BACKWARD, RUNNING_STATISTICS_UPDATE, assignFromKernel, backendHas } from './fused-updates';
import type { Rng } from './random';

export type ParamRole = 'weight' | 'bias' | 'norm';

export interface Param {
  readonly name: string;
  readonly role: ParamRole;
  readonly variable: tf.Variable;
}

export interface Module {
  readonly params: Param[];
  /** Non-trainable state, e.g. BatchNorm running mean and variance. */
  readonly buffers: Param[];
  apply(x: tf.Tensor, training: boolean): tf.Tensor;
}

export function variables(params: Param[]): tf.Variable[] {
  return params.map((p) => p.variable);
}

/** Combines modules applied one after another. */
export function sequential(...modules: Module[]): Module {
  return {
    params: modules.flatMap((m) => m.params),
    buffers: modules.flatMap((m) => m.buffers),
    apply: (x, training) => modules.reduce((h, m) => m.apply(h, training), x),
  };
}

function makeParam(name: string, role: ParamRole, shape: number[], values: Float32Array, trainable = true): Param {
  return { name, role, variable: variableFrom(tf.tensor(values, shape), trainable) };
}

/**
 * A variable holding `initial`'s values; `initial` itself is disposed. (tf.variable shares the data
 * of its initial tensor, and that tensor would otherwise stay alive after the variable is disposed.)
 */
export function variableFrom(initial: tf.Tensor, trainable: boolean): tf.Variable {
  const variable = tf.variable(initial, trainable);
  initial.dispose();
  return variable;
}

function filled(size: number, value: number): Float32Array {
  return new Float32Array(size).fill(value);
}

function normalValues(rng: Rng, size: number, std: number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.normal() * std;
  return out;
}

function uniformValues(rng: Rng, size: number, bound: number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.uniform(-bound, bound);
  return out;
}

/** 3×3 or 1×1 convolution, no bias (a BatchNorm follows), Kaiming-normal fan-out init as torchvision's ResNet. */
export function conv2d(name: string, rng: Rng, inChannels: number, outChannels: number, kernel: number, stride = 1): Module {
  const shape = [kernel, kernel, inChannels, outChannels];
  const std = Math.sqrt(2 / (kernel * kernel * outChannels));
  const weight = makeParam(`${name}/kernel`, 'weight', shape, normalValues(rng, kernel * kernel * inChannels * outChannels, std));
  return {
    params: [weight],
    buffers: [],
    apply: (x) => tf.conv2d(x as tf.Tensor4D, weight.variable as tf.Tensor4D, stride, 'same'),
  };
}

/** Fully connected layer with torch.nn.Linear's default init U(±1/√in). */
export function dense(name: string, rng: Rng, inFeatures: number, outFeatures: number, bias = true): Module {
  const bound = 1 / Math.sqrt(inFeatures);
  const weight = makeParam(`${name}/kernel`, 'weight', [inFeatures, outFeatures], uniformValues(rng, inFeatures * outFeatures, bound));
  const params = [weight];
  let biasParam: Param | null = null;
  if (bias) {
    biasParam = makeParam(`${name}/bias`, 'bias', [outFeatures], uniformValues(rng, outFeatures, bound));
    params.push(biasParam);
  }
  return {
    params,
    buffers: [],
    apply: (x) => {
      const y = tf.matMul(x as tf.Tensor2D, weight.variable as tf.Tensor2D);
      return biasParam ? tf.add(y, biasParam.variable) : y;
    },
  };
}

export interface BatchNormOptions {
  /** Learn a scale and shift (γ, β). SimSiam's last projector BN has none. */
  affine?: boolean;
  momentum?: number;
  epsilon?: number;
}

/**
 * BatchNorm over every axis but the last (works for NHWC maps and [N, d] vectors). In training it
 * normalises with the batch statistics and updates the running statistics the way PyTorch does
 * (momentum 0.1, unbiased variance); in evaluation it uses the running statistics.
 */
export function batchNorm(name: string, channels: number, options: BatchNormOptions = {}): Module {
  const { affine = true, momentum = 0.1, epsilon = 1e-5 } = options;
  const gamma = affine ? makeParam(`${name}/gamma`, 'norm', [channels], filled(channels, 1)) : null;
  const beta = affine ? makeParam(`${name}/beta`, 'norm', [channels], filled(channels, 0)) : null;
  const runningMean = makeParam(`${name}/moving_mean`, 'norm', [channels], filled(channels, 0), false);
  const runningVar = makeParam(`${name}/moving_variance`, 'norm', [channels], filled(channels, 1), false);
  return {
    params: gamma && beta ? [gamma, beta] : [],
    buffers: [runningMean, runningVar],
    apply: (x, training) => {
      if (training) {
        const { y, mean, variance } = batchNormTraining(x, gamma && beta ? [gamma.variable, beta.variable] : null, epsilon);
        const count = x.size / channels;
        updateRunningStatistics([runningMean.variable, runningVar.variable], [mean, variance], momentum, (momentum * count) / Math.max(count - 1, 1));
        [mean, variance].forEach((t) => t.dispose());
        return y;
      }
      const normalised = tf.mul(tf.sub(x, runningMean.variable), tf.rsqrt(tf.add(runningVar.variable, epsilon)));
      return gamma && beta ? tf.add(tf.mul(normalised, gamma.variable), beta.variable) : normalised;
    },
  };
}

/**
 * running ← running·(1 − momentum) + batch·rate for the mean (rate = momentum) and the variance
 * (rate = varianceRate, the unbiased correction folded in). One kernel where the backend has it;
 * under a gradient tape it also saves nothing, where the composite's products save their operands.
 */
function updateRunningStatistics(running: [tf.Variable, tf.Variable], batch: [tf.Tensor, tf.Tensor], momentum: number, varianceRate: number): void {
  const [runningMean, runningVariance] = running;
  const [mean, variance] = batch;
  if (backendHas(RUNNING_STATISTICS_UPDATE)) {
    assignFromKernel(RUNNING_STATISTICS_UPDATE, { runningMean, runningVariance, mean, variance }, { keep: 1 - momentum, rate: momentum, varianceRate }, running);
    return;
  }
  // Shared scalars: three uploads per call rather than one per product.
  const keep = tf.scalar(1 - momentum);
  const rate = tf.scalar(momentum);
  const unbiasedRate = tf.scalar(varianceRate);
  runningMean.assign(tf.add(tf.mul(runningMean, keep), tf.mul(mean, rate)));
  runningVariance.assign(tf.add(tf.mul(runningVariance, keep), tf.mul(variance, unbiasedRate)));
  [keep, rate, unbiasedRate].forEach((t) => t.dispose());
}

/**
 * Training-mode normalisation with the batch statistics (biased variance), with its backward pass in
 * closed form, dx = (dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) / √(var + ε) with dx̂ = dy·γ, instead of
 * autodiff through the moments: 11 kernels rather than about 40 per layer, the largest share of a
 * step's kernels. Also returns the batch mean and variance (to dispose) for the running statistics.
 */
function batchNormTraining(x: tf.Tensor, affine: [tf.Tensor, tf.Tensor] | null, epsilon: number): { y: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor } {
  if (backendHas(BATCH_NORM_FORWARD) && backendHas(BATCH_NORM_BACKWARD)) return fusedBatchNormTraining(x, affine, epsilon);
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  let stats: { mean: tf.Tensor; variance: tf.Tensor } | null = null;
  const normalise = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const [input, scale, shift] = args.slice(0, -1) as tf.Tensor[];
    const mean = tf.mean(input, axes);
    const centred = tf.sub(input, mean);
    const variance = tf.mean(tf.square(centred), axes);
    const inverseStd = tf.rsqrt(tf.add(variance, epsilon));
    const normalised = tf.mul(centred, inverseStd);
    stats = { mean: tf.keep(mean), variance: tf.keep(variance) };
    save(scale ? [normalised, inverseStd, scale] : [normalised, inverseStd]);
    return {
      value: scale ? tf.add(tf.mul(normalised, scale), shift) : normalised,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xHat, invStd, gain] = saved;
        const dxHat = gain ? tf.mul(dy, gain) : dy;
        const dx = tf.mul(tf.sub(tf.sub(dxHat, tf.mean(dxHat, axes)), tf.mul(xHat, tf.mean(tf.mul(dxHat, xHat), axes))), invStd);
        return gain ? [dx, tf.sum(tf.mul(dy, xHat), axes), tf.sum(dy, axes)] : [dx];
      },
    };
  });
  const y = affine ? normalise(x, ...affine) : normalise(x);
  const { mean, variance } = stats as unknown as { mean: tf.Tensor; variance: tf.Tensor };
  return { y, mean, variance };
}

/** batchNormTraining through the backend's fused kernels (see fused-batchnorm.ts): two passes each way rather than about twenty. */
function fusedBatchNormTraining(x: tf.Tensor, affine: [tf.Tensor, tf.Tensor] | null, epsilon: number): { y: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor } {
  let stats: { mean: tf.Tensor; variance: tf.Tensor } | null = null;
  const normalise = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const [input, scale, offset] = args.slice(0, -1) as tf.Tensor[];
    const [value, mean, variance, inverseStd] = tf.engine().runKernel(BATCH_NORM_FORWARD, scale ? { x: input, scale, offset } : { x: input }, { epsilon }) as tf.Tensor[];
    stats = { mean: tf.keep(mean), variance: tf.keep(variance) };
    save(scale ? [input, mean, inverseStd, scale] : [input, mean, inverseStd]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedInput, savedMean, invStd, gain] = saved;
        const inputs = { dy, x: savedInput, mean: savedMean, invStd, ...(gain ? { scale: gain } : {}) };
        const [dx, dScale, dOffset] = tf.engine().runKernel(BATCH_NORM_BACKWARD, inputs, {}) as tf.Tensor[];
        return gain ? [dx, dScale, dOffset] : [dx];
      },
    };
  });
  const y = affine ? normalise(x, ...affine) : normalise(x);
  const { mean, variance } = stats as unknown as { mean: tf.Tensor; variance: tf.Tensor };
  return { y, mean, variance };
}

export const relu: Module = { params: [], buffers: [], apply: (x) => tf.relu(x) };

/**
 * tfjs's Relu gradient, dy · cast(step(x)), takes three kernels; where the backend registers
 * RELU_BACKWARD (see fused-updates.ts) it takes that one. Registered in place of tfjs's own, which
 * every other backend still runs, for every tf.relu of the engine.
 */
const stockReluGradient = tf.getGradient('Relu');
tf.registerGradient({
  ...stockReluGradient,
  gradFunc: (dy, saved, attrs) => {
    if (!backendHas(RELU_BACKWARD)) return stockReluGradient.gradFunc(dy, saved, attrs);
    const [x] = saved;
    return { x: () => tf.engine().runKernel(RELU_BACKWARD, { dy: dy as tf.Tensor, x }, {}) as tf.Tensor };
  },
});

export const globalAveragePool: Module = {
  params: [],
  buffers: [],
  apply: (x) => tf.mean(x, [1, 2]),
};

export const maxPool2: Module = {
  params: [],
  buffers: [],
  apply: (x) => tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid'),
};

/**
 * Doubles height and width by repeating each pixel (nearest-neighbour): two 4-D tiles, whose gradient is
 * a sum of two slices on every backend (stacking was ten times slower to differentiate on WebAssembly).
 */
export const upsample2: Module = {
  params: [],
  buffers: [],
  apply: (x) => {
    const [n, h, w, c] = x.shape;
    const rows = tf.reshape(tf.tile(tf.reshape(x, [n, h, 1, w * c]), [1, 1, 2, 1]), [n * 2 * h, w, 1, c]);
    return tf.reshape(tf.tile(rows, [1, 1, 2, 1]), [n, 2 * h, 2 * w, c]);
  },
};

/** Gives each row the shape [height, width, channels] (a decoder's first feature map from a vector). */
export function reshapeToMap(height: number, width: number, channels: number): Module {
  return { params: [], buffers: [], apply: (x) => tf.reshape(x, [x.shape[0], height, width, channels]) };
}
