/**
 * Shader warm-up. The first step on a GPU backend compiles every kernel it uses (WebGPU pipelines,
 * WebGL programs): seconds, or far more on a software GPU. Running that first step on a throwaway
 * copy of the run moves the compilation before the first visible step, so the first report shows
 * the real speed and the real run's weights, data order and augmentations are untouched.
 */
import * as tf from '@tensorflow/tfjs';
import type { TrainConfig } from './config';
import type { DatasetSplits } from './dataset';
import { Trainer } from './trainer';

/** True where kernels are compiled on first use; the CPU backend has nothing to warm up. */
export function needsWarmUp(): boolean {
  return tf.getBackend() !== 'cpu';
}

/** Runs one step of an identical throwaway run and waits for it; returns the milliseconds it took. */
export async function warmUpKernels(config: TrainConfig, data: DatasetSplits): Promise<number> {
  const start = performance.now();
  const scratch = new Trainer(config, data);
  try {
    scratch.step();
    await scratch.flush();
  } finally {
    scratch.dispose();
  }
  return performance.now() - start;
}
