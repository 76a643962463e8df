import { describe, expect, it } from 'vitest';
import { ALPHA_BACKGROUND, centreSquare, resampleToSquare } from './resample';

describe('centreSquare', () => {
  it('takes the shorter side, centred', () => {
    expect(centreSquare(100, 60)).toEqual({ x: 20, y: 0, side: 60 });
    expect(centreSquare(5, 8)).toEqual({ x: 0, y: 1, side: 5 });
    expect(centreSquare(1, 1)).toEqual({ x: 0, y: 0, side: 1 });
  });
});

describe('resampleToSquare', () => {
  it('returns an RGB image unchanged at its own size', () => {
    const rgb = Uint8Array.from({ length: 4 * 4 * 3 }, (_, i) => (i * 37) % 256);
    expect(resampleToSquare(rgb, 4, 4, 3, 4)).toEqual(rgb);
  });

  it('averages 2 × 2 blocks when halving', () => {
    const gray = Uint8Array.from([0, 100, 10, 20, 200, 60, 30, 40, 1, 2, 3, 4, 5, 6, 7, 8]);
    const out = resampleToSquare(gray, 4, 4, 1, 2);
    const expected = [(0 + 100 + 200 + 60) / 4, (10 + 20 + 30 + 40) / 4, (1 + 2 + 5 + 6) / 4, (3 + 4 + 7 + 8) / 4].map(Math.round);
    expect(Array.from(out)).toEqual(expected.flatMap((v) => [v, v, v]));
  });

  it('weights partial pixels by their overlap when the scale is not a whole number (3 → 2)', () => {
    // Output pixel 0 covers input [0, 1.5): all of pixel 0, half of pixel 1.
    const gray = Uint8Array.from([30, 90, 240, 30, 90, 240, 30, 90, 240]);
    const out = resampleToSquare(gray, 3, 3, 1, 2);
    expect(out[0]).toBe(Math.round((30 + 0.5 * 90) / 1.5));
    expect(out[3]).toBe(Math.round((0.5 * 90 + 240) / 1.5));
  });

  it('crops the centre square of a wide image before resizing', () => {
    // 6 × 2: columns 0–1 red, 2–3 green, 4–5 blue; the centre 2 × 2 is all green.
    const rgb = new Uint8Array(6 * 2 * 3);
    for (let y = 0; y < 2; y++) for (let x = 0; x < 6; x++) rgb[(y * 6 + x) * 3 + Math.floor(x / 2)] = 255;
    const out = resampleToSquare(rgb, 6, 2, 3, 1);
    expect(Array.from(out)).toEqual([0, 255, 0]);
  });

  it('enlarges a 1 × 1 image to a constant square', () => {
    const out = resampleToSquare(Uint8Array.from([10, 20, 30]), 1, 1, 3, 5);
    for (let i = 0; i < out.length; i += 3) expect(Array.from(out.subarray(i, i + 3))).toEqual([10, 20, 30]);
  });

  it('interpolates linearly between pixel centres when enlarging', () => {
    const out = resampleToSquare(Uint8Array.from([0, 100, 0, 100]), 2, 2, 1, 4);
    // Output centres at input positions −0.25, 0.25, 0.75, 1.25: clamped, then 25 % and 75 % of the way.
    expect([0, 1, 2, 3].map((x) => out[x * 3])).toEqual([0, 25, 75, 100]);
  });

  it('composites alpha over the background, per source pixel', () => {
    // Left pixel: opaque black. Right pixel: fully transparent red, which must not show.
    const rgba = Uint8Array.from([0, 0, 0, 255, 255, 0, 0, 0, 0, 0, 0, 255, 255, 0, 0, 0]);
    const out = resampleToSquare(rgba, 2, 2, 4, 2);
    expect(Array.from(out.subarray(0, 6))).toEqual([0, 0, 0, ALPHA_BACKGROUND, ALPHA_BACKGROUND, ALPHA_BACKGROUND]);
    const half = resampleToSquare(Uint8Array.from([0, 0, 0, 128]), 1, 1, 4, 1);
    expect(half[0]).toBe(Math.round((1 - 128 / 255) * ALPHA_BACKGROUND));
  });
});
