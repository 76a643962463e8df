/**
 * Draws the augmentation preview: a few dataset images (one per class where there are labels) and
 * both of their augmented views, with the same batched code the trainer runs.
 */
import * as tf from '@tensorflow/tfjs';
import { IDENTITY_VIEW, augmentBatch } from '../engine/augment';
import type { DatasetSplits, ImageSet } from '../engine/dataset';
import { Rng } from '../engine/random';
import type { AugmentationPreview, PreviewRequest } from './protocol';

/** One image per class in turn (the first of each, then the second, …); evenly spaced without labels. */
export function previewIndices(set: ImageSet, count: number): number[] {
  const n = Math.min(count, set.count);
  if (!set.labels) return Array.from({ length: n }, (_, i) => Math.floor((i * set.count) / n));
  const byClass = new Map<number, number[]>();
  set.labels.forEach((label, index) => byClass.set(label, [...(byClass.get(label) ?? []), index]));
  const queues = [...byClass.entries()].sort((a, b) => a[0] - b[0]).map(([, indices]) => indices);
  const picked: number[] = [];
  for (let round = 0; picked.length < n; round++) {
    for (const queue of queues) if (round < queue.length && picked.length < n) picked.push(queue[round]);
  }
  return picked;
}

/** size × size RGB at `offset` of `values` as RGBA; `scale` turns a value into 0–255 (255 for [0, 1] floats). */
function toRgba(values: Float32Array | Int32Array | Uint8Array, offset: number, size: number, scale = 255): Uint8ClampedArray {
  const rgba = new Uint8ClampedArray(size * size * 4);
  for (let p = 0; p < size * size; p++) {
    for (let c = 0; c < 3; c++) rgba[p * 4 + c] = Math.round(values[offset + p * 3 + c] * scale);
    rgba[p * 4 + 3] = 255;
  }
  return rgba;
}

/** Image `index` of `set` as stored, RGBA (the suggestion grid's thumbnails). */
export function storedImageRgba(set: ImageSet, index: number): Uint8ClampedArray {
  return toRgba(set.pixels, index * set.size * set.size * 3, set.size, 1);
}

export async function renderPreview(data: DatasetSplits, request: PreviewRequest): Promise<AugmentationPreview> {
  const { train } = data;
  const indices = previewIndices(train, request.count);
  const n = indices.length;
  const area = train.size * train.size * 3;
  const pixels = new Uint8Array(n * area);
  indices.forEach((index, i) => pixels.set(train.pixels.subarray(index * area, (index + 1) * area), i * area));
  const size = request.imageSize;
  const rng = new Rng(request.seed);
  const all = tf.tidy(() => {
    const images = tf.div(tf.tensor4d(pixels, [n, train.size, train.size, 3], 'float32'), 255) as tf.Tensor4D;
    const [first, second] = request.augmentations;
    return tf.concat([augmentBatch(images, IDENTITY_VIEW, size, rng), augmentBatch(images, first, size, rng), augmentBatch(images, second, size, rng)]);
  });
  const values = (await all.data()) as Float32Array;
  all.dispose();
  const perImage = size * size * 3;
  return {
    id: request.id,
    size,
    datasetName: data.name,
    images: indices.map((index, i) => ({
      label: train.labels ? data.classNames[train.labels[index]] : null,
      original: toRgba(values, i * perImage, size),
      views: [toRgba(values, (n + i) * perImage, size), toRgba(values, (2 * n + i) * perImage, size)],
    })),
  };
}
