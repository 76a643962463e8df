import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { DeviceImages, type ImageSet } from './dataset';
import { Rng } from './random';

function randomSet(count: number, size: number, seed: number): ImageSet {
  const rng = new Rng(seed);
  const pixels = Uint8Array.from({ length: count * size * size * 3 }, () => rng.int(256));
  // The extremes, where packing could overflow or round: black, white, pure blue, pure red.
  pixels.set([0, 0, 0, 255, 255, 255, 0, 0, 255, 255, 0, 0], 0);
  return { count, size, pixels, labels: null };
}

describe('DeviceImages', () => {
  it('gathers exactly the uploaded bytes / 255, in the requested order', () => {
    const set = randomSet(7, 5, 3);
    const images = new DeviceImages(set);
    const indices = Int32Array.from([6, 0, 3, 3]);
    const batch = images.gather(indices);
    expect(batch.shape).toEqual([4, 5, 5, 3]);
    const values = batch.dataSync();
    const perImage = 5 * 5 * 3;
    indices.forEach((index, b) => {
      for (let i = 0; i < perImage; i++) {
        const byte = set.pixels[index * perImage + i];
        expect(Math.round(values[b * perImage + i] * 255)).toBe(byte);
        expect(values[b * perImage + i]).toBeCloseTo(byte / 255, 6);
      }
    });
    batch.dispose();
    images.dispose();
  });

  it('takes 4 bytes a pixel on the device (a third of float32 channels) and frees them on dispose', () => {
    const before = tf.memory().numBytes;
    const images = new DeviceImages(randomSet(10, 8, 4));
    expect(images.bytes).toBe(10 * 8 * 8 * 4);
    expect(tf.memory().numBytes - before).toBe(images.bytes);
    images.dispose();
    expect(tf.memory().numBytes).toBe(before);
  });

  it('leaves no intermediate tensors behind when gathering', () => {
    const images = new DeviceImages(randomSet(4, 4, 5));
    const before = tf.memory().numTensors;
    const batch = images.gather(Int32Array.from([1, 2]));
    expect(tf.memory().numTensors).toBe(before + 1);
    batch.dispose();
    images.dispose();
  });
});
