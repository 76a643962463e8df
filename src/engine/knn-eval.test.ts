import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { createBackbone } from './backbones';
import type { DatasetSplits, ImageSet } from './dataset';
import { canEvaluateKnn, encodeImages, evaluateKnn } from './knn-eval';
import { globalAveragePool } from './nn';
import { Rng } from './random';
import { tinyData } from './testing/tiny';

/** 2×2 images of one solid colour each (0–255 RGB). */
function solidSet(colours: [number, number, number][], labels: number[]): ImageSet {
  const pixels = new Uint8Array(colours.length * 12);
  colours.forEach((c, i) => {
    for (let p = 0; p < 4; p++) pixels.set(c, i * 12 + p * 3);
  });
  return { count: colours.length, size: 2, pixels, labels: Int32Array.from(labels) };
}

describe('kNN evaluation', () => {
  it('classifies held-out images by their nearest training images (mean-colour encoder)', async () => {
    // The encoder is the per-channel mean of the standardised image, so the features are colours.
    const data: DatasetSplits = {
      name: 'colours',
      classNames: ['red', 'blue'],
      train: solidSet([[255, 0, 0], [230, 20, 10], [0, 0, 255], [10, 30, 240]], [0, 0, 1, 1]),
      // A dark red, a dark blue, and a reddish image labelled blue: 2 of 3 right.
      test: solidSet([[150, 0, 0], [0, 0, 120], [240, 10, 0]], [0, 1, 1]),
    };
    const result = await evaluateKnn(globalAveragePool, data);
    expect(result).toEqual({ accuracy: 2 / 3, k: 4, trainCount: 4, testCount: 3 });
  });

  it('encodes in chunks with the same features, in eval mode, without leaking tensors', async () => {
    const data = tinyData(20, 8);
    const backbone = createBackbone({ kind: 'convnet', widths: [4, 8] }, new Rng(3));
    const whole = encodeImages(backbone, data.train);
    const chunked = encodeImages(backbone, data.train, 7);
    expect(whole.shape).toEqual([20, 8]);
    expect(Array.from(chunked.dataSync())).toEqual(Array.from(whole.dataSync()));
    [whole, chunked].forEach((t) => t.dispose());

    const runningStats = () => backbone.buffers.map((b) => Array.from(b.variable.dataSync()));
    const before = runningStats();
    const tensors = tf.memory().numTensors;
    const result = await evaluateKnn(backbone, data, { k: 5 });
    expect(tf.memory().numTensors).toBe(tensors);
    expect(runningStats()).toEqual(before);
    expect(result.k).toBe(5);
    expect(result.testCount).toBe(12);
    expect(Math.round(result.accuracy * 12)).toBeCloseTo(result.accuracy * 12, 6);
  });

  it('refuses data without labels or without held-out images', async () => {
    const unlabeled: DatasetSplits = { ...tinyData(8, 8), classNames: [], test: null };
    expect(canEvaluateKnn(unlabeled)).toBe(false);
    await expect(evaluateKnn(globalAveragePool, unlabeled)).rejects.toThrow(/has no class labels/);
    const noTest = { ...tinyData(8, 8), test: null };
    await expect(evaluateKnn(globalAveragePool, noTest)).rejects.toThrow(/has no held-out images/);
  });
});
