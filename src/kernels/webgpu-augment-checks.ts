/**
 * Browser checks (kernel-checks.ts) of the fused augmentation kernel webgpu-augment.ts registers for
 * WebGPU, against the composite chain of tfjs ops on the same backend, with the same drawn
 * parameters: BYOL's two views, a flip-only view (exact-size path), jitter without hue, grayscale
 * only, and sources larger or smaller than the output (resampled), at 16, 28 and 32 px.
 */
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { AUGMENT_VIEW, IDENTITY_VIEW, augmentBatch, standardView, type ViewAugmentation } from '../engine/augment';
import { Rng } from '../engine/random';
import type { KernelCheck } from './kernel-checks';

/** Float32 rounding of a few steps, sums over a row or an image in another order, relative to the largest value (1). */
const TOLERANCE = 1e-5;

export interface AugmentCase {
  name: string;
  view: ViewAugmentation;
  count: number;
  inSize: number;
  outSize: number;
}

export const AUGMENT_CASES: AugmentCase[] = [
  { name: 'BYOL view 1 (blur 1), 32 px, batch 16', view: standardView({ blur: 1 }), count: 16, inSize: 32, outSize: 32 },
  { name: 'BYOL view 2 (blur 0.1, solarise 0.2), 32 px, batch 16', view: standardView({ blur: 0.1, solarize: 0.2 }), count: 16, inSize: 32, outSize: 32 },
  { name: 'standard view, blur 1 and solarise 0.2, 16 px, batch 16', view: standardView({ blur: 1, solarize: 0.2 }), count: 16, inSize: 16, outSize: 16 },
  { name: 'standard view, blur 1 and solarise 0.2, 32 → 16 px, batch 8', view: standardView({ blur: 1, solarize: 0.2 }), count: 8, inSize: 32, outSize: 16 },
  // 784 pixels: the last stride of a workgroup's 256 invocations is partial.
  { name: 'standard view, blur 1 and solarise 0.2, 20 → 28 px (upsampled), batch 8', view: standardView({ blur: 1, solarize: 0.2 }), count: 8, inSize: 20, outSize: 28 },
  { name: 'no crop, same size, flips 0.5, 16 px, batch 16', view: { ...IDENTITY_VIEW, flipProbability: 0.5 }, count: 16, inSize: 16, outSize: 16 },
  {
    name: 'crop and jitter without hue, 32 px, batch 8',
    view: { ...IDENTITY_VIEW, crop: { scale: [0.08, 1], ratio: [3 / 4, 4 / 3] }, colorJitter: { probability: 1, brightness: 0.4, contrast: 0.4, saturation: 0.2, hue: 0 } },
    count: 8,
    inSize: 32,
    outSize: 32,
  },
  { name: 'grayscale only (0.5), 16 px, batch 16', view: { ...IDENTITY_VIEW, grayscaleProbability: 0.5 }, count: 16, inSize: 16, outSize: 16 },
  {
    name: 'no crop, resized 32 → 16 px, jitter and flips, batch 8',
    view: { ...IDENTITY_VIEW, flipProbability: 0.5, colorJitter: { probability: 1, brightness: 0.4, contrast: 0.4, saturation: 0.2, hue: 0.1 } },
    count: 8,
    inSize: 32,
    outSize: 16,
  },
];

/**
 * The augmented batch, read asynchronously (a synchronous WebGPU read goes through a canvas, which
 * reads zeros on SwiftShader); an error where the device rejected a dispatch, since that voids the
 * whole command buffer and both runs could read the same zeros.
 */
async function augmented(c: AugmentCase, seed: number): Promise<Record<string, ArrayLike<number>>> {
  const device = (tf.backend() as WebGPUBackend).device;
  device.pushErrorScope('validation');
  const output = tf.tidy(() => {
    const images = tf.randomUniform([c.count, c.inSize, c.inSize, 3], 0, 1, 'float32', seed) as tf.Tensor4D;
    return augmentBatch(images, c.view, c.outSize, new Rng(seed));
  });
  let values: Float32Array;
  try {
    values = (await output.data()) as Float32Array;
  } finally {
    output.dispose();
    const rejected = await device.popErrorScope();
    if (rejected) throw new Error(`the device rejected a dispatch: ${rejected.message}`);
  }
  return { view: values };
}

export const AUGMENT_CHECKS: KernelCheck[] = AUGMENT_CASES.map((c, i) => ({
  name: `fused augmentation vs composite: ${c.name}`,
  backends: ['webgpu'],
  kernels: [AUGMENT_VIEW],
  tolerance: TOLERANCE,
  run: () => augmented(c, 100 + i),
}));
