import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { createBackbone } from './backbones';
import { createMlp } from './heads';
import { batchNorm } from './nn';
import { BACKBONE_PRESETS } from './presets';
import { Rng } from './random';
import { parameterCount } from './testing/reference';

describe('batchNorm', () => {
  it('standardises each channel with batch statistics and updates running stats like PyTorch', () => {
    const bn = batchNorm('bn', 2, { momentum: 0.1 });
    const x = tf.tensor2d([[1, 10], [3, 20], [5, 60]]);
    const y = bn.apply(x, true).arraySync() as number[][];
    // Channel 0: mean 3, biased var 8/3 → (1 − 3)/√(8/3 + 1e-5) …
    expect(y[0][0]).toBeCloseTo(-2 / Math.sqrt(8 / 3 + 1e-5), 4);
    expect(y[2][0]).toBeCloseTo(2 / Math.sqrt(8 / 3 + 1e-5), 4);
    const [mean, variance] = bn.buffers.map((b) => Array.from(b.variable.dataSync()));
    expect(mean[0]).toBeCloseTo(0.1 * 3, 5);
    expect(mean[1]).toBeCloseTo(0.1 * 30, 5);
    // Running variance uses the unbiased estimate: 4 for channel 0, 700 for channel 1.
    expect(variance[0]).toBeCloseTo(0.9 + 0.1 * 4, 5);
    expect(variance[1]).toBeCloseTo(0.9 + 0.1 * 700, 3);
    // Evaluation mode uses the running statistics and leaves them alone.
    const evaluated = bn.apply(tf.tensor2d([[0.3, 3]]), false).arraySync() as number[][];
    expect(evaluated[0][0]).toBeCloseTo(0, 4);
    expect(Array.from(bn.buffers[0].variable.dataSync())[0]).toBeCloseTo(0.3, 5);
  });
});

describe('backbones', () => {
  it('the CIFAR-stem ResNet keeps 32 px into the first stage and ends in widths[-1] features', () => {
    const resnet = createBackbone(BACKBONE_PRESETS['resnet-8'], new Rng(1));
    expect(resnet.featureDim).toBe(64);
    const out = resnet.apply(tf.randomNormal([2, 32, 32, 3]), true);
    expect(out.shape).toEqual([2, 64]);
    // Stem 3·3·3·16 + BN, three single-block stages with projection shortcuts where the width changes.
    const convs = 3 * 3 * 3 * 16 + (2 * 9 * 16 * 16) + (9 * 16 * 32 + 9 * 32 * 32 + 16 * 32) + (9 * 32 * 64 + 9 * 64 * 64 + 32 * 64);
    const norms = 2 * (16 + 16 + 16 + 32 + 32 + 32 + 64 + 64 + 64);
    expect(parameterCount(resnet)).toBe(convs + norms);
  });

  it('the ConvNet pools between stages and works at 16 px', () => {
    const convnet = createBackbone(BACKBONE_PRESETS['convnet-tiny'], new Rng(1));
    expect(convnet.apply(tf.randomNormal([3, 16, 16, 3]), false).shape).toEqual([3, 32]);
  });

  it('initialisation is reproducible from the seed', () => {
    const a = createBackbone(BACKBONE_PRESETS['convnet-tiny'], new Rng(5));
    const b = createBackbone(BACKBONE_PRESETS['convnet-tiny'], new Rng(5));
    expect(Array.from(a.params[0].variable.dataSync())).toEqual(Array.from(b.params[0].variable.dataSync()));
  });
});

describe('MLP heads', () => {
  it('builds Linear-BN-ReLU stacks, with an optional plain BatchNorm at the end', () => {
    const mlp = createMlp({ hidden: [16], out: 8, lastNorm: 'plain' }, 4, new Rng(1), 'head');
    const out = mlp.apply(tf.randomNormal([32, 4]), true) as tf.Tensor2D;
    expect(out.shape).toEqual([32, 8]);
    // A plain (affine-free) final BN gives every output dimension zero mean over the batch.
    const means = Array.from(tf.mean(out, 0).dataSync());
    means.forEach((m) => expect(Math.abs(m)).toBeLessThan(1e-4));
    expect(mlp.params.map((p) => p.role)).toEqual(['weight', 'norm', 'norm', 'weight']);
  });
});
