import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { standardize } from './augment';
import { createKnnEvalData, disposeKnnEvalData, evaluateKnnAccuracy, KNN_K, KNN_SIGMA } from './comparison-eval';
import type { DatasetSplits, ImageSet } from './dataset';
import { tinyConfig, tinyData } from './testing/tiny';
import { Trainer } from './trainer';

/** Images of one flat colour each: class 0 dark, class 1 bright, at 8 px. */
function flatColours(colours: [number, number, number][], labels: number[]): ImageSet {
  const size = 8;
  const pixels = new Uint8Array(colours.length * size * size * 3);
  colours.forEach((rgb, i) => {
    for (let p = 0; p < size * size; p++) pixels.set(rgb, (i * size * size + p) * 3);
  });
  return { count: colours.length, size, pixels, labels: Int32Array.from(labels) };
}

/** Weighted kNN written out plainly: cosine similarity, top k, votes exp(sim / σ). */
function naiveKnnAccuracy(bank: number[][], bankLabels: ArrayLike<number>, test: number[][], testLabels: ArrayLike<number>, numClasses: number): number {
  const normalise = (v: number[]) => {
    const norm = Math.max(Math.hypot(...v), 1e-12);
    return v.map((x) => x / norm);
  };
  const bankUnit = bank.map(normalise);
  let correct = 0;
  test.forEach((query, q) => {
    const unit = normalise(query);
    const similarities = bankUnit.map((row, i) => ({ sim: row.reduce((s, x, j) => s + x * unit[j], 0), label: bankLabels[i] }));
    similarities.sort((a, b) => b.sim - a.sim);
    const scores = new Array(numClasses).fill(0);
    for (const { sim, label } of similarities.slice(0, Math.min(KNN_K, bank.length))) scores[label] += Math.exp(sim / KNN_SIGMA);
    if (scores.indexOf(Math.max(...scores)) === testLabels[q]) correct += 1;
  });
  return correct / test.length;
}

describe('kNN evaluation of a run', () => {
  it('matches a plain weighted kNN over eval-mode backbone features of the un-augmented images, across chunks', async () => {
    const data = tinyData(40, 8);
    const trainer = new Trainer(tinyConfig('byol', { imageSize: 8, batchSize: 4 }), data);
    // A few steps move the BatchNorm running statistics away from their initial values, so train mode would differ.
    for (let i = 0; i < 3; i++) trainer.step();
    await trainer.flush();
    const knn = createKnnEvalData(data);
    expect(knn.problem).toBeNull();
    // Chunks of 7 rows split both the 40-image bank and the 12 test images unevenly.
    const accuracy = await evaluateKnnAccuracy(trainer, knn.eval!, 7);

    const features = (set: ImageSet) =>
      tf.tidy(() => {
        const images = tf.div(tf.tensor4d(set.pixels, [set.count, set.size, set.size, 3], 'int32'), 255) as tf.Tensor4D;
        return trainer.method.encoder.apply(standardize(images), false).arraySync() as number[][];
      });
    const expected = naiveKnnAccuracy(features(data.train), data.train.labels!, features(data.test!), data.test!.labels!, data.classNames.length);
    expect(accuracy).toBeCloseTo(expected, 6);
    disposeKnnEvalData(knn.eval!);
    trainer.dispose();
  });

  it('scores 1 when each class is one flat colour, and 0 when the held-out labels are swapped', async () => {
    const dark: [number, number, number] = [20, 30, 40];
    const bright: [number, number, number] = [230, 220, 210];
    const train = flatColours([dark, dark, dark, bright, bright, bright], [0, 0, 0, 1, 1, 1]);
    const splits = (testLabels: number[]): DatasetSplits => ({ name: 'flat', classNames: ['dark', 'bright'], train, test: flatColours([dark, bright], testLabels) });
    const trainer = new Trainer(tinyConfig('byol', { imageSize: 8, batchSize: 2 }), splits([0, 1]));
    for (const [labels, expected] of [
      [[0, 1], 1],
      [[1, 0], 0],
    ] as const) {
      const knn = createKnnEvalData(splits([...labels]));
      expect(await evaluateKnnAccuracy(trainer, knn.eval!)).toBe(expected);
      disposeKnnEvalData(knn.eval!);
    }
    trainer.dispose();
  });

  it('says why when the data has no labelled held-out split', () => {
    const data = tinyData(16, 8);
    const result = createKnnEvalData({ ...data, test: null });
    expect(result.eval).toBeNull();
    expect(result.problem).toMatch(/no labelled held-out split/);
  });
});
