/**
 * Periodic evaluation of the encoder, as the reference libraries do it (InstDisc protocol, used by
 * MoCo, lightly and VISSL): the un-augmented training images are re-embedded by the backbone in
 * evaluation mode (BatchNorm running statistics) to form the bank, the held-out images are embedded
 * the same way, and a weighted kNN (cosine similarity of L2-normalised features, k = 200 clamped to
 * the bank, σ = 0.1) predicts their classes. The same features give the online probe's held-out
 * accuracy, RankMe, and a 2-D PCA projection for the embedding view. Everything is read back with
 * one `await data()`; the features stay on the device until the next evaluation so that a click on
 * a point can ask for its nearest neighbours.
 *
 * Large sets are subsampled (seeded by the dataset alone, so every evaluation of every run sees the
 * same images): at most `maxBankImages` training images in the bank and `maxHeldOutImages` held-out
 * images. This is the only kNN path: the app, Compare, the runner and the benchmark all measure here.
 */
import * as tf from '@tensorflow/tfjs';
import { standardize } from './augment';
import { DeviceImages, type DatasetSplits, type ImageSet } from './dataset';
import { l2Normalize } from './losses';
import type { Module } from './nn';
import { effectiveRankFromGram, knnPredict, perClassAccuracy } from './metrics';
import { Rng } from './random';
import type { Trainer } from './trainer';
import { DEFAULT_EVALUATION, SAMPLE_SETTINGS, validateEvaluationSettings, type EvaluationSettings } from './evaluation-settings';

export { DEFAULT_EVALUATION, validateEvaluationSettings, type EvaluationSettings };

export interface EmbeddingProjection {
  /** PCA coordinates of the first `x.length` held-out rows. */
  x: Float32Array;
  y: Float32Array;
  /** Dataset index of each point in its split. */
  indices: Int32Array;
  labels: Int32Array | null;
  /** kNN prediction per point; null without labels. */
  predicted: Int32Array | null;
  /** Fraction of the total variance along each axis. */
  explainedVariance: [number, number];
}

export interface EvaluationResult {
  step: number;
  epoch: number;
  /** Weighted kNN accuracy on the held-out rows; null without labels. */
  knnAccuracy: number | null;
  perClassAccuracy: number[] | null;
  /** The online linear probe on the held-out features; null without labels. */
  probeAccuracy: number | null;
  /** RankMe of the held-out backbone features; at most min(rows, featureDim). */
  effectiveRank: number;
  featureDim: number;
  projection: EmbeddingProjection;
  /** Which split the held-out rows come from: the test split, or training images when there is none. */
  heldOutSplit: 'test' | 'train';
  heldOutSize: number;
  heldOutAvailable: number;
  bankSize: number;
  bankAvailable: number;
  /** Wall time of the evaluation, read-back and CPU work included. */
  milliseconds: number;
}

export interface NeighbourImage {
  /** Index in its split. */
  index: number;
  label: number | null;
  /** Cosine similarity to the query's features. */
  similarity: number;
  /** size × size × 3 RGB. */
  pixels: Uint8Array;
}

/** The held-out features of the last evaluation, for the Embedding Projector. */
export interface HeldOutEmbeddings {
  step: number;
  /** L2-normalised backbone features, `count × dim` row by row. */
  vectors: Float32Array;
  dim: number;
  /** Class of each row; null without labels. */
  labels: Int32Array | null;
  classNames: string[];
}

export interface NeighbourResult {
  /** Step of the evaluation whose features were used. */
  step: number;
  imageSize: number;
  query: Omit<NeighbourImage, 'similarity'> & { split: 'test' | 'train' };
  /** Nearest bank (training) images, most similar first. */
  neighbours: NeighbourImage[];
}

const MAX_POWER_ITERATIONS = 500;
/** Rows per forward pass: bounds activation memory for big encoders. */
const EMBED_CHUNK = 256;

/**
 * Backbone features [indices.length, d] of `images[indices]` in evaluation mode, chunk by chunk;
 * resized to `imageSize` when the stored images have another size.
 */
export function embedImages(encoder: Module, images: Pick<DeviceImages, 'gather'>, indices: Int32Array, imageSize?: number, chunk = EMBED_CHUNK): tf.Tensor2D {
  const parts: tf.Tensor2D[] = [];
  for (let start = 0; start < indices.length; start += chunk) {
    const rows = indices.subarray(start, Math.min(start + chunk, indices.length));
    parts.push(
      tf.tidy(() => {
        let x = images.gather(rows);
        if (imageSize !== undefined && x.shape[1] !== imageSize) x = tf.image.resizeBilinear(x, [imageSize, imageSize]);
        return encoder.apply(standardize(x), false) as tf.Tensor2D;
      }),
    );
  }
  if (parts.length === 1) return parts[0];
  const all = tf.concat(parts, 0) as tf.Tensor2D;
  parts.forEach((p) => p.dispose());
  return all;
}

/** Why kNN accuracy cannot be measured on `data`, or null when it can. */
export function knnProblem(data: DatasetSplits): string | null {
  if (!data.train.labels || data.classNames.length < 2) return `kNN accuracy needs class labels, and "${data.name}" has no class labels.`;
  if (!data.test?.labels || data.test.count === 0) return `kNN accuracy needs held-out images, and "${data.name}" has no held-out images.`;
  return null;
}

/**
 * The top `count` eigenvectors and eigenvalues of a symmetric positive semi-definite n×n matrix
 * (row-major), by block power iteration with a Rayleigh–Ritz rotation, in float64. `start` (e.g.
 * the previous evaluation's axes) speeds it up and keeps the orientation stable between calls:
 * each axis is signed to agree with its start vector.
 */
export function principalAxes(matrix: ArrayLike<number>, n: number, count = 2, start?: Float64Array[]): { axes: Float64Array[]; eigenvalues: number[] } {
  if (matrix.length !== n * n) throw new Error(`principalAxes: expected ${n * n} entries, got ${matrix.length}`);
  const m = Math.min(count, n);
  const rng = new Rng(12345);
  let basis: Float64Array[] = Array.from({ length: m }, (_, j) => {
    const given = start?.[j];
    return given && given.length === n ? Float64Array.from(given) : Float64Array.from({ length: n }, () => rng.normal());
  });
  basis = orthonormalize(basis);
  let eigenvalues = new Array<number>(m).fill(0);
  for (let iteration = 0; iteration < MAX_POWER_ITERATIONS; iteration++) {
    const images = orthonormalize(basis.map((v) => multiply(matrix, n, v)));
    const ritz = rayleighRitz(matrix, n, images);
    const change = Math.max(...ritz.vectors.map((v, j) => 1 - Math.abs(dot(v, basis[j]))));
    basis = ritz.vectors;
    eigenvalues = ritz.values;
    if (change < 1e-12) break;
  }
  if (start) {
    basis.forEach((v, j) => {
      if (start[j] && start[j].length === n && dot(v, start[j]) < 0) v.forEach((value, i) => (v[i] = -value));
    });
  }
  return { axes: basis, eigenvalues };
}

function multiply(matrix: ArrayLike<number>, n: number, v: Float64Array): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let j = 0; j < n; j++) sum += matrix[i * n + j] * v[j];
    out[i] = sum;
  }
  return out;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

/** Gram–Schmidt (twice, for float64 stability); a vector that vanishes is replaced by a fresh direction. */
function orthonormalize(vectors: Float64Array[]): Float64Array[] {
  const out: Float64Array[] = [];
  vectors.forEach((source, j) => {
    let v = Float64Array.from(source);
    for (let attempt = 0; attempt < 3; attempt++) {
      for (let pass = 0; pass < 2; pass++) {
        for (const u of out) {
          const projection = dot(v, u);
          v.forEach((value, i) => (v[i] = value - projection * u[i]));
        }
      }
      const norm = Math.sqrt(dot(v, v));
      if (norm > 1e-300) {
        out.push(v.map((value) => value / norm));
        return;
      }
      // A rank-deficient matrix maps this direction to 0: any orthogonal direction is an eigenvector (λ = 0).
      v = Float64Array.from({ length: v.length }, (_, i) => (i === (j + attempt) % v.length ? 1 : 0));
    }
    throw new Error('principalAxes: could not build an orthonormal basis');
  });
  return out;
}

/** Rotates an orthonormal basis of a subspace onto the eigenvectors of the matrix restricted to it. */
function rayleighRitz(matrix: ArrayLike<number>, n: number, basis: Float64Array[]): { vectors: Float64Array[]; values: number[] } {
  const images = basis.map((v) => multiply(matrix, n, v));
  if (basis.length === 1) return { vectors: basis, values: [dot(basis[0], images[0])] };
  // 2×2 symmetric [[a, b], [b, c]]: closed-form eigen-decomposition, larger eigenvalue first.
  const a = dot(basis[0], images[0]);
  const b = 0.5 * (dot(basis[0], images[1]) + dot(basis[1], images[0]));
  const c = dot(basis[1], images[1]);
  const angle = 0.5 * Math.atan2(2 * b, a - c);
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const first = basis[0].map((value, i) => cos * value + sin * basis[1][i]);
  const second = basis[0].map((value, i) => -sin * value + cos * basis[1][i]);
  const value1 = a * cos * cos + 2 * b * sin * cos + c * sin * sin;
  const value2 = a * sin * sin - 2 * b * sin * cos + c * cos * cos;
  return { vectors: [first, second], values: [value1, value2] };
}

/** Seeded subsample of 0..available-1 (all of it, in order, when it fits). */
function subsample(available: number, max: number, seed: number): Int32Array {
  if (available <= max) return Int32Array.from({ length: available }, (_, i) => i);
  return new Rng(seed).permutation(available).slice(0, max);
}

function subsetOf(set: ImageSet, indices: Int32Array): ImageSet {
  const pixelsPerImage = set.size * set.size * 3;
  const pixels = new Uint8Array(indices.length * pixelsPerImage);
  indices.forEach((index, row) => pixels.set(set.pixels.subarray(index * pixelsPerImage, (index + 1) * pixelsPerImage), row * pixelsPerImage));
  return { count: indices.length, size: set.size, pixels, labels: set.labels ? Int32Array.from(indices, (i) => set.labels![i]) : null };
}

function pixelsOf(set: ImageSet, index: number): Uint8Array {
  const pixelsPerImage = set.size * set.size * 3;
  return set.pixels.slice(index * pixelsPerImage, (index + 1) * pixelsPerImage);
}

/** The subsample does not depend on the run, so every run of a dataset is evaluated on the same images. */
const SAMPLE_SEED = 7331;

/**
 * The images evaluation uses for one dataset: the bank (training images, on the device already) and
 * the held-out rows, drawn once. Runs trained side by side share one sample, so their kNN figures are
 * measured on the same images; the held-out subset is uploaded once.
 */
export class EvaluationSample {
  readonly heldOutSplit: 'test' | 'train';
  /** Dataset indices of the bank rows (training split) and of the held-out rows (their split). */
  readonly bankIndices: Int32Array;
  readonly heldOutIndices: Int32Array;
  readonly heldOutSet: ImageSet;
  /** Held-out images on the device (uploaded once); null when they are training images. */
  readonly heldOutImages: DeviceImages | null;
  /** Labels on both sides, so kNN accuracy and the probe's held-out accuracy mean something. */
  readonly labelled: boolean;

  constructor(
    readonly data: DatasetSplits,
    readonly trainImages: DeviceImages,
    readonly sizes: Pick<EvaluationSettings, SampleSetting>,
  ) {
    this.bankIndices = subsample(data.train.count, sizes.maxBankImages, SAMPLE_SEED);
    const test = data.test && data.test.count > 0 ? data.test : null;
    this.heldOutSplit = test ? 'test' : 'train';
    this.heldOutSet = test ?? data.train;
    this.heldOutIndices = test ? subsample(test.count, sizes.maxHeldOutImages, SAMPLE_SEED + 1) : this.bankIndices.slice(0, sizes.maxHeldOutImages);
    this.heldOutImages = test ? new DeviceImages(subsetOf(test, this.heldOutIndices)) : null;
    this.labelled = knnProblem(data) === null;
  }

  /** Labels of the held-out rows, in row order; null without labels. */
  heldOutLabels(): Int32Array | null {
    return this.labelled ? Int32Array.from(this.heldOutIndices, (i) => this.heldOutSet.labels![i]) : null;
  }

  dispose(): void {
    this.heldOutImages?.dispose();
  }
}

type SampleSetting = (typeof SAMPLE_SETTINGS)[number];

/** Features of the latest evaluation, kept for nearest-neighbour look-ups. */
interface CachedFeatures {
  step: number;
  /** L2-normalised, [bank, D]. */
  bank: tf.Tensor2D;
  /** L2-normalised, [heldOut, D]. */
  heldOut: tf.Tensor2D;
}

/**
 * Evaluates one run's encoder on a sample. Without a sample of its own it builds one (and frees it):
 * a session passes one sample to every run's evaluator.
 */
export class Evaluator {
  readonly sample: EvaluationSample;
  private readonly ownsSample: boolean;
  private cached: CachedFeatures | null = null;
  private previousAxes: Float64Array[] | undefined;
  private disposed = false;

  constructor(
    private readonly trainer: Trainer,
    private settings: EvaluationSettings = DEFAULT_EVALUATION,
    sample?: EvaluationSample,
  ) {
    validateEvaluationSettings(settings);
    if (sample && SAMPLE_SETTINGS.some((key) => sample.sizes[key] !== settings[key])) throw new Error('The evaluation sample was drawn with other bank or held-out sizes.');
    if (sample && sample.data !== trainer.dataset) throw new Error('The evaluation sample is of another dataset than the run\'s.');
    this.sample = sample ?? new EvaluationSample(trainer.dataset, trainer.trainImages, settings);
    this.ownsSample = sample === undefined;
  }

  get evaluationSettings(): EvaluationSettings {
    return this.settings;
  }

  /**
   * Changes the cadence or the protocol. The bank and held-out images are fixed for a run, so that
   * its accuracies stay comparable: changing their sizes is refused.
   */
  updateSettings(changes: Partial<EvaluationSettings>): void {
    const next = { ...this.settings, ...changes };
    validateEvaluationSettings(next);
    if (SAMPLE_SETTINGS.some((key) => next[key] !== this.settings[key])) {
      throw new Error('The bank and held-out sizes are fixed for a run, so that its accuracies stay comparable; they apply to the next run.');
    }
    this.settings = next;
  }

  /**
   * Evaluates the encoder as it is now. Call after the trainer's `flush()`, so the time measured
   * is the evaluation's own and not queued training work.
   */
  async evaluate(): Promise<EvaluationResult> {
    if (this.disposed) throw new Error('Evaluator used after dispose()');
    const started = performance.now();
    const trainer = this.trainer;
    const encoder = trainer.method.encoder;
    const data = trainer.dataset;
    const step = trainer.steps;
    const epoch = trainer.epochs;
    const numClasses = data.classNames.length;
    const featureDim = encoder.featureDim;
    const sample = this.sample;
    const imageSize = trainer.settings.imageSize;
    const heldOutCount = sample.heldOutIndices.length;
    const projectedCount = Math.min(heldOutCount, this.settings.maxProjectedPoints);
    const rankSize = Math.min(heldOutCount, featureDim);

    const { bank, heldOut, packed } = tf.tidy(() => {
      // At the run's own image size: runs side by side share images stored at the largest size any asks for.
      const bankFeatures = embedImages(encoder, sample.trainImages, sample.bankIndices, imageSize);
      const heldOutFeatures = sample.heldOutImages
        ? embedImages(encoder, sample.heldOutImages, Int32Array.from({ length: heldOutCount }, (_, i) => i), imageSize)
        : embedImages(encoder, sample.trainImages, sample.heldOutIndices, imageSize);
      const unitBank = l2Normalize(bankFeatures);
      const unitHeldOut = l2Normalize(heldOutFeatures);
      const parts: tf.Tensor[] = [];
      if (sample.labelled) {
        const bankLabels = tf.tensor1d(Int32Array.from(sample.bankIndices, (i) => data.train.labels![i]), 'int32');
        const heldOutLabels = tf.tensor1d(sample.heldOutLabels()!, 'int32');
        const predicted = knnPredict(unitBank, bankLabels, unitHeldOut, this.settings.k, this.settings.sigma, numClasses);
        parts.push(predicted, perClassAccuracy(predicted, heldOutLabels, numClasses));
        if (trainer.probe) parts.push(trainer.probe.predict(heldOutFeatures));
      }
      // RankMe on the features as they are (Garrido et al.): the smaller Gram matrix.
      parts.push(featureDim <= heldOutCount ? tf.matMul(heldOutFeatures, heldOutFeatures, true, false) : tf.matMul(heldOutFeatures, heldOutFeatures, false, true));
      // PCA of the L2-normalised features (the geometry kNN sees): their covariance, and the points to project.
      const centred = tf.sub(unitHeldOut, tf.mean(unitHeldOut, 0, true));
      parts.push(tf.div(tf.matMul(centred, centred, true, false), Math.max(heldOutCount - 1, 1)));
      parts.push(tf.slice(centred, [0, 0], [projectedCount, featureDim]));
      const flat = tf.concat(parts.map((p) => tf.reshape(tf.cast(p, 'float32'), [-1])));
      return { bank: unitBank, heldOut: unitHeldOut, packed: flat };
    });
    let values: Float32Array;
    try {
      values = (await packed.data()) as Float32Array;
    } finally {
      packed.dispose();
    }
    if (this.disposed) {
      bank.dispose();
      heldOut.dispose();
      throw new Error('Evaluator disposed during an evaluation');
    }
    this.replaceCache({ step, bank, heldOut });

    let offset = 0;
    const take = (count: number) => values.subarray(offset, (offset += count));
    let knnAccuracy: number | null = null;
    let perClass: number[] | null = null;
    let probeAccuracy: number | null = null;
    let predicted: Int32Array | null = null;
    const heldOutLabels = sample.heldOutLabels();
    if (heldOutLabels) {
      predicted = Int32Array.from(take(heldOutCount));
      perClass = Array.from(take(numClasses));
      knnAccuracy = fractionEqual(predicted, heldOutLabels);
      if (trainer.probe) probeAccuracy = fractionEqual(Int32Array.from(take(heldOutCount)), heldOutLabels);
    }
    const gram = take(rankSize * rankSize);
    const effectiveRank = effectiveRankFromGram(gram, rankSize);
    const covariance = take(featureDim * featureDim);
    const centred = take(projectedCount * featureDim);
    const projection = this.project(covariance, centred, featureDim, projectedCount);

    return {
      step,
      epoch,
      knnAccuracy,
      perClassAccuracy: perClass,
      probeAccuracy,
      effectiveRank,
      featureDim,
      projection: {
        ...projection,
        indices: sample.heldOutIndices.slice(0, projectedCount),
        labels: heldOutLabels ? heldOutLabels.slice(0, projectedCount) : null,
        predicted: predicted ? predicted.slice(0, projectedCount) : null,
      },
      heldOutSplit: sample.heldOutSplit,
      heldOutSize: heldOutCount,
      heldOutAvailable: sample.heldOutSet.count,
      bankSize: sample.bankIndices.length,
      bankAvailable: data.train.count,
      milliseconds: performance.now() - started,
    };
  }

  /**
   * The `count` bank images nearest (cosine similarity of the last evaluation's features) to
   * held-out row `row` (a point of the embedding view), with their pixels.
   */
  async nearestNeighbours(row: number, count = 8): Promise<NeighbourResult> {
    const cached = this.cached;
    const { heldOutSet, heldOutSplit, heldOutIndices, bankIndices } = this.sample;
    if (!cached) throw new Error('No evaluation yet: neighbours come from the features of the last evaluation.');
    if (!(Number.isInteger(row) && row >= 0 && row < heldOutIndices.length)) {
      throw new Error(`There is no held-out point ${row}; pick one from 0 to ${heldOutIndices.length - 1}.`);
    }
    const neighbours = Math.min(count, bankIndices.length);
    const { values, indices } = tf.tidy(() => {
      const query = tf.slice(cached.heldOut, [row, 0], [1, -1]);
      const top = tf.topk(tf.reshape(tf.matMul(query, cached.bank, false, true), [-1]), neighbours);
      return { values: top.values, indices: top.indices };
    });
    let similarities: Float32Array;
    let bankRows: Int32Array;
    try {
      [similarities, bankRows] = (await Promise.all([values.data(), indices.data()])) as [Float32Array, Int32Array];
    } finally {
      values.dispose();
      indices.dispose();
    }
    const train = this.trainer.dataset.train;
    const queryIndex = heldOutIndices[row];
    return {
      step: cached.step,
      imageSize: train.size,
      query: { split: heldOutSplit, index: queryIndex, label: heldOutSet.labels?.[queryIndex] ?? null, pixels: pixelsOf(heldOutSet, queryIndex) },
      neighbours: Array.from(bankRows, (bankRow, i) => {
        const index = bankIndices[bankRow];
        return { index, label: train.labels?.[index] ?? null, similarity: similarities[i], pixels: pixelsOf(train, index) };
      }),
    };
  }

  /** The held-out rows' features from the last evaluation (what the embedding view projects), read back once. */
  async heldOutEmbeddings(): Promise<HeldOutEmbeddings> {
    const cached = this.cached;
    if (!cached) throw new Error('No evaluation yet: the embeddings are the held-out features of the last evaluation.');
    const vectors = (await cached.heldOut.data()) as Float32Array;
    const labels = this.sample.heldOutLabels();
    return { step: cached.step, vectors, dim: cached.heldOut.shape[1], labels, classNames: this.trainer.dataset.classNames };
  }

  dispose(): void {
    this.disposed = true;
    this.replaceCache(null);
    if (this.ownsSample) this.sample.dispose();
  }

  private replaceCache(next: CachedFeatures | null): void {
    if (this.cached) {
      this.cached.bank.dispose();
      this.cached.heldOut.dispose();
    }
    this.cached = next;
  }

  private project(covariance: Float32Array, centred: Float32Array, dim: number, points: number): Pick<EmbeddingProjection, 'x' | 'y' | 'explainedVariance'> {
    const x = new Float32Array(points);
    const y = new Float32Array(points);
    if (!covariance.every(Number.isFinite)) return { x: x.fill(NaN), y: y.fill(NaN), explainedVariance: [NaN, NaN] };
    let trace = 0;
    for (let i = 0; i < dim; i++) trace += covariance[i * dim + i];
    const { axes, eigenvalues } = principalAxes(covariance, dim, 2, this.previousAxes);
    this.previousAxes = axes;
    const [first, second] = axes;
    for (let p = 0; p < points; p++) {
      const row = centred.subarray(p * dim, (p + 1) * dim);
      x[p] = dot(row, first);
      y[p] = second ? dot(row, second) : 0;
    }
    const share = (value: number | undefined) => (trace > 0 && value !== undefined ? Math.max(value, 0) / trace : 0);
    return { x, y, explainedVariance: [share(eigenvalues[0]), share(eigenvalues[1])] };
  }
}

function fractionEqual(a: Int32Array, b: Int32Array): number {
  let equal = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) equal += 1;
  return a.length > 0 ? equal / a.length : NaN;
}
