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

/**
 * Whether 24-bit integers survive a round trip through the backend's float32 storage. Only WebGL
 * without float32 render targets (some mobile GPUs, which fall back to float16) loses them.
 */
function exactFloat32Storage(): boolean {
  return tf.getBackend() !== 'webgl' || tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED');
}

/**
 * A set's pixels on the device, uploaded once and gathered per batch as float32 in [0, 1], NHWC.
 * tfjs has no uint8 dtype (int32 costs 4 bytes a channel, like float32), so each pixel's three
 * bytes are packed into one integer r + 256·g + 65536·b < 2²⁴, held exactly in a float32: 4 bytes a
 * pixel instead of 12, a third of the memory of float channels. `gather` unpacks a batch with
 * multiplications by powers of two and floor, which are exact in float32 on every backend.
 * Where the backend stores float16 (see exactFloat32Storage) the channels are kept as floats.
 */
export class DeviceImages {
  /** [count, size, size] packed pixels, or [count, size, size, 3] floats when packing is not exact. */
  private readonly stored: tf.Tensor;
  private readonly packed: boolean;
  /** Device bytes the upload took, measured with tf.memory(). */
  readonly bytes: number;

  constructor(readonly set: ImageSet) {
    const before = tf.memory().numBytes;
    const { count, size, pixels } = set;
    this.packed = exactFloat32Storage();
    if (this.packed) {
      const packed = new Float32Array(count * size * size);
      for (let i = 0, p = 0; i < packed.length; i++, p += 3) packed[i] = pixels[p] + 256 * pixels[p + 1] + 65536 * pixels[p + 2];
      this.stored = tf.tensor3d(packed, [count, size, size]);
    } else {
      this.stored = tf.tidy(() => tf.div(tf.tensor4d(pixels, [count, size, size, 3], 'float32'), 255));
    }
    this.bytes = tf.memory().numBytes - before;
  }

  gather(indices: Int32Array): tf.Tensor4D {
    return tf.tidy(() => {
      const batch = tf.gather(this.stored, tf.tensor1d(indices, 'int32'));
      return this.packed ? unpackRgb(batch as tf.Tensor3D) : (batch as tf.Tensor4D);
    });
  }

  dispose(): void {
    this.stored.dispose();
  }
}

/** [n, h, w] packed r + 256·g + 65536·b → [n, h, w, 3] in [0, 1]. */
function unpackRgb(packed: tf.Tensor3D): tf.Tensor4D {
  const blue = tf.floor(tf.mul(packed, 1 / 65536));
  const greenAndRed = tf.sub(packed, tf.mul(blue, 65536));
  const green = tf.floor(tf.mul(greenAndRed, 1 / 256));
  const red = tf.sub(greenAndRed, tf.mul(green, 256));
  return tf.mul(tf.stack([red, green, blue], -1), 1 / 255) as tf.Tensor4D;
}
