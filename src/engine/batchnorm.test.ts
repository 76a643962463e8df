import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { batchNorm } from './nn';
import { Rng } from './random';
import { gradCheckDetailed } from './testing/gradcheck';

const random = (shape: number[], rng: Rng) => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()), shape);

/** BatchNorm written with plain ops, differentiated by autodiff: the reference for the closed-form backward pass. */
function referenceBatchNorm(x: tf.Tensor, gamma: tf.Tensor | null, beta: tf.Tensor | null, epsilon = 1e-5): tf.Tensor {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const { mean, variance } = tf.moments(x, axes);
  const normalised = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, epsilon)));
  return gamma && beta ? tf.add(tf.mul(normalised, gamma), beta) : normalised;
}

const close = (a: tf.Tensor, b: tf.Tensor, digits = 4) => Array.from(a.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(b.dataSync()[i], digits));

describe('batchNorm (training mode)', () => {
  it('normalises with the batch statistics and moves the running ones by momentum, with the unbiased variance', () => {
    const bn = batchNorm('bn', 2);
    // Channel 0: 1, 3 → mean 2, biased var 1, unbiased 2. Channel 1: 0, 0 → mean 0, var 0.
    const y = bn.apply(tf.tensor2d([[1, 0], [3, 0]]), true);
    close(y, tf.tensor2d([[-1 / Math.sqrt(1 + 1e-5), 0], [1 / Math.sqrt(1 + 1e-5), 0]]), 5);
    const [mean, variance] = bn.buffers.map((b) => Array.from(b.variable.dataSync()));
    [0.2, 0].forEach((v, i) => expect(mean[i]).toBeCloseTo(v, 6));
    [0.9 + 0.1 * 2, 0.9].forEach((v, i) => expect(variance[i]).toBeCloseTo(v, 6));
  });

  for (const [label, shape, affine] of [
    ['NHWC maps, affine', [4, 3, 3, 5], true],
    ['[N, d] vectors, affine', [6, 4], true],
    ['[N, d] vectors, no affine (SimSiam)', [6, 4], false],
  ] as const) {
    it(`has the gradients autodiff gives through the moments: ${label}`, () => {
      const rng = new Rng(11);
      const bn = batchNorm('bn', shape[shape.length - 1], { affine });
      bn.params.forEach((p) => p.variable.assign(random(p.variable.shape, rng)));
      const x = random([...shape], rng);
      const weights = random([...shape], rng);
      const [gamma, beta] = affine ? bn.params.map((p) => p.variable) : [null, null];
      const objective = (f: (input: tf.Tensor) => tf.Tensor) => (input: tf.Tensor) => tf.sum(tf.mul(f(input), weights)) as tf.Scalar;

      close(bn.apply(x, true), referenceBatchNorm(x, gamma, beta), 5);
      close(tf.grad(objective((input) => bn.apply(input, true)))(x), tf.grad(objective((input) => referenceBatchNorm(input, gamma, beta)))(x));
      if (gamma && beta) {
        const ours = tf.variableGrads(() => objective((input) => bn.apply(input, true))(x), [gamma as tf.Variable, beta as tf.Variable]).grads;
        const reference = tf.grads((g: tf.Tensor, b: tf.Tensor) => objective((input) => referenceBatchNorm(input, g, b))(x))([gamma, beta]);
        close(ours[(gamma as tf.Variable).name], reference[0]);
        close(ours[(beta as tf.Variable).name], reference[1]);
      }
      const check = gradCheckDetailed(objective((input) => bn.apply(input, true)), x, { numCoordinates: 10 });
      expect(check.maxRelativeError).toBeLessThan(2e-2);
    });
  }

  it('leaves no tensors behind after a forward and backward pass', () => {
    const bn = batchNorm('bn', 3);
    const x = tf.randomNormal([2, 2, 2, 3]);
    const pass = () => {
      tf.tidy(() => {
        tf.variableGrads(() => tf.sum(tf.square(bn.apply(x, true))) as tf.Scalar, bn.params.map((p) => p.variable));
      });
    };
    pass();
    const before = tf.memory().numTensors;
    pass();
    expect(tf.memory().numTensors).toBe(before);
  });
});
