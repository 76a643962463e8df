import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  LabelOracle,
  activeLearningProblem,
  kCenterGreedy,
  labelsPerClass,
  selectForLabelling,
  selectionProblem,
  simulateActiveLearning,
  type ActiveLearningPlan,
} from './active-learning';
import type { DatasetSplits } from './dataset';
import { disposeInstance } from './methods/instance';
import { getMethod } from './methods/registry';
import type { StepInputs } from './methods/types';
import { Rng } from './random';
import { tinyConfig, tinyData } from './testing/tiny';
import { Trainer } from './trainer';

describe('k-center greedy', () => {
  // Candidates A(1,0) B(4,0) C(9,0) D(10,0) E(5,3); squared distances worked by hand in the comments.
  const candidates = [
    [1, 0],
    [4, 0],
    [9, 0],
    [10, 0],
    [5, 3],
  ];

  it('with a pre-chosen centre at the origin picks D, then E, then B', async () => {
    // To (0,0): A 1, B 16, C 81, D 100, E 34 → D. Then min with D: A 1, B 16, C 1, E 34 → E.
    // Then min with E: A 1, B min(16, 1+9) = 10, C 1 → B.
    const points = tf.tensor2d(candidates);
    const centres = tf.tensor2d([[0, 0]]);
    expect(Array.from(await kCenterGreedy(points, centres, 3))).toEqual([3, 4, 1]);
    points.dispose();
    centres.dispose();
  });

  it('with two centres counts both: the farthest from its nearest centre goes first', async () => {
    // Centres (0,0) and (10,1): A 1, B min(16, 37) = 16, C min(81, 2) = 2, D min(100, 1) = 1, E min(34, 29) = 29 → E.
    // Then with E(5,3): B min(16, 10) = 10, C 2, A 1, D 1 → B.
    const points = tf.tensor2d(candidates);
    const centres = tf.tensor2d([
      [0, 0],
      [10, 1],
    ]);
    expect(Array.from(await kCenterGreedy(points, centres, 2))).toEqual([4, 1]);
    points.dispose();
    centres.dispose();
  });

  it('without centres starts from the first row, never picks a row twice and frees what it made', async () => {
    // From A: B 9, C 64, D 81, E 25 → D; then min with D: B 9, C 1, E 25 → E; then B 9, C 1 → B; then C; then nothing is left but A, already picked.
    const points = tf.tensor2d(candidates);
    const before = tf.memory().numTensors;
    expect(Array.from(await kCenterGreedy(points, null, 5))).toEqual([0, 3, 4, 1, 2]);
    expect(tf.memory().numTensors).toBe(before);
    await expect(kCenterGreedy(points, null, 6)).rejects.toThrow('k-center greedy cannot pick 6 of 5 candidates.');
    points.dispose();
  });
});

describe('the MoBYv2AL joint loss', () => {
  const config = tinyConfig('mobyv2al');
  const batch = 6;
  const inputs = (labelled: boolean): StepInputs => ({
    views: [tf.randomNormal([batch, 16, 16, 3], 0, 1, 'float32', 1) as tf.Tensor4D, tf.randomNormal([batch, 16, 16, 3], 0, 1, 'float32', 2) as tf.Tensor4D],
    indices: tf.tensor1d([0, 1, 2, 3, 4, 5], 'int32'),
    labels: labelled ? tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32') : null,
    ...(labelled ? { weakView: tf.randomNormal([batch, 16, 16, 3], 0, 1, 'float32', 3) as tf.Tensor4D } : {}),
  });
  const schedule = { step: 0, tau: 0.99, temperature: 0.2 };
  // MoBY built from the same seed has the same networks and queues: MoBYv2AL draws its classifier after them.
  const mobyLoss = (x: StepInputs) => {
    const moby = getMethod('moby').create({ config: { ...config, method: 'moby', options: { queueSize: config.options.queueSize } }, rng: new Rng(4), datasetSize: 32, numClasses: 3 });
    const value = tf.tidy(() => moby.computeLoss(x, schedule).loss.dataSync()[0]);
    disposeInstance(moby);
    return value;
  };
  /** −mean log softmax(logits)[label], from the logits read back. */
  const crossEntropyByHand = (logits: number[][], labels: number[]) =>
    -logits.reduce((sum, row, i) => sum + row[labels[i]] - Math.log(row.reduce((s, v) => s + Math.exp(v), 0)), 0) / logits.length;

  const create = (mobyWeight: number) => getMethod('mobyv2al').create({ config: { ...config, options: { ...config.options, mobyWeight } }, rng: new Rng(4), datasetSize: 32, numClasses: 3 });

  it('on an unlabelled batch is 0.5 × MoBY and has no cross-entropy term', () => {
    const x = inputs(false);
    const method = create(0.5);
    const out = tf.tidy(() => {
      const { loss, terms } = method.computeLoss(x, schedule);
      return { loss: loss.dataSync()[0], names: Object.keys(terms) };
    });
    expect(out.names).toEqual(['pull', 'push']);
    expect(out.loss).toBeCloseTo(0.5 * mobyLoss(x), 4);
    disposeInstance(method);
  });

  it('on a labelled batch is the cross-entropy on the weak view + 0.5 × MoBY, and with MoBY weight 0 the cross-entropy alone', () => {
    const x = inputs(true);
    for (const weight of [0.5, 0]) {
      const method = create(weight);
      const { loss, classification, logits } = tf.tidy(() => {
        const out = method.computeLoss(x, schedule);
        const logits = method.classifier!.apply(method.encoder.apply(x.weakView!, true), true).arraySync() as number[][];
        return { loss: out.loss.dataSync()[0], classification: out.terms.classification.dataSync()[0], logits };
      });
      const expected = crossEntropyByHand(logits, [0, 1, 2, 0, 1, 2]);
      expect(classification).toBeCloseTo(expected, 4);
      expect(loss).toBeCloseTo(expected + weight * mobyLoss(x), 4);
      disposeInstance(method);
    }
  });
});

describe('the label oracle', () => {
  it('reveals only the labels asked for, counts them, and refuses an image twice or out of range', () => {
    const oracle = new LabelOracle(Int32Array.from([2, 0, 1, 1, 0]), 3);
    expect(Array.from(oracle.reveal([3, 0]))).toEqual([1, 2]);
    expect(oracle.reveals).toBe(2);
    expect(() => oracle.reveal([4, 0])).toThrow('Image 0 is already labelled; a strategy must pick unlabelled images.');
    expect(() => oracle.reveal([1, 1])).toThrow('Image 1 is already labelled');
    expect(() => oracle.reveal([5])).toThrow('Image 5 is not one of the 5 training images.');
    expect(oracle.reveals).toBe(2);
    expect(Array.from(oracle.labelled.indices)).toEqual([3, 0]);
    expect(labelsPerClass(oracle.labelled.labels, 3)).toEqual([0, 1, 1]);
  });
});

/** The tiny shapes set with its training labels behind a counter of every label read. */
function countingLabels(data: DatasetSplits): { data: DatasetSplits; reads: () => number } {
  let reads = 0;
  const labels = new Proxy(data.train.labels!, {
    get(target, key) {
      if (typeof key === 'string' && /^\d+$/.test(key)) reads += 1;
      const value = Reflect.get(target, key, target) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { data: { ...data, train: { ...data.train, labels } }, reads: () => reads };
}

const plan = (overrides: Partial<ActiveLearningPlan> = {}): ActiveLearningPlan => ({
  config: tinyConfig('mobyv2al', { batchSize: 4 }),
  strategy: 'coreset',
  initial: 4,
  budget: 3,
  cycles: 3,
  stepsPerCycle: 2,
  reinitialise: false,
  ...overrides,
});

describe('a simulated experiment', () => {
  it.each(['coreset', 'random', 'uncertainty', 'loss'] as const)('with %s reads a hidden label only when the oracle reveals it, and picks new images every cycle', async (strategy) => {
    const { data, reads } = countingLabels(tinyData(24));
    const before = tf.memory().numTensors;
    const cycles: { labelled: number; reveals: number; perClass: number[]; selected: number[] }[] = [];
    const results = await simulateActiveLearning(plan({ strategy }), data, (r) => cycles.push({ labelled: r.labelled, reveals: r.reveals, perClass: r.perClassLabels, selected: Array.from(r.selected) }));
    expect(cycles.map((c) => c.labelled)).toEqual([4, 7, 10]);
    expect(cycles.map((c) => c.reveals)).toEqual([7, 10, 10]);
    expect(reads()).toBe(10);
    expect(cycles.map((c) => c.perClass.reduce((a, b) => a + b, 0))).toEqual([4, 7, 10]);
    const picked = cycles.flatMap((c) => c.selected);
    expect(new Set(picked).size).toBe(6);
    expect(results.every((r) => r.accuracy >= 0 && r.accuracy <= 1 && (r.accuracy * 12) % 1 < 1e-6)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('re-initialised every cycle trains and reports as many cycles', async () => {
    const results = await simulateActiveLearning(plan({ reinitialise: true, strategy: 'random', cycles: 2 }), tinyData(24), () => {});
    expect(results.map((r) => r.labelled)).toEqual([4, 7]);
  });

  it('refuses plans that cannot run, saying why', () => {
    const data = tinyData(24);
    expect(activeLearningProblem(plan({ budget: 20 }), data)).toBe('3 cycles from 4 labels, 20 more per cycle, need 44 labels, but there are only 24 training images: lower the budget or the cycles.');
    expect(activeLearningProblem(plan({ initial: 0 }), data)).toBe('The initial labels must be a whole number, at least 1; got 0.');
    expect(activeLearningProblem(plan(), { ...data, train: { ...data.train, labels: null } })).toMatch(/^A simulation needs a labelled dataset/);
    expect(activeLearningProblem(plan(), { ...data, test: null })).toMatch(/measures accuracy on held-out images, and "Coloured shapes" has none\.$/);
    expect(selectionProblem(5, 20, 24)).toBe('The budget (5) is larger than the unlabelled pool (4 of 24 images are unlabelled).');
    expect(selectionProblem(1, 24, 24)).toBe('Every one of the 24 images is labelled already: there is nothing left to suggest.');
    expect(selectionProblem(0, 2, 24)).toBe('The budget must be a whole number of images, at least 1; got 0.');
  });
});

describe('the trainer with a labelled set', () => {
  it('alternates labelled and unlabelled batches, labels only the revealed images, and refuses bad sets', async () => {
    const data = tinyData(16);
    const hidden: DatasetSplits = { ...data, train: { ...data.train, labels: null } };
    const labelled = { indices: Int32Array.from([1, 5, 9]), labels: Int32Array.from([2, 0, 1]) };
    const trainer = new Trainer(tinyConfig('mobyv2al', { batchSize: 4 }), hidden, { labelled });
    const batches: number[][] = [];
    trainer.onBatch = (indices) => batches.push(Array.from(indices));
    for (let i = 0; i < 4; i++) trainer.step();
    const records = await trainer.flush();
    expect(records.map((r) => 'classification' in r.terms)).toEqual([true, false, true, false]);
    expect(batches.filter((_, i) => i % 2 === 0).flat().every((index) => [1, 5, 9].includes(index))).toBe(true);
    expect(batches.filter((_, i) => i % 2 === 1).flat().some((index) => [1, 5, 9].includes(index))).toBe(false);
    expect(() => trainer.setLabelled({ indices: Int32Array.from([1, 1]), labels: Int32Array.from([0, 0]) })).toThrow('An image is labelled twice; keep one label per image.');
    expect(() => trainer.setLabelled({ indices: Int32Array.from([2]), labels: Int32Array.from([7]) })).toThrow(`Label 7 is not one of the ${data.classNames.length} classes.`);
    trainer.dispose();
    expect(() => new Trainer(tinyConfig('byol'), data, { labelled })).toThrow('BYOL does not train on a partly labelled set; choose MoBYv2AL for active learning.');
    expect(() => new Trainer(tinyConfig('mobyv2al', { options: { queueSize: 4096, mobyWeight: 0 } }), hidden)).toThrow('Training on the labels alone needs at least one labelled image.');
  });

  it('selection refuses a budget larger than the pool', async () => {
    const data = tinyData(16);
    const trainer = new Trainer(tinyConfig('mobyv2al'), data);
    await expect(selectForLabelling('coreset', { trainer, labelled: Int32Array.from({ length: 14 }, (_, i) => i), budget: 3, rng: new Rng(1) })).rejects.toThrow(
      'The budget (3) is larger than the unlabelled pool (2 of 16 images are unlabelled).',
    );
    trainer.dispose();
  });
});
