/**
 * kNN evaluation of an encoder (the InstDisc / solo-learn protocol): backbone features of the
 * un-augmented, standardised training images form the bank; every held-out image is classified by
 * a weighted vote of its k nearest bank rows (cosine similarity, weights exp(sim / σ)).
 * The encoder runs in evaluation mode, so BatchNorm uses its running statistics and nothing is updated.
 */
import * as tf from '@tensorflow/tfjs';
import { standardize } from './augment';
import type { DatasetSplits, ImageSet } from './dataset';
import { knnPredict } from './metrics';
import type { Module } from './nn';

export const KNN_NEIGHBOURS = 200;
export const KNN_SIGMA = 0.1;
/** Images encoded at once: bounds the activations held on the device. */
const ENCODE_CHUNK = 256;

export interface KnnResult {
  accuracy: number;
  /** Neighbours actually used (k clamped to the bank size). */
  k: number;
  trainCount: number;
  testCount: number;
}

/** Encoder features [count, d] of a whole image set, eval mode, in chunks. */
export function encodeImages(encoder: Module, images: ImageSet, chunk = ENCODE_CHUNK): tf.Tensor2D {
  const pixelsPerImage = images.size * images.size * 3;
  const parts: tf.Tensor2D[] = [];
  for (let start = 0; start < images.count; start += chunk) {
    const count = Math.min(chunk, images.count - start);
    parts.push(
      tf.tidy(() => {
        const raw = tf.tensor4d(images.pixels.subarray(start * pixelsPerImage, (start + count) * pixelsPerImage), [count, images.size, images.size, 3], 'int32');
        return encoder.apply(standardize(tf.div(raw, 255) as tf.Tensor4D), false) as tf.Tensor2D;
      }),
    );
  }
  const features = tf.concat(parts, 0) as tf.Tensor2D;
  parts.forEach((p) => p.dispose());
  return features;
}

/** True when the data can be evaluated: labels on both splits and at least one held-out image. */
export function canEvaluateKnn(data: DatasetSplits): boolean {
  return Boolean(data.train.labels && data.test?.labels && data.test.count > 0 && data.classNames.length > 1);
}

/** kNN accuracy of `encoder` on the held-out split; reads one small tensor back. */
export async function evaluateKnn(encoder: Module, data: DatasetSplits, options: { k?: number; sigma?: number } = {}): Promise<KnnResult> {
  const { k = KNN_NEIGHBOURS, sigma = KNN_SIGMA } = options;
  const test = data.test;
  if (!canEvaluateKnn(data) || !test?.labels || !data.train.labels) {
    const missing = !data.train.labels || data.classNames.length < 2 ? 'no class labels' : 'no held-out images';
    throw new Error(`kNN accuracy needs class labels and held-out images, and "${data.name}" has ${missing}.`);
  }
  const trainLabels = data.train.labels;
  const predicted = tf.tidy(() => {
    const bank = encodeImages(encoder, data.train);
    const queries = encodeImages(encoder, test);
    return knnPredict(bank, tf.tensor1d(trainLabels, 'int32'), queries, k, sigma, data.classNames.length);
  });
  const labels = await predicted.data();
  predicted.dispose();
  let correct = 0;
  for (let i = 0; i < test.count; i++) if (labels[i] === test.labels[i]) correct += 1;
  return { accuracy: correct / test.count, k: Math.max(1, Math.min(k, data.train.count)), trainCount: data.train.count, testCount: test.count };
}
