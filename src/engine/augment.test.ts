import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  EDGE_INSET,
  IDENTITY_VIEW,
  PARAMETER,
  PARAMETER_COUNT,
  augmentBatch,
  augmentComposite,
  augmentationProblems,
  drawViewParameters,
  sampleCropBox,
  standardView,
  type ViewAugmentation,
  type ViewParameters,
} from './augment';
import { Rng } from './random';

/** Random images in [0, 1], NHWC. */
function randomImages(n: number, size: number, seed = 1, low = 0, high = 1): tf.Tensor4D {
  const rng = new Rng(seed);
  return tf.tensor4d(Float32Array.from({ length: n * size * size * 3 }, () => rng.uniform(low, high)), [n, size, size, 3]);
}

/** Channel 0 = x / (W − 1), channel 1 = y / (H − 1), channel 2 = 0.5: every pixel names its position. */
function coordinateImages(n: number, size: number): tf.Tensor4D {
  const values = new Float32Array(n * size * size * 3);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const i = ((b * size + y) * size + x) * 3;
        values[i] = x / (size - 1);
        values[i + 1] = y / (size - 1);
        values[i + 2] = 0.5;
      }
    }
  }
  return tf.tensor4d(values, [n, size, size, 3]);
}

function run(images: tf.Tensor4D, view: ViewAugmentation, outSize: number, seed: number): Float32Array {
  return tf.tidy(() => augmentBatch(images, view, outSize, new Rng(seed)).dataSync() as Float32Array);
}

function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

const view = (changes: Partial<ViewAugmentation>): ViewAugmentation => ({ ...IDENTITY_VIEW, ...changes });
const jitterOnly = (jitter: Partial<NonNullable<ViewAugmentation['colorJitter']>>) =>
  view({ colorJitter: { probability: 1, brightness: 0, contrast: 0, saturation: 0, hue: 0, ...jitter } });

/** Pixel extent of a normalised box on an H × W image: [rows, columns]. */
function boxPixels(box: number[], height: number, width: number): [number, number] {
  return [Math.round(Math.abs(box[2] - box[0]) * (height - 1)) + 1, Math.round(Math.abs(box[3] - box[1]) * (width - 1)) + 1];
}

describe('sampleCropBox', () => {
  it('keeps the crop area within the requested scale range and the aspect ratio within its range', () => {
    const rng = new Rng(5);
    const [height, width] = [300, 200];
    const areas: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const box = sampleCropBox(rng, height, width, [0.2, 0.6], [3 / 4, 4 / 3]);
      for (const v of box) expect(v >= 0 && v <= 1).toBe(true);
      expect(box[2]).toBeGreaterThan(box[0]);
      expect(box[3]).toBeGreaterThan(box[1]);
      const [h, w] = boxPixels(box, height, width);
      const area = (h * w) / (height * width);
      // Sides are rounded to whole pixels: at most half a pixel each.
      expect(area).toBeGreaterThanOrEqual(0.2 * (1 - 1 / Math.min(h, w)));
      expect(area).toBeLessThanOrEqual(0.6 * (1 + 1 / Math.min(h, w)));
      expect(w / h).toBeGreaterThanOrEqual((3 / 4) * (1 - 1 / h));
      expect(w / h).toBeLessThanOrEqual((4 / 3) * (1 + 1 / h));
      areas.push(area);
    }
    // The whole range is used, not one corner of it.
    expect(Math.min(...areas)).toBeLessThan(0.22);
    expect(Math.max(...areas)).toBeGreaterThan(0.58);
  });

  it('falls back to the largest centred crop with an allowed ratio when sampling fails', () => {
    // A 1:1 crop of the full area cannot fit a 50 × 100 image: ten attempts fail, then a centred 50 × 50.
    const box = sampleCropBox(new Rng(1), 50, 100, [1, 1], [1, 1]);
    expect(box[0]).toBeCloseTo(0, 12);
    expect(box[2]).toBeCloseTo(1, 12);
    expect(box[1]).toBeCloseTo(25 / 99, 12);
    expect(box[3]).toBeCloseTo(74 / 99, 12);
  });

  it('returns the full image for scale [1, 1] on a square image', () => {
    expect(sampleCropBox(new Rng(2), 32, 32, [1, 1], [1, 1])).toEqual([0, 0, 1, 1]);
  });
});

describe('augmentBatch geometry', () => {
  // Boxes are pulled in by 1e-5 of the image so that no sample falls outside it (see EDGE_INSET):
  // pixels move by at most 1e-5·(size − 1), so values by at most that much on an image in [0, 1].
  const EDGE = 2e-4;

  it('returns the input unchanged under identity settings', () => {
    const images = randomImages(3, 12);
    expect(maxAbsDifference(run(images, IDENTITY_VIEW, 12, 1), images.dataSync())).toBeLessThan(EDGE);
    // Every augmentation switched on but with neutral strengths is still the identity.
    const neutral: ViewAugmentation = {
      crop: { scale: [1, 1], ratio: [1, 1] },
      flipProbability: 0,
      colorJitter: { probability: 1, brightness: 0, contrast: 0, saturation: 0, hue: 0 },
      grayscaleProbability: 0,
      blur: { probability: 1, sigma: [0, 0] },
      solarizeProbability: 0,
    };
    expect(maxAbsDifference(run(images, neutral, 12, 2), images.dataSync())).toBeLessThan(EDGE);
  });

  it('returns a tensor of its own, so disposing the output keeps the input', () => {
    const images = randomImages(2, 4);
    const out = augmentBatch(images, IDENTITY_VIEW, 4, new Rng(1));
    out.dispose();
    expect(images.isDisposed).toBe(false);
    expect(images.dataSync()).toHaveLength(2 * 4 * 4 * 3);
  });

  it('flips: probability 1 mirrors every image left to right, exactly', () => {
    const images = randomImages(2, 9, 3);
    const expected = tf.reverse(images, 2).dataSync();
    expect(maxAbsDifference(run(images, view({ flipProbability: 1 }), 9, 4), expected)).toBeLessThan(EDGE);
  });

  it('flips about half of the images at probability 0.5, and flips nothing else', () => {
    const n = 200;
    const images = coordinateImages(n, 8);
    const out = run(images, view({ flipProbability: 0.5 }), 8, 6);
    let flipped = 0;
    for (let b = 0; b < n; b++) {
      const left = out[b * 8 * 8 * 3];
      const right = out[(b * 8 * 8 + 7) * 3];
      if (left > 0.999 && right < 0.001) flipped++;
      else expect(left < 0.001 && right > 0.999).toBe(true);
    }
    // Binomial(200, 0.5): 4 standard deviations is ±28.
    expect(Math.abs(flipped - 100)).toBeLessThan(28);
  });

  it('crops the box sampleCropBox draws, within the requested area range, and resizes it to the output size', () => {
    const size = 40;
    const outSize = 10;
    const n = 32;
    const crop = { scale: [0.3, 0.7] as [number, number], ratio: [3 / 4, 4 / 3] as [number, number] };
    const out = run(coordinateImages(n, size), view({ crop, flipProbability: 0.5 }), outSize, 11);
    // Replaying the generator gives the boxes augmentBatch used (one box, then one flip draw, per image).
    const replay = new Rng(11);
    for (let b = 0; b < n; b++) {
      const box = sampleCropBox(replay, size, size, crop.scale, crop.ratio);
      const flipped = replay.bernoulli(0.5);
      const at = (y: number, x: number, c: number) => out[((b * outSize + y) * outSize + x) * 3 + c];
      const [x1, x2] = flipped ? [box[3], box[1]] : [box[1], box[3]];
      const inset = (v: number) => EDGE_INSET + v * (1 - 2 * EDGE_INSET);
      expect(at(0, 0, 0)).toBeCloseTo(inset(x1), 5);
      expect(at(0, outSize - 1, 0)).toBeCloseTo(inset(x2), 5);
      expect(at(0, 0, 1)).toBeCloseTo(inset(box[0]), 5);
      expect(at(outSize - 1, 0, 1)).toBeCloseTo(inset(box[2]), 5);
      // Read back from the pixels alone: the area of the crop is within the requested range.
      const width = Math.round(Math.abs(at(0, outSize - 1, 0) - at(0, 0, 0)) * (size - 1)) + 1;
      const height = Math.round((at(outSize - 1, 0, 1) - at(0, 0, 1)) * (size - 1)) + 1;
      const area = (width * height) / (size * size);
      expect(area).toBeGreaterThanOrEqual(0.3 * (1 - 1 / Math.min(width, height)));
      expect(area).toBeLessThanOrEqual(0.7 * (1 + 1 / Math.min(width, height)));
    }
  });

  it('never samples outside the image: no black rows or columns from the crop, at any output size', () => {
    // Every input value is at least 0.1, so a 0 can only be cropAndResize's extrapolation value.
    const images = randomImages(64, 32, 17, 0.1, 1);
    const crop = view({ crop: { scale: [0.08, 1], ratio: [3 / 4, 4 / 3] }, flipProbability: 0.5 });
    for (const outSize of [8, 16, 24, 32, 64, 96]) {
      for (const recipe of [IDENTITY_VIEW, view({ flipProbability: 1 }), crop]) {
        expect(run(images, recipe, outSize, outSize).reduce((a, b) => Math.min(a, b))).toBeGreaterThanOrEqual(0.1 - 1e-6);
      }
    }
  });

  it('is deterministic under a seed and changes with it', () => {
    const images = randomImages(4, 16, 9);
    const recipe = { ...standardView({ blur: 0.5, solarize: 0.5 }) };
    const a = run(images, recipe, 16, 21);
    const b = run(images, recipe, 16, 21);
    const c = run(images, recipe, 16, 22);
    expect(maxAbsDifference(a, b)).toBe(0);
    expect(maxAbsDifference(a, c)).toBeGreaterThan(0.05);
  });
});

describe('augmentBatch colour and filters', () => {
  it('grayscale replaces every channel with the luma 0.299 R + 0.587 G + 0.114 B', () => {
    const images = randomImages(2, 5, 12);
    const input = images.dataSync();
    const out = run(images, view({ grayscaleProbability: 1 }), 5, 1);
    for (let p = 0; p < input.length; p += 3) {
      const luma = 0.299 * input[p] + 0.587 * input[p + 1] + 0.114 * input[p + 2];
      for (let c = 0; c < 3; c++) expect(out[p + c]).toBeCloseTo(luma, 5);
    }
  });

  it('solarisation inverts values at or above 0.5 and keeps the others', () => {
    const values = [0, 0.2, 0.49, 0.5, 0.75, 1, 0.3, 0.6, 0.9, 0.1, 0.55, 0.45];
    const image = tf.tensor4d(values, [1, 2, 2, 3]);
    const out = run(image, view({ solarizeProbability: 1 }), 2, 1);
    values.forEach((v, i) => expect(out[i]).toBeCloseTo(v >= 0.5 ? 1 - v : v, 6));
  });

  it('blur keeps a constant image constant, up to the borders', () => {
    const image = tf.fill([2, 10, 10, 3], 0.3) as tf.Tensor4D;
    const out = run(image, view({ blur: { probability: 1, sigma: [0.5, 3] } }), 10, 3);
    for (const v of out) expect(v).toBeCloseTo(0.3, 5);
  });

  it('blurs an impulse into the separable Gaussian g(dy)·g(dx) / (Σg)², keeping its mass', () => {
    const size = 21;
    const centre = 10;
    const values = new Float32Array(size * size * 3);
    values[(centre * size + centre) * 3] = 1;
    const out = run(tf.tensor4d(values, [1, size, size, 3]), view({ blur: { probability: 1, sigma: [1.5, 1.5] } }), size, 4);
    const g = (d: number) => Math.exp(-(d * d) / (2 * 1.5 * 1.5));
    let norm = 0;
    for (let d = -centre; d <= centre; d++) norm += g(d);
    let mass = 0;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const v = out[(y * size + x) * 3];
        expect(v).toBeCloseTo((g(y - centre) * g(x - centre)) / (norm * norm), 6);
        mass += v;
      }
    }
    expect(mass).toBeCloseTo(1, 4);
  });

  it('hue rotation keeps greys, luma and chroma magnitude (no clipping for mid-range colours)', () => {
    const images = randomImages(8, 4, 13, 0.35, 0.65);
    const input = images.dataSync();
    const out = run(images, jitterOnly({ hue: 0.08 }), 4, 5);
    const yiq = (r: number, g: number, b: number) => [
      0.299 * r + 0.587 * g + 0.114 * b,
      0.595716 * r - 0.274453 * g - 0.321263 * b,
      0.211456 * r - 0.522591 * g + 0.311135 * b,
    ];
    let changed = 0;
    for (let p = 0; p < input.length; p += 3) {
      const [y0, i0, q0] = yiq(input[p], input[p + 1], input[p + 2]);
      const [y1, i1, q1] = yiq(out[p], out[p + 1], out[p + 2]);
      expect(y1).toBeCloseTo(y0, 5);
      expect(Math.hypot(i1, q1)).toBeCloseTo(Math.hypot(i0, q0), 5);
      changed = Math.max(changed, Math.abs(out[p] - input[p]));
    }
    expect(changed).toBeGreaterThan(1e-3);
    const grey = tf.fill([1, 3, 3, 3], 0.4) as tf.Tensor4D;
    for (const v of run(grey, jitterOnly({ hue: 0.5 }), 3, 6)) expect(v).toBeCloseTo(0.4, 5);
  });

  it('brightness scales each image by one factor drawn from [1 − b, 1 + b]', () => {
    const images = randomImages(16, 4, 14, 0.05, 0.6);
    const input = images.dataSync();
    const out = run(images, jitterOnly({ brightness: 0.5 }), 4, 7);
    const perImage = 4 * 4 * 3;
    const factors = new Set<string>();
    for (let b = 0; b < 16; b++) {
      const factor = out[b * perImage] / input[b * perImage];
      expect(factor).toBeGreaterThanOrEqual(0.5);
      expect(factor).toBeLessThanOrEqual(1.5);
      for (let i = b * perImage; i < (b + 1) * perImage; i++) expect(out[i]).toBeCloseTo(input[i] * factor, 5);
      factors.add(factor.toFixed(4));
    }
    expect(factors.size).toBe(16);
  });

  it('contrast keeps the mean luma of each image', () => {
    const images = randomImages(6, 6, 15, 0.3, 0.7);
    const out = run(images, jitterOnly({ contrast: 0.4 }), 6, 8);
    const meanLuma = (data: ArrayLike<number>, b: number) => {
      let sum = 0;
      for (let p = b * 108; p < (b + 1) * 108; p += 3) sum += 0.299 * data[p] + 0.587 * data[p + 1] + 0.114 * data[p + 2];
      return sum / 36;
    };
    const input = images.dataSync();
    for (let b = 0; b < 6; b++) expect(meanLuma(out, b)).toBeCloseTo(meanLuma(input, b), 5);
    expect(maxAbsDifference(out, input)).toBeGreaterThan(1e-3);
  });

  it('leaves images untouched when the jitter probability is 0', () => {
    const images = randomImages(4, 5, 16);
    const out = run(images, jitterOnly({ probability: 0, brightness: 0.8, contrast: 0.8, saturation: 0.8, hue: 0.4 }), 5, 9);
    expect(maxAbsDifference(out, images.dataSync())).toBeLessThan(1e-6);
  });
});

describe('drawViewParameters', () => {
  const row = (p: ViewParameters, image: number, column: number, width = 1) => Array.from(p.values.subarray(image * PARAMETER_COUNT + column, image * PARAMETER_COUNT + column + width));

  it('draws in the order augmentBatch always has: boxes and flips image by image, then jitter, grayscale, blur, solarise', () => {
    const recipe = standardView({ blur: 0.5, solarize: 0.3 });
    const [n, size] = [7, 20];
    const drawn = drawViewParameters(recipe, n, size, size, 16, new Rng(11));
    expect(drawn.switches).toEqual({ exactSize: false, flip: true, jitter: true, hue: true, grayscale: true, blur: true, solarize: true });

    const rng = new Rng(11);
    const f = Math.fround;
    for (let i = 0; i < n; i++) {
      const box = sampleCropBox(rng, size, size, recipe.crop!.scale, recipe.crop!.ratio);
      if (rng.bernoulli(0.5)) [box[1], box[3]] = [box[3], box[1]];
      expect(row(drawn, i, PARAMETER.box, 4)).toEqual(box.map((v) => f(EDGE_INSET + v * (1 - 2 * EDGE_INSET))));
      expect(row(drawn, i, PARAMETER.flip)).toEqual([0]);
    }
    const jitter = recipe.colorJitter!;
    for (let i = 0; i < n; i++) {
      const on = rng.bernoulli(jitter.probability);
      const factor = (strength: number) => (on ? rng.uniform(1 - strength, 1 + strength) : 1);
      const factors = [factor(jitter.brightness), factor(jitter.contrast), factor(jitter.saturation)];
      expect(row(drawn, i, PARAMETER.brightness, 3)).toEqual(factors.map(f));
      const shift = on ? rng.uniform(-jitter.hue, jitter.hue) : 0;
      // The hue matrix is the rotation conjugated into YIQ: its trace is the rotation's, 1 + 2 cos 2πθ.
      const hue = row(drawn, i, PARAMETER.hue, 9);
      expect(hue[0] + hue[4] + hue[8]).toBeCloseTo(1 + 2 * Math.cos(2 * Math.PI * shift), 5);
    }
    for (let i = 0; i < n; i++) expect(row(drawn, i, PARAMETER.grayscale)).toEqual([rng.bernoulli(0.2) ? 1 : 0]);
    for (let i = 0; i < n; i++) expect(row(drawn, i, PARAMETER.blurSigma)).toEqual([rng.bernoulli(0.5) ? f(rng.uniform(0.1, 2)) : 0]);
    for (let i = 0; i < n; i++) expect(row(drawn, i, PARAMETER.solarize)).toEqual([rng.bernoulli(0.3) ? 1 : 0]);
    // Nothing else was drawn: the stream continues where the old draws left it.
    const after = new Rng(11);
    drawViewParameters(recipe, n, size, size, 16, after);
    expect(after.next()).toBe(rng.next());
  });

  it('draws only flips on the exact-size path, and neutral values for the steps a recipe leaves out', () => {
    const drawn = drawViewParameters(view({ flipProbability: 0.5 }), 9, 8, 8, 8, new Rng(3));
    expect(drawn.switches).toEqual({ exactSize: true, flip: true, jitter: false, hue: false, grayscale: false, blur: false, solarize: false });
    const rng = new Rng(3);
    for (let i = 0; i < 9; i++) {
      expect(row(drawn, i, PARAMETER.flip)).toEqual([rng.bernoulli(0.5) ? 1 : 0]);
      expect(row(drawn, i, PARAMETER.brightness, 3)).toEqual([1, 1, 1]);
      expect(row(drawn, i, PARAMETER.hue, 9)).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
      expect(row(drawn, i, PARAMETER.grayscale, 3)).toEqual([0, 0, 0]);
    }
    const after = new Rng(3);
    drawViewParameters(view({ flipProbability: 0.5 }), 9, 8, 8, 8, after);
    expect(after.next()).toBe(rng.next());
  });
});

describe('augmentComposite', () => {
  it('applies each image its own parameters: flip, grayscale and solarise weights as the formulas say', () => {
    const [n, size] = [3, 5];
    const images = randomImages(n, size, 21);
    const drawn = drawViewParameters(view({ flipProbability: 0.5, grayscaleProbability: 0.5, solarizeProbability: 0.5 }), n, size, size, size, new Rng(1));
    // Image 0: flipped; image 1: grayscale; image 2: solarised.
    drawn.values.fill(0, 0, n * PARAMETER_COUNT);
    drawn.values[PARAMETER.flip] = 1;
    drawn.values[PARAMETER_COUNT + PARAMETER.grayscale] = 1;
    drawn.values[2 * PARAMETER_COUNT + PARAMETER.solarize] = 1;
    const out = tf.tidy(() => augmentComposite(images, drawn, size).dataSync());
    const x = images.dataSync();
    const at = (b: number, y: number, col: number, c: number) => ((b * size + y) * size + col) * 3 + c;
    for (let y = 0; y < size; y++) {
      for (let col = 0; col < size; col++) {
        const luma = 0.299 * x[at(1, y, col, 0)] + 0.587 * x[at(1, y, col, 1)] + 0.114 * x[at(1, y, col, 2)];
        for (let c = 0; c < 3; c++) {
          expect(out[at(0, y, col, c)]).toBe(x[at(0, y, size - 1 - col, c)]);
          expect(out[at(1, y, col, c)]).toBeCloseTo(luma, 6);
          const v = x[at(2, y, col, c)];
          expect(out[at(2, y, col, c)]).toBeCloseTo(v >= 0.5 ? 1 - v : v, 6);
        }
      }
    }
  });
});

describe('standardView', () => {
  it('blurs (σ 0.1–2 px) and solarises with the probabilities asked for, and not at all when left out', () => {
    expect(standardView({ blur: 0.5 }).blur).toEqual({ probability: 0.5, sigma: [0.1, 2] });
    expect(standardView().blur).toBeNull();
    expect(standardView({ solarize: 0.2 }).solarizeProbability).toBe(0.2);
    expect(standardView().solarizeProbability).toBe(0);
  });
});

describe('augmentationProblems', () => {
  it('accepts the standard recipe and names each impossible setting with its view', () => {
    const ok = standardView({ blur: 1, solarize: 0.2 });
    expect(augmentationProblems([ok, ok])).toEqual([]);
    const bad: ViewAugmentation = {
      ...ok,
      crop: { scale: [0.8, 0.2], ratio: [3 / 4, 4 / 3] },
      flipProbability: 1.5,
      colorJitter: { probability: 0.8, brightness: -1, contrast: 0.4, saturation: 0.2, hue: 0.7 },
    };
    expect(augmentationProblems([ok, bad])).toEqual([
      'view 2: crop scale must satisfy 0 < min ≤ max ≤ 1',
      'view 2: flip probability must be between 0 and 1',
      'view 2: brightness, contrast and saturation must be 0 or more',
      'view 2: hue must be between 0 and 0.5',
    ]);
  });
});
