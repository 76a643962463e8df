import { describe, expect, it } from 'vitest';
import { axisTaps, resizeCentreSquare } from './resize';

/** RGBA pixels whose red channel is `red(x, y)`, green 0, blue 255, alpha 255. */
function rgba(width: number, height: number, red: (x: number, y: number) => number): Uint8Array {
  const pixels = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) pixels.set([red(x, y), 0, 255, 255], (y * width + x) * 4);
  }
  return pixels;
}

const reds = (rgb: Uint8Array) => Array.from(rgb.filter((_, i) => i % 3 === 0));

describe('resizeCentreSquare', () => {
  it('averages each 2×2 block when halving (box filter)', () => {
    // 4×4 with red = 10·x + 40·y: block means are the means of their four corners.
    const out = resizeCentreSquare(rgba(4, 4, (x, y) => 10 * x + 40 * y), 4, 4, 4, 2);
    expect(reds(out)).toEqual([25, 45, 105, 125]);
    expect(Array.from(out.filter((_, i) => i % 3 === 2))).toEqual([255, 255, 255, 255]);
  });

  it('covers fractional source pixels by their overlap (3 px → 2 px)', () => {
    // Each output pixel covers 1.5 source pixels: weights 2/3 and 1/3 per axis.
    expect(axisTaps(3, 0, 3, 2).map((t) => [t.first, Array.from(t.weights)])).toEqual([
      [0, [2 / 3, 1 / 3]],
      [1, [1 / 3, 2 / 3]],
    ]);
    const out = resizeCentreSquare(rgba(3, 3, (x) => [0, 90, 180][x]), 3, 3, 4, 2);
    // Row values: (2/3·0 + 1/3·90) = 30 and (1/3·90 + 2/3·180) = 150, the same on every row.
    expect(reds(out)).toEqual([30, 150, 30, 150]);
  });

  it('centre-crops the longer side before resizing', () => {
    // 6 wide × 2 high: the centred 2×2 square is columns 2 and 3.
    const out = resizeCentreSquare(rgba(6, 2, (x) => x * 20), 6, 2, 4, 2);
    expect(reds(out)).toEqual([40, 60, 40, 60]);
    const tall = resizeCentreSquare(rgba(1, 3, (_, y) => y * 100), 1, 3, 4, 1);
    expect(reds(tall)).toEqual([100]);
  });

  it('keeps pixels unchanged at the same size and interpolates bilinearly when enlarging', () => {
    const pattern = rgba(3, 3, (x, y) => x * 7 + y * 50);
    expect(reds(resizeCentreSquare(pattern, 3, 3, 4, 3))).toEqual([0, 7, 14, 50, 57, 64, 100, 107, 114]);
    // 2 px → 4 px: centres at source −0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1).
    const square = resizeCentreSquare(rgba(2, 2, (x) => x * 200), 2, 2, 4, 4);
    expect(reds(square).slice(0, 4)).toEqual([0, 50, 150, 200]);
    // A 2×1 image is cropped to its centred 1-pixel square (x from 0.5 to 1.5): sample centres x = 0.125, 0.375, 0.625, 0.875.
    const wide = resizeCentreSquare(rgba(2, 1, (x) => x * 200), 2, 1, 4, 4);
    expect(reds(wide)).toEqual([25, 75, 125, 175, 25, 75, 125, 175, 25, 75, 125, 175, 25, 75, 125, 175]);
  });

  it('reads RGB input without an alpha channel and rejects bad shapes', () => {
    const rgb = Uint8Array.from([10, 20, 30, 50, 60, 70, 90, 100, 110, 130, 140, 150]);
    expect(Array.from(resizeCentreSquare(rgb, 2, 2, 3, 1))).toEqual([70, 80, 90]);
    expect(() => resizeCentreSquare(rgb, 0, 2, 3, 1)).toThrow(/empty image/);
    expect(() => resizeCentreSquare(rgb, 4, 4, 3, 1)).toThrow(/shorter/);
  });
});
