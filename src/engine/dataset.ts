/**
 * Images as the engine sees them: square RGB uint8 pixels on the CPU, uploaded once to the device.
 * Decoding (browser) and generation (built-in sets) live in src/data; this file has no DOM.
 */
import * as tf from '@tensorflow/tfjs';

export interface ImageSet {
  readonly count: number;
  /** Side length in pixels; every image is size × size × 3. */
  readonly size: number;
  readonly pixels: Uint8Array;
  /** Class index per image, or null for an unlabeled set. */
  readonly labels: Int32Array | null;
}

export interface DatasetSplits {
  readonly name: string;
  readonly classNames: string[];
  readonly train: ImageSet;
  /** Held-out images for kNN evaluation; null when the data has no labels. */
  readonly test: ImageSet | null;
}

/** A set's pixels on the device as float32 in [0, 1], NHWC, uploaded once and gathered per batch. */
export class DeviceImages {
  readonly images: tf.Tensor4D;

  constructor(readonly set: ImageSet) {
    this.images = tf.tidy(() => tf.div(tf.tensor4d(set.pixels, [set.count, set.size, set.size, 3], 'int32'), 255) as tf.Tensor4D);
  }

  gather(indices: Int32Array): tf.Tensor4D {
    return tf.gather(this.images, tf.tensor1d(indices, 'int32')) as tf.Tensor4D;
  }

  dispose(): void {
    this.images.dispose();
  }
}

export function assertImageSet(set: ImageSet): void {
  const expected = set.count * set.size * set.size * 3;
  if (set.pixels.length !== expected) throw new Error(`Image set has ${set.pixels.length} bytes, expected ${expected}`);
  if (set.labels && set.labels.length !== set.count) throw new Error(`Image set has ${set.labels.length} labels for ${set.count} images`);
}
