/**
 * Batched augmentations on the device. Parameters (crop boxes, jitter factors, which images get
 * grayscale/blur/solarisation) are drawn per image on the CPU from a seeded generator and uploaded
 * as small tensors; all pixel work is a handful of batched ops, so the cost does not grow with the
 * number of distinct parameter values.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from './random';

export interface ViewAugmentation {
  /** Random resized crop: area fraction and aspect-ratio ranges (torchvision semantics). null: resize only. */
  crop: { scale: [number, number]; ratio: [number, number] } | null;
  flipProbability: number;
  colorJitter: { probability: number; brightness: number; contrast: number; saturation: number; hue: number } | null;
  grayscaleProbability: number;
  blur: { probability: number; sigma: [number, number] } | null;
  solarizeProbability: number;
}

/** One recipe per view, so asymmetric recipes (BYOL's blur 1.0 / 0.1, solarise 0 / 0.2) are possible. */
export type AugmentationConfig = [ViewAugmentation, ViewAugmentation];

/** Per-channel statistics the encoder input is standardised with (CIFAR-10's, as solo-learn uses). */
export const INPUT_MEAN = [0.4914, 0.4822, 0.4465];
export const INPUT_STD = [0.247, 0.243, 0.261];

export const IDENTITY_VIEW: ViewAugmentation = {
  crop: null,
  flipProbability: 0,
  colorJitter: null,
  grayscaleProbability: 0,
  blur: null,
  solarizeProbability: 0,
};

/**
 * The SimCLR/BYOL view: random resized crop 0.08–1, flip 0.5, colour jitter 0.4/0.4/0.2/0.1 with
 * probability 0.8, grayscale 0.2; `blur` and `solarize` are the probabilities of a Gaussian blur
 * (σ 0.1–2 px, as solo-learn's PIL blur) and of solarisation, 0 when left out.
 */
export function standardView(options: { blur?: number; solarize?: number } = {}): ViewAugmentation {
  const blur = options.blur ?? 0;
  return {
    crop: { scale: [0.08, 1], ratio: [3 / 4, 4 / 3] },
    flipProbability: 0.5,
    colorJitter: { probability: 0.8, brightness: 0.4, contrast: 0.4, saturation: 0.2, hue: 0.1 },
    grayscaleProbability: 0.2,
    blur: blur > 0 ? { probability: blur, sigma: [0.1, 2] } : null,
    solarizeProbability: options.solarize ?? 0,
  };
}

/** What is wrong with a recipe, in words a user can act on; empty when it can run. */
export function augmentationProblems(views: AugmentationConfig): string[] {
  const problems: string[] = [];
  const probability = (value: number) => value >= 0 && value <= 1;
  views.forEach((v, i) => {
    const name = `view ${i + 1}`;
    if (v.crop) {
      const [low, high] = v.crop.scale;
      if (!(low > 0 && low <= high && high <= 1)) problems.push(`${name}: crop scale must satisfy 0 < min ≤ max ≤ 1`);
      if (!(v.crop.ratio[0] > 0 && v.crop.ratio[0] <= v.crop.ratio[1])) problems.push(`${name}: crop ratio must satisfy 0 < min ≤ max`);
    }
    const probabilities: [string, number][] = [
      ['flip', v.flipProbability],
      ['grayscale', v.grayscaleProbability],
      ['solarise', v.solarizeProbability],
      ['colour jitter', v.colorJitter?.probability ?? 0],
      ['blur', v.blur?.probability ?? 0],
    ];
    for (const [label, p] of probabilities) if (!probability(p)) problems.push(`${name}: ${label} probability must be between 0 and 1`);
    if (v.colorJitter) {
      const { brightness, contrast, saturation, hue } = v.colorJitter;
      if (![brightness, contrast, saturation].every((s) => s >= 0 && Number.isFinite(s))) problems.push(`${name}: brightness, contrast and saturation must be 0 or more`);
      if (!(hue >= 0 && hue <= 0.5)) problems.push(`${name}: hue must be between 0 and 0.5`);
    }
    if (v.blur && !(v.blur.sigma[0] >= 0 && v.blur.sigma[0] <= v.blur.sigma[1])) problems.push(`${name}: blur σ must satisfy 0 ≤ min ≤ max`);
  });
  return problems;
}

/** Crop box in normalised corner coordinates [y1, x1, y2, x2] as tf.image.cropAndResize wants them. */
export function sampleCropBox(rng: Rng, height: number, width: number, scale: [number, number], ratio: [number, number]): [number, number, number, number] {
  const area = height * width;
  const logRatio = [Math.log(ratio[0]), Math.log(ratio[1])];
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * rng.uniform(scale[0], scale[1]);
    const aspect = Math.exp(rng.uniform(logRatio[0], logRatio[1]));
    const w = Math.round(Math.sqrt(targetArea * aspect));
    const h = Math.round(Math.sqrt(targetArea / aspect));
    if (w > 0 && h > 0 && w <= width && h <= height) {
      const top = rng.int(height - h + 1);
      const left = rng.int(width - w + 1);
      return pixelBox(top, left, h, w, height, width);
    }
  }
  // Fallback as torchvision: the largest centre crop whose ratio is within range.
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < ratio[0]) h = Math.round(w / ratio[0]);
  else if (inRatio > ratio[1]) w = Math.round(h * ratio[1]);
  return pixelBox(Math.floor((height - h) / 2), Math.floor((width - w) / 2), h, w, height, width);
}

function pixelBox(top: number, left: number, h: number, w: number, height: number, width: number): [number, number, number, number] {
  const ny = (v: number) => (height > 1 ? v / (height - 1) : 0);
  const nx = (v: number) => (width > 1 ? v / (width - 1) : 0);
  return [ny(top), nx(left), ny(top + h - 1), nx(left + w - 1)];
}

/**
 * cropAndResize samples at x1·(W − 1) + i·(x2 − x1)·(W − 1)/(n − 1) and returns the extrapolation
 * value (0, black) for positions outside [0, W − 1]. Rounding puts a box's far edge just outside:
 * (31/15)·15 > 31 in float64, and WebGPU's float32 misses on other sizes, so whole rows or columns
 * came out black. Pulling every coordinate in by this fraction keeps samples inside; it moves them
 * by at most 1e-5·(W − 1) pixels.
 */
export const EDGE_INSET = 1e-5;

function insetBox(box: [number, number, number, number]): [number, number, number, number] {
  return box.map((v) => EDGE_INSET + v * (1 - 2 * EDGE_INSET)) as [number, number, number, number];
}

/** Row-stochastic Gaussian smoothing matrices [n, size, size], renormalised at the borders. */
function gaussianMatrices(sigmas: number[], size: number): tf.Tensor3D {
  const values = new Float32Array(sigmas.length * size * size);
  sigmas.forEach((sigma, b) => {
    for (let i = 0; i < size; i++) {
      let total = 0;
      const row = b * size * size + i * size;
      for (let j = 0; j < size; j++) {
        const w = sigma > 0 ? Math.exp(-((i - j) ** 2) / (2 * sigma * sigma)) : i === j ? 1 : 0;
        values[row + j] = w;
        total += w;
      }
      for (let j = 0; j < size; j++) values[row + j] /= total;
    }
  });
  return tf.tensor3d(values, [sigmas.length, size, size]);
}

function grayscale(x: tf.Tensor4D): tf.Tensor4D {
  return tf.sum(tf.mul(x, tf.tensor1d([0.299, 0.587, 0.114])), -1, true) as tf.Tensor4D;
}

/** Per-image scalar parameters as a [n, 1, 1, 1] tensor that broadcasts over pixels. */
function perImage(values: number[]): tf.Tensor4D {
  return tf.tensor4d(values, [values.length, 1, 1, 1]);
}

/** RGB → YIQ (FCC NTSC). Its I and Q rows sum to zero, so greys map to I = Q = 0 exactly. */
const RGB_TO_YIQ = [
  [0.299, 0.587, 0.114],
  [0.595716, -0.274453, -0.321263],
  [0.211456, -0.522591, 0.311135],
];

function invert3(m: number[][]): number[][] {
  const [[a, b, c], [d, e, f], [g, h, i]] = m;
  const det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
  return [
    [(e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det],
    [(f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det],
    [(d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det],
  ];
}

const YIQ_TO_RGB = invert3(RGB_TO_YIQ);

/**
 * Hue rotation by `shift` (fraction of a turn) as a linear map: to YIQ, rotate the (I, Q) chroma
 * plane, back to RGB. Luma and chroma magnitude are kept; a zero shift is the identity. One 3×3
 * matrix per image, in the row-vector convention (pixel · M).
 */
function hueMatrices(shifts: number[]): tf.Tensor3D {
  const values = new Float32Array(shifts.length * 9);
  shifts.forEach((shift, b) => {
    const c = Math.cos(2 * Math.PI * shift);
    const s = Math.sin(2 * Math.PI * shift);
    const rotation = [
      [1, 0, 0],
      [0, c, -s],
      [0, s, c],
    ];
    // Column convention: rgb' = YIQ_TO_RGB · rotation · RGB_TO_YIQ · rgb; stored transposed.
    for (let row = 0; row < 3; row++) {
      for (let col = 0; col < 3; col++) {
        let sum = 0;
        for (let k = 0; k < 3; k++) for (let l = 0; l < 3; l++) sum += YIQ_TO_RGB[col][k] * rotation[k][l] * RGB_TO_YIQ[l][row];
        values[b * 9 + row * 3 + col] = sum;
      }
    }
  });
  return tf.tensor3d(values, [shifts.length, 3, 3]);
}

/**
 * Augments a batch of images (NHWC, float in [0, 1]) with `view`, producing `outSize`×`outSize`
 * images still in [0, 1]. Call inside tf.tidy.
 */
export function augmentBatch(images: tf.Tensor4D, view: ViewAugmentation, outSize: number, rng: Rng): tf.Tensor4D {
  const [n, height, width] = images.shape;
  let x: tf.Tensor;
  if (!view.crop && height === outSize && width === outSize) {
    // Geometry is at most a flip: no resampling, so pixels come through exactly.
    const flips = perImage(Array.from({ length: n }, () => (rng.bernoulli(view.flipProbability) ? 1 : 0)));
    // A clone, never the input itself, so a caller may dispose what it gets back.
    x = view.flipProbability > 0 ? tf.add(tf.mul(images, tf.sub(1, flips)), tf.mul(tf.reverse(images, 2), flips)) : tf.clone(images);
  } else {
    const boxes: number[] = [];
    for (let i = 0; i < n; i++) {
      const box = view.crop ? sampleCropBox(rng, height, width, view.crop.scale, view.crop.ratio) : ([0, 0, 1, 1] as [number, number, number, number]);
      // A box whose x1 > x2 samples the crop mirrored: the flip costs nothing extra.
      if (rng.bernoulli(view.flipProbability)) [box[1], box[3]] = [box[3], box[1]];
      boxes.push(...insetBox(box));
    }
    x = tf.image.cropAndResize(images, tf.tensor2d(boxes, [n, 4]), tf.range(0, n, 1, 'int32') as tf.Tensor1D, [outSize, outSize], 'bilinear');
  }

  if (view.colorJitter) {
    const jitter = view.colorJitter;
    const brightness: number[] = [];
    const contrast: number[] = [];
    const saturation: number[] = [];
    const hue: number[] = [];
    for (let i = 0; i < n; i++) {
      const on = rng.bernoulli(jitter.probability);
      brightness.push(on ? rng.uniform(Math.max(0, 1 - jitter.brightness), 1 + jitter.brightness) : 1);
      contrast.push(on ? rng.uniform(Math.max(0, 1 - jitter.contrast), 1 + jitter.contrast) : 1);
      saturation.push(on ? rng.uniform(Math.max(0, 1 - jitter.saturation), 1 + jitter.saturation) : 1);
      hue.push(on ? rng.uniform(-jitter.hue, jitter.hue) : 0);
    }
    x = tf.clipByValue(tf.mul(x, perImage(brightness)), 0, 1);
    const meanGray = tf.mean(grayscale(x as tf.Tensor4D), [1, 2, 3], true);
    x = tf.clipByValue(tf.add(tf.mul(tf.sub(x, meanGray), perImage(contrast)), meanGray), 0, 1);
    const gray = grayscale(x as tf.Tensor4D);
    x = tf.clipByValue(tf.add(tf.mul(tf.sub(x, gray), perImage(saturation)), gray), 0, 1);
    if (jitter.hue > 0) {
      const rotated = tf.matMul(tf.reshape(x, [n, outSize * outSize, 3]), hueMatrices(hue));
      x = tf.clipByValue(tf.reshape(rotated, [n, outSize, outSize, 3]), 0, 1);
    }
  }

  if (view.grayscaleProbability > 0) {
    const weights = perImage(Array.from({ length: n }, () => (rng.bernoulli(view.grayscaleProbability) ? 1 : 0)));
    x = tf.add(x, tf.mul(tf.sub(grayscale(x as tf.Tensor4D), x), weights));
  }

  if (view.blur && view.blur.probability > 0) {
    const blur = view.blur;
    const sigmas = Array.from({ length: n }, () => (rng.bernoulli(blur.probability) ? rng.uniform(blur.sigma[0], blur.sigma[1]) : 0));
    const kernels = gaussianMatrices(sigmas, outSize);
    // Separable blur as two batched matrix products: rows, then columns.
    const rows = tf.reshape(tf.matMul(kernels, tf.reshape(x, [n, outSize, outSize * 3])), [n, outSize, outSize, 3]);
    const columnsFirst = tf.reshape(tf.transpose(rows, [0, 1, 3, 2]), [n, outSize * 3, outSize]);
    const blurred = tf.matMul(columnsFirst, kernels, false, true);
    x = tf.transpose(tf.reshape(blurred, [n, outSize, 3, outSize]), [0, 1, 3, 2]);
  }

  if (view.solarizeProbability > 0) {
    const weights = perImage(Array.from({ length: n }, () => (rng.bernoulli(view.solarizeProbability) ? 1 : 0)));
    const solarized = tf.where(tf.greaterEqual(x, 0.5), tf.sub(1, x), x);
    x = tf.add(x, tf.mul(tf.sub(solarized, x), weights));
  }
  return x as tf.Tensor4D;
}

/** Standardises [0, 1] images with the per-channel input statistics before the encoder. */
export function standardize(x: tf.Tensor4D): tf.Tensor4D {
  return tf.div(tf.sub(x, tf.tensor1d(INPUT_MEAN)), tf.tensor1d(INPUT_STD));
}
