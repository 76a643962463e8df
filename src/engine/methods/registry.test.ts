import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { createMlp } from '../heads';
import { byolLoss } from '../losses';
import { variableFrom } from '../nn';
import { tinyConfig, tinyData } from '../testing/tiny';
import { Trainer } from '../trainer';
import { methodCatalog } from './catalog';
import { readOptions, type MethodOptionSpecs } from './options';
import { METHODS, getMethod, registerMethod } from './registry';
import { byol } from './byol';
import { classroomAugmentations, createMomentumCopy, createProjectedEncoder, methodPresets, soloAugmentations } from './shared';
import type { MethodDefinition } from './types';

const values = (t: tf.Tensor) => Array.from(t.dataSync());

/**
 * A method defined here, not in the app: BYOL's loss with two EMA targets (the encoder's and the
 * predictor's), a step counter as state, an option, and no dispose of its own.
 */
const TWIN_OPTIONS = {
  weight: { label: 'Loss weight', hint: 'Multiplies the loss.', kind: 'number', default: 2, min: 0, max: 10 },
} satisfies MethodOptionSpecs;

const twinTargets: MethodDefinition = {
  id: 'twin-targets',
  label: 'Twin targets (test)',
  family: 'asymmetric',
  explanation: 'A test method with two EMA targets.',
  uses: { tau: true, temperature: false, labels: false },
  options: TWIN_OPTIONS,
  defaults: methodPresets('twin-targets', TWIN_OPTIONS, {
    reference: () => ({
      projector: { hidden: [64], out: 16 },
      predictor: { hidden: [64], out: 16 },
      optimizer: { kind: 'sgd', momentum: 0.9, weightDecay: 0 },
      learningRate: 0.1,
      augmentations: soloAugmentations('asymmetric'),
    }),
    classroom: () => ({
      projector: { hidden: [16], out: 8 },
      predictor: { hidden: [16], out: 8 },
      augmentations: classroomAugmentations(soloAugmentations('asymmetric')),
    }),
  }),
  create({ config, rng }) {
    const { weight } = readOptions(TWIN_OPTIONS, config);
    const online = createProjectedEncoder(config, rng, 'online');
    const predictor = createMlp(config.predictor!, config.projector.out, rng, 'predictor');
    const target = createMomentumCopy(online, config, rng, 'target');
    const targetPredictor = createMlp(config.predictor!, config.projector.out, rng, 'target-predictor');
    const steps = variableFrom(tf.scalar(0), false);
    return {
      encoder: online.backbone,
      params: [...online.module.params, ...predictor.params],
      modules: [online.module, predictor, target.module, targetPredictor],
      emaPairs: [
        { online: online.module, target: target.module },
        { online: predictor, target: targetPredictor },
      ],
      state: [steps],
      computeLoss({ views }) {
        const { features, embedding: z1 } = online.encode(views[0], true);
        const p1 = predictor.apply(z1, true);
        const t2 = targetPredictor.apply(target.project(views[1], true), true);
        return { loss: tf.mul(weight, byolLoss(p1, t2)) as tf.Scalar, terms: {}, embedding: z1, features, carry: [] };
      },
      afterStep() {
        steps.assign(tf.add(steps, 1));
      },
    };
  },
};

describe('registerMethod', () => {
  it('adds a method defined outside the app, which then trains through Trainer: every declared EMA pair moves, state updates, all is freed', async () => {
    registerMethod(twinTargets);
    expect(METHODS[METHODS.length - 1]).toBe(twinTargets);
    expect(getMethod('twin-targets')).toBe(twinTargets);
    expect(methodCatalog().find((m) => m.id === 'twin-targets')?.options).toEqual(TWIN_OPTIONS);

    const tensorsBefore = tf.memory().numTensors;
    const config = tinyConfig('twin-targets', { tau: 0.8, tauSchedule: false });
    expect(config.options).toEqual({ weight: 2 });
    const trainer = new Trainer(config, tinyData());
    const pairs = trainer.method.emaPairs!;
    const before = pairs.map(({ target }) => target.params.map((p) => values(p.variable)));
    trainer.step();
    const [record] = await trainer.flush();
    expect(Number.isFinite(record.loss)).toBe(true);
    // The second pair (the predictor's) is the one a trainer that moved only the first would miss.
    pairs.forEach(({ online, target }, k) => {
      let moved = 0;
      target.params.forEach((p, i) => {
        const onlineAfter = values(online.params[i].variable);
        values(p.variable).forEach((v, j) => {
          expect(v).toBeCloseTo(0.8 * before[k][i][j] + 0.2 * onlineAfter[j], 5);
          moved = Math.max(moved, Math.abs(v - before[k][i][j]));
        });
      });
      expect(moved, `pair ${k}`).toBeGreaterThan(1e-4);
    });
    expect(values(trainer.method.state![0])).toEqual([1]);
    trainer.dispose();
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it('refuses a second method with an id already taken', () => {
    expect(() => registerMethod({ ...byol, label: 'Another BYOL' })).toThrow('Cannot register "Another BYOL": the method id "byol" is already taken by BYOL.');
  });

  it('refuses a method whose presets set options its specs do not allow', () => {
    const broken: MethodDefinition = {
      ...twinTargets,
      id: 'broken',
      label: 'Broken',
      defaults: (preset) => ({ ...twinTargets.defaults(preset), options: { weight: 20, extra: 1 } }),
    };
    expect(() => registerMethod(broken)).toThrow(
      'Cannot register "Broken": reference preset: Loss weight (weight) is 20 but must be a number, at least 0, at most 10; reference preset: there is no option "extra" (its options: weight); classroom preset: Loss weight (weight) is 20',
    );
    expect(METHODS.some((m) => m.id === 'broken')).toBe(false);
  });
});
