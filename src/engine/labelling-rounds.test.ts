import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { LabellingRounds, featureMap, labellingProblem, type LabellingPlan } from './active-learning';
import type { DatasetSplits } from './dataset';
import { tinyConfig, tinyData } from './testing/tiny';
import { Trainer } from './trainer';

/** A flat folder as the Active learning tab sees it: the person's class names, no labels, nothing held out. */
function flatFolder(count: number, classNames = ['round', 'square']): DatasetSplits {
  const data = tinyData(count);
  return { name: 'my photos', classNames, train: { ...data.train, labels: null }, test: null };
}

const plan = (changes: Partial<LabellingPlan> = {}): LabellingPlan => ({
  config: tinyConfig('mobyv2al', { batchSize: 4 }),
  strategy: 'coreset',
  budget: 3,
  stepsPerCycle: 2,
  plannedCycles: 2,
  ...changes,
});

const labelled = (pairs: [number, number][]) => ({ indices: Int32Array.from(pairs, (p) => p[0]), labels: Int32Array.from(pairs, (p) => p[1]) });

describe('the labelling map', () => {
  it('projects on the principal axes: centred, the first axis the wider, the two uncorrelated', async () => {
    const data = flatFolder(24);
    const trainer = new Trainer(plan().config, data, { labelled: labelled([]) });
    try {
      const indices = Int32Array.from({ length: 24 }, (_, i) => i);
      const { x, y } = await featureMap(trainer, indices);
      const mean = (v: Float32Array) => v.reduce((a, b) => a + b, 0) / v.length;
      const dot = (a: Float32Array, b: Float32Array) => a.reduce((sum, value, i) => sum + value * b[i], 0);
      expect(Math.abs(mean(x))).toBeLessThan(1e-5);
      expect(Math.abs(mean(y))).toBeLessThan(1e-5);
      expect(dot(x, x)).toBeGreaterThanOrEqual(dot(y, y));
      expect(dot(x, x)).toBeGreaterThan(0);
      expect(Math.abs(dot(x, y))).toBeLessThan(1e-4 * dot(x, x));
      expect((await featureMap(trainer, new Int32Array(0))).x).toHaveLength(0);
    } finally {
      trainer.dispose();
    }
  });
});

describe('labelling rounds on your own folder', () => {
  it('trains each cycle on the labels given, keeps training (warm start) and suggests only unlabelled images', async () => {
    const rounds = new LabellingRounds(plan(), flatFolder(12));
    try {
      const first = await rounds.cycle(labelled([]));
      expect(first.cycle).toBe(1);
      expect(first.trainedWith).toBe(0);
      expect(first.perClassLabels).toEqual([0, 0]);
      expect(first.unlabelled).toBe(12);
      expect(first.notes[0]).toBe('No image is labelled "round", "square" yet: the classifier cannot learn those classes until one is.');
      expect(new Set(first.selected).size).toBe(3);
      // The person labels the three suggestions (two round, one square).
      const given = labelled([
        [first.selected[0], 0],
        [first.selected[1], 0],
        [first.selected[2], 1],
      ]);
      const second = await rounds.cycle(given);
      expect(second.cycle).toBe(2);
      expect(second.trainedWith).toBe(3);
      expect(second.perClassLabels).toEqual([2, 1]);
      expect(second.unlabelled).toBe(9);
      expect(second.notes).toEqual([]);
      expect(Array.from(second.selected).filter((i) => Array.from(first.selected).includes(i))).toEqual([]);
      // The map holds every image of this small folder once, labelled and suggested ones first.
      expect(Array.from(second.map.indices.slice(0, 6))).toEqual([...Array.from(given.indices), ...Array.from(second.selected)]);
      expect(Array.from(second.map.indices).sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i));
      // A third cycle past the two planned extends the schedule rather than stopping.
      expect((await rounds.cycle(given)).cycle).toBe(3);
    } finally {
      await rounds.dispose();
    }
  });

  it('a budget larger than the unlabelled pool suggests the whole pool and says so; with every image labelled it suggests nothing', async () => {
    const rounds = new LabellingRounds(plan({ budget: 5 }), flatFolder(6));
    try {
      const most = await rounds.cycle(labelled([0, 1, 2, 3].map((i) => [i, i % 2])));
      expect(Array.from(most.selected).sort()).toEqual([4, 5]);
      expect(most.notes).toEqual(['Only 2 images are unlabelled, fewer than the 5 asked for, so all 2 are suggested.']);
      const all = await rounds.cycle(labelled([0, 1, 2, 3, 4, 5].map((i) => [i, i % 2])));
      expect(all.selected).toHaveLength(0);
      expect(all.unlabelled).toBe(0);
      expect(all.notes).toEqual(['Every one of the 6 images is labelled: there is nothing left to suggest. Download the labels.']);
    } finally {
      await rounds.dispose();
    }
  });

  it('names a class still without labels', async () => {
    const rounds = new LabellingRounds(plan(), flatFolder(8, ['round', 'square', 'star']));
    try {
      const result = await rounds.cycle(labelled([[0, 0], [1, 2]]));
      expect(result.perClassLabels).toEqual([1, 0, 1]);
      expect(result.notes[0]).toBe('No image is labelled "square" yet: the classifier cannot learn that class until one is.');
    } finally {
      await rounds.dispose();
    }
  });

  it('refuses a flat folder with no classes named, a label given twice and a label outside the classes, and frees everything', async () => {
    const before = tf.memory().numTensors;
    expect(() => new LabellingRounds(plan(), flatFolder(8, []))).toThrow('Name at least two classes before the first cycle');
    expect(labellingProblem(plan(), flatFolder(8, ['cat', 'cat']))).toBe('Two classes have the same name; give each class its own name.');
    const rounds = new LabellingRounds(plan(), flatFolder(8));
    await expect(rounds.cycle(labelled([[2, 0], [2, 1]]))).rejects.toThrow('An image is labelled twice; keep one label per image.');
    await expect(rounds.cycle(labelled([[2, 5]]))).rejects.toThrow('Label 5 is not one of the 2 classes.');
    expect(rounds.completedCycles).toBe(0);
    await rounds.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
