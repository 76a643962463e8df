import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { anatomyScalars, splitGradient, type GradientAnatomyTargets } from './gradient-anatomy';
import { barlowTwinsTerms, infoNCELoss, ntXentLoss, uniGradCorrelation, uniGradLoss } from './losses';
import { Rng } from './random';
import { tinyConfig, tinyData } from './testing/tiny';
import { Trainer } from './trainer';

type Matrix = number[][];

function gaussian(rows: number, cols: number, seed: number): Matrix {
  const rng = new Rng(seed);
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => rng.normal()));
}

const dot = (a: number[], b: number[]) => a.reduce((sum, x, i) => sum + x * b[i], 0);
const norm = (a: number[]) => Math.sqrt(dot(a, a));
const unit = (a: number[]) => a.map((x) => x / norm(a));
const scaled = (a: number[], s: number) => a.map((x) => x * s);
const added = (a: number[], b: number[]) => a.map((x, i) => x + b[i]);
/** The part of `x` orthogonal to the unit vector `u`: the tangent space of the sphere at u. */
const tangent = (x: number[], u: number[]) => added(x, scaled(u, -dot(x, u)));

function expectClose(actual: tf.Tensor, expected: Matrix, tolerance: number): void {
  const rows = actual.arraySync() as Matrix;
  rows.forEach((row, i) => row.forEach((value, j) => expect(value).toBeCloseTo(expected[i][j], tolerance)));
}

/** ∂loss/∂z₁ at z₁ by autodiff. */
function embeddingGradient(loss: (z1: tf.Tensor2D) => tf.Scalar, z1: tf.Tensor2D): tf.Tensor2D {
  return tf.grad((z: tf.Tensor) => loss(z as tf.Tensor2D))(z1) as tf.Tensor2D;
}

const N = 6;
const D = 5;

describe('gradient anatomy', () => {
  it('finds UniGrad\'s negative term ½·λ·F·u₁ (by hand) and a cosine of 1 with its own form', () => {
    const lambda = 3;
    const [z1, z2, z1m, z2m] = [1, 2, 3, 4].map((seed) => tf.tensor2d(gaussian(N, D, seed)));
    const correlation = uniGradCorrelation(null, z1m, z2m, 0.9);
    const gradient = embeddingGradient((z) => uniGradLoss(z, z2, z1m, z2m, correlation, lambda), z1);
    const targets: GradientAnatomyTargets = { target: z2m, coefficient: 0.5, correlation, implicitNegative: false };
    const split = splitGradient(z1, gradient, targets);

    const F = correlation.arraySync() as Matrix;
    const u1 = (z1.arraySync() as Matrix).map(unit);
    const u2 = (z2m.arraySync() as Matrix).map(unit);
    // The loss averages its two views: u₁'s share is ½(−u₂ + λ·F·u₁), in the sphere's tangent space.
    expectClose(split.negative, u1.map((u) => tangent(scaled(F.map((row) => dot(row, u)), 0.5 * lambda), u)), 5);
    expectClose(split.positive, u1.map((u, i) => tangent(scaled(u2[i], -0.5), u)), 5);
    const [positive, negative, ratio, cosine] = anatomyScalars(z1, gradient, targets).arraySync() as number[];
    expect(cosine).toBeCloseTo(1, 5);
    expect(ratio).toBeCloseTo(negative / positive, 5);
    tf.dispose([z1, z2, z1m, z2m, correlation, gradient, ...Object.values(split)]);
  });

  it('finds SimCLR\'s negative term Σ softmax(u₁·v/τ)·v/τ (by hand, both directions of NT-Xent)', () => {
    const temperature = 0.5;
    const [z1, z2] = [5, 6].map((seed) => tf.tensor2d(gaussian(N, D, seed)));
    const gradient = embeddingGradient((z) => ntXentLoss(z, z2, temperature), z1);
    const split = splitGradient(z1, gradient, { target: z2, coefficient: 1 / temperature, implicitNegative: false });

    const w = [...(z1.arraySync() as Matrix), ...(z2.arraySync() as Matrix)].map(unit);
    // softmax over every other view of the batch, anchored at view a.
    const softmax = w.map((anchor, a) => {
      const weights = w.map((v, b) => (b === a ? 0 : Math.exp(dot(anchor, v) / temperature)));
      const total = weights.reduce((s, x) => s + x, 0);
      return weights.map((x) => x / total);
    });
    const expected = w.slice(0, N).map((u, i) => {
      // As an anchor: Σ_v softmax(u₁·v/τ)·v/τ; as a candidate of every other anchor a: softmax_a(u₁)·a/τ.
      // The loss averages 2N anchors, and the one image's gradient is N times the batch's.
      const asAnchor = w.reduce((sum, v, b) => added(sum, scaled(v, softmax[i][b] / temperature)), new Array(D).fill(0));
      const asCandidate = w.reduce((sum, a, k) => (k === i ? sum : added(sum, scaled(a, softmax[k][i] / temperature))), new Array(D).fill(0));
      return tangent(scaled(added(asAnchor, asCandidate), 0.5), u);
    });
    expectClose(split.negative, expected, 5);
    tf.dispose([z1, z2, gradient, ...Object.values(split)]);
  });

  it('finds MoCo\'s negative term Σ softmax(u₁·v/τ)·v/τ over its key and queue (by hand)', () => {
    const temperature = 0.2;
    const [z1, keys] = [12, 13].map((seed) => tf.tensor2d(gaussian(N, D, seed)));
    // The queue holds unit keys, as MoCo enqueues them.
    const queue = tf.tensor2d(gaussian(7, D, 14).map(unit));
    const gradient = embeddingGradient((z) => infoNCELoss(z, keys, queue, temperature), z1);
    const split = splitGradient(z1, gradient, { target: keys, coefficient: 1 / temperature, implicitNegative: false });

    const k = (keys.arraySync() as Matrix).map(unit);
    const queued = queue.arraySync() as Matrix;
    const expected = (z1.arraySync() as Matrix).map(unit).map((u, i) => {
      const candidates = [k[i], ...queued];
      const weights = candidates.map((v) => Math.exp(dot(u, v) / temperature));
      const total = weights.reduce((s, x) => s + x, 0);
      return tangent(candidates.reduce((sum, v, j) => added(sum, scaled(v, weights[j] / total / temperature)), new Array(D).fill(0)), u);
    });
    expectClose(split.negative, expected, 5);
    tf.dispose([z1, keys, queue, gradient, ...Object.values(split)]);
  });

  it('follows Barlow Twins\' gradient through its cross-correlation matrix (by hand)', () => {
    const lambda = 0.2;
    const [z1, z2] = [7, 8].map((seed) => tf.tensor2d(gaussian(N, D, seed)));
    const gradient = embeddingGradient((z) => {
      const { onDiagonal, offDiagonal } = barlowTwinsTerms(z, z2, lambda);
      return tf.add(onDiagonal, offDiagonal) as tf.Scalar;
    }, z1);
    const split = splitGradient(z1, gradient, { target: z2, coefficient: 'fitted', implicitNegative: false });

    const standardised = (z: Matrix) => {
      const columns = z[0].map((_, k) => z.map((row) => row[k]));
      const stats = columns.map((c) => {
        const mean = c.reduce((s, x) => s + x, 0) / N;
        return { mean, std: Math.sqrt(c.reduce((s, x) => s + (x - mean) ** 2, 0) / N + 1e-5) };
      });
      return { y: z.map((row) => row.map((x, k) => (x - stats[k].mean) / stats[k].std)), stats };
    };
    const raw1 = z1.arraySync() as Matrix;
    const a = standardised(raw1);
    const b = standardised(z2.arraySync() as Matrix);
    const C = Array.from({ length: D }, (_, k) => Array.from({ length: D }, (_, l) => a.y.reduce((s, row, i) => s + row[k] * b.y[i][l], 0) / N));
    // ∂L/∂C: −2(1 − C_kk) on the diagonal, 2λ·C_kl off it; then through C = y₁ᵀy₂/N and the standardisation.
    const dC = C.map((row, k) => row.map((c, l) => (k === l ? -2 * (1 - c) : 2 * lambda * c)));
    const dy = a.y.map((_, i) => dC.map((row) => row.reduce((s, m, l) => s + (m * b.y[i][l]) / N, 0)));
    const dz = a.y.map((row, i) =>
      row.map((y, k) => {
        const meanDy = dy.reduce((s, r) => s + r[k], 0) / N;
        const meanDyY = dy.reduce((s, r, j) => s + r[k] * a.y[j][k], 0) / N;
        return (dy[i][k] - meanDy - y * meanDyY) / a.stats[k].std;
      }),
    );
    expectClose(split.gradient, dz.map((g, i) => tangent(scaled(g, N * norm(raw1[i])), unit(raw1[i]))), 4);
    tf.dispose([z1, z2, gradient, ...Object.values(split)]);
  });

  it('splits g into a positive and a negative term that add back to g exactly, for each kind of coefficient', () => {
    const [z1, z2, dz] = [9, 10, 11].map((seed) => tf.tensor2d(gaussian(N, D, seed)));
    const perImage = tf.tensor1d([0.5, 1, 2, 3, 4, 5]);
    for (const coefficient of [2, perImage, 'fitted'] as const) {
      const split = splitGradient(z1, dz, { target: z2, coefficient, implicitNegative: false });
      const residual = tf.tidy(() => tf.max(tf.abs(tf.sub(tf.add(split.positive, split.negative), split.gradient))).dataSync()[0]);
      const scale = tf.tidy(() => tf.max(tf.abs(split.gradient)).dataSync()[0]);
      expect(residual).toBeLessThanOrEqual(scale * 1e-6);
      // Tangent: no term has a component along u₁.
      const radial = tf.tidy(() => tf.max(tf.abs(tf.sum(tf.mul(split.negative, tf.div(z1, tf.norm(z1, 'euclidean', 1, true))), 1))).dataSync()[0]);
      expect(radial).toBeLessThan(1e-5 * scale);
      tf.dispose(Object.values(split));
    }
    tf.dispose([z1, z2, dz, perImage]);
  });

  it('leaks no tensor when measured in training, and reports every few steps for every method with a positive target', async () => {
    const data = tinyData();
    for (const method of ['simclr', 'byol', 'simsiam', 'barlow', 'vicreg', 'unigrad', 'mocov2', 'moby', 'npid']) {
      const trainer = new Trainer(tinyConfig(method), data, { gradientsEvery: 2 });
      trainer.step();
      trainer.step();
      await trainer.flush();
      const before = tf.memory().numTensors;
      trainer.step();
      trainer.step();
      const records = await trainer.flush();
      expect(tf.memory().numTensors, method).toBe(before);
      expect(records[0].gradients, method).toBeNull();
      const gradients = records[1].gradients!;
      expect(gradients, method).not.toBeNull();
      expect(gradients.implicitNegative, method).toBe(method === 'byol' || method === 'simsiam');
      for (const value of [gradients.positive, gradients.negative, gradients.ratio]) expect(value, method).toBeGreaterThan(0);
      expect(Math.abs(gradients.unigradCosine), method).toBeLessThanOrEqual(1 + 1e-5);
      trainer.dispose();
    }
  });

  it('changes nothing in training: a run that measures its gradients takes the steps of one that does not', async () => {
    const data = tinyData();
    const losses: number[][] = [];
    for (const gradientsEvery of [0, 1]) {
      const trainer = new Trainer(tinyConfig('unigrad'), data, { gradientsEvery });
      for (let i = 0; i < 3; i++) trainer.step();
      losses.push((await trainer.flush()).map((r) => r.loss));
      trainer.dispose();
    }
    expect(losses[1]).toEqual(losses[0]);
  });
});
