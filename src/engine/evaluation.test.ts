import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { standardize } from './augment';
import type { DatasetSplits, ImageSet } from './dataset';
import type { Module } from './nn';
import { createBackbone } from './backbones';
import { DeviceImages } from './dataset';
import { DEFAULT_EVALUATION, embedImages, EvaluationSample, Evaluator, knnProblem, principalAxes, validateEvaluationSettings } from './evaluation';
import { evaluationDue } from './evaluation-settings';
import { effectiveK } from './metrics';
import { effectiveRank, knnAccuracy } from './testing/reference';
import { globalAveragePool } from './nn';
import { Rng } from './random';
import { tinyConfig, tinyData } from './testing/tiny';
import { Trainer } from './trainer';

/** A random orthogonal n×n matrix (rows orthonormal), from Gram–Schmidt of Gaussian rows. */
function randomOrthogonal(n: number, seed: number): number[][] {
  const rng = new Rng(seed);
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) {
    const v = Array.from({ length: n }, () => rng.normal());
    for (const u of rows) {
      const p = v.reduce((s, x, k) => s + x * u[k], 0);
      v.forEach((x, k) => (v[k] = x - p * u[k]));
    }
    const norm = Math.hypot(...v);
    rows.push(v.map((x) => x / norm));
  }
  return rows;
}

/** Qᵀ diag(λ) Q, row-major. */
function withSpectrum(q: number[][], lambda: number[]): Float64Array {
  const n = q.length;
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * n + j] = lambda.reduce((s, l, k) => s + l * q[k][i] * q[k][j], 0);
  return out;
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, x, i) => s + x * b[i], 0);

describe('principalAxes', () => {
  it('recovers the top two eigenvectors and eigenvalues of a known spectrum', () => {
    const q = randomOrthogonal(6, 3);
    const { axes, eigenvalues } = principalAxes(withSpectrum(q, [5, 2, 1, 0.5, 0.1, 0]), 6);
    expect(eigenvalues[0]).toBeCloseTo(5, 8);
    expect(eigenvalues[1]).toBeCloseTo(2, 8);
    expect(Math.abs(dot(axes[0], q[0]))).toBeCloseTo(1, 8);
    expect(Math.abs(dot(axes[1], q[1]))).toBeCloseTo(1, 8);
    expect(dot(axes[0], axes[1])).toBeCloseTo(0, 10);
  });

  it('signs the axes to agree with the start vectors, so the view does not flip between evaluations', () => {
    const q = randomOrthogonal(5, 4);
    const matrix = withSpectrum(q, [3, 1, 0.2, 0.1, 0]);
    const start = [Float64Array.from(q[0], (x) => -x + 0.01), Float64Array.from(q[1], (x) => -x)];
    const { axes } = principalAxes(matrix, 5, 2, start);
    expect(dot(axes[0], q[0])).toBeCloseTo(-1, 8);
    expect(dot(axes[1], q[1])).toBeCloseTo(-1, 8);
  });

  it('handles a rank-one matrix: the second axis is orthogonal with eigenvalue 0', () => {
    const v = [1, 2, 2];
    const matrix = Float64Array.from({ length: 9 }, (_, k) => v[Math.floor(k / 3)] * v[k % 3]);
    const { axes, eigenvalues } = principalAxes(matrix, 3);
    expect(eigenvalues[0]).toBeCloseTo(9, 8);
    expect(eigenvalues[1]).toBeCloseTo(0, 8);
    expect(Math.abs(dot(axes[0], [1 / 3, 2 / 3, 2 / 3]))).toBeCloseTo(1, 8);
    expect(dot(axes[0], axes[1])).toBeCloseTo(0, 10);
    expect(dot(axes[1], axes[1])).toBeCloseTo(1, 10);
  });
});

describe('evaluation settings', () => {
  it('accepts the defaults (k = 200, σ = 0.1, InstDisc) and refuses impossible values with a message', () => {
    expect(DEFAULT_EVALUATION.k).toBe(200);
    expect(DEFAULT_EVALUATION.sigma).toBe(0.1);
    expect(() => validateEvaluationSettings(DEFAULT_EVALUATION)).not.toThrow();
    expect(() => validateEvaluationSettings({ ...DEFAULT_EVALUATION, everySteps: 0 })).not.toThrow();
    expect(() => validateEvaluationSettings({ ...DEFAULT_EVALUATION, everySteps: -1 })).toThrow(/evaluation interval/);
    expect(() => validateEvaluationSettings({ ...DEFAULT_EVALUATION, everySteps: 2.5 })).toThrow(/whole number/);
    expect(() => validateEvaluationSettings({ ...DEFAULT_EVALUATION, sigma: -1 })).toThrow(/σ/);
    expect(() => validateEvaluationSettings({ ...DEFAULT_EVALUATION, maxTimeShare: 0 })).toThrow(/time budget/);
  });

  it('evaluationDue: after the first step, then at multiples of the interval within the time budget, and at the end', () => {
    const settings = { ...DEFAULT_EVALUATION, everySteps: 10, maxTimeShare: 0.05 };
    const timing = { step: 0, totalSteps: 100, lastEvaluatedStep: null, millisecondsSinceLast: 0, lastEvaluationMilliseconds: 0 };
    expect(evaluationDue(timing, settings)).toBe(false);
    expect(evaluationDue({ ...timing, step: 1 }, settings)).toBe(true);
    // An evaluation of 1 s at a 5% budget needs 19 s of training after it: 1 / (1 + 19) = 5%.
    const after = { step: 10, totalSteps: 100, lastEvaluatedStep: 1, lastEvaluationMilliseconds: 1000 };
    expect(evaluationDue({ ...after, millisecondsSinceLast: 18_999 }, settings)).toBe(false);
    expect(evaluationDue({ ...after, millisecondsSinceLast: 19_000 }, settings)).toBe(true);
    expect(evaluationDue({ ...after, step: 9, millisecondsSinceLast: 1e9 }, settings)).toBe(false);
    expect(evaluationDue({ ...after, millisecondsSinceLast: 0 }, { ...settings, maxTimeShare: 1 })).toBe(true);
    // Held back by the budget past step 10, the next one is due at once; after it, the next multiple is 20.
    expect(evaluationDue({ ...after, step: 13, millisecondsSinceLast: 19_000 }, settings)).toBe(true);
    expect(evaluationDue({ ...after, step: 19, lastEvaluatedStep: 13, millisecondsSinceLast: 1e9 }, settings)).toBe(false);
    expect(evaluationDue({ ...after, step: 20, lastEvaluatedStep: 13, millisecondsSinceLast: 1e9 }, settings)).toBe(true);
    // The last step is always evaluated, once; an interval of 0 evaluates only there.
    expect(evaluationDue({ ...after, step: 100, lastEvaluatedStep: 99, millisecondsSinceLast: 0 }, settings)).toBe(true);
    expect(evaluationDue({ ...after, step: 100, lastEvaluatedStep: 100, millisecondsSinceLast: 0 }, settings)).toBe(false);
    expect(evaluationDue({ ...timing, step: 1 }, { ...settings, everySteps: 0 })).toBe(false);
    expect(evaluationDue({ ...timing, step: 100 }, { ...settings, everySteps: 0 })).toBe(true);
  });
});

/** Backbone features in evaluation mode, computed here independently of the evaluator. */
function features(trainer: Trainer, set: ImageSet): tf.Tensor2D {
  return tf.tidy(() => {
    const images = tf.div(tf.tensor4d(set.pixels, [set.count, set.size, set.size, 3], 'int32'), 255) as tf.Tensor4D;
    return trainer.method.encoder.apply(standardize(images), false) as tf.Tensor2D;
  });
}

async function trainedTrainer(data: DatasetSplits, steps = 3): Promise<Trainer> {
  const trainer = new Trainer(tinyConfig('byol'), data);
  for (let i = 0; i < steps; i++) trainer.step();
  await trainer.flush();
  return trainer;
}

describe('Evaluator', () => {
  it('kNN, probe and RankMe match the metric functions on independently computed features', async () => {
    const data = tinyData(32);
    const trainer = await trainedTrainer(data);
    const evaluator = new Evaluator(trainer);
    const result = await evaluator.evaluate();

    const bank = features(trainer, data.train);
    const test = features(trainer, data.test!);
    const numClasses = data.classNames.length;
    const expectedKnn = tf.tidy(() =>
      knnAccuracy(bank, tf.tensor1d(data.train.labels!, 'int32'), test, tf.tensor1d(data.test!.labels!, 'int32'), 200, 0.1, numClasses).dataSync()[0],
    );
    expect(result.step).toBe(3);
    expect(result.heldOutSplit).toBe('test');
    expect(result.bankSize).toBe(32);
    expect(result.heldOutSize).toBe(12);
    expect(result.knnAccuracy).toBeCloseTo(expectedKnn, 6);

    // Per-class accuracies weighted by class counts give the overall accuracy.
    const counts = new Array(numClasses).fill(0);
    data.test!.labels!.forEach((label) => (counts[label] += 1));
    const weighted = result.perClassAccuracy!.reduce((sum, accuracy, c) => sum + accuracy * counts[c], 0) / data.test!.count;
    expect(weighted).toBeCloseTo(result.knnAccuracy!, 6);

    const probePredictions = trainer.probe!.predict(test);
    const probeCorrect = Array.from(probePredictions.dataSync()).filter((p, i) => p === data.test!.labels![i]).length;
    probePredictions.dispose();
    expect(result.probeAccuracy).toBeCloseTo(probeCorrect / data.test!.count, 6);

    expect(result.effectiveRank).toBeCloseTo(await effectiveRank(test), 3);
    expect(result.effectiveRank).toBeGreaterThan(1);
    expect(result.effectiveRank).toBeLessThanOrEqual(Math.min(12, result.featureDim) + 1e-6);

    bank.dispose();
    test.dispose();
    evaluator.dispose();
    trainer.dispose();
  });

  it('the PCA projection: variance along the axes equals the explained share of the total, uncorrelated axes', async () => {
    const data = tinyData(32);
    const trainer = await trainedTrainer(data);
    const evaluator = new Evaluator(trainer);
    const { projection } = await evaluator.evaluate();
    const n = projection.x.length;
    expect(n).toBe(12);
    expect(Array.from(projection.indices)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(Array.from(projection.labels!)).toEqual(Array.from(data.test!.labels!));

    // Total variance of the L2-normalised, centred held-out features, computed here.
    const test = features(trainer, data.test!);
    const unit = tf.tidy(() => tf.div(test, tf.norm(test, 2, 1, true)));
    const rows = (await unit.array()) as number[][];
    unit.dispose();
    test.dispose();
    const dim = rows[0].length;
    const mean = Array.from({ length: dim }, (_, j) => rows.reduce((s, r) => s + r[j], 0) / n);
    const totalVariance = rows.reduce((s, r) => s + r.reduce((t, v, j) => t + (v - mean[j]) ** 2, 0), 0) / (n - 1);

    const variance = (v: Float32Array) => v.reduce((s, x) => s + x * x, 0) / (n - 1);
    expect(projection.x.reduce((s, v) => s + v, 0) / n).toBeCloseTo(0, 4);
    expect(variance(projection.x) / totalVariance).toBeCloseTo(projection.explainedVariance[0], 3);
    expect(variance(projection.y) / totalVariance).toBeCloseTo(projection.explainedVariance[1], 3);
    expect(projection.explainedVariance[0]).toBeGreaterThanOrEqual(projection.explainedVariance[1]);
    expect(projection.explainedVariance[0] + projection.explainedVariance[1]).toBeLessThanOrEqual(1 + 1e-6);
    const covariance = projection.x.reduce((s, x, i) => s + x * projection.y[i], 0) / (n - 1);
    expect(Math.abs(covariance)).toBeLessThan(1e-4 * totalVariance);

    evaluator.dispose();
    trainer.dispose();
  });

  it('with the held-out images equal to the bank, every point is its own nearest neighbour (k = 1 gives 100%)', async () => {
    const base = tinyData(24);
    const data: DatasetSplits = { ...base, test: base.train };
    const trainer = await trainedTrainer(data, 1);
    const evaluator = new Evaluator(trainer, { ...DEFAULT_EVALUATION, k: 1 });
    const result = await evaluator.evaluate();
    expect(result.knnAccuracy).toBe(1);
    const near = await evaluator.nearestNeighbours(5, 4);
    expect(near.query.index).toBe(5);
    expect(near.neighbours[0].index).toBe(5);
    expect(near.neighbours[0].similarity).toBeCloseTo(1, 5);
    expect(Array.from(near.neighbours[0].pixels)).toEqual(Array.from(near.query.pixels));
    expect(near.query.pixels.length).toBe(16 * 16 * 3);
    const similarities = near.neighbours.map((n) => n.similarity);
    expect(similarities).toEqual([...similarities].sort((a, b) => b - a));
    evaluator.dispose();
    trainer.dispose();
  });

  it('nearest neighbours agree with a brute-force search over the bank features', async () => {
    const data = tinyData(32);
    const trainer = await trainedTrainer(data);
    const evaluator = new Evaluator(trainer);
    await evaluator.evaluate();
    const near = await evaluator.nearestNeighbours(3, 5);
    const bank = features(trainer, data.train);
    const query = features(trainer, data.test!);
    const similarity = tf.tidy(() => {
      const unit = (x: tf.Tensor2D) => tf.div(x, tf.norm(x, 2, 1, true));
      return tf.matMul(unit(query).slice([3, 0], [1, -1]), unit(bank), false, true).dataSync();
    });
    const expected = Array.from(similarity, (s, index) => ({ s, index }))
      .sort((a, b) => b.s - a.s)
      .slice(0, 5);
    expect(near.neighbours.map((n) => n.index)).toEqual(expected.map((e) => e.index));
    near.neighbours.forEach((n, i) => expect(n.similarity).toBeCloseTo(expected[i].s, 5));
    near.neighbours.forEach((n) => expect(n.label).toBe(data.train.labels![n.index]));
    await expect(evaluator.nearestNeighbours(12)).rejects.toThrow(/no held-out point 12/);
    bank.dispose();
    query.dispose();
    evaluator.dispose();
    trainer.dispose();
  });

  it('exports the held-out features of the last evaluation, unit rows with their labels', async () => {
    const data = tinyData(32);
    const trainer = await trainedTrainer(data);
    const evaluator = new Evaluator(trainer);
    await expect(evaluator.heldOutEmbeddings()).rejects.toThrow(/No evaluation yet/);
    await evaluator.evaluate();
    const exported = await evaluator.heldOutEmbeddings();
    const expected = tf.tidy(() => {
      const x = features(trainer, data.test!);
      return tf.div(x, tf.norm(x, 2, 1, true)).arraySync() as number[][];
    });
    expect([exported.step, exported.dim, exported.vectors.length]).toEqual([trainer.steps, expected[0].length, expected.length * expected[0].length]);
    expected.flat().forEach((v, i) => expect(exported.vectors[i]).toBeCloseTo(v, 5));
    expect(Array.from(exported.labels!)).toEqual(Array.from(data.test!.labels!));
    expect(exported.classNames).toEqual(data.classNames);
    evaluator.dispose();
    trainer.dispose();
  });

  it('caps the bank and the held-out set with a seeded subsample, the same for every evaluation', async () => {
    const data = tinyData(32);
    const trainer = await trainedTrainer(data, 1);
    const settings = { ...DEFAULT_EVALUATION, maxBankImages: 10, maxHeldOutImages: 5, maxProjectedPoints: 4 };
    const first = new Evaluator(trainer, settings);
    const second = new Evaluator(trainer, settings);
    expect(first.sample.bankIndices.length).toBe(10);
    expect(new Set(first.sample.bankIndices).size).toBe(10);
    expect(Array.from(first.sample.bankIndices).every((i) => i >= 0 && i < 32)).toBe(true);
    expect(Array.from(second.sample.bankIndices)).toEqual(Array.from(first.sample.bankIndices));
    const result = await first.evaluate();
    expect(result.bankSize).toBe(10);
    expect(result.bankAvailable).toBe(32);
    expect(result.heldOutSize).toBe(5);
    expect(result.heldOutAvailable).toBe(12);
    expect(result.projection.x.length).toBe(4);
    expect(Array.from(result.projection.indices)).toEqual(Array.from(first.sample.heldOutIndices.slice(0, 4)));
    first.dispose();
    second.dispose();
    trainer.dispose();
  });

  it('without a held-out split: RankMe and the projection on training images, no kNN', async () => {
    const base = tinyData(24);
    const trainer = await trainedTrainer({ ...base, test: null }, 1);
    const evaluator = new Evaluator(trainer, { ...DEFAULT_EVALUATION, maxHeldOutImages: 10 });
    const result = await evaluator.evaluate();
    expect(result.heldOutSplit).toBe('train');
    expect(result.knnAccuracy).toBeNull();
    expect(result.probeAccuracy).toBeNull();
    expect(result.projection.x.length).toBe(10);
    expect(Number.isFinite(result.effectiveRank)).toBe(true);
    evaluator.dispose();
    trainer.dispose();
  });

  it('changes cadence but not its images mid-run, keeps only the last features, and leaks nothing after dispose', async () => {
    const data = tinyData(32);
    const trainer = await trainedTrainer(data, 1);
    const baseline = tf.memory().numTensors;
    const evaluator = new Evaluator(trainer, { ...DEFAULT_EVALUATION, everySteps: 5 });
    evaluator.updateSettings({ everySteps: 2 });
    expect(evaluator.evaluationSettings.everySteps).toBe(2);
    expect(() => evaluator.updateSettings({ everySteps: -1 })).toThrow(/evaluation interval/);
    expect(() => evaluator.updateSettings({ maxBankImages: 10 })).toThrow(/fixed for a run/);
    expect(evaluator.evaluationSettings).toEqual({ ...DEFAULT_EVALUATION, everySteps: 2 });

    await evaluator.evaluate();
    const afterOne = tf.memory().numTensors;
    await evaluator.evaluate();
    expect(tf.memory().numTensors).toBe(afterOne);
    const result = await evaluator.evaluate();
    expect(result.milliseconds).toBeGreaterThan(0);
    evaluator.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
    trainer.dispose();
  });
});

/** Images of one flat colour each (0–255 RGB). */
function flatColours(colours: [number, number, number][], labels: number[], size = 8): ImageSet {
  const pixels = new Uint8Array(colours.length * size * size * 3);
  colours.forEach((rgb, i) => {
    for (let p = 0; p < size * size; p++) pixels.set(rgb, (i * size * size + p) * 3);
  });
  return { count: colours.length, size, pixels, labels: Int32Array.from(labels) };
}

/** Weighted kNN written out plainly: cosine similarity, top k, votes exp(sim / σ). */
function naiveKnnAccuracy(bank: number[][], bankLabels: ArrayLike<number>, test: number[][], testLabels: ArrayLike<number>, numClasses: number): number {
  const { k, sigma } = DEFAULT_EVALUATION;
  const normalise = (v: number[]) => {
    const norm = Math.max(Math.hypot(...v), 1e-12);
    return v.map((x) => x / norm);
  };
  const bankUnit = bank.map(normalise);
  let correct = 0;
  test.forEach((query, q) => {
    const unit = normalise(query);
    const similarities = bankUnit.map((row, i) => ({ sim: row.reduce((s, x, j) => s + x * unit[j], 0), label: bankLabels[i] }));
    similarities.sort((a, b) => b.sim - a.sim);
    const scores = new Array(numClasses).fill(0);
    for (const { sim, label } of similarities.slice(0, Math.min(k, bank.length))) scores[label] += Math.exp(sim / sigma);
    if (scores.indexOf(Math.max(...scores)) === testLabels[q]) correct += 1;
  });
  return correct / test.length;
}

/** What the evaluator reads of a run, for an encoder that is not a trained network. */
function runOf(encoder: Module & { featureDim: number }, data: DatasetSplits, imageSize: number) {
  const trainImages = new DeviceImages(data.train);
  const run = { dataset: data, trainImages, settings: { imageSize }, method: { encoder }, steps: 0, epochs: 0, probe: null } as unknown as Trainer;
  return { run, dispose: () => trainImages.dispose() };
}

const indicesOf = (count: number) => Int32Array.from({ length: count }, (_, i) => i);

describe('kNN accuracy (the one kNN path)', () => {
  it('matches a plain weighted kNN over eval-mode backbone features of the un-augmented images', async () => {
    const data = tinyData(40, 8);
    const trainer = new Trainer(tinyConfig('byol', { imageSize: 8, batchSize: 4 }), data);
    // A few steps move the BatchNorm running statistics away from their initial values, so train mode would differ.
    for (let i = 0; i < 3; i++) trainer.step();
    await trainer.flush();
    const evaluator = new Evaluator(trainer);
    const { knnAccuracy: accuracy } = await evaluator.evaluate();
    const rows = (set: ImageSet) => tf.tidy(() => features(trainer, set).arraySync() as number[][]);
    const expected = naiveKnnAccuracy(rows(data.train), data.train.labels!, rows(data.test!), data.test!.labels!, data.classNames.length);
    expect(accuracy).toBeCloseTo(expected, 6);
    evaluator.dispose();
    trainer.dispose();
  });

  it('classifies held-out images by their nearest training images (mean-colour encoder): 2 of 3 by hand', async () => {
    // The encoder is the per-channel mean of the standardised image, so the features are colours.
    const data: DatasetSplits = {
      name: 'colours',
      classNames: ['red', 'blue'],
      train: flatColours([[255, 0, 0], [230, 20, 10], [0, 0, 255], [10, 30, 240]], [0, 0, 1, 1], 2),
      // A dark red, a dark blue, and a reddish image labelled blue: 2 of 3 right.
      test: flatColours([[150, 0, 0], [0, 0, 120], [240, 10, 0]], [0, 1, 1], 2),
    };
    const { run, dispose } = runOf({ ...globalAveragePool, featureDim: 3 }, data, 2);
    const evaluator = new Evaluator(run);
    expect((await evaluator.evaluate()).knnAccuracy).toBeCloseTo(2 / 3, 6);
    evaluator.dispose();
    dispose();
    expect(effectiveK(4, DEFAULT_EVALUATION.k)).toBe(4);
    expect(effectiveK(1000, DEFAULT_EVALUATION.k)).toBe(DEFAULT_EVALUATION.k);
  });

  it('scores 1 when each class is one flat colour, and 0 when the held-out labels are swapped', async () => {
    const dark: [number, number, number] = [20, 30, 40];
    const bright: [number, number, number] = [230, 220, 210];
    const train = flatColours([dark, dark, dark, bright, bright, bright], [0, 0, 0, 1, 1, 1]);
    for (const [labels, expected] of [
      [[0, 1], 1],
      [[1, 0], 0],
    ] as const) {
      const data: DatasetSplits = { name: 'flat', classNames: ['dark', 'bright'], train, test: flatColours([dark, bright], [...labels]) };
      const { run, dispose } = runOf({ ...globalAveragePool, featureDim: 3 }, data, 8);
      const evaluator = new Evaluator(run);
      expect((await evaluator.evaluate()).knnAccuracy).toBe(expected);
      evaluator.dispose();
      dispose();
    }
  });

  it("evaluates at the run's own image size when the stored images are larger", async () => {
    const data = tinyData(16, 16);
    const backbone = createBackbone({ kind: 'convnet', widths: [4, 8] }, new Rng(3));
    const { run, dispose } = runOf(backbone, data, 8);
    const evaluator = new Evaluator(run, { ...DEFAULT_EVALUATION, k: 1 });
    const result = await evaluator.evaluate();
    const exported = await evaluator.heldOutEmbeddings();
    const expected = tf.tidy(() => {
      const images = tf.image.resizeBilinear(tf.div(tf.tensor4d(data.test!.pixels, [12, 16, 16, 3], 'int32'), 255) as tf.Tensor4D, [8, 8]);
      const x = backbone.apply(standardize(images), false) as tf.Tensor2D;
      return tf.div(x, tf.norm(x, 2, 1, true)).arraySync() as number[][];
    });
    expected.flat().forEach((v, i) => expect(exported.vectors[i]).toBeCloseTo(v, 5));
    expect(result.knnAccuracy).not.toBeNull();
    evaluator.dispose();
    dispose();
  });

  it('embeds in chunks with the same features, resizes on request, in eval mode, without leaking tensors', () => {
    const data = tinyData(20, 8);
    const images = new DeviceImages(data.train);
    const backbone = createBackbone({ kind: 'convnet', widths: [4, 8] }, new Rng(3));
    const runningStats = () => backbone.buffers.map((b) => Array.from(b.variable.dataSync()));
    const before = runningStats();
    const tensors = tf.memory().numTensors;
    const whole = embedImages(backbone, images, indicesOf(20));
    const chunked = embedImages(backbone, images, indicesOf(20), undefined, 7);
    expect(whole.shape).toEqual([20, 8]);
    expect(Array.from(chunked.dataSync())).toEqual(Array.from(whole.dataSync()));
    const resized = embedImages(backbone, images, indicesOf(3), 4);
    const expected = tf.tidy(() => backbone.apply(standardize(tf.image.resizeBilinear(images.gather(indicesOf(3)), [4, 4])), false));
    expect(Array.from(resized.dataSync())).toEqual(Array.from(expected.dataSync()));
    [whole, chunked, resized, expected].forEach((t) => t.dispose());
    expect(tf.memory().numTensors).toBe(tensors);
    expect(runningStats()).toEqual(before);
    images.dispose();
  });

  it('one sample serves several runs: the same bank and held-out rows, uploaded once, freed by its owner', async () => {
    const data = tinyData(32);
    const images = new DeviceImages(data.train);
    const settings = { ...DEFAULT_EVALUATION, maxBankImages: 10, maxHeldOutImages: 5 };
    const before = tf.memory().numTensors;
    const sample = new EvaluationSample(data, images, settings);
    expect(tf.memory().numTensors).toBe(before + 1); // the held-out subset only: the bank is the training upload
    const a = new Trainer(tinyConfig('byol'), data, { trainImages: images });
    const b = new Trainer(tinyConfig('simclr', { seed: 5 }), data, { trainImages: images });
    const [ea, eb] = [new Evaluator(a, settings, sample), new Evaluator(b, settings, sample)];
    expect(Array.from(eb.sample.bankIndices)).toEqual(Array.from(ea.sample.bankIndices));
    expect((await ea.evaluate()).heldOutSize).toBe(5);
    expect((await eb.evaluate()).bankSize).toBe(10);
    expect(() => new Evaluator(a, DEFAULT_EVALUATION, sample)).toThrow(/other bank or held-out sizes/);
    ea.dispose();
    eb.dispose();
    expect(tf.memory().numTensors).toBeGreaterThan(before); // the sample outlives its evaluators
    sample.dispose();
    a.dispose();
    b.dispose();
    images.dispose();
  });

  it('says why when the data has no labels or no held-out images', () => {
    const data = tinyData(16, 8);
    expect(knnProblem(data)).toBeNull();
    expect(knnProblem({ ...data, test: null })).toMatch(/has no held-out images/);
    expect(knnProblem({ ...data, classNames: [], test: null })).toMatch(/has no class labels/);
  });
});
