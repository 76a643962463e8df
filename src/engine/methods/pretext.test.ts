import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import type { TrainConfig } from '../config';
import { upsample2 } from '../nn';
import { Rng } from '../random';
import { tinyConfig, tinyData } from '../testing/tiny';
import { Trainer } from '../trainer';
import { NEIGHBOURS, drawContextPairs } from './context';
import { blankCentre, centreHole } from './inpainting';
import { disposeInstance } from './instance';
import { drawPuzzles, maximalHammingPermutations, normalizeEachTile } from './jigsaw';
import { GRID_CELLS, cutPatches, patchGrid } from './patch-grid';
import { getMethod } from './registry';
import type { MethodInstance, StepInputs } from './types';

const values = (t: tf.Tensor) => Array.from(t.dataSync());
const SCHEDULE = { step: 0, tau: 0.99, temperature: 0.2 };

/** Row offset and column offset, in cells, of each neighbour position as Doersch et al. number them (reading order). */
const NEIGHBOUR_DIRECTIONS = [[-1, -1], [-1, 0], [-1, 1], [0, -1], [0, 1], [1, -1], [1, 0], [1, 1]];

function hamming(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) d++;
  return d;
}

/** Images whose pixel (y, x) of image i holds (y, x, i) in its three channels: a cut patch says where it came from. */
function coordinateImages(count: number, size: number): tf.Tensor4D {
  const data = new Float32Array(count * size * size * 3);
  for (let i = 0; i < count; i++) for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) data.set([y, x, i], ((i * size + y) * size + x) * 3);
  return tf.tensor4d(data, [count, size, size, 3]);
}

function inputs(batch: number, size: number, seed: number): StepInputs {
  return {
    views: [tf.randomNormal([batch, size, size, 3], 0, 1, 'float32', seed) as tf.Tensor4D, tf.randomNormal([batch, size, size, 3], 0, 1, 'float32', seed + 1) as tf.Tensor4D],
    indices: tf.tensor1d(Array.from({ length: batch }, (_, i) => (3 * i) % 32), 'int32'),
    labels: null,
  };
}

function disposeInputs(step: StepInputs): void {
  [...step.views, step.indices].forEach((t) => t.dispose());
}

/** Mean over rows of log Σ exp(logits) − logit of the target: cross-entropy computed on the CPU. */
function crossEntropy(logits: number[], classes: number, targets: ArrayLike<number>): number {
  let total = 0;
  for (let r = 0; r < targets.length; r++) {
    const row = logits.slice(r * classes, (r + 1) * classes);
    const top = Math.max(...row);
    total += top + Math.log(row.reduce((sum, v) => sum + Math.exp(v - top), 0)) - row[targets[r]];
  }
  return total / targets.length;
}

/**
 * Zeroes the last two parameters of the last module: a classifier's last weights and bias (every logit 0,
 * the loss log(classes)), or the decoder's last convolution (every painted pixel 0).
 */
function zeroLastLayer(instance: MethodInstance): void {
  const classifier = instance.modules[instance.modules.length - 1];
  classifier.params.slice(-2).forEach((p) => p.variable.assign(tf.zerosLike(p.variable)));
}

function created(config: TrainConfig, rng: Rng, datasetSize = 32): MethodInstance {
  return getMethod(config.method).create({ config, rng, datasetSize, numClasses: 3 });
}

describe('the patch grid', () => {
  it('at 32 px: 8 px patches 11 px apart with 1 px of jitter, filling the image; at 16 px: 4 px patches 6 px apart, no jitter', () => {
    expect(patchGrid(32)).toEqual({ patch: 8, pitch: 11, jitter: 1, origin: 1 });
    expect(patchGrid(16)).toEqual({ patch: 4, pitch: 6, jitter: 0, origin: 0 });
    expect(() => patchGrid(7)).toThrow('at least 8 px');
  });

  it('keeps every jittered patch inside the image with a gap between neighbours, at every size from 8 to 96 px', () => {
    for (let size = 8; size <= 96; size++) {
      const { patch, pitch, jitter, origin } = patchGrid(size);
      expect(origin - jitter, `${size}`).toBeGreaterThanOrEqual(0);
      expect(origin + 2 * pitch + jitter + patch, `${size}`).toBeLessThanOrEqual(size);
      expect(pitch - patch, `${size}`).toBeGreaterThanOrEqual(1);
    }
  });

  it('cuts each patch at its corner, pixel for pixel, and enlarges it by repeating pixels', () => {
    const images = coordinateImages(2, 16);
    const corners = Int32Array.from([0, 0, 3, 5, 12, 9, 7, 2]);
    const patches = cutPatches(images, corners, 2, 4, 4);
    expect(patches.shape).toEqual([4, 4, 4, 3]);
    for (let p = 0; p < 4; p++) {
      const expected = tf.slice(images, [Math.floor(p / 2), corners[2 * p], corners[2 * p + 1], 0], [1, 4, 4, 3]);
      expect(values(tf.slice(patches, [p, 0, 0, 0], [1, 4, 4, 3]))).toEqual(values(expected));
      expected.dispose();
    }
    const enlarged = cutPatches(images, corners.subarray(0, 4), 1, 4, 8);
    // Output pixel (y, x) is source pixel (⌊y/2⌋, ⌊x/2⌋) of the patch at (3, 5) of image 1.
    const pixel = (y: number, x: number) => values(tf.slice(enlarged, [1, y, x, 0], [1, 1, 1, 3]));
    expect(pixel(0, 0)).toEqual([3, 5, 1]);
    expect(pixel(7, 6)).toEqual([6, 8, 1]);
    expect(() => cutPatches(images, Int32Array.from([0, 13, 0, 0]), 1, 4, 4).dispose()).toThrow('leaves the 16×16 image');
    [images, patches, enlarged].forEach((t) => t.dispose());
  });
});

describe('context prediction', () => {
  it('labels: each pair is the centre patch and the neighbour its position names, each moved by no more than the jitter', () => {
    const grid = patchGrid(32);
    const { positions, corners } = drawContextPairs(new Rng(3), grid, 4000);
    const seen = new Array(NEIGHBOURS).fill(0);
    positions.forEach((position, i) => {
      seen[position]++;
      const [cy, cx, ny, nx] = corners.slice(4 * i, 4 * i + 4);
      const [dy, dx] = NEIGHBOUR_DIRECTIONS[position];
      for (const [y, x, row, column] of [[cy, cx, 1, 1], [ny, nx, 1 + dy, 1 + dx]]) {
        expect(Math.abs(y - (grid.origin + row * grid.pitch))).toBeLessThanOrEqual(grid.jitter);
        expect(Math.abs(x - (grid.origin + column * grid.pitch))).toBeLessThanOrEqual(grid.jitter);
      }
    });
    // Every position, about equally often (4000 / 8 = 500 each; 5 standard deviations is ±105).
    seen.forEach((count) => expect(Math.abs(count - 500)).toBeLessThan(105));
    // The jitter is used: offsets of −1, 0 and 1 all occur.
    expect(new Set(Array.from(corners.filter((_, k) => k % 4 === 0), (y) => y - grid.origin - grid.pitch))).toEqual(new Set([-1, 0, 1]));
  });

  it('loss: log 8 with a zeroed classifier; otherwise the cross-entropy of the pair logits recomputed from patches cut by hand', () => {
    const config = tinyConfig('context', { imageSize: 32 });
    const step = inputs(4, 32, 11);
    const rng = new Rng(5);
    const instance = created(config, rng);
    const [backbone, projector, classifier] = instance.modules;
    const drawsFrom = rng.getState();
    const loss = tf.tidy(() => instance.computeLoss(step, SCHEDULE).loss.dataSync()[0]);

    const replay = new Rng(0);
    replay.setState(drawsFrom);
    const grid = patchGrid(32);
    const { positions, corners } = drawContextPairs(replay, grid, 8);
    const expected = tf.tidy(() => {
      const images = tf.concat(step.views, 0);
      const patches = Array.from({ length: 16 }, (_, p) => tf.slice(images, [Math.floor(p / 2), corners[2 * p], corners[2 * p + 1], 0], [1, 8, 8, 3]));
      const projected = projector.apply(backbone.apply(tf.concat(patches, 0), true), true);
      const logits = classifier.apply(tf.reshape(projected, [8, -1]), true);
      return crossEntropy(values(logits), NEIGHBOURS, positions);
    });
    expect(loss).toBeCloseTo(expected, 4);

    zeroLastLayer(instance);
    expect(tf.tidy(() => instance.computeLoss(step, SCHEDULE).loss.dataSync()[0])).toBeCloseTo(Math.log(NEIGHBOURS), 5);
    disposeInstance(instance);
    disposeInputs(step);
  });
});

describe('jigsaw puzzle', () => {
  it('permutation set: permutations of the nine cells, all distinct, each chosen as the paper\'s Algorithm 1 says', () => {
    const set = maximalHammingPermutations(6, new Rng(2));
    for (const permutation of set) expect([...permutation].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    // The first is the generator's first draw among the 9! orderings.
    expect(set[0]).toEqual(maximalHammingPermutations(1, new Rng(2))[0]);
    // Each next one has the largest summed Hamming distance to those before it, checked against every ordering.
    const everyOrdering: number[][] = [];
    const extend = (prefix: number[]) => (prefix.length === 9 ? everyOrdering.push(prefix) : [0, 1, 2, 3, 4, 5, 6, 7, 8].filter((c) => !prefix.includes(c)).forEach((c) => extend([...prefix, c])));
    extend([]);
    expect(everyOrdering).toHaveLength(362_880);
    for (let i = 1; i < set.length; i++) {
      const before = set.slice(0, i);
      const summed = (p: ArrayLike<number>) => before.reduce((sum, q) => sum + hamming(p, q), 0);
      const best = everyOrdering.filter((p) => !before.some((q) => hamming(p, q) === 0)).reduce((most, p) => Math.max(most, summed(p)), 0);
      expect(summed(set[i]), `permutation ${i}`).toBe(best);
    }
    const large = maximalHammingPermutations(100, new Rng(2));
    expect(new Set(large.map((p) => p.join(''))).size).toBe(100);
    // Maximising the summed distance keeps the set's mean pairwise distance above that of random permutations, 9 − 1 = 8.
    let total = 0;
    for (let i = 0; i < 100; i++) for (let j = 0; j < i; j++) total += hamming(large[i], large[j]);
    expect(total / ((100 * 99) / 2)).toBeGreaterThan(8);
  });

  it('labels: slot t of a puzzle holds the tile of cell permutation[t], within the jitter of that cell', () => {
    const grid = patchGrid(32);
    const permutations = maximalHammingPermutations(10, new Rng(4));
    const { labels, corners } = drawPuzzles(new Rng(8), grid, permutations, 6);
    const images = coordinateImages(6, 32);
    const tiles = cutPatches(images, corners, GRID_CELLS, grid.patch, grid.patch);
    const pixels = tiles.arraySync() as number[][][][];
    labels.forEach((label, i) => {
      permutations[label].forEach((cell, slot) => {
        const [y, x, image] = pixels[i * GRID_CELLS + slot][0][0];
        expect(image).toBe(i);
        expect(Math.abs(y - (grid.origin + Math.floor(cell / 3) * grid.pitch))).toBeLessThanOrEqual(grid.jitter);
        expect(Math.abs(x - (grid.origin + (cell % 3) * grid.pitch))).toBeLessThanOrEqual(grid.jitter);
        // The tile is the 8 × 8 block below and right of its top-left pixel.
        expect(pixels[i * GRID_CELLS + slot][7][7]).toEqual([y + 7, x + 7, i]);
      });
      // The puzzle is the image's nine cells, each once.
      expect(new Set(permutations[label])).toEqual(new Set([0, 1, 2, 3, 4, 5, 6, 7, 8]));
    });
    expect(new Set(labels).size).toBeGreaterThan(1);
    [images, tiles].forEach((t) => t.dispose());
  });

  it('normalises each tile to zero mean and unit variance on its own', () => {
    const tiles = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 10, 10, 10, 10, 10, 10, 10, 14], [2, 2, 2, 2]);
    const normalised = values(normalizeEachTile(tiles));
    // Tile 0: mean 4.5, variance 5.25; tile 1: mean 10.5, variance 1.75.
    const expected = [...[1, 2, 3, 4, 5, 6, 7, 8].map((v) => (v - 4.5) / Math.sqrt(5.25 + 1e-5)), ...[10, 10, 10, 10, 10, 10, 10, 14].map((v) => (v - 10.5) / Math.sqrt(1.75 + 1e-5))];
    normalised.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
    tiles.dispose();
  });

  it('loss: log P with a zeroed classifier; otherwise the cross-entropy of the puzzle logits recomputed from tiles cut by hand', () => {
    const config = tinyConfig('jigsaw', { imageSize: 32, options: { permutations: 12 } });
    const step = inputs(3, 32, 21);
    const rng = new Rng(6);
    const instance = created(config, rng);
    const [backbone, projector, classifier] = instance.modules;
    const drawsFrom = rng.getState();
    const loss = tf.tidy(() => instance.computeLoss(step, SCHEDULE).loss.dataSync()[0]);

    const replay = new Rng(0);
    replay.setState(drawsFrom);
    const permutations = maximalHammingPermutations(12, new Rng(config.seed));
    const { labels, corners } = drawPuzzles(replay, patchGrid(32), permutations, 6);
    const expected = tf.tidy(() => {
      const images = tf.concat(step.views, 0);
      const tiles = Array.from({ length: 6 * GRID_CELLS }, (_, p) => tf.slice(images, [Math.floor(p / GRID_CELLS), corners[2 * p], corners[2 * p + 1], 0], [1, 8, 8, 3]));
      const projected = projector.apply(backbone.apply(normalizeEachTile(tf.concat(tiles, 0) as tf.Tensor4D), true), true);
      return crossEntropy(values(classifier.apply(tf.reshape(projected, [6, -1]), true)), 12, labels);
    });
    expect(loss).toBeCloseTo(expected, 4);

    zeroLastLayer(instance);
    expect(tf.tidy(() => instance.computeLoss(step, SCHEDULE).loss.dataSync()[0])).toBeCloseTo(Math.log(12), 5);
    disposeInstance(instance);
    disposeInputs(step);
  });
});

describe('exemplar CNN', () => {
  it('loss: log N with a zeroed classifier; otherwise the cross-entropy of both views against their image\'s own class', () => {
    const config = tinyConfig('exemplar');
    const step = inputs(4, 16, 31);
    const instance = created(config, new Rng(7), 20);
    const [online, classifier] = instance.modules;
    const loss = tf.tidy(() => instance.computeLoss(step, SCHEDULE).loss.dataSync()[0]);
    const expected = tf.tidy(() => {
      const logits = classifier.apply(tf.concat([online.apply(step.views[0], true), online.apply(step.views[1], true)], 0), true);
      const seeds = values(step.indices);
      return crossEntropy(values(logits), 20, [...seeds, ...seeds]);
    });
    expect(loss).toBeCloseTo(expected, 4);
    zeroLastLayer(instance);
    expect(tf.tidy(() => instance.computeLoss(step, SCHEDULE).loss.dataSync()[0])).toBeCloseTo(Math.log(20), 5);
    disposeInstance(instance);
    disposeInputs(step);
  });

  it('has one classifier output per training image', () => {
    const instance = created(tinyConfig('exemplar'), new Rng(1), 57);
    const last = instance.modules[1].params.at(-1)!;
    expect(last.variable.shape).toEqual([57]);
    disposeInstance(instance);
  });
});

describe('inpainting', () => {
  it('the hole: the centre square of half the side, blanked to 0 in the encoder\'s input and nothing else', () => {
    expect(centreHole(32)).toEqual({ start: 8, size: 16 });
    expect(centreHole(16)).toEqual({ start: 4, size: 8 });
    expect(centreHole(9)).toEqual({ start: 2, size: 4 });
    const images = tf.add(coordinateImages(2, 16), 1) as tf.Tensor4D;
    const blanked = blankCentre(images).arraySync();
    const original = images.arraySync();
    for (let i = 0; i < 2; i++) {
      for (let y = 0; y < 16; y++) {
        for (let x = 0; x < 16; x++) {
          const inHole = y >= 4 && y < 12 && x >= 4 && x < 12;
          expect(blanked[i][y][x]).toEqual(inHole ? [0, 0, 0] : original[i][y][x]);
        }
      }
    }
    images.dispose();
  });

  it('upsample2 repeats every pixel into a 2 × 2 block', () => {
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2]);
    expect(upsample2.apply(x, false).arraySync()).toEqual([
      [
        [[1, 2], [1, 2], [3, 4], [3, 4]],
        [[1, 2], [1, 2], [3, 4], [3, 4]],
        [[5, 6], [5, 6], [7, 8], [7, 8]],
        [[5, 6], [5, 6], [7, 8], [7, 8]],
      ],
    ]);
    x.dispose();
  });

  it('loss: the mean squared centre with a zeroed last layer; otherwise the squared error of the painted hole recomputed by hand', () => {
    const config = tinyConfig('inpainting', { imageSize: 32 });
    const step = inputs(4, 32, 51);
    const instance = created(config, new Rng(3));
    const [backbone, bottleneck, decoder] = instance.modules;
    const loss = tf.tidy(() => instance.computeLoss(step, SCHEDULE).loss.dataSync()[0]);
    const images = tf.concat(step.views, 0);
    const centre = values(tf.slice(images, [0, 8, 8, 0], [8, 16, 16, 3]));
    const expected = tf.tidy(() => {
      const painted = decoder.apply(bottleneck.apply(backbone.apply(blankCentre(images), true), true), true);
      expect(painted.shape).toEqual([8, 16, 16, 3]);
      const p = values(painted);
      return centre.reduce((sum, v, i) => sum + (p[i] - v) ** 2, 0) / centre.length;
    });
    expect(loss).toBeCloseTo(expected, 4);
    zeroLastLayer(instance);
    const meanSquare = centre.reduce((sum, v) => sum + v * v, 0) / centre.length;
    expect(tf.tidy(() => instance.computeLoss(step, SCHEDULE).loss.dataSync()[0])).toBeCloseTo(meanSquare, 4);
    images.dispose();
    disposeInstance(instance);
    disposeInputs(step);
  });
});

describe.each([
  ['context', 32],
  ['jigsaw', 32],
  ['exemplar', 16],
  ['inpainting', 32],
] as const)('%s', (id, size) => {
  it('gradients reach every parameter it trains and nothing else: no target, no buffer', () => {
    const instance = created(tinyConfig(id, { imageSize: size, ...(id === 'jigsaw' ? { options: { permutations: 12 } } : {}) }), new Rng(9));
    const step = inputs(4, size, 41);
    const owned = instance.modules.flatMap((m) => m.params.map((p) => p.variable));
    expect(new Set(owned)).toEqual(new Set(instance.params.map((p) => p.variable)));
    expect(instance.emaPairs).toBeUndefined();
    const buffers = instance.modules.flatMap((m) => m.buffers.map((b) => b.variable));
    buffers.forEach((b) => expect(b.trainable).toBe(false));
    tf.tidy(() => {
      const { grads } = tf.variableGrads(() => instance.computeLoss(step, SCHEDULE).loss, [...owned, ...buffers.map((b) => tf.variable(b, true))]);
      for (const v of owned) {
        const g = grads[v.name];
        expect(g, v.name).toBeDefined();
        expect(values(g).every(Number.isFinite)).toBe(true);
      }
      // The first convolution and the last layer of the head learn from the task.
      for (const v of [owned[0], owned[owned.length - 1]]) expect(tf.max(tf.abs(grads[v.name])).dataSync()[0], v.name).toBeGreaterThan(0);
    });
    disposeInstance(instance);
    disposeInputs(step);
  });

  it('starts from the untrained encoder every method starts from with the same seed', () => {
    const config = tinyConfig(id, { imageSize: 32 });
    const instance = created(config, new Rng(config.seed));
    const simclr = created(tinyConfig('simclr', { imageSize: 32 }), new Rng(config.seed));
    instance.encoder.params.forEach((p, i) => expect(values(p.variable)).toEqual(values(simclr.encoder.params[i].variable)));
    disposeInstance(instance);
    disposeInstance(simclr);
  });

  it('trains its classroom shape (32 px) a few steps without NaN and leaks no tensor', async () => {
    const trainer = new Trainer(tinyConfig(id, { imageSize: 32, ...(id === 'jigsaw' ? { options: { permutations: 24 } } : {}) }), tinyData(32, 32));
    trainer.step();
    await trainer.flush();
    const baseline = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) trainer.step();
    const records = await trainer.flush();
    expect(records.every((r) => Number.isFinite(r.loss) && Number.isFinite(r.featureStd))).toBe(true);
    expect(tf.memory().numTensors).toBe(baseline);
    trainer.dispose();
  });
});

