import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  alignment,
  effectiveRankFromSingularValues,
  featureStd,
  knnPredict,
  meanPositiveNegativeCosine,
  perClassAccuracy,
  symmetricEigenvalues,
  uniformity,
} from './metrics';
import { effectiveRank, knnAccuracy, symmetricEigenvaluesJacobi } from './testing/reference';

// ---------------------------------------------------------------------------------------------
// Plain-JS reference implementations (float64, no tfjs).
// ---------------------------------------------------------------------------------------------

type Matrix = number[][];

function seededRandom(seed: number): () => number {
  // mulberry32
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussianMatrix(rows: number, cols: number, seed: number, scale = 1): Matrix {
  const random = seededRandom(seed);
  return Array.from({ length: rows }, () =>
    Array.from({ length: cols }, () => {
      const u = Math.max(random(), 1e-12);
      return scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
    }),
  );
}

const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0);
const normalize = (row: number[]) => {
  const norm = Math.max(Math.sqrt(dot(row, row)), 1e-12);
  return row.map((v) => v / norm);
};
const normalizeRows = (m: Matrix) => m.map(normalize);
const mean = (values: number[]) => values.reduce((s, v) => s + v, 0) / values.length;
const squaredDistance = (a: number[], b: number[]) => a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0);

/** Class scores of the weighted kNN vote for one query (InstDisc). */
function refKnnScores(bank: Matrix, bankLabels: number[], query: number[], k: number, sigma: number, numClasses: number) {
  const q = normalize(query);
  const neighbours = normalizeRows(bank)
    .map((row, i) => ({ similarity: dot(q, row), label: bankLabels[i] }))
    .sort((a, b) => b.similarity - a.similarity)
    .slice(0, Math.min(k, bank.length));
  const scores = new Array<number>(numClasses).fill(0);
  neighbours.forEach(({ similarity, label }) => (scores[label] += Math.exp(similarity / sigma)));
  return scores;
}

function refFeatureStd(z: Matrix): number {
  const unit = normalizeRows(z);
  const n = unit.length;
  const stds = unit[0].map((_, j) => {
    const col = unit.map((row) => row[j]);
    const mu = mean(col);
    return Math.sqrt(col.reduce((s, v) => s + (v - mu) ** 2, 0) / (n - 1));
  });
  return mean(stds);
}

const refAlignment = (z1: Matrix, z2: Matrix) =>
  mean(normalizeRows(z1).map((row, i) => squaredDistance(row, normalize(z2[i]))));

function refUniformity(z: Matrix): number {
  const unit = normalizeRows(z);
  const terms: number[] = [];
  for (let i = 0; i < unit.length; i++) {
    for (let j = i + 1; j < unit.length; j++) terms.push(Math.exp(-2 * squaredDistance(unit[i], unit[j])));
  }
  return Math.log(mean(terms));
}

function refEntropyRank(singularValues: number[]): number {
  const total = singularValues.reduce((s, v) => s + v, 0);
  const p = singularValues.map((s) => s / total + 1e-7);
  return Math.exp(-p.reduce((s, v) => s + v * Math.log(v), 0));
}

/** Q·diag(λ)·Qᵀ with Q a product of Givens rotations: a symmetric matrix with a known spectrum. */
function matrixWithEigenvalues(eigenvalues: number[], seed: number): number[] {
  const n = eigenvalues.length;
  const random = seededRandom(seed);
  const a: Matrix = eigenvalues.map((lambda, i) => eigenvalues.map((_, j) => (i === j ? lambda : 0)));
  for (let r = 0; r < 3 * n * n; r++) {
    const p = Math.floor(random() * n);
    const q = (p + 1 + Math.floor(random() * (n - 1))) % n;
    const angle = 2 * Math.PI * random();
    const c = Math.cos(angle);
    const s = Math.sin(angle);
    // A ← G A Gᵀ on rows/columns p, q
    for (let k = 0; k < n; k++) {
      const ap = a[p][k];
      const aq = a[q][k];
      a[p][k] = c * ap - s * aq;
      a[q][k] = s * ap + c * aq;
    }
    for (let k = 0; k < n; k++) {
      const ap = a[k][p];
      const aq = a[k][q];
      a[k][p] = c * ap - s * aq;
      a[k][q] = s * ap + c * aq;
    }
  }
  return a.flat();
}

const sorted = (values: ArrayLike<number>) => Array.from(values).sort((x, y) => x - y);
const t2 = (m: Matrix) => tf.tensor2d(m);
function scalarOf(f: () => tf.Tensor): number {
  return tf.tidy(() => f().dataSync()[0]);
}

// ---------------------------------------------------------------------------------------------

/** Three well-separated clusters around ±axis directions, with labels. */
function clusteredSet(perClass: number, seed: number) {
  const centres = [
    [5, 0, 0, 0],
    [0, 5, 0, 0],
    [0, 0, -5, 1],
  ];
  const noise = gaussianMatrix(perClass * centres.length, 4, seed, 0.5);
  const features = noise.map((row, i) => row.map((v, j) => v + centres[i % centres.length][j]));
  const labels = noise.map((_, i) => i % centres.length);
  return { features, labels };
}

describe('knnPredict / knnAccuracy', () => {
  it('classifies a toy clustered set correctly, also with k larger than the bank', () => {
    const train = clusteredSet(10, 1);
    const test = clusteredSet(7, 2);
    for (const k of [1, 5, 1000]) {
      const predicted = tf.tidy(() =>
        Array.from(knnPredict(t2(train.features), tf.tensor1d(train.labels, 'int32'), t2(test.features), k, 0.07, 3).dataSync()),
      );
      expect(predicted).toEqual(test.labels);
      const accuracy = scalarOf(() =>
        knnAccuracy(t2(train.features), tf.tensor1d(train.labels, 'int32'), t2(test.features), tf.tensor1d(test.labels, 'int32'), k, 0.07, 3),
      );
      expect(accuracy).toBe(1);
    }
  });

  it('returns int32 predictions and matches the plain-JS reference across several chunks', () => {
    const bank = gaussianMatrix(40, 6, 3);
    const bankLabels = bank.map((_, i) => (i * 7) % 4);
    const queries = gaussianMatrix(600, 6, 4); // > 2 chunks of 256
    const result = tf.tidy(() => {
      const predicted = knnPredict(t2(bank), tf.tensor1d(bankLabels, 'int32'), t2(queries), 5, 0.1, 4);
      return { dtype: predicted.dtype, shape: predicted.shape, values: Array.from(predicted.dataSync()) };
    });
    expect(result.dtype).toBe('int32');
    expect(result.shape).toEqual([600]);
    let compared = 0;
    queries.forEach((query, i) => {
      const scores = refKnnScores(bank, bankLabels, query, 5, 0.1, 4);
      const ranked = sorted(scores).reverse();
      // Skip near-ties, where float32 vs float64 rounding may legitimately flip the argmax.
      if (ranked[0] - ranked[1] < 1e-4 * ranked[0]) return;
      compared++;
      expect(result.values[i]).toBe(scores.indexOf(ranked[0]));
    });
    expect(compared).toBeGreaterThan(550);
  });

  it('hand-worked vote: weights exp(sim/σ) can outvote a majority', () => {
    // Query along x. One class-0 neighbour at cos 1, two class-1 neighbours at cos 0.8.
    const bank = [
      [1, 0],
      [0.8, 0.6],
      [0.8, -0.6],
    ];
    const predictWith = (sigma: number) =>
      tf.tidy(() => knnPredict(t2(bank), tf.tensor1d([0, 1, 1], 'int32'), t2([[2, 0]]), 3, sigma, 2).dataSync()[0]);
    // σ = 0.1: e^10 vs 2e^8 → class 0.   σ = 1: e^1 = 2.72 vs 2e^0.8 = 4.45 → class 1.
    expect(predictWith(0.1)).toBe(0);
    expect(predictWith(1)).toBe(1);
  });

  it('perClassAccuracy: hand-worked, and 0 for a class with no examples', () => {
    const accuracy = tf.tidy(() =>
      Array.from(perClassAccuracy(tf.tensor1d([0, 1, 1, 2, 0, 1], 'int32'), tf.tensor1d([0, 1, 2, 2, 1, 1], 'int32'), 4).dataSync()),
    );
    expect(accuracy[0]).toBeCloseTo(1, 6);
    expect(accuracy[1]).toBeCloseTo(2 / 3, 6);
    expect(accuracy[2]).toBeCloseTo(1 / 2, 6);
    expect(accuracy[3]).toBe(0);
  });
});

describe('featureStd', () => {
  it('is 0 for a collapsed batch', () => {
    const collapsed = Array.from({ length: 8 }, () => [1, -2, 3, 0.5]);
    expect(scalarOf(() => featureStd(t2(collapsed)))).toBeCloseTo(0, 6);
    // Same direction, different lengths: still collapsed after normalisation.
    const scaled = collapsed.map((row, i) => row.map((v) => v * (i + 1)));
    expect(scalarOf(() => featureStd(t2(scaled)))).toBeCloseTo(0, 5);
  });

  it('is ≈ 1/√d for random Gaussian rows, and matches the reference', () => {
    const d = 16;
    const z = gaussianMatrix(2000, d, 5);
    const value = scalarOf(() => featureStd(t2(z)));
    expect(Math.abs(value - 1 / Math.sqrt(d))).toBeLessThan(0.01);
    const small = gaussianMatrix(7, 3, 6);
    expect(scalarOf(() => featureStd(t2(small)))).toBeCloseTo(refFeatureStd(small), 5);
  });
});

describe('alignment', () => {
  it('is 0 for identical views, 2 for orthogonal, 4 for opposite', () => {
    const z = gaussianMatrix(5, 4, 7);
    expect(scalarOf(() => alignment(t2(z), t2(z.map((row) => row.map((v) => 2 * v)))))).toBeCloseTo(0, 6);
    expect(scalarOf(() => alignment(t2([[1, 0]]), t2([[0, 3]])))).toBeCloseTo(2, 6);
    expect(scalarOf(() => alignment(t2([[1, 0]]), t2([[-3, 0]])))).toBeCloseTo(4, 6);
  });

  it('matches the reference', () => {
    const z1 = gaussianMatrix(9, 4, 8);
    const z2 = gaussianMatrix(9, 4, 9);
    expect(scalarOf(() => alignment(t2(z1), t2(z2)))).toBeCloseTo(refAlignment(z1, z2), 5);
  });
});

describe('uniformity', () => {
  it('is −8 for two antipodal points and 0 when collapsed', () => {
    expect(scalarOf(() => uniformity(t2([[1, 0], [-2, 0]])))).toBeCloseTo(-8, 5);
    expect(scalarOf(() => uniformity(t2([[1, 1], [2, 2], [3, 3]])))).toBeCloseTo(0, 5);
  });

  it('matches the reference', () => {
    const z = gaussianMatrix(12, 5, 10);
    expect(scalarOf(() => uniformity(t2(z)))).toBeCloseTo(refUniformity(z), 4);
  });
});

describe('meanPositiveNegativeCosine', () => {
  it('hand-worked values', () => {
    const z1 = [
      [1, 0],
      [0, 1],
    ];
    const z2 = [
      [2, 0],
      [1, 1],
    ];
    // positive: cos(e1, e1) = 1, cos(e2, e1+e2) = 1/√2; negative: cos(e1, e1+e2) = 1/√2, cos(e2, e1) = 0
    const result = tf.tidy(() => {
      const { positive, negative } = meanPositiveNegativeCosine(t2(z1), t2(z2));
      return [positive.dataSync()[0], negative.dataSync()[0]];
    });
    expect(result[0]).toBeCloseTo((1 + Math.SQRT1_2) / 2, 6);
    expect(result[1]).toBeCloseTo(Math.SQRT1_2 / 2, 6);
  });

  it('matches the reference', () => {
    const z1 = gaussianMatrix(6, 4, 11);
    const z2 = gaussianMatrix(6, 4, 12);
    const a = normalizeRows(z1);
    const b = normalizeRows(z2);
    const positives: number[] = [];
    const negatives: number[] = [];
    a.forEach((row, i) => b.forEach((other, j) => (i === j ? positives : negatives).push(dot(row, other))));
    const result = tf.tidy(() => {
      const { positive, negative } = meanPositiveNegativeCosine(t2(z1), t2(z2));
      return [positive.dataSync()[0], negative.dataSync()[0]];
    });
    expect(result[0]).toBeCloseTo(mean(positives), 5);
    expect(result[1]).toBeCloseTo(mean(negatives), 5);
  });
});

describe('eigenvalues and effectiveRank', () => {
  it('both eigenvalue routines recover a known spectrum', () => {
    const spectrum = [5, 3, 3, 1, 0.5, 0.01, 0, 2];
    const matrix = matrixWithEigenvalues(spectrum, 13);
    for (const routine of [symmetricEigenvalues, symmetricEigenvaluesJacobi]) {
      sorted(routine(matrix, spectrum.length)).forEach((v, i) => expect(v).toBeCloseTo(sorted(spectrum)[i], 10));
    }
    expect(Array.from(symmetricEigenvalues([4], 1))).toEqual([4]);
    expect(symmetricEigenvalues([], 0).length).toBe(0);
  });

  it('the fast routine agrees with Jacobi on a random Gram matrix', () => {
    const z = gaussianMatrix(50, 30, 14);
    const gram = Array.from({ length: 30 * 30 }, (_, idx) => {
      const i = Math.floor(idx / 30);
      const j = idx % 30;
      return z.reduce((s, row) => s + row[i] * row[j], 0);
    });
    const fast = sorted(symmetricEigenvalues(gram, 30));
    sorted(symmetricEigenvaluesJacobi(gram, 30)).forEach((v, i) => expect(fast[i]).toBeCloseTo(v, 8));
  });

  it('effectiveRankFromSingularValues matches the entropy formula', () => {
    expect(effectiveRankFromSingularValues([3, 1])).toBeCloseTo(refEntropyRank([3, 1]), 10);
    expect(effectiveRankFromSingularValues([2, 2, 2, 2])).toBeCloseTo(4, 4);
    expect(effectiveRankFromSingularValues([0, 0])).toBe(0);
  });

  it('effectiveRank of matrices with known singular values', async () => {
    // Rows 3·e1 and 1·e2 (plus zero rows): σ = (3, 1).
    const twoValues = tf.tensor2d([
      [3, 0, 0],
      [0, 1, 0],
      [0, 0, 0],
      [0, 0, 0],
    ]);
    expect(await effectiveRank(twoValues)).toBeCloseTo(refEntropyRank([3, 1, 0]), 4);
    // Rank one: every row a multiple of one vector.
    const rankOne = tf.tensor2d([
      [1, 2, 3],
      [2, 4, 6],
      [-1, -2, -3],
    ]);
    expect(await effectiveRank(rankOne)).toBeCloseTo(1, 3);
    // Wide matrix (N < d): uses the N×N Gram. An orthogonal 3×8 block has σ = (1, 1, 1).
    const wide = tf.tidy(() => tf.slice(tf.eye(8), [0, 0], [3, 8]) as tf.Tensor2D);
    expect(await effectiveRank(wide)).toBeCloseTo(3, 3);
    tf.dispose([twoValues, rankOne, wide]);
  });

  it('effectiveRank of random Gaussian rows is high, of a collapsed batch ≈ 1', async () => {
    const random = tf.tensor2d(gaussianMatrix(400, 16, 15));
    const collapsed = tf.tensor2d(Array.from({ length: 50 }, () => [1, 2, 3, 4]));
    expect(await effectiveRank(random)).toBeGreaterThan(14);
    expect(await effectiveRank(collapsed)).toBeCloseTo(1, 3);
    const diverged = tf.tensor2d([
      [NaN, 1],
      [2, 3],
    ]);
    expect(await effectiveRank(diverged)).toBeNaN();
    tf.dispose([random, collapsed, diverged]);
  });
});

describe('memory', () => {
  it('no metric leaks tensors', async () => {
    const train = clusteredSet(100, 16);
    const bank = t2(train.features);
    const bankLabels = tf.tensor1d(train.labels, 'int32');
    const queries = t2(gaussianMatrix(300, 4, 17));
    const queryLabels = tf.tensor1d(gaussianMatrix(300, 1, 18).map((row) => (row[0] > 0 ? 1 : 0)), 'int32');
    const callEveryMetric = async () => {
      const predicted = knnPredict(bank, bankLabels, queries, 20, 0.07, 3);
      const outputs: tf.Tensor[] = [
        predicted,
        knnAccuracy(bank, bankLabels, queries, queryLabels, 20, 0.07, 3),
        perClassAccuracy(predicted, queryLabels, 3),
        featureStd(queries),
        alignment(queries, queries),
        uniformity(queries),
        ...Object.values(meanPositiveNegativeCosine(queries, queries)),
      ];
      await effectiveRank(queries);
      tf.dispose(outputs);
    };
    await callEveryMetric();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) await callEveryMetric();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([bank, bankLabels, queries, queryLabels]);
  });
});
