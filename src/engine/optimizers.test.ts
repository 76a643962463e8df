import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import type { Param, ParamRole } from './nn';
import { createOptimizer } from './optimizers';
import { scaledLr, warmupCosineLr } from './schedules';

function param(values: number[], role: ParamRole = 'weight'): Param {
  return { name: 'p', role, variable: tf.variable(tf.tensor1d(values)) };
}

const valuesOf = (p: Param) => Array.from(p.variable.dataSync());

describe('SGD with momentum (PyTorch semantics)', () => {
  it('matches two steps worked out by hand', () => {
    const w = param([1]);
    const sgd = createOptimizer({ kind: 'sgd', momentum: 0.9, weightDecay: 0.1 }, [w]);
    sgd.step([w], [tf.tensor1d([0.5])], 0.1);
    // d = 0.5 + 0.1·1 = 0.6; buf = 0.6; w = 1 − 0.1·0.6
    expect(valuesOf(w)[0]).toBeCloseTo(0.94, 6);
    sgd.step([w], [tf.tensor1d([0.5])], 0.1);
    // d = 0.5 + 0.094 = 0.594; buf = 0.9·0.6 + 0.594 = 1.134; w = 0.94 − 0.1134
    expect(valuesOf(w)[0]).toBeCloseTo(0.8266, 6);
  });
});

describe('LARS (solo-learn)', () => {
  it('scales weight updates by the clipped trust ratio η‖w‖/(‖g‖ + wd‖w‖)', () => {
    const w = param([3, 4]);
    const lars = createOptimizer({ kind: 'lars', momentum: 0.9, weightDecay: 0.01, eta: 0.02, clipLr: true, excludeBiasAndNorm: true }, [w]);
    lars.step([w], [tf.tensor1d([0.6, 0.8])], 0.5);
    // trust = 0.02·5 / (1 + 0.05) = 0.0952; clipped: min(0.0952 / 0.5, 1) = 0.1905
    const scale = Math.min((0.02 * 5) / 1.05 / 0.5, 1);
    expect(valuesOf(w)[0]).toBeCloseTo(3 - 0.5 * (0.6 + 0.03) * scale, 6);
    expect(valuesOf(w)[1]).toBeCloseTo(4 - 0.5 * (0.8 + 0.04) * scale, 6);
  });

  it('leaves biases and norm parameters out of weight decay and the trust ratio', () => {
    const bias = param([3, 4], 'bias');
    const norm = param([1, 1], 'norm');
    const lars = createOptimizer({ kind: 'lars', momentum: 0.9, weightDecay: 0.5, eta: 0.02, clipLr: true, excludeBiasAndNorm: true }, [bias, norm]);
    lars.step([bias, norm], [tf.tensor1d([0.6, 0.8]), tf.tensor1d([1, -1])], 0.5);
    expect(valuesOf(bias)).toEqual([3 - 0.3, 4 - 0.4].map((v) => expect.closeTo(v, 6)));
    expect(valuesOf(norm)).toEqual([0.5, 1.5].map((v) => expect.closeTo(v, 6)));
  });

  it('uses a trust ratio of 1 when the weights are zero', () => {
    const w = param([0, 0]);
    const lars = createOptimizer({ kind: 'lars', momentum: 0, weightDecay: 0, eta: 0.02, clipLr: false, excludeBiasAndNorm: true }, [w]);
    lars.step([w], [tf.tensor1d([1, 2])], 0.1);
    expect(valuesOf(w)).toEqual([-0.1, -0.2].map((v) => expect.closeTo(v, 6)));
  });
});

describe('AdamW', () => {
  it('takes a first step of lr·sign(g) plus decoupled decay on weights only', () => {
    const w = param([1, -2]);
    const b = param([1, -2], 'bias');
    const adam = createOptimizer({ kind: 'adamw', beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.1 }, [w, b]);
    adam.step([w, b], [tf.tensor1d([0.3, -4]), tf.tensor1d([0.3, -4])], 0.01);
    expect(valuesOf(w)).toEqual([1 * (1 - 0.001) - 0.01, -2 * (1 - 0.001) + 0.01].map((v) => expect.closeTo(v, 5)));
    expect(valuesOf(b)).toEqual([1 - 0.01, -2 + 0.01].map((v) => expect.closeTo(v, 5)));
    expect(adam.state).toHaveLength(4);
  });
});

describe('learning-rate schedule', () => {
  it('warms up linearly, then follows a cosine to zero', () => {
    expect(warmupCosineLr(0, 100, 1, 10)).toBeCloseTo(0.1, 12);
    expect(warmupCosineLr(9, 100, 1, 10)).toBeCloseTo(1, 12);
    expect(warmupCosineLr(10, 100, 1, 10)).toBeCloseTo(1, 12);
    expect(warmupCosineLr(55, 100, 1, 10)).toBeCloseTo(0.5, 12);
    expect(warmupCosineLr(100, 100, 1, 10)).toBeCloseTo(0, 12);
    expect(scaledLr(0.3, 512)).toBeCloseTo(0.6, 12);
  });
});
