/**
 * Square thumbnails from decoded pixels: the centred square of side min(width, height) is resampled
 * to size × size. Downscaling averages the source area each output pixel covers (exact box
 * filter, fractional edges included), so small images do not alias; upscaling is bilinear. Pure,
 * so the Node loader and the browser can share it.
 */

/** Source pixels and their weights for one output coordinate along one axis. */
interface AxisTap {
  first: number;
  weights: Float64Array;
}

/**
 * Taps mapping `outSize` output coordinates onto the source interval [start, start + span) of an
 * axis `length` pixels long.
 */
export function axisTaps(length: number, start: number, span: number, outSize: number): AxisTap[] {
  const scale = span / outSize;
  const taps: AxisTap[] = [];
  for (let j = 0; j < outSize; j++) {
    if (scale >= 1) {
      // Box filter: overlap of [lo, hi) with each source pixel [k, k + 1), normalised by the box width.
      const lo = start + j * scale;
      const hi = lo + scale;
      const first = Math.floor(lo);
      const last = Math.min(Math.ceil(hi) - 1, length - 1);
      const weights = new Float64Array(last - first + 1);
      for (let k = first; k <= last; k++) weights[k - first] = (Math.min(hi, k + 1) - Math.max(lo, k)) / scale;
      taps.push({ first, weights });
    } else {
      // Bilinear between the two source pixels around the output pixel's centre.
      const centre = Math.min(Math.max(start + (j + 0.5) * scale - 0.5, 0), length - 1);
      const first = Math.min(Math.floor(centre), Math.max(length - 2, 0));
      const fraction = centre - first;
      taps.push({ first, weights: length > 1 ? Float64Array.of(1 - fraction, fraction) : Float64Array.of(1) });
    }
  }
  return taps;
}

/**
 * Centre-crops `pixels` (row-major, `channels` per pixel; the first three are RGB, a fourth alpha
 * channel is ignored) to a square and resamples it to `size` × `size` RGB.
 */
export function resizeCentreSquare(pixels: ArrayLike<number>, width: number, height: number, channels: number, size: number): Uint8Array {
  if (width < 1 || height < 1) throw new Error(`Cannot resize an empty image (${width}×${height})`);
  if (channels < 3) throw new Error(`Expected RGB or RGBA pixels, got ${channels} channel(s)`);
  if (pixels.length < width * height * channels) throw new Error(`Image data is shorter than ${width}×${height}×${channels}`);
  const side = Math.min(width, height);
  const xTaps = axisTaps(width, (width - side) / 2, side, size);
  const yTaps = axisTaps(height, (height - side) / 2, side, size);

  // Horizontal pass over every source row, then a vertical pass: separable, O(width·height).
  const rows = new Float64Array(height * size * 3);
  for (let y = 0; y < height; y++) {
    const rowIn = y * width * channels;
    for (let j = 0; j < size; j++) {
      const { first, weights } = xTaps[j];
      let r = 0;
      let g = 0;
      let b = 0;
      for (let t = 0; t < weights.length; t++) {
        const p = rowIn + (first + t) * channels;
        r += weights[t] * pixels[p];
        g += weights[t] * pixels[p + 1];
        b += weights[t] * pixels[p + 2];
      }
      const q = (y * size + j) * 3;
      rows[q] = r;
      rows[q + 1] = g;
      rows[q + 2] = b;
    }
  }
  const out = new Uint8Array(size * size * 3);
  for (let i = 0; i < size; i++) {
    const { first, weights } = yTaps[i];
    for (let j = 0; j < size; j++) {
      for (let c = 0; c < 3; c++) {
        let value = 0;
        for (let t = 0; t < weights.length; t++) value += weights[t] * rows[((first + t) * size + j) * 3 + c];
        out[(i * size + j) * 3 + c] = Math.min(255, Math.max(0, Math.round(value)));
      }
    }
  }
  return out;
}
