/**
 * kNN accuracy of an encoder, the InstDisc protocol used by MoCo, lightly, VISSL and solo-learn:
 * backbone features of the un-augmented, standardised images in evaluation mode (BatchNorm running
 * statistics, nothing updated); the training images are the bank, and every held-out image is
 * classified by a weighted vote of its k nearest bank rows (cosine similarity, weights exp(sim / σ)).
 * The one implementation behind the live evaluator (which adds per-class accuracy, RankMe and the
 * embedding view on the same features), comparisons and the headless runner.
 */
import * as tf from '@tensorflow/tfjs';
import { standardize } from './augment';
import { DeviceImages, type DatasetSplits } from './dataset';
import { DEFAULT_EVALUATION } from './evaluation-settings';
import { knnAccuracy } from './metrics';
import type { Module } from './nn';

/** The live evaluator's defaults, so every kNN number in the app is measured the same way. */
export const KNN_K = DEFAULT_EVALUATION.k;
export const KNN_SIGMA = DEFAULT_EVALUATION.sigma;
/** Rows per forward pass: bounds activation memory for big encoders. */
const EMBED_CHUNK = 256;

/**
 * Backbone features [indices.length, d] of `images[indices]` in evaluation mode, chunk by chunk;
 * resized to `imageSize` when the stored images have another size.
 */
export function embedImages(encoder: Module, images: Pick<DeviceImages, 'gather'>, indices: Int32Array, imageSize?: number, chunk = EMBED_CHUNK): tf.Tensor2D {
  const parts: tf.Tensor2D[] = [];
  for (let start = 0; start < indices.length; start += chunk) {
    const rows = indices.subarray(start, Math.min(start + chunk, indices.length));
    parts.push(
      tf.tidy(() => {
        let x = images.gather(rows);
        if (imageSize !== undefined && x.shape[1] !== imageSize) x = tf.image.resizeBilinear(x, [imageSize, imageSize]);
        return encoder.apply(standardize(x), false) as tf.Tensor2D;
      }),
    );
  }
  if (parts.length === 1) return parts[0];
  const all = tf.concat(parts, 0) as tf.Tensor2D;
  parts.forEach((p) => p.dispose());
  return all;
}

/** Why kNN accuracy cannot be measured on `data`, or null when it can. */
export function knnProblem(data: DatasetSplits): string | null {
  if (!data.train.labels || data.classNames.length < 2) return `kNN accuracy needs class labels, and "${data.name}" has no class labels.`;
  if (!data.test?.labels || data.test.count === 0) return `kNN accuracy needs held-out images, and "${data.name}" has no held-out images.`;
  return null;
}

/** The labelled images kNN needs, on the device. */
export interface KnnEvalData {
  /** The memory bank: training images and their labels. */
  readonly bank: DeviceImages;
  readonly bankLabels: Int32Array;
  readonly test: DeviceImages;
  readonly testLabels: Int32Array;
  readonly numClasses: number;
  /** False when the bank is a trainer's training images, which the trainer disposes. */
  readonly ownsBank: boolean;
}

/**
 * Uploads the splits for kNN, or returns null with the reason when they cannot be evaluated.
 * `trainImages` (a trainer's copy of the training split) is used as the bank instead of a new upload.
 */
export function createKnnEvalData(data: DatasetSplits, trainImages?: DeviceImages): { eval: KnnEvalData | null; problem: string | null } {
  const problem = knnProblem(data);
  if (problem !== null) return { eval: null, problem };
  return {
    eval: {
      bank: trainImages ?? new DeviceImages(data.train),
      bankLabels: data.train.labels!,
      test: new DeviceImages(data.test!),
      testLabels: data.test!.labels!,
      numClasses: data.classNames.length,
      ownsBank: trainImages === undefined,
    },
    problem: null,
  };
}

export function disposeKnnEvalData(data: KnnEvalData): void {
  if (data.ownsBank) data.bank.dispose();
  data.test.dispose();
}

/** Fraction of held-out images whose weighted-kNN label is right, for `encoder` at `imageSize`. One read-back. */
export async function evaluateKnnAccuracy(encoder: Module, imageSize: number, data: KnnEvalData, chunk = EMBED_CHUNK): Promise<number> {
  const all = (count: number) => Int32Array.from({ length: count }, (_, i) => i);
  const accuracy = tf.tidy(() => {
    const bankFeatures = embedImages(encoder, data.bank, all(data.bank.set.count), imageSize, chunk);
    const testFeatures = embedImages(encoder, data.test, all(data.test.set.count), imageSize, chunk);
    return knnAccuracy(bankFeatures, tf.tensor1d(data.bankLabels, 'int32'), testFeatures, tf.tensor1d(data.testLabels, 'int32'), KNN_K, KNN_SIGMA, data.numClasses);
  });
  const [value] = await accuracy.data();
  accuracy.dispose();
  return value;
}
