/**
 * Context prediction (Doersch, Gupta & Efros, ICCV 2015): the first patch-based pretext task. From a
 * 3×3 grid of patches the centre one and one of its eight neighbours, drawn at random, go through the
 * same encoder; a classifier on the two feature vectors side by side must say where the neighbour sat
 * (8 classes, numbered in reading order: 0 top-left … 7 bottom-right). Telling that a wheel lies below
 * a car's window needs some idea of cars. The paper leaves a gap between the patches and moves each by
 * a few pixels, so that no edge or texture simply continues from one patch to the other; so does this file.
 * Reference: the paper's ImageNet setting, 96 px patches with 48 px gaps and up to 7 px of jitter, each
 * patch through an AlexNet-style tower up to fc6, the two fc6 outputs concatenated into fc7 and an
 * 8-way fc8. Here the grid scales to the image (patch-grid.ts): at 32 px, 8 px patches with 3 px gaps
 * and 1 px of jitter, the largest patches that leave room for gaps and jitter; a smaller gap-to-patch
 * ratio than the paper's ½, since a wider gap would leave 6 px patches. The per-patch head is the
 * configured projector (the paper's fc6), the classifier one hidden layer as wide as the two
 * projections together, then 8 outputs (fc7, fc8). Both views are used, each image of each view with
 * its own neighbour and jitter, drawn on the CPU from the method's generator. Not done: the paper's
 * handling of chromatic aberration (dropping or projecting colour channels), a shortcut that photographs
 * from lenses offer and 32 px images hardly carry. The paper's ImageNet schedule has no CIFAR
 * counterpart, so the reference preset keeps the shared CIFAR run shape with RotNet's SGD settings.
 */
import * as tf from '@tensorflow/tfjs';
import { createBackbone, smallestInputSize } from '../backbones';
import { createMlp } from '../heads';
import type { Rng } from '../random';
import { CENTRE_CELL, cellCorner, cutPatches, drawJitter, patchGrid, patchTaskPresets, type PatchGrid } from './patch-grid';
import type { MethodDefinition } from './types';

/** The eight neighbours of the centre cell. */
export const NEIGHBOURS = 8;

/** The grid cell of neighbour `position` (0–7 in reading order, skipping the centre). */
export function neighbourCell(position: number): number {
  return position < CENTRE_CELL ? position : position + 1;
}

const defaults = patchTaskPresets('context', {});

/**
 * For `count` images: which neighbour each shows (the label) and the corners of its centre and
 * neighbour patch, each moved by its own jitter: (row, column) of image 0's centre, of its neighbour,
 * then image 1's.
 */
export function drawContextPairs(rng: Rng, grid: PatchGrid, count: number): { positions: Int32Array; corners: Int32Array } {
  const positions = new Int32Array(count);
  const corners = new Int32Array(count * 4);
  for (let i = 0; i < count; i++) {
    positions[i] = rng.int(NEIGHBOURS);
    corners.set(cellCorner(grid, CENTRE_CELL, drawJitter(rng, grid), drawJitter(rng, grid)), 4 * i);
    corners.set(cellCorner(grid, neighbourCell(positions[i]), drawJitter(rng, grid), drawJitter(rng, grid)), 4 * i + 2);
  }
  return { positions, corners };
}

export const context: MethodDefinition = {
  id: 'context',
  label: 'Context prediction (relative patch position)',
  family: 'pretext',
  explanation:
    'Context prediction is a pretext task: the image is cut into a 3×3 grid of small patches, and the encoder sees ' +
    'the centre patch and one of its eight neighbours. A classifier on the two feature vectors must say where the ' +
    'neighbour was — above, below-left, and so on. To tell that an eye sits above a nose the encoder has to ' +
    'recognise parts of objects. The patches are kept apart and moved a little at random, so lines that simply ' +
    'continue across the border give the answer away less. It cannot collapse (a constant feature cannot tell the ' +
    'eight positions apart), but it learns from patches a quarter of the image wide, never from the whole picture.',
  uses: { tau: false, temperature: false, labels: false },
  options: {},
  defaults,
  create({ config, rng }) {
    patchGrid(config.imageSize); // refuses images too small for the grid before anything is built
    const backbone = createBackbone(config.backbone, rng, 'context/backbone');
    const projector = createMlp(config.projector, backbone.featureDim, rng, 'context/projector');
    const pairWidth = 2 * projector.outDim;
    const classifier = createMlp({ hidden: [pairWidth], out: NEIGHBOURS }, pairWidth, rng, 'context/classifier');
    return {
      encoder: backbone,
      params: [...backbone.params, ...projector.params, ...classifier.params],
      modules: [backbone, projector, classifier],
      computeLoss({ views }) {
        const n = views[0].shape[0];
        const grid = patchGrid(views[0].shape[1]);
        const { positions, corners } = drawContextPairs(rng, grid, 2 * n);
        const patches = cutPatches(tf.concat(views, 0), corners, 2, grid.patch, Math.max(grid.patch, smallestInputSize(config.backbone)));
        const projected = projector.apply(backbone.apply(patches, true), true) as tf.Tensor2D;
        // Rows alternate centre, neighbour: two rows side by side make one pair.
        const pairs = tf.reshape(projected, [2 * n, pairWidth]) as tf.Tensor2D;
        const logits = classifier.apply(pairs, true) as tf.Tensor2D;
        const loss = tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(positions, 'int32'), NEIGHBOURS), logits) as tf.Scalar;
        const centres = tf.slice(pairs, [0, 0], [n, projector.outDim]) as tf.Tensor2D;
        return { loss, terms: {}, embedding: centres, carry: [] };
      },
    };
  },
};
