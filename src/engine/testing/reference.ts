/**
 * Reference implementations the tests check the app against, and helpers only tests need. The app
 * computes these pieces differently (RankMe from a Gram matrix it already has, kNN inside the
 * evaluator's one read-back, losses from their named terms); nothing here is shipped.
 */
import * as tf from '@tensorflow/tfjs';
import { barlowTwinsTerms, vicregTerms } from '../losses';
import { effectiveRankFromGram, knnPredict } from '../metrics';
import type { Module } from '../nn';

/** Fraction of test rows whose kNN prediction equals testLabels, as a scalar tensor. */
export function knnAccuracy(
  trainFeatures: tf.Tensor2D,
  trainLabels: tf.Tensor1D,
  testFeatures: tf.Tensor2D,
  testLabels: tf.Tensor1D,
  k: number,
  sigma: number,
  numClasses: number,
): tf.Scalar {
  return tf.tidy(() => {
    const predicted = knnPredict(trainFeatures, trainLabels, testFeatures, k, sigma, numClasses);
    return tf.mean(tf.equal(predicted, tf.cast(testLabels, 'int32')).cast('float32')) as tf.Scalar;
  });
}

/**
 * Eigenvalues of a symmetric n×n matrix (row-major) by the cyclic Jacobi method, in float64.
 * Unsorted. Simple and very accurate but ~n³ per sweep with poor memory locality: the app uses
 * Householder + QL (symmetricEigenvalues); this one is its cross-check.
 */
export function symmetricEigenvaluesJacobi(matrix: ArrayLike<number>, n: number): Float64Array {
  const a = Float64Array.from({ length: n * n }, (_, k) => 0.5 * (matrix[k] + matrix[(k % n) * n + Math.floor(k / n)]));
  const maxSweeps = 50;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let offDiagonal = 0;
    let diagonal = 0;
    for (let i = 0; i < n; i++) {
      diagonal += a[i * n + i] * a[i * n + i];
      for (let j = i + 1; j < n; j++) offDiagonal += a[i * n + j] * a[i * n + j];
    }
    if (offDiagonal === 0 || offDiagonal <= 1e-30 * diagonal) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const app = a[p * n + p];
        const aqq = a[q * n + q];
        // Rotation that zeroes a_pq (Numerical Recipes §11.1, smaller root for stability).
        const theta = (aqq - app) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        a[p * n + p] = app - t * apq;
        a[q * n + q] = aqq + t * apq;
        a[p * n + q] = 0;
        a[q * n + p] = 0;
        for (let r = 0; r < n; r++) {
          if (r === p || r === q) continue;
          const arp = a[r * n + p];
          const arq = a[r * n + q];
          const newRp = c * arp - s * arq;
          const newRq = s * arp + c * arq;
          a[r * n + p] = newRp;
          a[p * n + r] = newRp;
          a[r * n + q] = newRq;
          a[q * n + r] = newRq;
        }
      }
    }
  }
  const eigenvalues = new Float64Array(n);
  for (let i = 0; i < n; i++) eigenvalues[i] = a[i * n + i];
  return eigenvalues;
}

/** RankMe of an embedding matrix z [N, d], from its smaller Gram matrix read back with `await data()`. */
export async function effectiveRank(z: tf.Tensor2D): Promise<number> {
  const [rows, cols] = z.shape;
  const gram = tf.tidy(() => (cols <= rows ? tf.matMul(z, z, true, false) : tf.matMul(z, z, false, true)));
  try {
    return effectiveRankFromGram(await gram.data(), Math.min(rows, cols));
  } finally {
    gram.dispose();
  }
}

/** Barlow Twins: Σ_i (1 − c_ii)² + λ Σ_{i≠j} c_ij², c = standardised z1ᵀz2 / N. */
export function barlowTwinsLoss(z1: tf.Tensor, z2: tf.Tensor, lambda: number): tf.Scalar {
  return tf.tidy(() => {
    const { onDiagonal, offDiagonal } = barlowTwinsTerms(z1, z2, lambda);
    return tf.add(onDiagonal, offDiagonal) as tf.Scalar;
  });
}

/** VICReg: simCoeff·invariance + stdCoeff·variance + covCoeff·covariance. */
export function vicregLoss(
  z1: tf.Tensor,
  z2: tf.Tensor,
  simCoeff: number,
  stdCoeff: number,
  covCoeff: number,
): tf.Scalar {
  return tf.tidy(() => {
    const { invariance, variance, covariance } = vicregTerms(z1, z2);
    return tf.addN([tf.mul(simCoeff, invariance), tf.mul(stdCoeff, variance), tf.mul(covCoeff, covariance)]) as tf.Scalar;
  });
}

export function disposeModule(module: Module): void {
  for (const p of [...module.params, ...module.buffers]) p.variable.dispose();
}

export function parameterCount(module: Module): number {
  return module.params.reduce((n, p) => n + p.variable.size, 0);
}
