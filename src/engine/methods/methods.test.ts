import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import type { TrainConfig } from '../config';
import type { DatasetSplits } from '../dataset';
import { supConLoss } from '../losses';
import { Rng } from '../random';
import { tinyConfig, tinyData } from '../testing/tiny';
import { Trainer } from '../trainer';
import { disposeInstance } from './instance';
import { TARGET_BRANCH, usesTau } from './options';
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

/** Every method as its presets build it, and the four with a target-branch switch with each other branch. */
const VARIANTS: { name: string; config: () => TrainConfig }[] = [
  ...METHODS.map((m) => ({ name: m.id, config: () => tinyConfig(m.id) })),
  ...['simclr', 'barlow', 'vicreg', 'simsiam'].flatMap((id) =>
    (getMethod(id).options.targetBranch.choices ?? [])
      .filter((c) => c.value !== TARGET_BRANCH.own)
      .map((c) => ({ name: `${id} (${c.label})`, config: () => tinyConfig(id, { options: { ...getMethod(id).defaults('classroom').options, targetBranch: c.value } }) })),
  ),
];
const variant = (name: string) => VARIANTS.find((v) => v.name === name)!.config();

describe('every registered method', () => {
  it.each(VARIANTS.map((v) => v.name))('%s trains a few steps: finite, changing loss, terms that add up to it, no tensor growth', async (name) => {
    const trainer = new Trainer(variant(name), tinyData());
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

    // τ is live exactly when the method has an EMA target, with each of its target branches.
    for (const { config } of VARIANTS.filter((v) => v.name === id || v.name.startsWith(`${id} (`))) {
      const instance = create(config());
      expect(usesTau(method, config().options)).toBe(instance.emaPairs !== undefined);
      disposeInstance(instance);
    }
    const config = tinyConfig(id);

    // Temperature is live exactly when the loss depends on it: same weights, same inputs, two temperatures.
    const inputs = inputsFor(3);
    const losses = [0.1, 0.5].map((temperature) => {
      const fresh = create(config);
      const loss = tf.tidy(() => fresh.computeLoss(inputs, { step: 0, tau: 0.99, temperature }).loss.dataSync()[0]);
      disposeInstance(fresh);
      return loss;
    });
    if (method.uses.temperature) expect(Math.abs(losses[0] - losses[1])).toBeGreaterThan(1e-3);
    else expect(losses[0]).toBeCloseTo(losses[1], 5);
    disposeInputs(inputs);
  });

  // RotNet's features are of rotated images, context prediction's and the jigsaw's of patches, inpainting's of images
  // with a hole: none has whole-image
  // features to probe. NPID sees one view, so it has no second view to compare.
  const wholeImageless = ['rotation', 'context', 'jigsaw', 'inpainting'];
  const withProbe = METHODS.map((m) => m.id).filter((id) => !wholeImageless.includes(id));
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
    disposeInstance(instance);
  });

  it('classroom presets share one run shape and optimizer and crop no smaller than 30% (RotNet, the patch tasks and inpainting keep 50%, Exemplar learns at 5e-4)', () => {
    for (const { id } of METHODS) {
      const config = getMethod(id).defaults('classroom');
      expect([config.imageSize, config.batchSize, config.totalSteps, config.optimizer.kind, config.learningRate], id).toEqual([32, 32, 300, 'adamw', id === 'exemplar' ? 5e-4 : 2e-3]);
      const lowest = config.augmentations.map((view) => view.crop?.scale[0]);
      expect(lowest, id).toEqual(['rotation', 'context', 'jigsaw', 'inpainting'].includes(id) ? [0.5, 0.5] : [0.3, 0.3]);
    }
  });

  it('presets take every declared option at its default, except the overrides their files state', () => {
    const overrides: Record<string, Record<string, number>> = { 'mocov2/classroom': { queueSize: 4096 }, 'unigrad/classroom': { lambda: 5 } };
    for (const method of METHODS) {
      for (const preset of ['reference', 'classroom'] as const) {
        const declared = Object.fromEntries(Object.entries(method.options).map(([name, spec]) => [name, spec.default]));
        expect(method.defaults(preset).options, `${method.id}/${preset}`).toEqual({ ...declared, ...overrides[`${method.id}/${preset}`] });
      }
    }
  });

  it('reference presets blur as solo-learn\'s CIFAR recipes do (0.5 in symmetric and symmetric_weak, none in asymmetric); classroom presets never blur', () => {
    const blur = { probability: 0.5, sigma: [0.1, 2] };
    const symmetricRecipes = ['simclr', 'supcon', 'mocov2', 'simsiam', 'unigrad', 'exemplar'];
    for (const { id } of METHODS) {
      const reference = getMethod(id).defaults('reference').augmentations.map((view) => view.blur);
      expect(reference, id).toEqual(symmetricRecipes.includes(id) ? [blur, blur] : [null, null]);
      expect(getMethod(id).defaults('classroom').augmentations.map((view) => view.blur), id).toEqual([null, null]);
    }
  });

  it('refuses options a method does not declare, and values out of their range, naming each', () => {
    const config = tinyConfig('mocov2', { options: { queueSize: 0, symmetric: 1, lambda: 3 } });
    expect(() => new Trainer(config, tinyData())).toThrow(
      'Invalid MoCo v2 settings: Queue size (queueSize) is 0 but must be a whole number, at least 1; there is no option "lambda" (its options: queueSize, symmetric).',
    );
    expect(() => new Trainer(tinyConfig('byol', { options: { symmetric: 1 } }), tinyData())).toThrow('Invalid BYOL settings: there is no option "symmetric" (its options: predictor).');
    expect(() => new Trainer(tinyConfig('simsiam', { options: { stopGradient: 0.5 } }), tinyData())).toThrow('Stop-gradient (stopGradient) is 0.5 but must be 0 (off) or 1 (on)');
  });

  it('reads a missing option as its declared default', () => {
    const config = { ...tinyConfig('unigrad'), options: {} };
    const inputs = inputsFor(4);
    const losses = [config, { ...config, options: { lambda: 100, rho: 0.99 } }].map((c) => {
      const instance = create(c);
      const loss = tf.tidy(() => instance.computeLoss(inputs, { step: 0, tau: 0.99, temperature: 0.2 }).loss.dataSync()[0]);
      disposeInstance(instance);
      return loss;
    });
    expect(losses[0]).toBe(losses[1]);
    disposeInputs(inputs);
  });

  it('SupCon: options.form chooses L_out (0) or L_in (1); pull + push add up to either, push being the same log-sum-exp in both', () => {
    const inputs = inputsFor(6);
    const pushes: number[] = [];
    for (const form of [0, 1]) {
      const instance = create(tinyConfig('supcon', { options: { form } }));
      tf.tidy(() => {
        const out = instance.computeLoss(inputs, { step: 0, tau: 0.99, temperature: 0.2 });
        const z2 = instance.modules[0].apply(inputs.views[1], true);
        const expected = supConLoss(out.embedding, z2, inputs.labels!, 0.2, form === 0 ? 'out' : 'in');
        expect(out.loss.dataSync()[0]).toBeCloseTo(expected.dataSync()[0], 5);
        expect(out.terms.pull.dataSync()[0] + out.terms.push.dataSync()[0]).toBeCloseTo(out.loss.dataSync()[0], 5);
        pushes.push(out.terms.push.dataSync()[0]);
      });
      disposeInstance(instance);
    }
    expect(pushes[1]).toBeCloseTo(pushes[0], 5);
    disposeInputs(inputs);
  });

  it('refuses a supervised method on unlabelled data with a message that says what to do', () => {
    const labelled = tinyData();
    const unlabelled: DatasetSplits = { ...labelled, train: { ...labelled.train, labels: null }, test: null };
    expect(() => new Trainer(tinyConfig('supcon'), unlabelled)).toThrow(/SupCon.*needs a class label for every image.*labelled dataset.*self-supervised method/);
  });
});

describe('EMA targets and stop-gradients', () => {
  const emaMethods = VARIANTS.filter((v) => usesTau(getMethod(v.config().method), v.config().options)).map((v) => v.name);

  it.each(emaMethods)('%s: the target starts as a copy in separate variables and gets no gradient', (name) => {
    const instance = create(variant(name));
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
    disposeInstance(instance);
  });

  it.each(emaMethods)('%s: after each step the trainer moves every declared target to τ·target + (1 − τ)·online', async (name) => {
    const trainer = new Trainer({ ...variant(name), tau: 0.9, tauSchedule: false, learningRate: 0.05 }, tinyData());
    const pairs = trainer.method.emaPairs!;
    for (let step = 0; step < 2; step++) {
      const before = pairs.map(({ target }) => target.params.map((p) => values(p.variable)));
      trainer.step();
      await trainer.flush();
      let moved = 0;
      pairs.forEach(({ online, target }, k) =>
        target.params.forEach((p, i) => {
          const after = values(p.variable);
          const onlineAfter = values(online.params[i].variable);
          after.forEach((v, j) => {
            expect(v).toBeCloseTo(0.9 * before[k][i][j] + 0.1 * onlineAfter[j], 5);
            moved = Math.max(moved, Math.abs(v - before[k][i][j]));
          });
        }),
      );
      // The optimizer moved the online side, so a skipped EMA would leave a visible gap.
      expect(moved).toBeGreaterThan(1e-4);
    }
    trainer.dispose();
  });
});
