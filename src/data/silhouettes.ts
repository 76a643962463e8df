/**
 * "Shape silhouettes": the coloured shapes' six classes as near-black or near-white silhouettes over
 * a patchwork of random colours (a Voronoi mosaic of 20–39 cells). Made so that the lesson of
 * self-supervised learning shows within a classroom run:
 * - every shape has the same area (its radius scaled by √(mean area / its area)), so the share of
 *   dark or light pixels does not give the class away to an untrained network;
 * - colour, the mosaic, the silhouette's polarity (dark or light), position, size and rotation vary
 *   independently of the class, and an untrained network's features are dominated by them;
 * - the mosaic has many small cells, so two crops of one image see different colours: colour is a
 *   weak cue for telling an image's views from the others', and the silhouette, which both crops
 *   mostly keep (it is large and kept away from the border), is the strong one.
 * docs/data.md has what an untrained encoder and a classroom run reach on it.
 */
import type { DatasetSplits, ImageSet } from '../engine/dataset';
import type { Rng } from '../engine/random';
import { INSIDE, SHAPE_CLASSES, hslToRgb, renderShapeDataset, renderShapeSet, shapeCoverage, type ShapeDatasetOptions } from './shapes';

/** Each shape's area in its own frame (unit radius), integrated numerically on an 800×800 grid. */
export const SHAPE_AREAS: Record<(typeof SHAPE_CLASSES)[number], number> = {
  circle: 3.1414,
  square: 2.5664,
  triangle: 1.3008,
  cross: 2.0376,
  ring: 1.7275,
  star: 2.1015,
};
const MEAN_AREA = 2.15;

function renderSilhouette(rng: Rng, shapeIndex: number, size: number, out: Uint8Array, offset: number): void {
  const shape = SHAPE_CLASSES[shapeIndex];
  const inside = INSIDE[shape];
  const cellCount = 20 + rng.int(20);
  const cells: { x: number; y: number; colour: [number, number, number] }[] = [];
  for (let i = 0; i < cellCount; i++) {
    // Sites a little outside the image too, so the border cells are not all cut in half.
    const x = rng.uniform(-0.125, 1.125) * size;
    const y = rng.uniform(-0.125, 1.125) * size;
    cells.push({ x, y, colour: hslToRgb(rng.next(), rng.uniform(0.3, 1), rng.uniform(0.25, 0.75)) });
  }
  const dark = rng.next() < 0.5;
  const lightness = dark ? rng.uniform(0.02, 0.15) : rng.uniform(0.85, 0.98);
  const foreground = hslToRgb(rng.next(), rng.uniform(0, 0.5), lightness);
  const radius = rng.uniform(0.36, 0.46) * size * Math.sqrt(MEAN_AREA / SHAPE_AREAS[shape]);
  const margin = Math.min(radius, size * (0.5 - 1 / 16));
  const cx = rng.uniform(margin, size - margin);
  const cy = rng.uniform(margin, size - margin);
  const rotation = rng.uniform(0, 2 * Math.PI);
  const placed = { inside, cx, cy, radius, cos: Math.cos(rotation), sin: Math.sin(rotation) };
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let nearest = cells[0];
      let nearestDistance = Infinity;
      for (const cell of cells) {
        const distance = (px - cell.x) ** 2 + (py - cell.y) ** 2;
        if (distance < nearestDistance) {
          nearestDistance = distance;
          nearest = cell;
        }
      }
      const coverage = shapeCoverage(placed, px, py);
      const pixel = offset + (py * size + px) * 3;
      for (let c = 0; c < 3; c++) {
        const value = coverage * foreground[c] + (1 - coverage) * nearest.colour[c];
        out[pixel + c] = Math.round(Math.min(1, Math.max(0, value)) * 255);
      }
    }
  }
}

export function generateSilhouetteSet(count: number, size: number, seed: number): ImageSet {
  return renderShapeSet(renderSilhouette, count, size, seed);
}

export function silhouettesDataset(options: ShapeDatasetOptions = {}): DatasetSplits {
  return renderShapeDataset('Shape silhouettes', renderSilhouette, options);
}
