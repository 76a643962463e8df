/**
 * A small functional layer library over tfjs. Each network is a `Module`: explicit lists of
 * trainable parameters and of state buffers (BatchNorm running statistics), and an `apply`
 * function. Explicit lists make the things self-supervised methods need easy and cheap:
 * a target network that is a true copy, an EMA over every weight, optimizers that exclude
 * biases and norm parameters from weight decay (LARS), and export to a LayersModel.
 */
import * as tf from '@tensorflow/tfjs';
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

export function disposeModule(module: Module): void {
  for (const p of [...module.params, ...module.buffers]) p.variable.dispose();
}

export function parameterCount(module: Module): number {
  return module.params.reduce((n, p) => n + p.variable.size, 0);
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
  // In a tidy: the variable shares the initial tensor's data, which must not keep its own reference.
  return { name, role, variable: tf.tidy(() => tf.variable(tf.tensor(values, shape), trainable)) };
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
      let mean: tf.Tensor;
      let variance: tf.Tensor;
      if (training) {
        const axes = x.shape.slice(0, -1).map((_, i) => i);
        const moments = tf.moments(x, axes);
        mean = moments.mean;
        variance = moments.variance;
        const count = x.size / channels;
        const unbiased = tf.mul(variance, count / Math.max(count - 1, 1));
        runningMean.variable.assign(tf.add(tf.mul(runningMean.variable, 1 - momentum), tf.mul(mean, momentum)));
        runningVar.variable.assign(tf.add(tf.mul(runningVar.variable, 1 - momentum), tf.mul(unbiased, momentum)));
      } else {
        mean = runningMean.variable;
        variance = runningVar.variable;
      }
      const normalised = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, epsilon)));
      return gamma && beta ? tf.add(tf.mul(normalised, gamma.variable), beta.variable) : normalised;
    },
  };
}

export const relu: Module = { params: [], buffers: [], apply: (x) => tf.relu(x) };

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
