import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { Comparison, evaluationSteps, type ComparisonRunSpec } from './comparison';
import type { TrainConfig } from './config';
import { METHODS } from './methods/registry';
import { tinyConfig, tinyData } from './testing/tiny';
import { Trainer } from './trainer';

/** 8 px, 16 images, batch 4: 4 steps per epoch, about a second per test. */
function smallConfig(overrides: Partial<TrainConfig> = {}, method = 'byol'): TrainConfig {
  return tinyConfig(method, { imageSize: 8, batchSize: 4, totalSteps: 6, ...overrides });
}
const smallData = () => tinyData(16, 8);

function specs(...configs: TrainConfig[]): ComparisonRunSpec[] {
  return configs.map((config, i) => ({ id: `run${i}`, name: `Run ${i}`, config }));
}

interface SeenBatch {
  indices: number[];
  views: number[][];
}

/** Every batch a trainer draws in `steps` steps: indices and the pixels of both views. */
function watchBatches(trainer: Trainer, steps: number): SeenBatch[] {
  const seen: SeenBatch[] = [];
  trainer.onBatch = (indices, views) => seen.push({ indices: Array.from(indices), views: views.map((v) => Array.from(v.dataSync())) });
  for (let i = 0; i < steps; i++) trainer.step();
  trainer.onBatch = null;
  return seen;
}

describe('same seed, same data stream', () => {
  it('two BYOL runs with different τ, learning rate, optimizer and heads draw identical batches and identical augmented views', async () => {
    const data = smallData();
    const a = new Trainer(smallConfig({ tau: 0.99, learningRate: 0.05 }), data);
    const base = smallConfig();
    const b = new Trainer(
      smallConfig({
        tau: 0.9,
        tauSchedule: false,
        learningRate: 0.01,
        optimizer: { kind: 'adamw', beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01 },
        projector: { ...base.projector, out: 12 },
        predictor: base.predictor && { ...base.predictor, hidden: [20], out: 12 },
        backbone: { kind: 'convnet', widths: [6, 6, 6, 6] },
      }),
      data,
    );
    // 6 steps at 4 steps per epoch: the stream crosses into a second permutation.
    const seenA = watchBatches(a, 6);
    const seenB = watchBatches(b, 6);
    expect(seenA).toHaveLength(6);
    expect(seenB).toEqual(seenA);
    // A whole epoch covers every image once.
    expect(seenA.slice(0, 4).flatMap((s) => s.indices).sort((x, y) => x - y)).toEqual(Array.from({ length: 16 }, (_, i) => i));
    await Promise.all([a.flush(), b.flush()]);
    a.dispose();
    b.dispose();
  });

  it('every registered method draws the same batches and views as BYOL when seed, batch size and recipe match', async () => {
    const data = smallData();
    const byol = new Trainer(smallConfig(), data);
    const reference = watchBatches(byol, 5);
    for (const method of METHODS) {
      const trainer = new Trainer(smallConfig({ augmentations: smallConfig().augmentations }, method.id), data);
      expect(watchBatches(trainer, 5), method.id).toEqual(reference);
      await trainer.flush();
      trainer.dispose();
    }
    await byol.flush();
    byol.dispose();
  });

  it('a different seed gives a different stream (the check above can fail)', async () => {
    const data = smallData();
    const a = new Trainer(smallConfig({ seed: 1 }), data);
    const b = new Trainer(smallConfig({ seed: 2 }), data);
    const [first] = watchBatches(a, 1);
    const [second] = watchBatches(b, 1);
    expect(second.indices).not.toEqual(first.indices);
    expect(second.views[0]).not.toEqual(first.views[0]);
    await Promise.all([a.flush(), b.flush()]);
    a.dispose();
    b.dispose();
  });
});

describe('Comparison', () => {
  it('steps round-robin: one step each in turn, all runs advance equally', async () => {
    const comparison = new Comparison(specs(smallConfig(), smallConfig({ tau: 0.9 }), smallConfig({ learningRate: 0.01 })), smallData(), { evaluations: 0 });
    const order: string[] = [];
    for (let i = 0; i < 9; i++) {
      order.push(comparison.step()?.id ?? 'none');
      const steps = comparison.runs.map((r) => r.trainer.steps);
      expect(Math.max(...steps) - Math.min(...steps)).toBeLessThanOrEqual(1);
    }
    expect(order).toEqual(['run0', 'run1', 'run2', 'run0', 'run1', 'run2', 'run0', 'run1', 'run2']);
    expect(comparison.runs.map((r) => r.trainer.steps)).toEqual([3, 3, 3]);
    const updates = await comparison.flush();
    expect(updates.map((u) => u.records.map((r) => r.step))).toEqual([
      [0, 1, 2],
      [0, 1, 2],
      [0, 1, 2],
    ]);
    comparison.dispose();
  });

  it('keeps going with the longer runs once a shorter one is done, and stops when all are', async () => {
    const comparison = new Comparison(specs(smallConfig({ totalSteps: 2 }), smallConfig({ totalSteps: 4 })), smallData(), { evaluations: 0 });
    const order: string[] = [];
    for (let run = comparison.step(); run; run = comparison.step()) order.push(run.id);
    expect(order).toEqual(['run0', 'run1', 'run0', 'run1', 'run1', 'run1']);
    expect(comparison.finished).toBe(true);
    expect(comparison.runs.map((r) => r.status)).toEqual(['finished', 'finished']);
    await comparison.flush();
    comparison.dispose();
  });

  it('a run trains exactly as it would alone: interleaving changes no number', async () => {
    const data = smallData();
    const configs = [smallConfig({ tau: 0.99 }), smallConfig({ tau: 0.9, learningRate: 0.02 })];
    const comparison = new Comparison(specs(...configs), data, { evaluations: 0 });
    while (!comparison.finished) await comparison.advance();
    const together = (await comparison.flush()).map((u) => u.records.map((r) => r.loss));
    comparison.dispose();
    for (const [i, config] of configs.entries()) {
      const alone = new Trainer(config, data);
      for (let s = 0; s < config.totalSteps; s++) alone.step();
      expect(together[i]).toEqual((await alone.flush()).map((r) => r.loss));
      alone.dispose();
    }
  });

  it('evaluates kNN at evenly spaced steps ending at the last, and times one step of each run', async () => {
    expect(evaluationSteps(6, 2)).toEqual([3, 6]);
    expect(evaluationSteps(10, 3)).toEqual([3, 7, 10]);
    expect(evaluationSteps(2, 5)).toEqual([1, 2]);
    const comparison = new Comparison(specs(smallConfig(), smallConfig({ tau: 0.9 })), smallData(), { evaluations: 2 });
    const evaluated: [string, number][] = [];
    while (!comparison.finished) {
      const { evaluation } = await comparison.advance();
      if (evaluation) {
        evaluated.push([evaluation.runId, evaluation.step]);
        expect(evaluation.accuracy).toBeGreaterThanOrEqual(0);
        expect(evaluation.accuracy).toBeLessThanOrEqual(1);
      }
    }
    expect(evaluated).toEqual([
      ['run0', 3],
      ['run1', 3],
      ['run0', 6],
      ['run1', 6],
    ]);
    const updates = await comparison.flush();
    for (const update of updates) {
      expect(update.records.map((r) => r.step)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(update.imagesPerSecond).toBeGreaterThan(0);
      expect(update.status).toBe('finished');
    }
    comparison.dispose();
  });

  it('uploads the training images once for all runs and the kNN bank, and frees everything on dispose', () => {
    const data = smallData();
    const before = tf.memory().numTensors;
    const three = new Comparison(specs(smallConfig(), smallConfig({ tau: 0.9 }), smallConfig({ learningRate: 0.01 })), data, { evaluations: 1 });
    const [first, ...others] = three.runs.map((r) => r.trainer.trainImages);
    others.forEach((images) => expect(images).toBe(first));
    expect(first.set).toBe(data.train);
    three.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('stops only the run whose loss is not finite; the others finish', async () => {
    const comparison = new Comparison(specs(smallConfig({ learningRate: 1e30, warmupSteps: 0 }), smallConfig()), smallData(), { evaluations: 1 });
    const evaluatedRuns: string[] = [];
    while (!comparison.finished) {
      const { evaluation } = await comparison.advance();
      if (evaluation) evaluatedRuns.push(evaluation.runId);
    }
    const [bad, good] = await comparison.flush();
    expect(bad.status).toBe('diverged');
    expect(bad.problem).toMatch(/The loss became NaN at step \d+/);
    expect(bad.steps).toBeLessThan(6);
    expect(good.status).toBe('finished');
    expect(good.steps).toBe(6);
    expect(evaluatedRuns).toEqual(['run1']);
    comparison.dispose();
  });

  it('refuses an impossible run with its name, and builds nothing', () => {
    const before = tf.memory().numTensors;
    expect(() => new Comparison(specs(smallConfig(), smallConfig({ batchSize: 64 })), smallData(), { evaluations: 0 })).toThrow(/Run "Run 1": Invalid settings: batch size 64 is larger than the dataset \(16 images\)/);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => new Comparison([], smallData(), { evaluations: 0 })).toThrow(/at least one run/);
  });

  it('holds no more tensors after many steps, flushes and evaluations than after the first round', async () => {
    // Evaluations at steps 6, 12, 18, 24 and timed steps at 1, 4, 7, …: every kind of work repeats after the first round.
    const comparison = new Comparison(specs(smallConfig({ totalSteps: 24 }), smallConfig({ totalSteps: 24, tau: 0.9 })), smallData(), { evaluations: 4, timeEvery: 3 });
    const round = async () => {
      for (let i = 0; i < 2 * 6; i++) await comparison.advance();
      await comparison.flush();
    };
    await round();
    const settled = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) await round();
    expect(comparison.finished).toBe(true);
    expect(tf.memory().numTensors).toBe(settled);
    comparison.dispose();
  });

  it('disposes everything it built', async () => {
    const before = tf.memory().numTensors;
    const comparison = new Comparison(specs(smallConfig(), smallConfig({ tau: 0.9 })), smallData(), { evaluations: 1 });
    for (let i = 0; i < 3; i++) await comparison.advance();
    await comparison.flush();
    comparison.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
