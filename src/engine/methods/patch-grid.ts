/**
 * The 3×3 grid of square patches that context prediction (Doersch et al.) and the jigsaw puzzle
 * (Noroozi & Favaro) cut from an image, and the cutting itself. Both papers leave a gap between
 * patches and move each patch by a few pixels at random, so the task cannot be solved by continuing
 * edges or textures across the border. Their sizes scale to the image: a patch is a quarter of the
 * side, the jitter a pixel per 32 px, and the patches sit as far apart as the image allows.
 */
import * as tf from '@tensorflow/tfjs';
import { IDENTITY_VIEW, type ViewAugmentation } from '../augment';
import type { PresetName, TrainConfig } from '../config';
import type { Rng } from '../random';
import type { MethodOptionSpec } from './options';
import { methodPresets, sameForBothViews } from './shared';

export interface PatchGrid {
  /** Side of a patch in pixels. */
  readonly patch: number;
  /** Distance between the top-left corners of neighbouring cells: patch + gap. */
  readonly pitch: number;
  /** Each patch moves by up to this many pixels along each axis. */
  readonly jitter: number;
  /** Top-left corner of the unjittered grid, the same on both axes: the grid is centred. */
  readonly origin: number;
}

/** Patches per grid, the cells numbered in reading order (4 is the centre). */
export const GRID_CELLS = 9;
export const CENTRE_CELL = 4;

/**
 * The grid for a square image of `imageSize` px: at 32 px, 8 px patches 11 px apart (a 3 px gap)
 * moved by up to 1 px, which fills the image exactly (8 + 2·11 + 2·1 = 32); at 16 px, 4 px patches
 * 6 px apart without jitter.
 */
export function patchGrid(imageSize: number): PatchGrid {
  const patch = Math.floor(imageSize / 4);
  const jitter = Math.floor(imageSize / 32);
  const pitch = Math.floor((imageSize - patch - 2 * jitter) / 2);
  if (patch < 2 || pitch <= patch) throw new Error(`A 3×3 grid of patches with gaps between them needs images of at least 8 px, got ${imageSize} px.`);
  return { patch, pitch, jitter, origin: Math.floor((imageSize - patch - 2 * pitch) / 2) };
}

/** Top-left corner (row, column) of `cell` moved by (dy, dx). */
export function cellCorner(grid: PatchGrid, cell: number, dy: number, dx: number): [number, number] {
  return [grid.origin + Math.floor(cell / 3) * grid.pitch + dy, grid.origin + (cell % 3) * grid.pitch + dx];
}

/** A random offset in [−jitter, jitter], one draw per axis and patch. */
export function drawJitter(rng: Rng, grid: PatchGrid): number {
  return grid.jitter === 0 ? 0 : rng.int(2 * grid.jitter + 1) - grid.jitter;
}

/**
 * Cuts square patches of `grid.patch` px from NHWC images: `corners` holds (row, column) for every
 * patch, `perImage` patches of image 0 first, then image 1's. Each patch comes out at `outSize` px
 * (nearest-neighbour enlargement when bigger than the patch, for an encoder that needs larger inputs).
 * One gather over the pixels, its indices worked out on the CPU.
 */
export function cutPatches(images: tf.Tensor4D, corners: Int32Array, perImage: number, patch: number, outSize: number): tf.Tensor4D {
  const [n, height, width, channels] = images.shape;
  const count = corners.length / 2;
  if (count !== n * perImage) throw new Error(`Expected ${n * perImage} patch corners, got ${count}.`);
  const source = Int32Array.from({ length: outSize }, (_, i) => Math.floor((i * patch) / outSize));
  const indices = new Int32Array(count * outSize * outSize);
  let k = 0;
  for (let p = 0; p < count; p++) {
    const [top, left] = [corners[2 * p], corners[2 * p + 1]];
    if (top < 0 || left < 0 || top + patch > height || left + patch > width) throw new Error(`Patch at (${top}, ${left}) leaves the ${height}×${width} image.`);
    const base = Math.floor(p / perImage) * height * width;
    for (const y of source) for (const x of source) indices[k++] = base + (top + y) * width + left + x;
  }
  return tf.tidy(() => tf.reshape(tf.gather(tf.reshape(images, [n * height * width, channels]), tf.tensor1d(indices, 'int32')), [count, outSize, outSize, channels]));
}

/** The whole image stays in view most of the time: the grid covers it, crops only shift and scale it. */
const GRID_VIEW: ViewAugmentation = {
  ...IDENTITY_VIEW,
  crop: { scale: [0.5, 1], ratio: [3 / 4, 4 / 3] },
  flipProbability: 0.5,
};

/**
 * The presets of the patch tasks (context prediction, jigsaw): the papers' ImageNet schedules have no
 * CIFAR counterpart, so the reference keeps the shared CIFAR run shape with RotNet's SGD settings.
 */
export function patchTaskPresets<OptionName extends string>(id: string, options: Readonly<Record<OptionName, MethodOptionSpec>>): (preset: PresetName) => TrainConfig {
  return methodPresets(id, options, {
    reference: () => ({
      projector: { hidden: [512], out: 512 },
      optimizer: { kind: 'sgd', momentum: 0.9, weightDecay: 5e-4 },
      learningRate: 0.1,
      augmentations: sameForBothViews(structuredClone(GRID_VIEW)),
    }),
    classroom: () => ({
      projector: { hidden: [128], out: 64 },
      augmentations: sameForBothViews(structuredClone(GRID_VIEW)),
    }),
  });
}
