/**
 * The switches the collapse and negatives experiments turn: each does what its option says, checked
 * on the method's own loss with values known by construction.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import type { TrainConfig } from '../config';
import { Rng } from '../random';
import { tinyConfig } from '../testing/tiny';
import { disposeInstance } from './instance';
import { getMethod } from './registry';
import type { MethodInstance, StepInputs } from './types';

const BATCH = 8;

function create(config: TrainConfig, datasetSize = 32): MethodInstance {
  return getMethod(config.method).create({ config, rng: new Rng(1), datasetSize, numClasses: 3 });
}

/** Two views that are the same images: an online network and an identical target then agree exactly. */
function sameViews(): StepInputs {
  const images = tf.randomNormal([BATCH, 16, 16, 3], 0, 1, 'float32', 11) as tf.Tensor4D;
  return { views: [images, images.clone()], indices: tf.tensor1d(Array.from({ length: BATCH }, (_, i) => i), 'int32'), labels: null };
}

function twoViews(): StepInputs {
  return {
    views: [tf.randomNormal([BATCH, 16, 16, 3], 0, 1, 'float32', 3) as tf.Tensor4D, tf.randomNormal([BATCH, 16, 16, 3], 0, 1, 'float32', 4) as tf.Tensor4D],
    indices: tf.tensor1d(Array.from({ length: BATCH }, (_, i) => i), 'int32'),
    labels: null,
  };
}

function dispose(inputs: StepInputs): void {
  [...inputs.views, inputs.indices].forEach((t) => t.dispose());
}

const lossOf = (instance: MethodInstance, inputs: StepInputs) => tf.tidy(() => instance.computeLoss(inputs, { step: 0, tau: 0.99, temperature: 0.1 }).loss.dataSync()[0]);

describe('BYOL predictor switch', () => {
  it('without the predictor the online projection is compared with the target directly: no predictor parameters, and loss 0 where online and target agree', () => {
    const inputs = sameViews();
    const without = create(tinyConfig('byol', { options: { predictor: 0 } }));
    const withPredictor = create(tinyConfig('byol'));
    // At the start the target is a copy of the online network: on identical views their projections are equal,
    // so 2 − 2·cos(z, t) is 0 in each direction; a random predictor in between makes it far from 0.
    expect(lossOf(without, inputs)).toBeCloseTo(0, 4);
    expect(lossOf(withPredictor, inputs)).toBeGreaterThan(0.1);
    expect(without.params.some((p) => p.name.includes('predictor'))).toBe(false);
    expect(withPredictor.params.filter((p) => p.name.includes('predictor')).length).toBeGreaterThan(0);
    expect(without.params.length).toBeLessThan(withPredictor.params.length);
    [without, withPredictor].forEach(disposeInstance);
    dispose(inputs);
  });
});

describe('SimSiam stop-gradient switch', () => {
  it('without it the encoder also gets gradient through the target branch; the predictor, on the online branch only, gets the same gradient, and the loss is unchanged', () => {
    const inputs = twoViews();
    const gradients = [1, 0].map((stopGradient) => {
      const instance = create(tinyConfig('simsiam', { options: { stopGradient } }));
      const result = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => instance.computeLoss(inputs, { step: 0, tau: 0.99, temperature: 0.1 }).loss, instance.params.map((p) => p.variable));
        const flat = (filter: (name: string) => boolean) => instance.params.filter((p) => filter(p.name)).flatMap((p) => Array.from(grads[p.variable.name].dataSync()));
        return { loss: value.dataSync()[0], predictor: flat((n) => n.includes('predictor')), encoder: flat((n) => !n.includes('predictor')) };
      });
      disposeInstance(instance);
      return result;
    });
    const [stopped, flowing] = gradients;
    expect(flowing.loss).toBeCloseTo(stopped.loss, 6);
    expect(flowing.predictor.length).toBeGreaterThan(0);
    flowing.predictor.forEach((g, i) => expect(g).toBeCloseTo(stopped.predictor[i], 6));
    const difference = Math.max(...flowing.encoder.map((g, i) => Math.abs(g - stopped.encoder[i])));
    expect(difference).toBeGreaterThan(1e-4);
    dispose(inputs);
  });
});

describe('NPID negatives per step', () => {
  it('scores each image against its own row and K drawn rows (loss log(K + 1) when every row is the same), or against the whole bank (log N)', () => {
    const datasetSize = 32;
    const inputs = twoViews();
    const cases: [number, number][] = [
      [5, Math.log(6)],
      [64, Math.log(65)],
      [0, Math.log(datasetSize)],
    ];
    for (const [negatives, expected] of cases) {
      const instance = create(tinyConfig('npid', { options: { negatives } }), datasetSize);
      const [bank] = instance.state!;
      // Every row the same unit vector: every logit is the same, so the softmax is uniform over the candidates.
      const [rows, dim] = bank.shape as [number, number];
      bank.assign(tf.tidy(() => tf.mul(tf.ones([rows, dim]), 1 / Math.sqrt(dim))));
      expect(lossOf(instance, inputs)).toBeCloseTo(expected, 4);
      disposeInstance(instance);
    }
    dispose(inputs);
  });
});
