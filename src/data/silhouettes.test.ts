import { describe, expect, it } from 'vitest';
import { INSIDE, SHAPE_CLASSES } from './shapes';
import { SHAPE_AREAS, generateSilhouetteSet, silhouettesDataset } from './silhouettes';

/** The silhouette's pixels: near-black or near-white. No mosaic colour (lightness 0.25–0.75, saturation ≥ 0.3) is either. */
function silhouetteFraction(pixels: Uint8Array, image: number, size: number): number {
  let count = 0;
  for (let p = 0; p < size * size; p++) {
    const o = (image * size * size + p) * 3;
    const rgb = [pixels[o], pixels[o + 1], pixels[o + 2]];
    if (Math.max(...rgb) <= 58 || Math.min(...rgb) >= 197) count += 1;
  }
  return count / (size * size);
}

describe('shape silhouettes', () => {
  it('states each shape’s area in its own frame as a fine grid integrates it', () => {
    const n = 400;
    for (const shape of SHAPE_CLASSES) {
      let inside = 0;
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (INSIDE[shape](-1.2 + (2.4 * (i + 0.5)) / n, -1.2 + (2.4 * (j + 0.5)) / n)) inside += 1;
      expect(inside * (2.4 / n) ** 2).toBeCloseTo(SHAPE_AREAS[shape], 1);
    }
  });

  it('gives every class the same silhouette area on average, unlike the shapes’ own areas (a circle 2.4 triangles)', () => {
    const size = 32;
    const set = generateSilhouetteSet(600, size, 7);
    const byClass = SHAPE_CLASSES.map(() => [] as number[]);
    for (let i = 0; i < set.count; i++) byClass[set.labels![i]].push(silhouetteFraction(set.pixels, i, size));
    const means = byClass.map((f) => f.reduce((a, b) => a + b) / f.length);
    expect(Math.min(...means)).toBeGreaterThan(0.2);
    expect(Math.max(...means) / Math.min(...means)).toBeLessThan(1.2);
    expect(SHAPE_AREAS.circle / SHAPE_AREAS.triangle).toBeGreaterThan(2.4);
  });

  it('draws silhouettes dark and light in about equal numbers, in every class', () => {
    const size = 32;
    const set = generateSilhouetteSet(600, size, 11);
    for (let cls = 0; cls < SHAPE_CLASSES.length; cls++) {
      let dark = 0;
      let total = 0;
      for (let i = cls; i < set.count; i += SHAPE_CLASSES.length) {
        let darkPixels = 0;
        let lightPixels = 0;
        for (let p = 0; p < size * size; p++) {
          const o = (i * size * size + p) * 3;
          if (Math.max(set.pixels[o], set.pixels[o + 1], set.pixels[o + 2]) <= 58) darkPixels += 1;
          if (Math.min(set.pixels[o], set.pixels[o + 1], set.pixels[o + 2]) >= 197) lightPixels += 1;
        }
        // One polarity per image: the other shows only where nothing of the silhouette is.
        expect(Math.min(darkPixels, lightPixels)).toBe(0);
        dark += darkPixels > lightPixels ? 1 : 0;
        total += 1;
      }
      expect(dark / total).toBeGreaterThan(0.3);
      expect(dark / total).toBeLessThan(0.7);
    }
  });

  it('is the same for the same seed, at any size, with balanced labels and a held-out split from another seed', () => {
    const a = silhouettesDataset({ trainCount: 60, testCount: 12, size: 16, seed: 3 });
    const b = silhouettesDataset({ trainCount: 60, testCount: 12, size: 16, seed: 3 });
    expect(a.train.pixels).toEqual(b.train.pixels);
    expect(a.train.pixels.length).toBe(60 * 16 * 16 * 3);
    expect(a.test!.pixels).not.toEqual(a.train.pixels.subarray(0, a.test!.pixels.length));
    expect(a.classNames).toEqual([...SHAPE_CLASSES]);
    const counts = SHAPE_CLASSES.map((_, c) => Array.from(a.train.labels!).filter((l) => l === c).length);
    expect(counts).toEqual(SHAPE_CLASSES.map(() => 10));
  });
});
