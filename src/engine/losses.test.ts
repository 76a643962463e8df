import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  barlowTwinsTerms,
  byolLoss,
  infoNCELoss,
  l2Normalize,
  npidLoss,
  ntXentLoss,
  simSiamLoss,
  stopGradient,
  supConLoss,
  uniGradCorrelation,
  uniGradLoss,
  vicregTerms,
} from './losses';
import { gradCheck, gradCheckDetailed } from './testing/gradcheck';
import { barlowTwinsLoss, vicregLoss } from './testing/reference';

// ---------------------------------------------------------------------------------------------
// Plain-JS reference implementations (float64, no tfjs), written straight from the papers' code.
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
const logSumExp = (values: number[]) => {
  const max = Math.max(...values);
  return max + Math.log(values.reduce((s, v) => s + Math.exp(v - max), 0));
};
const column = (m: Matrix, j: number) => m.map((row) => row[j]);
const transpose = (m: Matrix) => m[0].map((_, j) => column(m, j));
const matMul = (a: Matrix, b: Matrix) => a.map((row) => transpose(b).map((col) => dot(row, col)));

function refSupCon(z1: Matrix, z2: Matrix, labels: number[], temperature: number): number {
  const features = normalizeRows([...z1, ...z2]);
  const viewLabels = [...labels, ...labels];
  const losses = features.map((anchor, i) => {
    const logits = features.map((other) => dot(anchor, other) / temperature);
    const denominator = logSumExp(logits.filter((_, j) => j !== i));
    const positives = logits.filter((_, j) => j !== i && viewLabels[j] === viewLabels[i]);
    return -mean(positives.map((logit) => logit - denominator));
  });
  return mean(losses);
}

function refNtXent(z1: Matrix, z2: Matrix, temperature: number): number {
  const features = normalizeRows([...z1, ...z2]);
  const n = z1.length;
  return mean(
    features.map((anchor, i) => {
      const logits = features.map((other) => dot(anchor, other) / temperature);
      const partner = i < n ? i + n : i - n;
      return logSumExp(logits.filter((_, j) => j !== i)) - logits[partner];
    }),
  );
}

function refInfoNCE(q: Matrix, k: Matrix, queue: Matrix, temperature: number): number {
  const qn = normalizeRows(q);
  const kn = normalizeRows(k);
  return mean(
    qn.map((row, i) => {
      const logits = [dot(row, kn[i]), ...queue.map((negative) => dot(row, negative))].map((v) => v / temperature);
      return logSumExp(logits) - logits[0];
    }),
  );
}

const rowCosines = (p: Matrix, z: Matrix) => p.map((row, i) => dot(normalize(row), normalize(z[i])));
const refByol = (p: Matrix, z: Matrix) => mean(rowCosines(p, z).map((c) => 2 - 2 * c));
const refSimSiam = (p: Matrix, z: Matrix) => -mean(rowCosines(p, z));

function batchStandardize(z: Matrix): Matrix {
  const n = z.length;
  const columns = transpose(z).map((col) => {
    const mu = mean(col);
    const biasedVariance = col.reduce((s, v) => s + (v - mu) ** 2, 0) / n;
    return col.map((v) => (v - mu) / Math.sqrt(biasedVariance + 1e-5));
  });
  return transpose(columns);
}

function refBarlow(z1: Matrix, z2: Matrix, lambda: number) {
  const n = z1.length;
  const c = matMul(transpose(batchStandardize(z1)), batchStandardize(z2)).map((row) => row.map((v) => v / n));
  let onDiagonal = 0;
  let offDiagonal = 0;
  c.forEach((row, i) =>
    row.forEach((v, j) => {
      if (i === j) onDiagonal += (1 - v) ** 2;
      else offDiagonal += lambda * v * v;
    }),
  );
  return { onDiagonal, offDiagonal };
}

function refVicreg(z1: Matrix, z2: Matrix) {
  const n = z1.length;
  const d = z1[0].length;
  const invariance = mean(z1.flatMap((row, i) => row.map((v, j) => (v - z2[i][j]) ** 2)));
  const centre = (z: Matrix) => {
    const mus = transpose(z).map(mean);
    return z.map((row) => row.map((v, j) => v - mus[j]));
  };
  const stdTerm = (z: Matrix) => {
    const centred = centre(z);
    const stds = transpose(centred).map((col) => Math.sqrt(col.reduce((s, v) => s + v * v, 0) / (n - 1) + 1e-4));
    return mean(stds.map((s) => Math.max(0, 1 - s))) / 2;
  };
  const covTerm = (z: Matrix) => {
    const centred = centre(z);
    const cov = matMul(transpose(centred), centred).map((row) => row.map((v) => v / (n - 1)));
    let offSquared = 0;
    cov.forEach((row, i) => row.forEach((v, j) => (offSquared += i === j ? 0 : v * v)));
    return offSquared / d;
  };
  return {
    invariance,
    variance: stdTerm(z1) + stdTerm(z2),
    covariance: covTerm(z1) + covTerm(z2),
  };
}

function refUniGradBatchCorrelation(z1m: Matrix, z2m: Matrix): Matrix {
  const a = normalizeRows(z1m);
  const b = normalizeRows(z2m);
  const n = a.length;
  const aa = matMul(transpose(a), a);
  const bb = matMul(transpose(b), b);
  return aa.map((row, i) => row.map((v, j) => (v + bb[i][j]) / (2 * n)));
}

function refUniGradLoss(z1: Matrix, z2: Matrix, z1m: Matrix, z2m: Matrix, F: Matrix, lambda: number): number {
  const a = normalizeRows(z1);
  const b = normalizeRows(z2);
  const am = normalizeRows(z1m);
  const bm = normalizeRows(z2m);
  const aF = matMul(a, F);
  const bF = matMul(b, F);
  const term1 = mean(a.map((row, i) => dot(row, row.map((_, j) => -bm[i][j] + lambda * aF[i][j]))));
  const term2 = mean(b.map((row, i) => dot(row, row.map((_, j) => -am[i][j] + lambda * bF[i][j]))));
  return 0.5 * (term1 + term2);
}

function refNpid(features: Matrix, bank: Matrix, indices: number[], temperature: number): number {
  return mean(
    normalizeRows(features).map((row, i) => {
      const logits = bank.map((entry) => dot(row, entry) / temperature);
      return logSumExp(logits) - logits[indices[i]];
    }),
  );
}

// ---------------------------------------------------------------------------------------------

const value = (t: tf.Tensor) => {
  const v = t.dataSync()[0];
  t.dispose();
  return v;
};
const t2 = (m: Matrix) => tf.tensor2d(m);

/** Runs f on fresh tensors built from plain matrices and returns the scalar result. */
function evaluate(f: (...ts: tf.Tensor2D[]) => tf.Tensor, ...matrices: Matrix[]): number {
  return tf.tidy(() => f(...matrices.map(t2)).dataSync()[0]);
}

function maxAbs(t: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(t)).dataSync()[0]);
}

const N = 6;
const D = 5;
const zA = gaussianMatrix(N, D, 1);
const zB = gaussianMatrix(N, D, 2);
// A second view correlated with the first, like two augmentations of one image.
const zBNear = zA.map((row, i) => row.map((v, j) => v + 0.3 * zB[i][j]));

describe('stopGradient and l2Normalize', () => {
  it('stopGradient is the identity forward and zero backward', () => {
    const x = t2(zA);
    expect(Array.from(tf.tidy(() => stopGradient(x).dataSync()))).toEqual(Array.from(x.dataSync()));
    const grad = tf.grad((v: tf.Tensor) => tf.sum(tf.square(stopGradient(v))))(x);
    expect(maxAbs(grad)).toBe(0);
    tf.dispose([x, grad]);
  });

  it('l2Normalize matches F.normalize, including the zero row', () => {
    const rows = [
      [3, 4],
      [0, 0],
      [1e-13, 0],
    ];
    const out = tf.tidy(() => l2Normalize(t2(rows)).arraySync() as Matrix);
    expect(out[0][0]).toBeCloseTo(0.6, 6);
    expect(out[0][1]).toBeCloseTo(0.8, 6);
    expect(out[1]).toEqual([0, 0]);
    expect(out[2][0]).toBeCloseTo(0.1, 6); // 1e-13 / max(1e-13, 1e-12)
    const grad = tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(l2Normalize(x)))(t2(rows)).arraySync() as Matrix);
    expect(grad.flat().every(Number.isFinite)).toBe(true);
  });
});

describe('ntXentLoss', () => {
  it('matches the plain-JS reference', () => {
    for (const temperature of [0.1, 0.5, 1]) {
      const expected = refNtXent(zA, zBNear, temperature);
      expect(evaluate((a, b) => ntXentLoss(a, b, temperature), zA, zBNear)).toBeCloseTo(expected, 4);
    }
  });

  it('hand-worked value: orthogonal unit vectors, identical views', () => {
    // Anchor e1 sees e2 (logit 0), its partner e1 (1/T) and e2 (0): loss = log(1 + 2e^{-1/T}).
    const views = [
      [1, 0],
      [0, 1],
    ];
    expect(evaluate((a, b) => ntXentLoss(a, b, 1), views, views)).toBeCloseTo(Math.log(1 + 2 / Math.E), 5);
    // All 2N embeddings equal: every logit is the same, loss = log(2N − 1).
    const same = [
      [1, 2],
      [1, 2],
      [1, 2],
    ];
    expect(evaluate((a, b) => ntXentLoss(a, b, 0.2), same, same)).toBeCloseTo(Math.log(5), 5);
  });

  it('gradient matches finite differences', () => {
    const z2 = t2(zBNear);
    const x = t2(zA);
    const error = gradCheck((v) => ntXentLoss(v, z2, 0.5), x, { numCoordinates: 12 });
    expect(error).toBeLessThan(1e-2);
    tf.dispose([z2, x]);
  });
});

describe('supConLoss', () => {
  const labels = [0, 1, 0, 2, 1, 0];

  it('matches the plain-JS reference', () => {
    const expected = refSupCon(zA, zBNear, labels, 0.2);
    const actual = tf.tidy(() => supConLoss(t2(zA), t2(zBNear), tf.tensor1d(labels, 'int32'), 0.2).dataSync()[0]);
    expect(actual).toBeCloseTo(expected, 4);
  });

  it('one class: every other view is a positive', () => {
    const ones = labels.map(() => 3);
    const expected = refSupCon(zA, zBNear, ones, 0.5);
    const actual = tf.tidy(() => supConLoss(t2(zA), t2(zBNear), tf.tensor1d(ones, 'int32'), 0.5).dataSync()[0]);
    expect(actual).toBeCloseTo(expected, 4);
    // Hand value: identical embeddings, one class → every logit equal, so each log-prob is −log(2N − 1).
    const same = [
      [1, 1],
      [1, 1],
    ];
    const handValue = tf.tidy(() => supConLoss(t2(same), t2(same), tf.tensor1d([0, 0], 'int32'), 0.3).dataSync()[0]);
    expect(handValue).toBeCloseTo(Math.log(3), 5);
  });

  it('equals NT-Xent when all labels are distinct', () => {
    const distinct = labels.map((_, i) => 10 + i);
    const sup = tf.tidy(() => supConLoss(t2(zA), t2(zBNear), tf.tensor1d(distinct, 'int32'), 0.2).dataSync()[0]);
    const nt = evaluate((a, b) => ntXentLoss(a, b, 0.2), zA, zBNear);
    expect(sup).toBeCloseTo(nt, 5);
    expect(refSupCon(zA, zBNear, distinct, 0.2)).toBeCloseTo(refNtXent(zA, zBNear, 0.2), 10);
  });

  it('gradient matches finite differences', () => {
    const z2 = t2(zBNear);
    const y = tf.tensor1d(labels, 'int32');
    const x = t2(zA);
    expect(gradCheck((v) => supConLoss(v, z2, y, 0.5), x, { numCoordinates: 12 })).toBeLessThan(1e-2);
    tf.dispose([z2, y, x]);
  });
});

describe('supConLoss forms: L_out (log outside the mean over positives) and L_in (log inside)', () => {
  /**
   * Three images, both views identical: (1, 0) and (0, 1) of class 0, (−1, 0) of class 1; T = 1, so
   * each logit is a dot product. Anchor (1, 0): the other five views give logits 0, −1, 1, 0, −1, so
   * Z = 2 + e + 2/e; its positives are (0, 1) twice and its own other view: logits 0, 0, 1.
   * Anchor (0, 1): logits 0, 0, 0, 1, 0, Z' = 4 + e, positives (1, 0) twice and itself: 0, 0, 1.
   * Anchor (−1, 0): Z, one positive (its other view) with logit 1, so both forms give log Z − 1.
   * L_out per anchor is log Z − mean(positive logits), L_in is log Z − log mean(exp(positive logits)).
   */
  const z = [
    [1, 0],
    [0, 1],
    [-1, 0],
  ];
  const labels = [0, 0, 1];
  const e = Math.E;
  const Z = 2 + e + 2 / e;
  const zPrime = 4 + e;
  const third = Math.log(Z) - 1;
  const handOut = (Math.log(Z) - 1 / 3 + (Math.log(zPrime) - 1 / 3) + third) / 3;
  const handIn = (Math.log(Z) - Math.log((2 + e) / 3) + (Math.log(zPrime) - Math.log((2 + e) / 3)) + third) / 3;
  const loss = (form: 'out' | 'in') => tf.tidy(() => supConLoss(t2(z), t2(z), tf.tensor1d(labels, 'int32'), 1, form).dataSync()[0]);

  it('L_out matches the hand-worked value, and is the default', () => {
    expect(loss('out')).toBeCloseTo(handOut, 5);
    expect(tf.tidy(() => supConLoss(t2(z), t2(z), tf.tensor1d(labels, 'int32'), 1).dataSync()[0])).toBeCloseTo(handOut, 5);
  });

  it('L_in matches the hand-worked value and is below L_out (Jensen)', () => {
    expect(loss('in')).toBeCloseTo(handIn, 5);
    expect(handIn).toBeLessThan(handOut - 0.01);
  });

  it('the two forms agree when each anchor has one positive (distinct labels: NT-Xent)', () => {
    const distinct = [0, 1, 2, 3, 4, 5];
    const [inForm, outForm] = (['in', 'out'] as const).map((form) => tf.tidy(() => supConLoss(t2(zA), t2(zBNear), tf.tensor1d(distinct, 'int32'), 0.2, form).dataSync()[0]));
    expect(inForm).toBeCloseTo(outForm, 5);
  });

  it('L_in: gradient matches finite differences', () => {
    const z2 = t2(zBNear);
    const y = tf.tensor1d([0, 1, 0, 2, 1, 0], 'int32');
    const x = t2(zA);
    expect(gradCheck((v) => supConLoss(v, z2, y, 0.5, 'in'), x, { numCoordinates: 12 })).toBeLessThan(1e-2);
    tf.dispose([z2, y, x]);
  });
});

describe('infoNCELoss', () => {
  const queue = normalizeRows(gaussianMatrix(10, D, 3));

  it('matches the plain-JS reference', () => {
    const expected = refInfoNCE(zA, zBNear, queue, 0.2);
    expect(evaluate((q, k, m) => infoNCELoss(q, k, m, 0.2), zA, zBNear, queue)).toBeCloseTo(expected, 4);
  });

  it('hand-worked value: k = q, queue orthogonal to q', () => {
    const q = [[2, 0, 0]];
    const orthogonalQueue = [
      [0, 1, 0],
      [0, 0, 1],
    ];
    // logits [1/T, 0, 0] → loss = log(e^{1/T} + 2) − 1/T
    const expected = Math.log(Math.exp(2) + 2) - 2;
    expect(evaluate((a, b, m) => infoNCELoss(a, b, m, 0.5), q, q, orthogonalQueue)).toBeCloseTo(expected, 5);
  });

  it('gradient w.r.t. q matches finite differences; k and the queue get none', () => {
    const k = t2(zBNear);
    const m = t2(queue);
    const q = t2(zA);
    expect(gradCheck((v) => infoNCELoss(v, k, m, 0.5), q, { numCoordinates: 12 })).toBeLessThan(1e-2);
    const [gradK, gradQueue] = tf.grads((kk: tf.Tensor, mm: tf.Tensor) => infoNCELoss(q, kk, mm, 0.5))([k, m]);
    expect(maxAbs(gradK)).toBe(0);
    expect(maxAbs(gradQueue)).toBe(0);
    tf.dispose([k, m, q, gradK, gradQueue]);
  });
});

describe('byolLoss', () => {
  it('matches the plain-JS reference', () => {
    expect(evaluate(byolLoss, zA, zBNear)).toBeCloseTo(refByol(zA, zBNear), 5);
  });

  it('is 0 for identical views and 2 for orthogonal views', () => {
    expect(evaluate(byolLoss, zA, zA.map((row) => row.map((v) => 3 * v)))).toBeCloseTo(0, 5);
    expect(evaluate(byolLoss, [[1, 0]], [[0, 5]])).toBeCloseTo(2, 6);
    expect(evaluate(byolLoss, [[1, 0]], [[-2, 0]])).toBeCloseTo(4, 6);
  });

  it('gradient w.r.t. p matches finite differences; z gets none', () => {
    const p = t2(zA);
    const z = t2(zBNear);
    expect(gradCheck((v) => byolLoss(v, z), p, { numCoordinates: 12 })).toBeLessThan(1e-2);
    const gradZ = tf.grad((v: tf.Tensor) => byolLoss(p, v))(z);
    expect(maxAbs(gradZ)).toBe(0);
    tf.dispose([p, z, gradZ]);
  });
});

describe('simSiamLoss', () => {
  it('matches the plain-JS reference', () => {
    expect(evaluate((a, b) => simSiamLoss(a, b), zA, zBNear)).toBeCloseTo(refSimSiam(zA, zBNear), 5);
  });

  it('is −1 for identical views and 0 for orthogonal views', () => {
    expect(evaluate((a, b) => simSiamLoss(a, b), zA, zA)).toBeCloseTo(-1, 5);
    expect(evaluate((a, b) => simSiamLoss(a, b), [[1, 0], [0, 2]], [[0, 3], [-1, 0]])).toBeCloseTo(0, 6);
  });

  it('stops the gradient to z by default; the ablation lets it through', () => {
    const p = t2(zA);
    const z = t2(zBNear);
    expect(gradCheck((v) => simSiamLoss(v, z), p, { numCoordinates: 12 })).toBeLessThan(1e-2);
    const stopped = tf.grad((v: tf.Tensor) => simSiamLoss(p, v))(z);
    expect(maxAbs(stopped)).toBe(0);
    const flowing = tf.grad((v: tf.Tensor) => simSiamLoss(p, v, { stopGradient: false }))(z);
    expect(maxAbs(flowing)).toBeGreaterThan(1e-3);
    expect(gradCheck((v) => simSiamLoss(p, v, { stopGradient: false }), z, { numCoordinates: 12 })).toBeLessThan(1e-2);
    // Same value either way.
    const withStop = value(simSiamLoss(p, z));
    const withoutStop = value(simSiamLoss(p, z, { stopGradient: false }));
    expect(withoutStop).toBe(withStop);
    tf.dispose([p, z, stopped, flowing]);
  });
});

describe('barlowTwinsLoss', () => {
  const z1 = gaussianMatrix(8, 4, 4);
  const z2 = z1.map((row, i) => row.map((v, j) => 2 * v + 0.5 * gaussianMatrix(8, 4, 5)[i][j] + 1));

  it('matches the plain-JS reference, and loss = on + off', () => {
    const expected = refBarlow(z1, z2, 0.005);
    const terms = tf.tidy(() => {
      const { onDiagonal, offDiagonal } = barlowTwinsTerms(t2(z1), t2(z2), 0.005);
      return [onDiagonal.dataSync()[0], offDiagonal.dataSync()[0]];
    });
    expect(terms[0]).toBeCloseTo(expected.onDiagonal, 4);
    expect(terms[1]).toBeCloseTo(expected.offDiagonal, 6);
    const loss = evaluate((a, b) => barlowTwinsLoss(a, b, 0.005), z1, z2);
    expect(loss).toBeCloseTo(terms[0] + terms[1], 5);
    expect(loss).toBeCloseTo(expected.onDiagonal + expected.offDiagonal, 4);
  });

  it('is ~0 for perfectly correlated views with uncorrelated dimensions', () => {
    // Columns 2–4 of a 4×4 Hadamard matrix: zero mean, unit variance, mutually orthogonal.
    const hadamard = [
      [1, 1, 1],
      [-1, 1, -1],
      [1, -1, -1],
      [-1, -1, 1],
    ];
    const affine = hadamard.map((row) => row.map((v) => 3 * v + 2)); // standardisation removes scale and shift
    const { on, off } = tf.tidy(() => {
      const terms = barlowTwinsTerms(t2(hadamard), t2(affine), 1);
      return { on: terms.onDiagonal.dataSync()[0], off: terms.offDiagonal.dataSync()[0] };
    });
    // c_ii = 1 / (1 + ε) exactly; (ε/(1+ε))² · 3 ≈ 3e-10
    expect(on).toBeLessThan(1e-8);
    expect(off).toBeLessThan(1e-10);
  });

  it('gradient matches finite differences', () => {
    const b = t2(z2);
    const a = t2(z1);
    expect(gradCheck((v) => barlowTwinsLoss(v, b, 0.05), a, { numCoordinates: 12 })).toBeLessThan(1e-2);
    expect(gradCheck((v) => barlowTwinsLoss(a, v, 0.05), b, { numCoordinates: 12 })).toBeLessThan(1e-2);
    tf.dispose([a, b]);
  });
});

describe('vicregLoss', () => {
  // Scale 0.5: per-dimension std below 1, so the hinge of the variance term is active.
  const z1 = gaussianMatrix(8, 4, 6, 0.5);
  const z2 = z1.map((row, i) => row.map((v, j) => v + gaussianMatrix(8, 4, 7, 0.2)[i][j]));

  it('matches the plain-JS reference, and the loss is the weighted sum of the terms', () => {
    const expected = refVicreg(z1, z2);
    const terms = tf.tidy(() => {
      const { invariance, variance, covariance } = vicregTerms(t2(z1), t2(z2));
      return { invariance: invariance.dataSync()[0], variance: variance.dataSync()[0], covariance: covariance.dataSync()[0] };
    });
    expect(terms.invariance).toBeCloseTo(expected.invariance, 5);
    expect(terms.variance).toBeCloseTo(expected.variance, 5);
    expect(terms.covariance).toBeCloseTo(expected.covariance, 5);
    expect(expected.variance).toBeGreaterThan(0.1);
    const loss = evaluate((a, b) => vicregLoss(a, b, 25, 25, 1), z1, z2);
    expect(loss).toBeCloseTo(25 * expected.invariance + 25 * expected.variance + expected.covariance, 3);
  });

  it('variance term is 0 when every std ≥ 1, invariance 0 for identical views', () => {
    const wide = gaussianMatrix(16, 3, 8, 5);
    const terms = tf.tidy(() => {
      const { invariance, variance } = vicregTerms(t2(wide), t2(wide));
      return [invariance.dataSync()[0], variance.dataSync()[0]];
    });
    expect(terms[0]).toBe(0);
    expect(terms[1]).toBe(0);
  });

  it('hand-worked value', () => {
    // z = [[1,0],[−1,0]] twice: std = (√2, √(1e-4)) → variance term 2 · (1 − 0.01)/2 / 2 = 0.495; cov = 0.
    const z = [
      [1, 0],
      [-1, 0],
    ];
    const terms = tf.tidy(() => {
      const { invariance, variance, covariance } = vicregTerms(t2(z), t2(z));
      return [invariance.dataSync()[0], variance.dataSync()[0], covariance.dataSync()[0]];
    });
    expect(terms[0]).toBe(0);
    expect(terms[1]).toBeCloseTo(0.99 / 2, 6);
    expect(terms[2]).toBe(0);
  });

  it('gradient matches finite differences', () => {
    const b = t2(z2);
    const a = t2(z1);
    expect(gradCheck((v) => vicregLoss(v, b, 25, 25, 1), a, { numCoordinates: 12 })).toBeLessThan(1e-2);
    tf.dispose([a, b]);
  });
});

describe('UniGrad', () => {
  const z1m = gaussianMatrix(N, D, 9);
  const z2m = gaussianMatrix(N, D, 10);
  const z1mNext = gaussianMatrix(N, D, 11);
  const z2mNext = gaussianMatrix(N, D, 12);

  it('F starts as the batch correlation, is symmetric, and mixes with ρ on later calls', () => {
    const first = uniGradCorrelation(null, t2(z1m), t2(z2m), 0.9);
    const firstValues = first.arraySync();
    const expectedFirst = refUniGradBatchCorrelation(z1m, z2m);
    firstValues.forEach((row, i) =>
      row.forEach((v, j) => {
        expect(v).toBeCloseTo(expectedFirst[i][j], 6);
        expect(v).toBeCloseTo(firstValues[j][i], 7);
      }),
    );
    const second = tf.tidy(() => uniGradCorrelation(first, t2(z1mNext), t2(z2mNext), 0.9));
    const batch = refUniGradBatchCorrelation(z1mNext, z2mNext);
    const secondValues = second.arraySync();
    secondValues.forEach((row, i) =>
      row.forEach((v, j) => {
        expect(v).toBeCloseTo(0.9 * expectedFirst[i][j] + 0.1 * batch[i][j], 6);
        expect(v).toBeCloseTo(secondValues[j][i], 7);
      }),
    );
    // The caller still owns the old F.
    expect(first.isDisposed).toBe(false);
    tf.dispose([first, second]);
  });

  it('loss matches the plain-JS reference', () => {
    const F = refUniGradBatchCorrelation(z1m, z2m);
    const expected = refUniGradLoss(zA, zBNear, z1m, z2m, F, 100);
    const actual = evaluate((a, b, am, bm, f) => uniGradLoss(a, b, am, bm, f, 100), zA, zBNear, z1m, z2m, F);
    expect(actual).toBeCloseTo(expected, 3);
  });

  it('gradient is that of the surrogate with g frozen; momentum outputs and F get none', () => {
    const lambda = 2;
    const F = t2(refUniGradBatchCorrelation(z1m, z2m));
    const [a, b, am, bm] = [zA, zBNear, z1m, z2m].map(t2);
    // Numeric side: g1 frozen at the base point, so only ẑ1's own factor is differenced.
    const frozenG1 = tf.tidy(() => tf.add(tf.neg(l2Normalize(bm)), tf.mul(lambda, tf.matMul(l2Normalize(a), F))));
    const term2 = tf.tidy(() => {
      const g2 = tf.add(tf.neg(l2Normalize(am)), tf.mul(lambda, tf.matMul(l2Normalize(b), F)));
      return tf.mean(tf.sum(tf.mul(g2, l2Normalize(b)), -1));
    });
    const frozenSurrogate = (v: tf.Tensor) =>
      tf.mul(0.5, tf.add(tf.mean(tf.sum(tf.mul(frozenG1, l2Normalize(v)), -1)), term2)) as tf.Scalar;
    const result = gradCheckDetailed((v) => uniGradLoss(v, b, am, bm, F, lambda), a, {
      numericF: frozenSurrogate,
      numCoordinates: 12,
    });
    expect(result.maxRelativeError).toBeLessThan(1e-2);
    const grads = tf.grads((x: tf.Tensor, y: tf.Tensor, f: tf.Tensor) => uniGradLoss(a, b, x, y, f, lambda))([am, bm, F]);
    grads.forEach((g) => expect(maxAbs(g)).toBe(0));
    tf.dispose([F, a, b, am, bm, frozenG1, term2, ...grads]);
  });
});

describe('npidLoss', () => {
  const bank = normalizeRows(gaussianMatrix(12, D, 13));
  const indices = [3, 0, 11, 7, 5, 3];

  it('matches the plain-JS reference', () => {
    const expected = refNpid(zA, bank, indices, 0.1);
    const actual = tf.tidy(() => npidLoss(t2(zA), t2(bank), tf.tensor1d(indices, 'int32'), 0.1).dataSync()[0]);
    expect(actual).toBeCloseTo(expected, 3);
  });

  it('hand-worked value: features equal to their own (one-hot) bank rows', () => {
    const eye = [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ];
    const actual = tf.tidy(() => npidLoss(t2(eye), t2(eye), tf.tensor1d([0, 1, 2], 'int32'), 0.5).dataSync()[0]);
    expect(actual).toBeCloseTo(Math.log(Math.exp(2) + 2) - 2, 5);
  });

  it('gradient w.r.t. features matches finite differences; the bank gets none', () => {
    const m = t2(bank);
    const y = tf.tensor1d(indices, 'int32');
    const x = t2(zA);
    expect(gradCheck((v) => npidLoss(v, m, y, 0.5), x, { numCoordinates: 12 })).toBeLessThan(1e-2);
    const gradBank = tf.grad((v: tf.Tensor) => npidLoss(x, v, y, 0.5))(m);
    expect(maxAbs(gradBank)).toBe(0);
    tf.dispose([m, y, x, gradBank]);
  });
});

describe('gradCheck helper', () => {
  it('catches a wrong gradient', () => {
    const wrongGradient = tf.customGrad((x, _save) => ({
      value: tf.sum(tf.square(x as tf.Tensor)),
      gradFunc: (dy: tf.Tensor) => tf.mul(dy, tf.mul(3, x as tf.Tensor)), // should be 2x
    }));
    const x = t2(zA);
    expect(gradCheck((v) => wrongGradient(v) as tf.Scalar, x)).toBeGreaterThan(0.2);
    expect(gradCheck((v) => tf.sum(tf.square(v)) as tf.Scalar, x)).toBeLessThan(1e-3);
    x.dispose();
  });
});

describe('memory', () => {
  it('no loss leaks tensors', () => {
    const [a, b, am, bm] = [zA, zBNear, gaussianMatrix(N, D, 9), gaussianMatrix(N, D, 10)].map(t2);
    const queue = t2(normalizeRows(gaussianMatrix(10, D, 3)));
    const bank = t2(normalizeRows(gaussianMatrix(12, D, 13)));
    const labels = tf.tensor1d([0, 1, 0, 2, 1, 0], 'int32');
    const indices = tf.tensor1d([3, 0, 11, 7, 5, 3], 'int32');
    const F = uniGradCorrelation(null, am, bm, 0.9);
    const callEveryLoss = () => {
      const outputs: tf.Tensor[] = [
        ntXentLoss(a, b, 0.5),
        supConLoss(a, b, labels, 0.5),
        infoNCELoss(a, b, queue, 0.2),
        byolLoss(a, b),
        simSiamLoss(a, b),
        simSiamLoss(a, b, { stopGradient: false }),
        barlowTwinsLoss(a, b, 0.005),
        ...Object.values(barlowTwinsTerms(a, b, 0.005)),
        vicregLoss(a, b, 25, 25, 1),
        ...Object.values(vicregTerms(a, b)),
        uniGradLoss(a, b, am, bm, F, 100),
        npidLoss(a, bank, indices, 0.1),
        stopGradient(a),
        l2Normalize(a),
      ];
      const nextF = uniGradCorrelation(F, am, bm, 0.9);
      tf.dispose([...outputs, nextF]);
    };
    callEveryLoss(); // warm-up
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) callEveryLoss();
    expect(tf.memory().numTensors).toBe(before);
    // A gradient step through each loss leaks nothing either.
    const lossesOf = (x: tf.Tensor) =>
      tf.addN([
        ntXentLoss(x, b, 0.5),
        supConLoss(x, b, labels, 0.5),
        infoNCELoss(x, b, queue, 0.2),
        byolLoss(x, b),
        simSiamLoss(x, b),
        barlowTwinsLoss(x, b, 0.005),
        vicregLoss(x, b, 25, 25, 1),
        uniGradLoss(x, b, am, bm, F, 100),
        npidLoss(x, bank, indices, 0.1),
      ]) as tf.Scalar;
    tf.dispose(tf.grad(lossesOf)(a));
    const beforeGrad = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.dispose(tf.grad(lossesOf)(a));
    expect(tf.memory().numTensors).toBe(beforeGrad);
    tf.dispose([a, b, am, bm, queue, bank, labels, indices, F]);
  });
});
