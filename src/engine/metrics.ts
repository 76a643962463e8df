/**
 * Representation-quality metrics: kNN accuracy (InstDisc protocol), collapse detectors
 * (feature std, effective rank) and Wang & Isola's alignment / uniformity.
 * Everything returns tensors except effectiveRank, whose eigenvalue step runs on the CPU.
 */
import * as tf from '@tensorflow/tfjs';
import { EMBEDDING_STATISTICS } from './fused-metrics';
import { backendHas } from './fused-updates';
import { l2Normalize } from './losses';

/** Test rows scored against the bank at once: bounds the [chunk, bankSize] similarity matrix. */
const KNN_CHUNK_ROWS = 256;

/**
 * Weighted kNN classifier (Wu et al., 2018): cosine similarity of L2-normalised features, the top-k
 * bank rows (k clamped to the bank size) vote for their label with weight exp(sim / σ).
 * Returns int32 [numTest] predicted labels. trainLabels: int32 [numTrain].
 */
export function knnPredict(
  trainFeatures: tf.Tensor2D,
  trainLabels: tf.Tensor1D,
  testFeatures: tf.Tensor2D,
  k: number,
  sigma: number,
  numClasses: number,
): tf.Tensor1D {
  return tf.tidy(() => {
    const bank = l2Normalize(trainFeatures);
    const bankLabels = tf.cast(trainLabels, 'int32');
    const neighbours = effectiveK(bank.shape[0], k);
    const numTest = testFeatures.shape[0];
    const chunks: tf.Tensor1D[] = [];
    for (let start = 0; start < numTest; start += KNN_CHUNK_ROWS) {
      const rows = Math.min(KNN_CHUNK_ROWS, numTest - start);
      // Each chunk in its own tidy so only its predictions outlive it.
      chunks.push(
        tf.tidy(() => {
          const queries = l2Normalize(tf.slice(testFeatures, [start, 0], [rows, -1]));
          const similarity = tf.matMul(queries, bank, false, true);
          const { values, indices } = tf.topk(similarity, neighbours);
          const weights = tf.exp(tf.div(values, sigma));
          const votes = tf.oneHot(tf.gather(bankLabels, indices), numClasses).cast('float32');
          const classScores = tf.sum(tf.mul(votes, tf.expandDims(weights, 2)), 1);
          return tf.argMax(classScores, 1) as tf.Tensor1D;
        }),
      );
    }
    if (chunks.length === 0) return tf.zeros([0], 'int32') as tf.Tensor1D;
    return tf.concat(chunks, 0) as tf.Tensor1D;
  });
}

/** Neighbours a vote actually uses: k clamped to the bank size. */
export function effectiveK(bankSize: number, k: number): number {
  return Math.max(1, Math.min(k, bankSize));
}

/** Accuracy per true class, float [numClasses]; a class with no test rows scores 0. */
export function perClassAccuracy(predicted: tf.Tensor1D, labels: tf.Tensor1D, numClasses: number): tf.Tensor1D {
  return tf.tidy(() => {
    const labelOneHot = tf.oneHot(tf.cast(labels, 'int32'), numClasses).cast('float32');
    const correct = tf.equal(tf.cast(predicted, 'int32'), tf.cast(labels, 'int32')).cast('float32');
    const correctPerClass = tf.sum(tf.mul(labelOneHot, tf.expandDims(correct, 1)), 0);
    const countPerClass = tf.sum(labelOneHot, 0);
    return tf.divNoNan(correctPerClass, countPerClass) as tf.Tensor1D;
  });
}

/**
 * Mean over dimensions of the unbiased per-dimension std (over the batch) of the L2-normalised rows.
 * About 1/√d when embeddings spread over the sphere, 0 when they collapse to one point. Needs N ≥ 2.
 */
export function featureStd(z: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const n = z.shape[0];
    const unit = l2Normalize(z);
    const centred = tf.sub(unit, tf.mean(unit, 0, true));
    const variance = tf.div(tf.sum(tf.square(centred), 0), n - 1);
    return tf.mean(tf.sqrt(variance)) as tf.Scalar;
  });
}

/** Wang & Isola alignment (α = 2): mean over rows of ‖x̂_i − ŷ_i‖². 0 for identical views, 4 at worst. */
export function alignment(z1: tf.Tensor2D, z2: tf.Tensor2D): tf.Scalar {
  return tf.tidy(
    () => tf.mean(tf.sum(tf.squaredDifference(l2Normalize(z1), l2Normalize(z2)), 1)) as tf.Scalar,
  );
}

/**
 * Wang & Isola uniformity (t = 2): log mean over pairs i < j of exp(−2‖x̂_i − x̂_j‖²).
 * Lower is more uniform; 0 when collapsed, −4 as the limit for a uniform sphere in high d. Needs N ≥ 2.
 */
export function uniformity(z: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const n = z.shape[0];
    const unit = l2Normalize(z);
    const gram = tf.matMul(unit, unit, false, true);
    // ‖x − y‖² = 2 − 2x·y for unit rows; clamp the rounding below 0.
    const squaredDistance = tf.relu(tf.sub(2, tf.mul(2, gram)));
    const { row, column } = pairIndices(n);
    const upperPairs = tf.less(row, column);
    // log-sum-exp over the pairs (others masked to a huge negative) stays finite even for tiny means.
    const pairLogits = tf.where(upperPairs, tf.mul(-2, squaredDistance), tf.fill([n, n], -1e9));
    const numPairs = (n * (n - 1)) / 2;
    return tf.sub(tf.logSumExp(pairLogits.reshape([-1])), Math.log(numPairs)) as tf.Scalar;
  });
}

export interface PositiveNegativeCosine {
  /** Mean cos(z1_i, z2_i) over matched pairs. */
  positive: tf.Scalar;
  /** Mean cos(z1_i, z2_j) over i ≠ j. */
  negative: tf.Scalar;
}

/** Mean cosine of matched pairs vs. non-matched pairs across the two views. Needs N ≥ 2. */
export function meanPositiveNegativeCosine(z1: tf.Tensor2D, z2: tf.Tensor2D): PositiveNegativeCosine {
  return tf.tidy(() => {
    const n = z1.shape[0];
    const cosine = tf.matMul(l2Normalize(z1), l2Normalize(z2), false, true);
    const { row, column } = pairIndices(n);
    const eye = tf.cast(tf.equal(row, column), 'float32');
    const positive = tf.div(tf.sum(tf.mul(cosine, eye)), n) as tf.Scalar;
    const negative = tf.div(tf.sum(tf.mul(cosine, tf.sub(1, eye))), n * (n - 1)) as tf.Scalar;
    return { positive, negative };
  });
}

/**
 * The row index [n, 1] and column index [1, n] of an n×n matrix, whose comparisons make its masks on the
 * device: tf.eye, tf.ones and tf.linalg.bandPart each upload an n×n tensor of values.
 */
function pairIndices(n: number): { row: tf.Tensor2D; column: tf.Tensor2D } {
  const index = tf.range(0, n, 1, 'int32');
  return { row: tf.reshape(index, [n, 1]), column: tf.reshape(index, [1, n]) };
}

/**
 * featureStd(z1), alignment(z1, z2), uniformity(z1) and the matched and other pairs' mean cosine, float32 [5]
 * in the order of fused-metrics.ts: one fused kernel where the backend registers it, these composites elsewhere.
 */
export function embeddingStatistics(z1: tf.Tensor2D, z2: tf.Tensor2D): tf.Tensor1D {
  if (backendHas(EMBEDDING_STATISTICS)) return tf.engine().runKernel(EMBEDDING_STATISTICS, { z1, z2 }) as tf.Tensor1D;
  return tf.tidy(() => {
    const cosine = meanPositiveNegativeCosine(z1, z2);
    return tf.stack([featureStd(z1), alignment(z1, z2), uniformity(z1), cosine.positive, cosine.negative]) as tf.Tensor1D;
  });
}

function symmetrizedCopy(matrix: ArrayLike<number>, n: number, caller: string): Float64Array {
  if (matrix.length !== n * n) throw new Error(`${caller}: expected ${n * n} entries, got ${matrix.length}`);
  const a = new Float64Array(n * n);
  // Average with the transpose: a Gram matrix from float32 kernels can be off-symmetric by rounding.
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) a[i * n + j] = 0.5 * (matrix[i * n + j] + matrix[j * n + i]);
  }
  return a;
}

/**
 * Eigenvalues of a symmetric n×n matrix (row-major), in float64: Householder reduction to
 * tridiagonal form, then QL with implicit shifts (Numerical Recipes tred2 + tqli, no eigenvectors).
 * Unsorted. ~(4/3)n³ once instead of Jacobi's n³ per sweep (the tests cross-check it with Jacobi).
 */
export function symmetricEigenvalues(matrix: ArrayLike<number>, n: number): Float64Array {
  const z = symmetrizedCopy(matrix, n, 'symmetricEigenvalues');
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  if (n === 0) return d;

  // Householder: after this, d is the diagonal and e[1..n-1] the sub-diagonal of a similar tridiagonal matrix.
  for (let i = n - 1; i > 0; i--) {
    const l = i - 1;
    let h = 0;
    if (l > 0) {
      let scale = 0;
      for (let k = 0; k < i; k++) scale += Math.abs(z[i * n + k]);
      if (scale === 0) {
        e[i] = z[i * n + l];
      } else {
        for (let k = 0; k < i; k++) {
          z[i * n + k] /= scale;
          h += z[i * n + k] * z[i * n + k];
        }
        let f = z[i * n + l];
        let g = f >= 0 ? -Math.sqrt(h) : Math.sqrt(h);
        e[i] = scale * g;
        h -= f * g;
        z[i * n + l] = f - g;
        f = 0;
        for (let j = 0; j < i; j++) {
          g = 0;
          for (let k = 0; k <= j; k++) g += z[j * n + k] * z[i * n + k];
          for (let k = j + 1; k < i; k++) g += z[k * n + j] * z[i * n + k];
          e[j] = g / h;
          f += e[j] * z[i * n + j];
        }
        const hh = f / (h + h);
        for (let j = 0; j < i; j++) {
          f = z[i * n + j];
          g = e[j] - hh * f;
          e[j] = g;
          for (let k = 0; k <= j; k++) z[j * n + k] -= f * e[k] + g * z[i * n + k];
        }
      }
    } else {
      e[i] = z[i * n + l];
    }
    d[i] = h;
  }
  for (let i = 0; i < n; i++) d[i] = z[i * n + i];

  // QL with implicit shifts on the tridiagonal matrix.
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  const maxIterations = 60;
  for (let l = 0; l < n; l++) {
    let iterations = 0;
    let m: number;
    do {
      for (m = l; m < n - 1; m++) {
        const dd = Math.abs(d[m]) + Math.abs(d[m + 1]);
        if (Math.abs(e[m]) <= Number.EPSILON * dd) break;
      }
      if (m !== l) {
        if (iterations++ === maxIterations) throw new Error('symmetricEigenvalues: QL did not converge');
        let g = (d[l + 1] - d[l]) / (2 * e[l]);
        let r = Math.hypot(g, 1);
        g = d[m] - d[l] + e[l] / (g + (g >= 0 ? r : -r));
        let s = 1;
        let c = 1;
        let p = 0;
        let i: number;
        for (i = m - 1; i >= l; i--) {
          const f = s * e[i];
          const b = c * e[i];
          r = Math.hypot(f, g);
          e[i + 1] = r;
          if (r === 0) {
            // Underflow: the matrix split; restart this l with the smaller block.
            d[i + 1] -= p;
            e[m] = 0;
            break;
          }
          s = f / r;
          c = g / r;
          g = d[i + 1] - p;
          r = (d[i] - g) * s + 2 * c * b;
          p = s * r;
          d[i + 1] = g + p;
          g = c * r - b;
        }
        if (r === 0 && i >= l) continue;
        d[l] -= p;
        e[l] = g;
        e[m] = 0;
      }
    } while (m !== l);
  }
  return d;
}

/** RankMe from singular values: exp of the entropy of p_k = σ_k / Σσ + 1e-7. 0 for an all-zero matrix. */
export function effectiveRankFromSingularValues(singularValues: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < singularValues.length; i++) total += singularValues[i];
  if (!(total > 0)) return 0;
  let entropy = 0;
  for (let i = 0; i < singularValues.length; i++) {
    const p = singularValues[i] / total + 1e-7;
    entropy -= p * Math.log(p);
  }
  return Math.exp(entropy);
}

/**
 * RankMe effective rank (Garrido et al., 2023) of an embedding matrix from its smaller Gram matrix
 * (zᵀz or zzᵀ, `size` square, row-major): σ = √λ of its eigenvalues, found on the CPU in float64.
 * The embeddings are used as given (not normalised or centred), as in the paper. NaN for a diverged
 * run (non-finite values) rather than a failure inside QL.
 */
export function effectiveRankFromGram(gram: ArrayLike<number>, size: number): number {
  if (size === 0) return 0;
  for (let i = 0; i < gram.length; i++) if (!Number.isFinite(gram[i])) return NaN;
  // Rounding can leave tiny negative eigenvalues of a PSD matrix.
  return effectiveRankFromSingularValues(Array.from(symmetricEigenvalues(gram, size), (lambda) => Math.sqrt(Math.max(lambda, 0))));
}
