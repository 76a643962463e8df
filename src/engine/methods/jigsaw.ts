/**
 * The jigsaw puzzle (Noroozi & Favaro, ECCV 2016): a 3×3 grid of tiles is cut from the image and
 * shuffled by one of a fixed set of permutations; each tile goes through the same encoder, the nine
 * feature vectors are laid side by side in their shuffled order, and a classifier must say which
 * permutation it was. Putting the tiles back needs to know what parts of an object look like and how
 * they fit. The set holds the permutations that differ most from each other (the paper's Algorithm 1,
 * as the authors' select_permutations.py: start from a random permutation, then repeatedly add the one
 * with the largest summed Hamming distance to those chosen), so that no two classes are nearly the same
 * puzzle; the set is fixed for a run, its first permutation drawn from the run's seed. Tiles keep a gap between them and a random offset, and each is normalised to zero mean and unit
 * variance on its own, as the paper does so that brightness and colour statistics do not give the
 * order away.
 * Reference: the paper on ImageNet (225 px crops, 75 px cells, 64 px tiles at a random place in their
 * cell, 1000 permutations, an AlexNet tower to fc6 per tile, fc7 and fc8 on the nine concatenated fc6)
 * and the PyTorch port bbrattoli/JigsawPuzzlePytorch (JigsawTrain.py: batch 256, SGD lr 0.1, momentum
 * 0.9, weight decay 5e-4; JigsawLoader.py: slot t holds tile perm[t]). Here the grid scales to the image
 * (patch-grid.ts): at 32 px, 8 px tiles in 11 px cells moved by up to 1 px, a tile-to-cell ratio of 0.73
 * against the paper's 64/75; the per-tile head is the configured projector (fc6), the classifier one
 * hidden layer as wide as the nine projections together, then one output per permutation (fc7, fc8).
 * Both presets keep the paper's 1000 permutations (docs/methods.md has what fewer gave). Both views are used, each image with its own permutation and offsets, drawn on the CPU
 * from the method's generator. The paper's per-tile colour jitter is left to the view's augmentations, and
 * the reference preset keeps the shared CIFAR run length with a cosine schedule instead of step decay.
 */
import * as tf from '@tensorflow/tfjs';
import { createBackbone, smallestInputSize } from '../backbones';
import { createMlp } from '../heads';
import { Rng } from '../random';
import { readOptions, type MethodOptionSpecs } from './options';
import { GRID_CELLS, cellCorner, cutPatches, drawJitter, patchGrid, patchTaskPresets, type PatchGrid } from './patch-grid';
import type { MethodDefinition } from './types';

const OPTIONS = {
  permutations: {
    label: 'Permutations',
    hint: 'How many shuffles the classifier chooses among (the paper: 1000). More is a harder puzzle, each seen less often.',
    kind: 'number',
    default: 1000,
    min: 2,
    max: 1000,
    integer: true,
    step: 1,
  },
} satisfies MethodOptionSpecs;

const defaults = patchTaskPresets('jigsaw', OPTIONS);

/** Every ordering of the nine cells, in lexicographic order, nine bytes each. */
function allOrderings(): Uint8Array {
  const out = new Uint8Array(PERMUTATION_COUNT * GRID_CELLS);
  const current: number[] = [];
  const used = new Array<boolean>(GRID_CELLS).fill(false);
  let written = 0;
  const extend = () => {
    if (current.length === GRID_CELLS) {
      out.set(current, written);
      written += GRID_CELLS;
      return;
    }
    for (let cell = 0; cell < GRID_CELLS; cell++) {
      if (used[cell]) continue;
      used[cell] = true;
      current.push(cell);
      extend();
      current.pop();
      used[cell] = false;
    }
  };
  extend();
  return out;
}

/** 9!: the orderings of the nine cells. */
const PERMUTATION_COUNT = 362_880;
/** 8!: the orderings that put a given cell in a given slot. */
const SAME_PLACE_COUNT = 40_320;

/**
 * `count` permutations of the nine cells chosen by the paper's Algorithm 1: the first at random from
 * `rng`, each next one the remaining permutation with the largest summed Hamming distance to those
 * already chosen (the first such in lexicographic order). The summed distance to i chosen permutations
 * is 9·i minus the summed matches, so the loop counts matches: for each cell of the new permutation,
 * every permutation with the same cell in the same place gains one.
 */
export function maximalHammingPermutations(count: number, rng: Rng): Uint8Array[] {
  if (!Number.isInteger(count) || count < 1 || count > PERMUTATION_COUNT) throw new Error(`A permutation set holds 1 to ${PERMUTATION_COUNT} permutations, asked for ${count}.`);
  const orderings = allOrderings();
  // Block slot·9 + cell of samePlace lists the permutations that put `cell` in `slot`.
  const samePlace = new Int32Array(GRID_CELLS * GRID_CELLS * SAME_PLACE_COUNT);
  const filled = new Int32Array(GRID_CELLS * GRID_CELLS);
  for (let k = 0; k < PERMUTATION_COUNT; k++) {
    for (let slot = 0; slot < GRID_CELLS; slot++) {
      const block = slot * GRID_CELLS + orderings[k * GRID_CELLS + slot];
      samePlace[block * SAME_PLACE_COUNT + filled[block]++] = k;
    }
  }
  const matches = new Int32Array(PERMUTATION_COUNT);
  const chosen = new Uint8Array(PERMUTATION_COUNT);
  const set: Uint8Array[] = [];
  let next = rng.int(PERMUTATION_COUNT);
  while (set.length < count) {
    chosen[next] = 1;
    const permutation = orderings.slice(next * GRID_CELLS, (next + 1) * GRID_CELLS);
    set.push(permutation);
    permutation.forEach((cell, slot) => {
      const start = (slot * GRID_CELLS + cell) * SAME_PLACE_COUNT;
      for (let i = start; i < start + SAME_PLACE_COUNT; i++) matches[samePlace[i]]++;
    });
    let fewest = Infinity;
    for (let k = 0; k < PERMUTATION_COUNT; k++) {
      if (!chosen[k] && matches[k] < fewest) {
        fewest = matches[k];
        next = k;
      }
    }
  }
  return set;
}

/** Sets already chosen, by size and first draw: a set takes a few seconds and a page may build many runs with the same seed. */
const chosenSets = new Map<string, readonly Uint8Array[]>();

/** `maximalHammingPermutations` of `count` from a generator seeded with `seed`, chosen once per page. */
export function permutationSet(count: number, seed: number): readonly Uint8Array[] {
  const key = `${count}/${seed}`;
  if (!chosenSets.has(key)) chosenSets.set(key, maximalHammingPermutations(count, new Rng(seed)));
  return chosenSets.get(key)!;
}

/**
 * For `count` images: which permutation each is shuffled by (the label) and the corners of its nine
 * tiles in shuffled order: slot t of a puzzle holds the tile of cell permutation[t], each cell's tile
 * moved by its own jitter. Image 0's nine (row, column) pairs first, then image 1's.
 */
export function drawPuzzles(rng: Rng, grid: PatchGrid, permutations: readonly Uint8Array[], count: number): { labels: Int32Array; corners: Int32Array } {
  const labels = new Int32Array(count);
  const corners = new Int32Array(count * GRID_CELLS * 2);
  for (let i = 0; i < count; i++) {
    labels[i] = rng.int(permutations.length);
    const cellCorners = Array.from({ length: GRID_CELLS }, (_, cell) => cellCorner(grid, cell, drawJitter(rng, grid), drawJitter(rng, grid)));
    permutations[labels[i]].forEach((cell, slot) => corners.set(cellCorners[cell], 2 * (i * GRID_CELLS + slot)));
  }
  return { labels, corners };
}

/** Each tile to zero mean and unit variance over its pixels and channels, as the paper normalises tiles. */
export function normalizeEachTile(tiles: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(tiles, [1, 2, 3], true);
    return tf.div(tf.sub(tiles, mean), tf.sqrt(tf.add(variance, 1e-5))) as tf.Tensor4D;
  });
}

export const jigsaw: MethodDefinition = {
  id: 'jigsaw',
  label: 'Jigsaw puzzle',
  family: 'pretext',
  explanation:
    'The jigsaw puzzle is a pretext task: the image is cut into a 3×3 grid of tiles, the tiles are shuffled, and a ' +
    'classifier must say which of a fixed set of shuffles was used. Each tile goes through the same encoder on its ' +
    'own, so the encoder must learn what each piece shows — a corner of a roof, the bottom of a wheel — for the ' +
    'classifier to put them back in order. The shuffles in the set are chosen to differ from each other as much as ' +
    'possible, gaps and small random shifts hide the tile borders, and every tile is normalised on its own so that ' +
    'brightness gives nothing away. It cannot collapse, but like every pretext task it learns only what the puzzle needs.',
  uses: { tau: false, temperature: false, labels: false },
  options: OPTIONS,
  defaults,
  create({ config, rng }) {
    patchGrid(config.imageSize); // refuses images too small for the grid before anything is built
    // A fixed set for the run, from its seed: the method's generator stays as every method's, so the
    // untrained encoder is the one the other methods start from.
    const permutations = permutationSet(readOptions(OPTIONS, config).permutations, config.seed);
    const backbone = createBackbone(config.backbone, rng, 'jigsaw/backbone');
    const projector = createMlp(config.projector, backbone.featureDim, rng, 'jigsaw/projector');
    const puzzleWidth = GRID_CELLS * projector.outDim;
    const classifier = createMlp({ hidden: [puzzleWidth], out: permutations.length }, puzzleWidth, rng, 'jigsaw/classifier');
    return {
      encoder: backbone,
      params: [...backbone.params, ...projector.params, ...classifier.params],
      modules: [backbone, projector, classifier],
      computeLoss({ views }) {
        const n = views[0].shape[0];
        const grid = patchGrid(views[0].shape[1]);
        const { labels, corners } = drawPuzzles(rng, grid, permutations, 2 * n);
        const tiles = cutPatches(tf.concat(views, 0), corners, GRID_CELLS, grid.patch, Math.max(grid.patch, smallestInputSize(config.backbone)));
        const projected = projector.apply(backbone.apply(normalizeEachTile(tiles), true), true) as tf.Tensor2D;
        // Nine consecutive rows are one puzzle's tiles in shuffled order: side by side they are its input.
        const puzzles = tf.reshape(projected, [2 * n, puzzleWidth]) as tf.Tensor2D;
        const logits = classifier.apply(puzzles, true) as tf.Tensor2D;
        const loss = tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(labels, 'int32'), permutations.length), logits) as tf.Scalar;
        const firstViewTiles = tf.slice(projected, [0, 0], [n * GRID_CELLS, -1]) as tf.Tensor2D;
        return { loss, terms: {}, embedding: firstViewTiles, carry: [] };
      },
    };
  },
};
