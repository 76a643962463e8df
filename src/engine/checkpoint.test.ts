import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { captureCheckpoint, restoreCheckpointState } from './checkpoint';
import { checkpointBytes, type Checkpoint } from './checkpoint-format';
import type { TrainConfig } from './config';
import { METHODS } from './methods/registry';
import type { MethodInstance } from './methods/types';
import { createOptimizer } from './optimizers';
import { Rng } from './random';
import { tinyConfig, tinyData } from './testing/tiny';
import { Trainer } from './trainer';

/** Smaller than the shared tiny setup (8 px, 16 images, batch 4) so that every test runs in about a second; SGD, whose buffers the byte count below adds up. */
function smallConfig(overrides: Partial<TrainConfig> = {}): TrainConfig {
  return tinyConfig('byol', { imageSize: 8, batchSize: 4, optimizer: { kind: 'sgd', momentum: 0.9, weightDecay: 1e-5 }, learningRate: 0.05, ...overrides });
}

const smallData = () => tinyData(16, 8);

async function train(trainer: Trainer, steps: number): Promise<number[]> {
  for (let i = 0; i < steps; i++) trainer.step();
  return (await trainer.flush()).map((r) => r.loss);
}

/** Losses of M steps after a checkpoint, continuing the original trainer and a restored fresh one. */
async function continueBothWays(config: TrainConfig, before: number, after: number, midRun?: (t: Trainer) => void) {
  const data = smallData();
  const original = new Trainer(config, data);
  await train(original, before);
  midRun?.(original);
  const checkpoint = await original.saveCheckpoint();
  const continued = await train(original, after);
  const originalStep = original.steps;
  original.dispose();

  const resumed = new Trainer(config, data);
  resumed.restoreCheckpoint(checkpoint);
  const replayed = await train(resumed, after);
  const resumedStep = resumed.steps;
  const resumedSettings = resumed.settings;
  resumed.dispose();
  return { checkpoint, continued, replayed, originalStep, resumedStep, resumedSettings };
}

describe('Rng state', () => {
  it('replays the same stream after setState(getState())', () => {
    const rng = new Rng(42);
    rng.next();
    const state = rng.getState();
    const first = [rng.next(), rng.normal(), rng.int(1000)];
    const other = new Rng(7);
    other.setState(state);
    expect([other.next(), other.normal(), other.int(1000)]).toEqual(first);
    expect(() => other.setState(-1)).toThrow(/Invalid random generator state/);
  });
});

describe('Trainer checkpoints', () => {
  it('resume gives bitwise the same losses as the uninterrupted run (BYOL, SGD, across an epoch boundary)', async () => {
    // 16 images at batch 4: 4 steps per epoch, so the checkpoint at step 5 is mid-epoch and the next
    // 6 steps cross into a new permutation.
    const { checkpoint, continued, replayed, originalStep, resumedStep } = await continueBothWays(smallConfig(), 5, 6);
    expect(checkpoint.step).toBe(5);
    expect(checkpoint.stream.epoch).toBe(1);
    expect(checkpoint.stream.cursor).toBe(4); // 5 × 4 = 20 images: one epoch of 16, then 4 into the next
    expect(replayed).toHaveLength(6);
    expect(replayed).toEqual(continued);
    expect(resumedStep).toBe(originalStep);
    // The network changed between the checkpoint and the end: the equality is not trivially of constants.
    expect(new Set(continued).size).toBeGreaterThan(1);
  });

  it('restores AdamW moments and its step counter (bias correction) exactly', async () => {
    const config = smallConfig({ optimizer: { kind: 'adamw', beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.05 }, learningRate: 1e-3 });
    const { checkpoint, continued, replayed } = await continueBothWays(config, 3, 4);
    expect(checkpoint.optimizer.iterations).toBe(3);
    expect(checkpoint.optimizer.state.length).toBeGreaterThan(0);
    expect(replayed).toEqual(continued);
  });

  it('keeps live settings changed before the checkpoint (batch size, learning rate)', async () => {
    const { continued, replayed, resumedSettings } = await continueBothWays(smallConfig(), 3, 3, (t) => t.updateSettings({ batchSize: 2, learningRate: 0.02 }));
    expect(resumedSettings.batchSize).toBe(2);
    expect(resumedSettings.learningRate).toBe(0.02);
    expect(replayed).toEqual(continued);
  });

  it('resume continues the online probe: the same probe loss and accuracy as the uninterrupted run', async () => {
    const probeRecords = async (trainer: Trainer, steps: number) => {
      for (let i = 0; i < steps; i++) trainer.step();
      return (await trainer.flush()).map((r) => r.probe);
    };
    const data = smallData();
    const original = new Trainer(smallConfig(), data);
    await probeRecords(original, 4);
    const checkpoint = await original.saveCheckpoint();
    const continued = await probeRecords(original, 4);
    original.dispose();
    expect(checkpoint.probe!.iterations).toBe(4);
    expect(checkpoint.probe!.state.map((t) => t.shape)).toEqual([[8, 6], [6], [8, 6], [6]]);

    const resumed = new Trainer(smallConfig(), data);
    resumed.restoreCheckpoint(checkpoint);
    expect(await probeRecords(resumed, 4)).toEqual(continued);
    resumed.dispose();

    // A checkpoint from before probes were saved: the network resumes, the probe starts afresh.
    const older = new Trainer(smallConfig(), data);
    older.restoreCheckpoint({ ...checkpoint, probe: undefined });
    const restarted = await probeRecords(older, 4);
    older.dispose();
    expect(restarted.every((r) => r !== null)).toBe(true);
    expect(restarted).not.toEqual(continued);
  });

  it('without a restore the fresh trainer would differ (the test can fail)', async () => {
    const data = smallData();
    const a = new Trainer(smallConfig(), data);
    await train(a, 3);
    const continued = await train(a, 3);
    a.dispose();
    const b = new Trainer(smallConfig(), data);
    const fresh = await train(b, 3);
    b.dispose();
    expect(fresh).not.toEqual(continued);
  });

  it('captures the state at the call even if training continues before the read completes', async () => {
    const trainer = new Trainer(smallConfig(), smallData());
    await train(trainer, 2);
    const pending = trainer.saveCheckpoint();
    trainer.step();
    const checkpoint = await pending;
    await trainer.flush();
    const first = trainer.method.modules[0].params[0];
    const saved = checkpoint.modules.find((t) => t.name === first.name);
    expect(saved).toBeDefined();
    expect(checkpoint.step).toBe(2);
    // The live weight moved after the snapshot; the checkpoint kept the old value.
    expect(Array.from(new Float32Array(saved!.data))).not.toEqual(Array.from(first.variable.dataSync()));
    trainer.dispose();
  });

  it('refuses a checkpoint of a different network without touching the run', async () => {
    const data = smallData();
    const small = new Trainer(smallConfig(), data);
    const checkpoint = await small.saveCheckpoint();
    small.dispose();
    const other = new Trainer(smallConfig({ backbone: { kind: 'convnet', widths: [4, 8, 8, 16] } }), data);
    const before = other.method.modules[0].params[0].variable.dataSync().slice();
    expect(() => other.restoreCheckpoint(checkpoint)).toThrow(/different settings \(backbone\)/);
    expect(Array.from(other.method.modules[0].params[0].variable.dataSync())).toEqual(Array.from(before));
    expect(other.steps).toBe(0);
    other.dispose();
  });

  it('is plain data: survives structuredClone and counts its bytes', async () => {
    const trainer = new Trainer(smallConfig(), smallData());
    await train(trainer, 1);
    const checkpoint = await trainer.saveCheckpoint();
    const expectedBytes =
      trainer.method.modules.reduce((n, m) => n + [...m.params, ...m.buffers].reduce((k, p) => k + p.variable.size * 4, 0), 0) +
      trainer.method.params.reduce((n, p) => n + p.variable.size * 4, 0) + // SGD momentum buffers
      2 * (8 * 6 + 6) * 4 + // the probe: 8 features × 6 classes + bias, and its momentum buffers
      16 * 4; // the permutation
    expect(checkpointBytes(checkpoint)).toBe(expectedBytes);
    const copy = structuredClone(checkpoint) as Checkpoint;
    const again = new Trainer(smallConfig(), smallData());
    again.restoreCheckpoint(copy);
    expect(again.steps).toBe(1);
    trainer.dispose();
    again.dispose();
  });
});

/** Every variable a run's method owns: module parameters and buffers, then its state. */
function methodValues(trainer: Trainer): number[][] {
  const { modules, state } = trainer.method;
  return [...modules.flatMap((m) => [...m.params, ...m.buffers].map((p) => p.variable)), ...(state ?? [])].map((v) => Array.from(v.dataSync()));
}

describe.each(METHODS.map((m) => m.id))('resume of %s', (id) => {
  it('trains k steps, checkpoints and continues to n: a fresh trainer restored from the checkpoint gives the same losses and weights', async () => {
    const base = tinyConfig(id, { imageSize: 8, batchSize: 4 });
    // Short queues, so that the checkpoint holds queues already refilled by training.
    const config = 'queueSize' in base.options ? { ...base, options: { ...base.options, queueSize: 6 } } : base;
    const data = smallData();
    const original = new Trainer(config, data);
    await train(original, 3);
    const checkpoint = await original.saveCheckpoint();
    // 16 images at batch 4: the next 3 steps cross into a new epoch.
    const continued = await train(original, 3);
    const continuedValues = methodValues(original);
    original.dispose();

    const resumed = new Trainer(config, data);
    resumed.restoreCheckpoint(checkpoint);
    const replayed = await train(resumed, 3);
    expect(replayed).toEqual(continued);
    expect(methodValues(resumed)).toEqual(continuedValues);
    resumed.dispose();
    expect(new Set(continued).size).toBeGreaterThan(1);
  });
});

describe('method state in checkpoints', () => {
  it('saves and restores MethodInstance.state (queues, memory banks) in order', async () => {
    const config = smallConfig();
    const weight = { name: 'w', role: 'weight' as const, variable: tf.variable(tf.tensor1d([1, 2]), true) };
    const makeMethod = (queue: number[], pointer: number): MethodInstance => ({
      encoder: undefined as never,
      params: [weight],
      modules: [{ params: [weight], buffers: [], apply: (x) => x }],
      state: [tf.variable(tf.tensor2d(queue, [2, 2]), false), tf.variable(tf.scalar(pointer, 'int32'), false)],
      computeLoss: () => {
        throw new Error('not used');
      },
    });
    const source = makeMethod([1, 2, 3, 4], 3);
    const optimizer = createOptimizer(config.optimizer, source.params);
    const stream = { step: 7, epoch: 0, cursor: 0, order: new Int32Array([1, 0]), rng: { data: 1, augment: 2, method: 3 } };
    const checkpoint = await captureCheckpoint(config, source, optimizer, null, stream);
    expect(checkpoint.methodState.map((t) => [t.name, t.dtype, t.shape])).toEqual([
      ['state/0', 'float32', [2, 2]],
      ['state/1', 'int32', []],
    ]);
    const target = makeMethod([0, 0, 0, 0], 0);
    const restored = restoreCheckpointState(checkpoint, config, target, optimizer, null);
    expect(Array.from(target.state![0].dataSync())).toEqual([1, 2, 3, 4]);
    expect(target.state![1].dataSync()[0]).toBe(3);
    expect(restored.step).toBe(7);
    expect(Array.from(restored.order)).toEqual([1, 0]);
    expect(() => restoreCheckpointState(checkpoint, config, { ...target, state: [target.state![0]] }, optimizer, null)).toThrow(/2 method state tensors but this run has 1/);
  });
});
