import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { standardize } from './augment';
import { createBackbone } from './backbones';
import { DeviceImages, type DatasetSplits, type ImageSet } from './dataset';
import { createKnnEvalData, disposeKnnEvalData, embedImages, evaluateKnnAccuracy, KNN_K, KNN_SIGMA, knnProblem } from './knn-eval';
import { effectiveK } from './metrics';
import { globalAveragePool } from './nn';
import { Rng } from './random';
import { tinyConfig, tinyData } from './testing/tiny';
import { Trainer } from './trainer';

/** Images of one flat colour each (0–255 RGB). */
function flatColours(colours: [number, number, number][], labels: number[], size = 8): ImageSet {
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

const indicesOf = (count: number) => Int32Array.from({ length: count }, (_, i) => i);

describe('kNN evaluation', () => {
  it('matches a plain weighted kNN over eval-mode backbone features of the un-augmented images, across chunks', async () => {
    const data = tinyData(40, 8);
    const trainer = new Trainer(tinyConfig('byol', { imageSize: 8, batchSize: 4 }), data);
    // A few steps move the BatchNorm running statistics away from their initial values, so train mode would differ.
    for (let i = 0; i < 3; i++) trainer.step();
    await trainer.flush();
    const knn = createKnnEvalData(data);
    expect(knn.problem).toBeNull();
    // Chunks of 7 rows split both the 40-image bank and the 12 test images unevenly.
    const accuracy = await evaluateKnnAccuracy(trainer.method.encoder, 8, knn.eval!, 7);

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

  it('classifies held-out images by their nearest training images (mean-colour encoder)', async () => {
    // The encoder is the per-channel mean of the standardised image, so the features are colours.
    const data: DatasetSplits = {
      name: 'colours',
      classNames: ['red', 'blue'],
      train: flatColours([[255, 0, 0], [230, 20, 10], [0, 0, 255], [10, 30, 240]], [0, 0, 1, 1], 2),
      // A dark red, a dark blue, and a reddish image labelled blue: 2 of 3 right.
      test: flatColours([[150, 0, 0], [0, 0, 120], [240, 10, 0]], [0, 1, 1], 2),
    };
    const knn = createKnnEvalData(data).eval!;
    expect(await evaluateKnnAccuracy(globalAveragePool, 2, knn)).toBeCloseTo(2 / 3, 6);
    disposeKnnEvalData(knn);
    expect(effectiveK(4, KNN_K)).toBe(4);
    expect(effectiveK(1000, KNN_K)).toBe(KNN_K);
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
      expect(await evaluateKnnAccuracy(trainer.method.encoder, 8, knn.eval!)).toBe(expected);
      disposeKnnEvalData(knn.eval!);
    }
    trainer.dispose();
  });

  it("uses a trainer's training images as the bank without uploading or disposing them", async () => {
    const data = tinyData(16, 8);
    const trainer = new Trainer(tinyConfig('byol', { imageSize: 8, batchSize: 4 }), data);
    const tensors = tf.memory().numTensors;
    const knn = createKnnEvalData(data, trainer.trainImages).eval!;
    expect(knn.bank).toBe(trainer.trainImages);
    expect(tf.memory().numTensors).toBe(tensors + 1); // the held-out images only
    await evaluateKnnAccuracy(trainer.method.encoder, 8, knn);
    disposeKnnEvalData(knn);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(trainer.trainImages.gather(Int32Array.of(0)).shape).toEqual([1, 8, 8, 3]);
    trainer.dispose();
  });

  it('embeds in chunks with the same features, resizes to the training size, in eval mode, without leaking tensors', () => {
    const data = tinyData(20, 8);
    const images = new DeviceImages(data.train);
    const backbone = createBackbone({ kind: 'convnet', widths: [4, 8] }, new Rng(3));
    const runningStats = () => backbone.buffers.map((b) => Array.from(b.variable.dataSync()));
    const before = runningStats();
    const tensors = tf.memory().numTensors;
    const whole = embedImages(backbone, images, indicesOf(20));
    const chunked = embedImages(backbone, images, indicesOf(20), undefined, 7);
    expect(whole.shape).toEqual([20, 8]);
    expect(Array.from(chunked.dataSync())).toEqual(Array.from(whole.dataSync()));
    // At another size the features are those of the resized images.
    const resized = embedImages(backbone, images, indicesOf(3), 4);
    const expected = tf.tidy(() => backbone.apply(standardize(tf.image.resizeBilinear(images.gather(indicesOf(3)), [4, 4])), false));
    expect(Array.from(resized.dataSync())).toEqual(Array.from(expected.dataSync()));
    [whole, chunked, resized, expected].forEach((t) => t.dispose());
    expect(tf.memory().numTensors).toBe(tensors);
    expect(runningStats()).toEqual(before);
    images.dispose();
  });

  it('says why when the data has no labels or no held-out images', () => {
    const data = tinyData(16, 8);
    expect(knnProblem(data)).toBeNull();
    const noTest = createKnnEvalData({ ...data, test: null });
    expect(noTest.eval).toBeNull();
    expect(noTest.problem).toMatch(/has no held-out images/);
    expect(knnProblem({ ...data, classNames: [], test: null })).toMatch(/has no class labels/);
  });
});
