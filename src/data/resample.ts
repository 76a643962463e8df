/**
 * CPU resampling to the square training resolution: the largest centred square (shorter side,
 * centre crop), then area averaging when shrinking and bilinear interpolation when enlarging.
 * Pure TypeScript, so built-in sets and Node loaders resize exactly as the tests check. Browsers
 * decode folders with createImageBitmap instead (same crop geometry; see browser-decode.ts).
 */

/** Background transparent pixels are composited over (white, as image viewers show them). */
export const ALPHA_BACKGROUND = 255;

export interface SquareCrop {
  x: number;
  y: number;
  side: number;
}

/** The largest centred square of a width × height image. */
export function centreSquare(width: number, height: number): SquareCrop {
  const side = Math.min(width, height);
  return { x: Math.floor((width - side) / 2), y: Math.floor((height - side) / 2), side };
}

/** Source taps and weights, for each output index, along one axis of `inSize` → `outSize`. */
function axisWeights(inSize: number, outSize: number): { index: number[]; weight: number[] }[] {
  const scale = inSize / outSize;
  return Array.from({ length: outSize }, (_, o) => {
    const index: number[] = [];
    const weight: number[] = [];
    if (scale > 1) {
      // Area average: each output pixel covers [o·scale, (o + 1)·scale) of the input.
      const start = o * scale;
      const end = start + scale;
      for (let i = Math.floor(start); i < Math.min(inSize, Math.ceil(end)); i++) {
        const overlap = Math.min(end, i + 1) - Math.max(start, i);
        if (overlap > 0) {
          index.push(i);
          weight.push(overlap / scale);
        }
      }
    } else {
      // Bilinear with pixel centres aligned (half-pixel convention), clamped at the edges.
      const position = Math.min(inSize - 1, Math.max(0, (o + 0.5) * scale - 0.5));
      const low = Math.floor(position);
      const high = Math.min(inSize - 1, low + 1);
      const t = position - low;
      index.push(low, high);
      weight.push(1 - t, t);
    }
    return { index, weight };
  });
}

/**
 * Resizes interleaved 8-bit pixels (1 = gray, 3 = RGB, 4 = RGBA) to `size` × `size` RGB: gray is
 * replicated, alpha is composited over ALPHA_BACKGROUND.
 */
export function resampleToSquare(pixels: Uint8Array | Uint8ClampedArray, width: number, height: number, channels: 1 | 3 | 4, size: number): Uint8Array {
  const crop = centreSquare(width, height);
  const rows = axisWeights(crop.side, size);
  const columns = axisWeights(crop.side, size);
  const out = new Uint8Array(size * size * 3);
  const rgba = [0, 0, 0, 0];
  for (let oy = 0; oy < size; oy++) {
    const row = rows[oy];
    for (let ox = 0; ox < size; ox++) {
      const column = columns[ox];
      let r = 0;
      let g = 0;
      let b = 0;
      for (let i = 0; i < row.index.length; i++) {
        const y = crop.y + row.index[i];
        for (let j = 0; j < column.index.length; j++) {
          const w = row.weight[i] * column.weight[j];
          const at = (y * width + crop.x + column.index[j]) * channels;
          if (channels === 1) rgba.fill(pixels[at], 0, 3);
          else for (let c = 0; c < 3; c++) rgba[c] = pixels[at + c];
          // Composite each source pixel before averaging, so hidden colour under alpha 0 never leaks.
          const alpha = channels === 4 ? pixels[at + 3] / 255 : 1;
          r += w * (alpha * rgba[0] + (1 - alpha) * ALPHA_BACKGROUND);
          g += w * (alpha * rgba[1] + (1 - alpha) * ALPHA_BACKGROUND);
          b += w * (alpha * rgba[2] + (1 - alpha) * ALPHA_BACKGROUND);
        }
      }
      const o = (oy * size + ox) * 3;
      out[o] = Math.round(r);
      out[o + 1] = Math.round(g);
      out[o + 2] = Math.round(b);
    }
  }
  return out;
}
