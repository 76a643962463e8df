/**
 * What the worker's `update` message does: `Trainer.updateSettings` between two steps. The change
 * must show in the very next step, and weights and optimizer state must carry on, not restart.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { IDENTITY_VIEW } from './augment';
import { cosineTau } from './ema';
import { warmupCosineLr } from './schedules';
import { tinyConfig, tinyData } from './testing/tiny';
import { Trainer } from './trainer';

function snapshot(variables: tf.Variable[]): Float32Array[] {
  return variables.map((v) => v.dataSync().slice() as Float32Array);
}

function distance(a: Float32Array[], b: Float32Array[]): number {
  let sum = 0;
  a.forEach((values, i) => values.forEach((v, j) => (sum += (v - b[i][j]) ** 2)));
  return Math.sqrt(sum);
}

function optimizerState(trainer: Trainer): tf.Variable[] {
  return (trainer as unknown as { optimizer: { state: tf.Variable[] } }).optimizer.state;
}

function norm(a: Float32Array[]): number {
  return Math.sqrt(a.reduce((s, values) => s + values.reduce((t, v) => t + v * v, 0), 0));
}

describe('live settings take effect on the next step', () => {
  it('learning rate, batch size and τ change from the next step; weights and optimizer state carry on', async () => {
    // SGD, whose update the test works out by hand below (the classroom preset uses AdamW).
    const config = tinyConfig('byol', { totalSteps: 40, warmupSteps: 2, tauSchedule: false, optimizer: { kind: 'sgd', momentum: 0.9, weightDecay: 1e-5 }, learningRate: 0.05 });
    const data = tinyData(32);
    const trainer = new Trainer(config, data);
    for (let i = 0; i < 3; i++) trainer.step();
    const before = await trainer.flush();
    expect(before.at(-1)!.epoch).toBeCloseTo(3 * 8 / 32, 12);

    const weights = trainer.method.params.map((p) => p.variable);
    const weightsBefore = snapshot(weights);

    trainer.updateSettings({ learningRate: 0.2, batchSize: 16, tau: 0.5 });
    // Nothing is rebuilt: the very same variables hold the very same values until the next step.
    expect(trainer.method.params.map((p) => p.variable)).toEqual(weights);
    expect(distance(snapshot(weights), weightsBefore)).toBe(0);

    trainer.step();
    const [next] = await trainer.flush();
    expect(next.step).toBe(4);
    expect(next.learningRate).toBeCloseTo(warmupCosineLr(3, 40, 0.2, 2), 12);
    expect(next.tau).toBe(0.5);
    // 24 images seen before, 16 in this batch: the batch size changed.
    expect(next.epoch).toBeCloseTo((24 + 16) / 32, 12);
    // The images counted for speed are those trained on, not steps × today's batch size.
    expect(trainer.imagesSeen).toBe(3 * 8 + 16);

    // SGD with momentum: w ← w − lr·buffer. The step continued from the old weights with the new rate.
    const buffers = snapshot(optimizerState(trainer));
    const weightsAfter = snapshot(weights);
    weightsAfter.forEach((values, i) =>
      values.forEach((w, j) => expect(w).toBeCloseTo(weightsBefore[i][j] - next.learningRate * buffers[i][j], 5)),
    );
    expect(distance(weightsAfter, weightsBefore)).toBeGreaterThan(0);
    trainer.dispose();
  });

  it('a new base τ with the schedule on follows the cosine schedule from the current step', async () => {
    const trainer = new Trainer(tinyConfig('byol', { totalSteps: 20, tauSchedule: false, tau: 0.9 }), tinyData(32));
    trainer.step();
    trainer.step();
    trainer.updateSettings({ tau: 0.96, tauSchedule: true });
    trainer.step();
    const records = await trainer.flush();
    expect(records.map((r) => r.tau)).toEqual([0.9, 0.9, cosineTau(0.96, 2, 20)]);
    trainer.dispose();
  });

  it('momentum buffers are kept across a change', async () => {
    const trainer = new Trainer(tinyConfig('byol'), tinyData(32));
    trainer.step();
    await trainer.flush();
    const momentumBefore = snapshot(optimizerState(trainer));
    expect(norm(momentumBefore)).toBeGreaterThan(0);
    trainer.updateSettings({ learningRate: 0.01, batchSize: 4 });
    expect(distance(snapshot(optimizerState(trainer)), momentumBefore)).toBe(0);
    trainer.dispose();
  });

  it('augmentation changes apply to the next batch: identical views give alignment 0 and positive cosine 1', async () => {
    const trainer = new Trainer(tinyConfig('byol'), tinyData(32));
    trainer.step();
    const [augmented] = await trainer.flush();
    expect(augmented.views!.alignment).toBeGreaterThan(1e-3);
    trainer.updateSettings({ augmentations: [IDENTITY_VIEW, IDENTITY_VIEW] });
    trainer.step();
    const [identical] = await trainer.flush();
    expect(identical.views!.alignment).toBeCloseTo(0, 5);
    expect(identical.views!.positiveCosine).toBeCloseTo(1, 5);
    expect(identical.views!.negativeCosine).toBeLessThan(1);
    trainer.dispose();
  });

  it('refuses invalid values with a message and keeps the previous settings', async () => {
    const trainer = new Trainer(tinyConfig('byol', { tauSchedule: false }), tinyData(32));
    expect(() => trainer.updateSettings({ batchSize: 33 })).toThrow(/batch size 33 is larger than the dataset \(32 images\)/);
    expect(() => trainer.updateSettings({ tau: 1.5 })).toThrow(/τ must be between 0 and 1/);
    expect(() => trainer.updateSettings({ learningRate: -1 })).toThrow(/learning rate/);
    expect(trainer.settings.batchSize).toBe(8);
    trainer.step();
    const [record] = await trainer.flush();
    expect(record.epoch).toBeCloseTo(8 / 32, 12);
    expect(record.tau).toBe(trainer.settings.tau);
    trainer.dispose();
  });
});

describe('per-step metrics', () => {
  it('stream view geometry and the online probe with every step, in range; without labels, no probe', async () => {
    const data = tinyData(32);
    const withMetrics = new Trainer(tinyConfig('byol'), data);
    for (let i = 0; i < 4; i++) withMetrics.step();
    const records = await withMetrics.flush();
    for (const r of records) {
      expect(r.views!.alignment).toBeGreaterThanOrEqual(0);
      expect(r.views!.alignment).toBeLessThanOrEqual(4);
      expect(r.views!.uniformity).toBeLessThanOrEqual(1e-6);
      expect(Math.abs(r.views!.positiveCosine)).toBeLessThanOrEqual(1 + 1e-6);
      // Alignment is 2 − 2·(mean positive cosine) for unit vectors.
      expect(r.views!.alignment).toBeCloseTo(2 - 2 * r.views!.positiveCosine, 4);
      expect(r.probe!.loss).toBeGreaterThan(0);
      expect(r.probe!.accuracy).toBeGreaterThanOrEqual(0);
      expect(r.probe!.accuracy).toBeLessThanOrEqual(1);
      // Accuracy of a batch of 8 is a multiple of 1/8.
      expect(r.probe!.accuracy * 8).toBeCloseTo(Math.round(r.probe!.accuracy * 8), 5);
    }
    withMetrics.dispose();

    const unlabelled = new Trainer(tinyConfig('byol'), { ...data, classNames: [], train: { ...data.train, labels: null }, test: null });
    unlabelled.step();
    const [plain] = await unlabelled.flush();
    expect(plain.views).not.toBeNull();
    expect(plain.probe).toBeNull();
    expect(unlabelled.probe).toBeNull();
    // The loss itself does not depend on the probe: same seed, same first step.
    expect(plain.loss).toBeCloseTo(records[0].loss, 5);
    unlabelled.dispose();
  });
});
