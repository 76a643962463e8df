/**
 * A procedurally generated "coloured shapes" dataset. The class is the shape; colour, background,
 * position, size, rotation and texture are nuisances. A network that leans on colour will fail here,
 * which is why colour jitter and cropping matter. Generated from a seed in a few milliseconds, so
 * the first run of the app needs no download and no preparation.
 */
import type { DatasetSplits, ImageSet } from '../engine/dataset';
import { Rng } from '../engine/random';

export const SHAPE_CLASSES = ['circle', 'square', 'triangle', 'cross', 'ring', 'star'] as const;

/** Inside-test for each shape in its own frame: unit radius, centred at the origin. */
export const INSIDE: Record<(typeof SHAPE_CLASSES)[number], (x: number, y: number) => boolean> = {
  circle: (x, y) => x * x + y * y <= 1,
  square: (x, y) => Math.abs(x) <= 0.8 && Math.abs(y) <= 0.8,
  // Equilateral: inside the three half-planes whose outward normals point down, up-right and up-left.
  triangle: (x, y) => -y <= 0.5 && 0.866 * x + 0.5 * y <= 0.5 && -0.866 * x + 0.5 * y <= 0.5,
  cross: (x, y) => (Math.abs(x) <= 0.3 && Math.abs(y) <= 1) || (Math.abs(y) <= 0.3 && Math.abs(x) <= 1),
  ring: (x, y) => {
    const r2 = x * x + y * y;
    return r2 <= 1 && r2 >= 0.45;
  },
  star: (x, y) => {
    const angle = Math.atan2(y, x);
    const radius = Math.sqrt(x * x + y * y);
    return radius <= 0.45 + 0.55 * Math.abs(Math.cos((5 * angle) / 2));
  },
};

export function hslToRgb(h: number, s: number, l: number): [number, number, number] {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => {
    const k = (n + h * 12) % 12;
    return l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
  };
  return [f(0), f(8), f(4)];
}

/** A shape placed in an image: centre and radius in pixels, rotation as its cosine and sine. */
export interface PlacedShape {
  inside: (x: number, y: number) => boolean;
  cx: number;
  cy: number;
  radius: number;
  cos: number;
  sin: number;
}

/** The share of pixel (px, py) the shape covers, from 2×2 samples (anti-aliased edges). */
export function shapeCoverage(shape: PlacedShape, px: number, py: number): number {
  const { inside, cx, cy, radius, cos, sin } = shape;
  let coverage = 0;
  for (let sy = 0; sy < 2; sy++) {
    for (let sx = 0; sx < 2; sx++) {
      const dx = (px + (sx + 0.5) / 2 - cx) / radius;
      const dy = (py + (sy + 0.5) / 2 - cy) / radius;
      if (inside(cos * dx + sin * dy, -sin * dx + cos * dy)) coverage += 1;
    }
  }
  return coverage / 4;
}

function renderShape(rng: Rng, shapeIndex: number, size: number, out: Uint8Array, offset: number): void {
  const inside = INSIDE[SHAPE_CLASSES[shapeIndex]];
  const hue = rng.next();
  const foreground = hslToRgb(hue, rng.uniform(0.5, 1), rng.uniform(0.35, 0.65));
  const background = hslToRgb((hue + rng.uniform(0.25, 0.75)) % 1, rng.uniform(0, 0.6), rng.uniform(0.1, 0.9));
  const radius = rng.uniform(0.22, 0.4) * size;
  const cx = rng.uniform(radius, size - radius);
  const cy = rng.uniform(radius, size - radius);
  const rotation = rng.uniform(0, 2 * Math.PI);
  const placed = { inside, cx, cy, radius, cos: Math.cos(rotation), sin: Math.sin(rotation) };
  const stripes = rng.bernoulli(0.5) ? rng.uniform(0.5, 1.5) : 0;
  const noise = rng.uniform(0, 0.12);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      const coverage = shapeCoverage(placed, px, py);
      const texture = stripes > 0 ? 0.85 + 0.15 * Math.sin((px + py) * stripes) : 1;
      const grain = (rng.next() - 0.5) * noise;
      const pixel = offset + (py * size + px) * 3;
      for (let c = 0; c < 3; c++) {
        const value = coverage * foreground[c] * texture + (1 - coverage) * background[c] + grain;
        out[pixel + c] = Math.round(Math.min(1, Math.max(0, value)) * 255);
      }
    }
  }
}

/** Draws one image of class `shapeIndex` into `out` at `offset` (size × size × 3 bytes), from `rng`. */
export type ShapeRenderer = (rng: Rng, shapeIndex: number, size: number, out: Uint8Array, offset: number) => void;

/** `count` images drawn by `render` from one seeded generator, the classes in turn (balanced labels). */
export function renderShapeSet(render: ShapeRenderer, count: number, size: number, seed: number): ImageSet {
  const rng = new Rng(seed);
  const pixels = new Uint8Array(count * size * size * 3);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    labels[i] = i % SHAPE_CLASSES.length;
    render(rng, labels[i], size, pixels, i * size * size * 3);
  }
  return { count, size, pixels, labels };
}

export interface ShapeDatasetOptions {
  trainCount?: number;
  testCount?: number;
  size?: number;
  seed?: number;
}

/** A built-in shape dataset: train and test sets drawn by `render` from two seeds. */
export function renderShapeDataset(name: string, render: ShapeRenderer, options: ShapeDatasetOptions): DatasetSplits {
  const { trainCount = 1200, testCount = 300, size = 32, seed = 2024 } = options;
  return {
    name,
    classNames: [...SHAPE_CLASSES],
    train: renderShapeSet(render, trainCount, size, seed),
    test: renderShapeSet(render, testCount, size, seed + 1),
  };
}

export function generateShapeSet(count: number, size: number, seed: number): ImageSet {
  return renderShapeSet(renderShape, count, size, seed);
}

export function shapesDataset(options: ShapeDatasetOptions = {}): DatasetSplits {
  return renderShapeDataset('Coloured shapes', renderShape, options);
}
