import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import type { TrainConfig } from '../config';
import type { DatasetSplits } from '../dataset';
import { Rng } from '../random';
import { tinyConfig, tinyData } from '../testing/tiny';
import { Trainer } from '../trainer';
import { METHODS, getMethod } from './registry';
import type { MethodInstance, StepInputs } from './types';

const BATCH = 8;

function inputsFor(seed: number, batch = BATCH, indices?: number[]): StepInputs {
  return {
    views: [
      tf.randomNormal([batch, 16, 16, 3], 0, 1, 'float32', seed) as tf.Tensor4D,
      tf.randomNormal([batch, 16, 16, 3], 0, 1, 'float32', seed + 1) as tf.Tensor4D,
    ],
    indices: tf.tensor1d(indices ?? Array.from({ length: batch }, (_, i) => i), 'int32'),
    labels: tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 3), 'int32'),
  };
}

function disposeInputs(inputs: StepInputs): void {
  [...inputs.views, inputs.indices, inputs.labels].forEach((t) => t?.dispose());
}

function create(config: TrainConfig, seed = 1, datasetSize = 32): MethodInstance {
  return getMethod(config.method).create({ config, rng: new Rng(seed), datasetSize, numClasses: 3 });
}

const values = (t: tf.Tensor) => Array.from(t.dataSync());

describe('every registered method', () => {
  it.each(METHODS.map((m) => m.id))('%s trains a few steps: finite, changing loss, terms that add up to it, no tensor growth', async (id) => {
    const trainer = new Trainer(tinyConfig(id), tinyData());
    trainer.step();
    const records = await trainer.flush();
    const baseline = tf.memory().numTensors;
    for (let i = 0; i < 6; i++) trainer.step();
    records.push(...(await trainer.flush()));
    expect(tf.memory().numTensors).toBe(baseline);
    expect(records).toHaveLength(7);
    for (const r of records) {
      expect(Number.isFinite(r.loss)).toBe(true);
      expect(Number.isFinite(r.featureStd)).toBe(true);
      const terms = Object.values(r.terms);
      if (terms.length > 0) expect(Math.abs(terms.reduce((a, b) => a + b, 0) - r.loss)).toBeLessThan(1e-4 * Math.max(1, Math.abs(r.loss)));
    }
    expect(new Set(records.map((r) => r.loss)).size).toBeGreaterThan(1);
    trainer.dispose();
    expect(tf.memory().numTensors).toBe(0);
  });

  it.each(METHODS.map((m) => m.id))('%s has both presets, a classroom paragraph and live settings that match what it uses', (id) => {
    const method = getMethod(id);
    for (const preset of ['reference', 'classroom'] as const) {
      const config = method.defaults(preset);
      expect(config.method).toBe(id);
      expect(config.preset).toBe(preset);
    }
    expect(method.defaults('classroom').totalSteps).toBe(300);
    expect(method.explanation.length).toBeGreaterThan(250);

    // τ is live exactly when the method has an EMA target.
    const config = tinyConfig(id);
    const instance = create(config);
    expect(method.uses.tau).toBe(instance.emaPairs !== undefined);
    instance.dispose();

    // Temperature is live exactly when the loss depends on it: same weights, same inputs, two temperatures.
    const inputs = inputsFor(3);
    const losses = [0.1, 0.5].map((temperature) => {
      const fresh = create(config);
      const loss = tf.tidy(() => fresh.computeLoss(inputs, { step: 0, tau: 0.99, temperature }).loss.dataSync()[0]);
      fresh.dispose();
      return loss;
    });
    if (method.uses.temperature) expect(Math.abs(losses[0] - losses[1])).toBeGreaterThan(1e-3);
    else expect(losses[0]).toBeCloseTo(losses[1], 5);
    disposeInputs(inputs);
  });

  // RotNet's features are of rotated images, NPID sees one view: neither has a second view to compare.
  const withProbe = METHODS.map((m) => m.id).filter((id) => id !== 'rotation');
  it.each(withProbe)('%s hands the probe its backbone features of view 1 and, with two views, the projection of view 2', (id) => {
    const instance = create(tinyConfig(id));
    const inputs = inputsFor(5);
    tf.tidy(() => {
      const out = instance.computeLoss(inputs, { step: 0, tau: 0.99, temperature: 0.2 });
      expect(out.features).toBeDefined();
      expect(values(out.features!)).toEqual(values(instance.encoder.apply(inputs.views[0], true)));
      if (id === 'npid') {
        expect(out.secondEmbedding).toBeUndefined();
      } else {
        // The online backbone + projector is the first module every one of these methods lists.
        const projected = instance.modules[0].apply(inputs.views[1], true);
        expect(out.secondEmbedding!.shape).toEqual(out.embedding.shape);
        values(out.secondEmbedding!).forEach((v, i) => expect(v).toBeCloseTo(values(projected)[i], 5));
      }
    });
    disposeInputs(inputs);
    instance.dispose();
  });

  it('classroom presets share one run shape and optimizer and crop no smaller than 30% (RotNet keeps its 50%)', () => {
    for (const { id } of METHODS) {
      const config = getMethod(id).defaults('classroom');
      expect([config.imageSize, config.batchSize, config.totalSteps, config.optimizer.kind, config.learningRate]).toEqual([16, 32, 300, 'adamw', 2e-3]);
      const lowest = config.augmentations.map((view) => view.crop?.scale[0]);
      expect(lowest).toEqual(id === 'rotation' ? [0.5, 0.5] : [0.3, 0.3]);
    }
  });

  it('refuses a supervised method on unlabelled data with a message that says what to do', () => {
    const labelled = tinyData();
    const unlabelled: DatasetSplits = { ...labelled, train: { ...labelled.train, labels: null }, test: null };
    expect(() => new Trainer(tinyConfig('supcon'), unlabelled)).toThrow(/SupCon.*needs a class label for every image.*labelled dataset.*self-supervised method/);
  });
});

describe('EMA targets and stop-gradients', () => {
  const emaMethods = METHODS.filter((m) => m.uses.tau).map((m) => m.id);

  it.each(emaMethods)('%s: the target starts as a copy in separate variables and gets no gradient', (id) => {
    const instance = create(tinyConfig(id));
    const pairs = instance.emaPairs ?? [];
    expect(pairs.length).toBeGreaterThan(0);
    for (const { online, target } of pairs) {
      expect(target.params).toHaveLength(online.params.length);
      online.params.forEach((p, i) => {
        expect(target.params[i].variable).not.toBe(p.variable);
        expect(values(target.params[i].variable)).toEqual(values(p.variable));
      });
      expect(instance.params.some((p) => target.params.some((t) => t.variable === p.variable))).toBe(false);
    }
    const inputs = inputsFor(5);
    const guarded = pairs.flatMap(({ target }) => target.params.map((p) => p.variable));
    // Queues and correlation matrices are never trainable, so no optimizer can touch them.
    for (const v of instance.state ?? []) expect(v.trainable).toBe(false);
    tf.tidy(() => {
      const { grads } = tf.variableGrads(
        () => instance.computeLoss(inputs, { step: 0, tau: 0.99, temperature: 0.2 }).loss,
        [...instance.params.map((p) => p.variable), ...guarded],
      );
      for (const v of guarded) {
        const g = grads[v.name];
        if (g) expect(tf.max(tf.abs(g)).dataSync()[0]).toBe(0);
      }
      // The online side does learn.
      expect(instance.params.some((p) => grads[p.variable.name] && tf.max(tf.abs(grads[p.variable.name])).dataSync()[0] > 0)).toBe(true);
    });
    disposeInputs(inputs);
    instance.dispose();
  });

  it.each(emaMethods)('%s: afterStep moves the target to τ·target + (1 − τ)·online', (id) => {
    const instance = create(tinyConfig(id));
    const { online, target } = instance.emaPairs![0];
    // Make online and target differ, as they do after an optimizer step.
    online.params.forEach((p) => p.variable.assign(tf.tidy(() => tf.add(p.variable, 0.5))));
    const before = target.params.map((p) => values(p.variable));
    const onlineValues = online.params.map((p) => values(p.variable));
    const inputs = inputsFor(9);
    const schedule = { step: 0, tau: 0.9, temperature: 0.2 };
    tf.tidy(() => {
      const output = instance.computeLoss(inputs, schedule);
      instance.afterStep?.(inputs, schedule, output.carry);
    });
    target.params.forEach((p, i) => {
      const after = values(p.variable);
      [0, Math.floor(after.length / 2), after.length - 1].forEach((j) => expect(after[j]).toBeCloseTo(0.9 * before[i][j] + 0.1 * onlineValues[i][j], 5));
    });
    disposeInputs(inputs);
    instance.dispose();
  });
});
