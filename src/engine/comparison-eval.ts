/**
 * kNN accuracy of a run's encoder, for the comparison table and charts.
 *
 * MERGE NOTE: this is the comparison mode's own copy of the kNN protocol, kept in this one
 * function on purpose. When the shared evaluator (src/engine/evaluation.ts, branch `metrics`)
 * lands, replace the body of `evaluateKnnAccuracy` with a call to it (same protocol: frozen
 * backbone features of un-augmented standardised images, weighted kNN with k = 200, σ = 0.1,
 * accuracy on the held-out split) and delete `KnnEvalData` if the shared one keeps its own images.
 */
import * as tf from '@tensorflow/tfjs';
import { standardize } from './augment';
import { DeviceImages, type DatasetSplits } from './dataset';
import { knnPredict } from './metrics';
import type { Trainer } from './trainer';

/** Neighbours and temperature of the weighted kNN classifier (InstDisc / solo-learn defaults). */
export const KNN_K = 200;
export const KNN_SIGMA = 0.1;
/** Images encoded at once: bounds the activations of one forward pass. */
const FEATURE_CHUNK = 256;

/** The labelled images kNN needs, uploaded once and shared by every run of a comparison. */
export interface KnnEvalData {
  /** The memory bank: training images and their labels. */
  readonly bank: DeviceImages;
  readonly bankLabels: Int32Array;
  readonly test: DeviceImages;
  readonly testLabels: Int32Array;
  readonly numClasses: number;
}

/** Uploads the splits for kNN, or returns null (with the reason) when they cannot be evaluated. */
export function createKnnEvalData(data: DatasetSplits): { eval: KnnEvalData | null; problem: string | null } {
  if (!data.train.labels || !data.test?.labels) return { eval: null, problem: `"${data.name}" has no labelled held-out split, so kNN accuracy cannot be measured.` };
  if (data.test.count === 0) return { eval: null, problem: `"${data.name}" has no held-out images, so kNN accuracy cannot be measured.` };
  return {
    eval: {
      bank: new DeviceImages(data.train),
      bankLabels: data.train.labels,
      test: new DeviceImages(data.test),
      testLabels: data.test.labels,
      numClasses: data.classNames.length,
    },
    problem: null,
  };
}

export function disposeKnnEvalData(data: KnnEvalData): void {
  data.bank.dispose();
  data.test.dispose();
}

/** Backbone features [n, d] of every image, in eval mode (BatchNorm running statistics), chunk by chunk. */
function encodeAll(trainer: Trainer, images: DeviceImages, chunkSize: number): tf.Tensor2D {
  const { imageSize } = trainer.settings;
  const count = images.set.count;
  const chunks: tf.Tensor2D[] = [];
  for (let start = 0; start < count; start += chunkSize) {
    const rows = Math.min(chunkSize, count - start);
    chunks.push(
      tf.tidy(() => {
        let x = images.gather(Int32Array.from({ length: rows }, (_, i) => start + i));
        if (images.set.size !== imageSize) x = tf.image.resizeBilinear(x, [imageSize, imageSize]);
        return trainer.method.encoder.apply(standardize(x), false) as tf.Tensor2D;
      }),
    );
  }
  const features = tf.concat(chunks, 0) as tf.Tensor2D;
  chunks.forEach((c) => c.dispose());
  return features;
}

/**
 * Fraction of held-out images whose weighted-kNN label (k = 200 clamped to the bank, σ = 0.1),
 * voted by the training images in the encoder's feature space, is right. One read-back.
 */
export async function evaluateKnnAccuracy(trainer: Trainer, data: KnnEvalData, chunkSize = FEATURE_CHUNK): Promise<number> {
  const accuracy = tf.tidy(() => {
    const bankFeatures = encodeAll(trainer, data.bank, chunkSize);
    const testFeatures = encodeAll(trainer, data.test, chunkSize);
    const predicted = knnPredict(bankFeatures, tf.tensor1d(data.bankLabels, 'int32'), testFeatures, KNN_K, KNN_SIGMA, data.numClasses);
    return tf.mean(tf.cast(tf.equal(predicted, tf.tensor1d(data.testLabels, 'int32')), 'float32'));
  });
  const [value] = await accuracy.data();
  accuracy.dispose();
  return value;
}
