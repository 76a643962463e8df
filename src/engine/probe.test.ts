import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { LinearProbe } from './probe';
import { Rng } from './random';

/** Three Gaussian blobs in 4-D, linearly separable. */
function blobs(perClass: number, seed: number): { x: tf.Tensor2D; y: tf.Tensor1D } {
  const rng = new Rng(seed);
  const centres = [
    [3, 0, 0, 1],
    [0, 3, 0, 1],
    [0, 0, 3, 1],
  ];
  const rows: number[][] = [];
  const labels: number[] = [];
  centres.forEach((centre, label) => {
    for (let i = 0; i < perClass; i++) {
      rows.push(centre.map((c) => c + 0.5 * rng.normal()));
      labels.push(label);
    }
  });
  return { x: tf.tensor2d(rows), y: tf.tensor1d(labels, 'int32') };
}

describe('LinearProbe', () => {
  it('learns a linearly separable problem; the reported accuracy is that of the batch before the update', () => {
    const probe = new LinearProbe(4, 3, new Rng(1));
    const { x, y } = blobs(20, 2);
    const first = tf.tidy(() => {
      const before = Array.from(probe.predict(x).dataSync());
      const { loss, accuracy } = probe.trainStep(x, y);
      const labels = y.dataSync();
      expect(accuracy.dataSync()[0]).toBeCloseTo(before.filter((p, i) => p === labels[i]).length / 60, 6);
      return loss.dataSync()[0];
    });
    let last = first;
    let lastAccuracy = 0;
    for (let i = 0; i < 60; i++) {
      tf.tidy(() => {
        const out = probe.trainStep(x, y);
        last = out.loss.dataSync()[0];
        lastAccuracy = out.accuracy.dataSync()[0];
      });
    }
    expect(last).toBeLessThan(0.2 * first);
    expect(lastAccuracy).toBe(1);
    x.dispose();
    y.dispose();
    probe.dispose();
  });

  it('matches softmax cross-entropy and one SGD step worked out by hand, and leaves the features untouched', () => {
    const probe = new LinearProbe(4, 3, new Rng(5));
    // The probe's initial weights, drawn the way nn.dense draws them: U(±1/√4), kernel then bias.
    const rng = new Rng(5);
    const kernel = Array.from({ length: 4 }, () => Array.from({ length: 3 }, () => rng.uniform(-0.5, 0.5)));
    const bias = Array.from({ length: 3 }, () => rng.uniform(-0.5, 0.5));
    const { x, y } = blobs(2, 3);
    const rows = x.arraySync();
    const labels = Array.from(y.dataSync());
    const featuresBefore = x.dataSync().slice();

    const softmaxRows = (w: number[][], b: number[]) =>
      rows.map((row) => {
        const logits = b.map((bj, j) => bj + row.reduce((s, v, i) => s + v * w[i][j], 0));
        const max = Math.max(...logits);
        const exps = logits.map((l) => Math.exp(l - max));
        const total = exps.reduce((s, e) => s + e, 0);
        return exps.map((e) => e / total);
      });
    const crossEntropy = (probabilities: number[][]) => -probabilities.reduce((s, p, n) => s + Math.log(p[labels[n]]), 0) / rows.length;

    const probabilities = softmaxRows(kernel, bias);
    // Gradient of the mean cross-entropy: (softmax − one-hot) / N, back through the linear layer.
    const delta = probabilities.map((p, n) => p.map((v, j) => (v - (j === labels[n] ? 1 : 0)) / rows.length));
    const kernelAfter = kernel.map((wi, i) => wi.map((w, j) => w - 0.1 * delta.reduce((s, d, n) => s + rows[n][i] * d[j], 0)));
    const biasAfter = bias.map((b, j) => b - 0.1 * delta.reduce((s, d) => s + d[j], 0));

    const baseline = tf.memory().numTensors;
    const [first, second] = tf.tidy(() => [probe.trainStep(x, y).loss.dataSync()[0], probe.trainStep(x, y).loss.dataSync()[0]]);
    expect(first).toBeCloseTo(crossEntropy(probabilities), 5);
    expect(second).toBeCloseTo(crossEntropy(softmaxRows(kernelAfter, biasAfter)), 5);
    expect(tf.memory().numTensors).toBe(baseline);
    expect(Array.from(x.dataSync())).toEqual(Array.from(featuresBefore));
    x.dispose();
    y.dispose();
    probe.dispose();
  });
});
