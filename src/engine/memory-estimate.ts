/**
 * How much device memory a configuration needs, measured rather than modelled: one training step is
 * profiled at two small batch sizes (tfjs records the peak of its allocated bytes), and the peak is
 * extrapolated linearly in the batch. So every method's own networks, heads, queues, memory banks and
 * optimizer state count without a formula per method, and the training images as uploaded.
 */
import * as tf from '@tensorflow/tfjs';
import type { TrainConfig } from './config';
import { DeviceImages, type DatasetSplits } from './dataset';
import { Trainer } from './trainer';

/** The two batch sizes profiled: small, so the estimate is quick, and two apart so the slope is not noise. */
const PROBE_BATCHES = [2, 4] as const;

export interface MemoryEstimate {
  /** Peak device bytes of a training step at the configuration's batch size, training images included. */
  peakBytes: number;
  /** Of which the training images on the device. */
  imageBytes: number;
  /** Bytes per image of the batch (activations kept for the backward pass, both views). */
  bytesPerImage: number;
  /** Bytes that do not grow with the batch: weights, optimizer state, targets, queues, the images. */
  fixedBytes: number;
}

/** Peak bytes of one step above `baseline` (what was allocated before the estimate: a paused run's tensors do not count). */
export async function peakOfOneStep(config: TrainConfig, data: DatasetSplits, images: DeviceImages, batchSize: number, baseline: number): Promise<number> {
  // Warm-up and schedules play no part in memory; one step with metrics as a run has them.
  const trainer = new Trainer({ ...config, batchSize, totalSteps: Math.max(config.totalSteps, 2) }, data, { trainImages: images });
  try {
    trainer.step();
    await trainer.flush();
    const profile = await tf.profile(async () => {
      trainer.step();
      await trainer.flush();
    });
    return profile.peakBytes - baseline;
  } finally {
    trainer.dispose();
  }
}

/** The memory `config` needs on the current backend to train on `data`, beyond what is allocated already (measured at small batches, extrapolated). */
export async function estimateTrainingMemory(config: TrainConfig, data: DatasetSplits): Promise<MemoryEstimate> {
  const baseline = tf.memory().numBytes;
  const images = new DeviceImages(data.train);
  try {
    const small = await peakOfOneStep(config, data, images, PROBE_BATCHES[0], baseline);
    const large = await peakOfOneStep(config, data, images, PROBE_BATCHES[1], baseline);
    const bytesPerImage = Math.max(0, (large - small) / (PROBE_BATCHES[1] - PROBE_BATCHES[0]));
    const fixedBytes = Math.max(0, small - bytesPerImage * PROBE_BATCHES[0]);
    return { peakBytes: fixedBytes + bytesPerImage * config.batchSize, imageBytes: images.bytes, bytesPerImage, fixedBytes };
  } finally {
    images.dispose();
  }
}
