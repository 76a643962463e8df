/**
 * Batched augmentations on the device. Parameters (crop boxes, jitter factors, which images get
 * grayscale/blur/solarisation) are drawn per image on the CPU from a seeded generator into one
 * array; all pixel work is one fused kernel where the backend registers AUGMENT_VIEW, a handful of
 * batched ops elsewhere, so the cost does not grow with the number of distinct parameter values.
 */
import * as tf from '@tensorflow/tfjs';
import { backendHas } from './fused-updates';
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

/**
 * Each image's blur as a row-stochastic Gaussian smoothing matrix [count, size, size], renormalised at
 * the borders (the identity where σ = 0), row-major; the σ are read from drawn parameter values
 * ([count, PARAMETER_COUNT]). AUGMENT_VIEW kernels build theirs with it too.
 */
export function blurKernels(parameterValues: ArrayLike<number>, count: number, size: number): Float32Array {
  const sigmas = Array.from({ length: count }, (_, i) => parameterValues[i * PARAMETER_COUNT + PARAMETER.blurSigma]);
  const values = new Float32Array(count * size * size);
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
  return values;
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

const IDENTITY_3 = [1, 0, 0, 0, 1, 0, 0, 0, 1];

/**
 * Hue rotation by `shift` (fraction of a turn) as a linear map: to YIQ, rotate the (I, Q) chroma
 * plane, back to RGB. Luma and chroma magnitude are kept; a zero shift is the identity. A 3×3
 * matrix in the row-vector convention (pixel · M), row-major.
 */
function hueMatrix(shift: number): number[] {
  const c = Math.cos(2 * Math.PI * shift);
  const s = Math.sin(2 * Math.PI * shift);
  const rotation = [
    [1, 0, 0],
    [0, c, -s],
    [0, s, c],
  ];
  const values: number[] = [];
  // Column convention: rgb' = YIQ_TO_RGB · rotation · RGB_TO_YIQ · rgb; stored transposed.
  for (let row = 0; row < 3; row++) {
    for (let col = 0; col < 3; col++) {
      let sum = 0;
      for (let k = 0; k < 3; k++) for (let l = 0; l < 3; l++) sum += YIQ_TO_RGB[col][k] * rotation[k][l] * RGB_TO_YIQ[l][row];
      values.push(sum);
    }
  }
  return values;
}

/**
 * AUGMENT_VIEW: one view's whole augmentation chain as one kernel, which a backend may register
 * (webgpu-augment.ts does for WebGPU) so that a view is one dispatch fed by one upload of its drawn
 * parameters rather than a chain of small ops fed by several. Inputs { images: [n, H, W, 3] in [0, 1],
 * parameters: [n, PARAMETER_COUNT] as drawViewParameters lays them out }, attrs AugmentViewAttrs →
 * the augmented batch [n, outSize, outSize, 3] in [0, 1]. It computes, operation by operation in
 * float32, what augmentComposite computes.
 */
export const AUGMENT_VIEW = 'SiameseAugmentView';

/** The steps a recipe runs at all: each image then takes its own parameters within them. */
export interface AugmentSwitches {
  /** No crop and the output size is the input size: pixels pass through (mirrored where flipped), no resampling. */
  exactSize: boolean;
  /** On the exact-size path, whether flips are drawn (the crop path folds them into the box). */
  flip: boolean;
  jitter: boolean;
  /** Jitter's hue rotation (part of jitter; off where its range is 0). */
  hue: boolean;
  grayscale: boolean;
  blur: boolean;
  solarize: boolean;
}

export interface AugmentViewAttrs {
  outSize: number;
  switches: AugmentSwitches;
}

/**
 * Column of each per-image parameter in the [n, PARAMETER_COUNT] array: the crop box (inset, the
 * flip folded in as swapped x1/x2), the exact-size path's flip (0/1), the jitter factors, the 3 × 3
 * hue matrix (row-vector convention, pixel · M; the identity where hue is off), the grayscale and
 * solarise weights (0/1) and the blur σ (0: no blur).
 */
export const PARAMETER = {
  box: 0,
  flip: 4,
  brightness: 5,
  contrast: 6,
  saturation: 7,
  hue: 8,
  grayscale: 17,
  blurSigma: 18,
  solarize: 19,
} as const;
export const PARAMETER_COUNT = 20;

export interface ViewParameters {
  /** [n, PARAMETER_COUNT], row-major. */
  values: Float32Array;
  count: number;
  switches: AugmentSwitches;
}

/**
 * Draws every image's parameters for `view` from `rng`, in the order the augmentation has always
 * drawn them (boxes and flips image by image, then jitter, grayscale, blur, solarise), so a seed
 * gives the same views as before the parameters were gathered into one array.
 */
export function drawViewParameters(view: ViewAugmentation, count: number, height: number, width: number, outSize: number, rng: Rng): ViewParameters {
  const values = new Float32Array(count * PARAMETER_COUNT);
  const set = (image: number, column: number, value: number) => (values[image * PARAMETER_COUNT + column] = value);
  const jitter = view.colorJitter;
  const switches: AugmentSwitches = {
    exactSize: !view.crop && height === outSize && width === outSize,
    flip: view.flipProbability > 0,
    jitter: jitter !== null,
    hue: jitter !== null && jitter.hue > 0,
    grayscale: view.grayscaleProbability > 0,
    blur: view.blur !== null && view.blur.probability > 0,
    solarize: view.solarizeProbability > 0,
  };
  for (let i = 0; i < count; i++) {
    for (let c = 0; c < 3; c++) set(i, PARAMETER.brightness + c, 1);
    values.set(IDENTITY_3, i * PARAMETER_COUNT + PARAMETER.hue);
  }

  if (switches.exactSize) {
    for (let i = 0; i < count; i++) set(i, PARAMETER.flip, rng.bernoulli(view.flipProbability) ? 1 : 0);
  } else {
    for (let i = 0; i < count; i++) {
      const box = view.crop ? sampleCropBox(rng, height, width, view.crop.scale, view.crop.ratio) : ([0, 0, 1, 1] as [number, number, number, number]);
      // A box whose x1 > x2 samples the crop mirrored: the flip costs nothing extra.
      if (rng.bernoulli(view.flipProbability)) [box[1], box[3]] = [box[3], box[1]];
      values.set(insetBox(box), i * PARAMETER_COUNT + PARAMETER.box);
    }
  }

  if (jitter) {
    for (let i = 0; i < count; i++) {
      const on = rng.bernoulli(jitter.probability);
      set(i, PARAMETER.brightness, on ? rng.uniform(Math.max(0, 1 - jitter.brightness), 1 + jitter.brightness) : 1);
      set(i, PARAMETER.contrast, on ? rng.uniform(Math.max(0, 1 - jitter.contrast), 1 + jitter.contrast) : 1);
      set(i, PARAMETER.saturation, on ? rng.uniform(Math.max(0, 1 - jitter.saturation), 1 + jitter.saturation) : 1);
      const shift = on ? rng.uniform(-jitter.hue, jitter.hue) : 0;
      if (switches.hue) values.set(hueMatrix(shift), i * PARAMETER_COUNT + PARAMETER.hue);
    }
  }
  if (switches.grayscale) {
    for (let i = 0; i < count; i++) set(i, PARAMETER.grayscale, rng.bernoulli(view.grayscaleProbability) ? 1 : 0);
  }
  if (switches.blur) {
    const blur = view.blur!;
    for (let i = 0; i < count; i++) set(i, PARAMETER.blurSigma, rng.bernoulli(blur.probability) ? rng.uniform(blur.sigma[0], blur.sigma[1]) : 0);
  }
  if (switches.solarize) {
    for (let i = 0; i < count; i++) set(i, PARAMETER.solarize, rng.bernoulli(view.solarizeProbability) ? 1 : 0);
  }
  return { values, count, switches };
}

/** One parameter of every image, as a [n, 1, 1, 1] tensor that broadcasts over pixels. */
function parameterColumn(parameters: ViewParameters, column: number): tf.Tensor4D {
  return perImage(Array.from({ length: parameters.count }, (_, i) => parameters.values[i * PARAMETER_COUNT + column]));
}

/** Columns [column, column + width) of every image. */
function parameterColumns(parameters: ViewParameters, column: number, width: number): Float32Array {
  const out = new Float32Array(parameters.count * width);
  for (let i = 0; i < parameters.count; i++) out.set(parameters.values.subarray(i * PARAMETER_COUNT + column, i * PARAMETER_COUNT + column + width), i * width);
  return out;
}

/**
 * The augmentation chain as tfjs ops, fed from drawn parameters: what AUGMENT_VIEW computes, and
 * what runs where the backend lacks it. Call inside tf.tidy.
 */
export function augmentComposite(images: tf.Tensor4D, parameters: ViewParameters, outSize: number): tf.Tensor4D {
  const { count: n, switches } = parameters;
  let x: tf.Tensor;
  if (switches.exactSize) {
    const flips = parameterColumn(parameters, PARAMETER.flip);
    // A clone, never the input itself, so a caller may dispose what it gets back.
    x = switches.flip ? tf.add(tf.mul(images, tf.sub(1, flips)), tf.mul(tf.reverse(images, 2), flips)) : tf.clone(images);
  } else {
    const boxes = tf.tensor2d(parameterColumns(parameters, PARAMETER.box, 4), [n, 4]);
    x = tf.image.cropAndResize(images, boxes, tf.range(0, n, 1, 'int32') as tf.Tensor1D, [outSize, outSize], 'bilinear');
  }

  if (switches.jitter) {
    x = tf.clipByValue(tf.mul(x, parameterColumn(parameters, PARAMETER.brightness)), 0, 1);
    const meanGray = tf.mean(grayscale(x as tf.Tensor4D), [1, 2, 3], true);
    x = tf.clipByValue(tf.add(tf.mul(tf.sub(x, meanGray), parameterColumn(parameters, PARAMETER.contrast)), meanGray), 0, 1);
    const gray = grayscale(x as tf.Tensor4D);
    x = tf.clipByValue(tf.add(tf.mul(tf.sub(x, gray), parameterColumn(parameters, PARAMETER.saturation)), gray), 0, 1);
    if (switches.hue) {
      const matrices = tf.tensor3d(parameterColumns(parameters, PARAMETER.hue, 9), [n, 3, 3]);
      const rotated = tf.matMul(tf.reshape(x, [n, outSize * outSize, 3]), matrices);
      x = tf.clipByValue(tf.reshape(rotated, [n, outSize, outSize, 3]), 0, 1);
    }
  }

  if (switches.grayscale) {
    x = tf.add(x, tf.mul(tf.sub(grayscale(x as tf.Tensor4D), x), parameterColumn(parameters, PARAMETER.grayscale)));
  }

  if (switches.blur) {
    const kernels = tf.tensor3d(blurKernels(parameters.values, n, outSize), [n, outSize, outSize]);
    // Separable blur as two batched matrix products: rows, then columns.
    const rows = tf.reshape(tf.matMul(kernels, tf.reshape(x, [n, outSize, outSize * 3])), [n, outSize, outSize, 3]);
    const columnsFirst = tf.reshape(tf.transpose(rows, [0, 1, 3, 2]), [n, outSize * 3, outSize]);
    const blurred = tf.matMul(columnsFirst, kernels, false, true);
    x = tf.transpose(tf.reshape(blurred, [n, outSize, 3, outSize]), [0, 1, 3, 2]);
  }

  if (switches.solarize) {
    const solarized = tf.where(tf.greaterEqual(x, 0.5), tf.sub(1, x), x);
    x = tf.add(x, tf.mul(tf.sub(solarized, x), parameterColumn(parameters, PARAMETER.solarize)));
  }
  return x as tf.Tensor4D;
}

/** Applies drawn parameters: AUGMENT_VIEW where the current backend registers it, the composite elsewhere. Call inside tf.tidy. */
export function applyViewParameters(images: tf.Tensor4D, parameters: ViewParameters, outSize: number): tf.Tensor4D {
  if (parameters.count === 0 || !backendHas(AUGMENT_VIEW)) return augmentComposite(images, parameters, outSize);
  const attrs: AugmentViewAttrs = { outSize, switches: parameters.switches };
  const tensor = tf.tensor2d(parameters.values, [parameters.count, PARAMETER_COUNT]);
  return tf.engine().runKernel(AUGMENT_VIEW, { images, parameters: tensor }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/**
 * Augments a batch of images (NHWC, float in [0, 1]) with `view`, producing `outSize`×`outSize`
 * images still in [0, 1]. Call inside tf.tidy.
 */
export function augmentBatch(images: tf.Tensor4D, view: ViewAugmentation, outSize: number, rng: Rng): tf.Tensor4D {
  const [n, height, width] = images.shape;
  return applyViewParameters(images, drawViewParameters(view, n, height, width, outSize, rng), outSize);
}

/** Standardises [0, 1] images with the per-channel input statistics before the encoder. */
export function standardize(x: tf.Tensor4D): tf.Tensor4D {
  return tf.div(tf.sub(x, tf.tensor1d(INPUT_MEAN)), tf.tensor1d(INPUT_STD));
}
