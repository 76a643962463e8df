import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { estimateTrainingMemory, peakOfOneStep } from './memory-estimate';
import { tinyConfig, tinyData } from './testing/tiny';
import { DeviceImages } from './dataset';

/** The peak bytes of one real step at the configuration's own batch size (the same measurement as the estimate's probes). */
async function measuredPeak(config: ReturnType<typeof tinyConfig>, data: ReturnType<typeof tinyData>): Promise<number> {
  const baseline = tf.memory().numBytes;
  const images = new DeviceImages(data.train);
  try {
    return await peakOfOneStep(config, data, images, config.batchSize, baseline);
  } finally {
    images.dispose();
  }
}

describe('estimateTrainingMemory', () => {
  const cases = [
    { method: 'byol', batchSize: 24 },
    { method: 'simclr', batchSize: 32 },
    { method: 'mocov2', batchSize: 16 },
  ];
  for (const { method, batchSize } of cases) {
    it(`extrapolates from batches 2 and 4 to the measured peak of a ${method} step at batch ${batchSize}, leaving nothing behind`, async () => {
      const config = tinyConfig(method, { batchSize, backbone: { kind: 'convnet', widths: [8, 16, 16, 16] } });
      const data = tinyData(64, 16);
      const before = tf.memory().numTensors;
      const estimate = await estimateTrainingMemory(config, data);
      expect(tf.memory().numTensors).toBe(before);
      // The images as uploaded: 64 images of 16 × 16, one packed float per pixel (or three float channels where packing is inexact).
      expect([64 * 16 * 16 * 4, 64 * 16 * 16 * 3 * 4]).toContain(estimate.imageBytes);
      expect(estimate.bytesPerImage).toBeGreaterThan(0);
      expect(estimate.peakBytes).toBeCloseTo(estimate.fixedBytes + batchSize * estimate.bytesPerImage, 6);
      const actual = await measuredPeak(config, data);
      expect(Math.abs(estimate.peakBytes - actual) / actual).toBeLessThan(0.05);
    });
  }
});
