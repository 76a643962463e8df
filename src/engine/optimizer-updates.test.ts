import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { emaFused, emaPerTensor, emaUpdate } from './ema';
import type { Param, ParamRole } from './nn';
import { createOptimizer, type OptimizerConfig } from './optimizers';

const param = (name: string, values: number[], role: ParamRole = 'weight'): Param => ({ name, role, variable: tf.variable(tf.tensor1d(values)) });
const values = (p: Param) => Array.from(p.variable.dataSync());

function stepTwice(config: OptimizerConfig, params: Param[], grads: number[][], lr: number): void {
  const optimizer = createOptimizer(config, params);
  for (let i = 0; i < 2; i++) optimizer.step(params, grads.map((g) => tf.tensor1d(g)), lr);
  optimizer.dispose();
}

describe('optimizer updates (worked out by hand)', () => {
  it('SGD with momentum and weight decay', () => {
    const w = param('w', [1, -2]);
    // Step 1: u = g + 0.1w = (0.6, 0.3), buffer = u, w = (0.94, −2.03).
    // Step 2: u = (0.594, 0.297), buffer = 0.9·(0.6, 0.3) + u = (1.134, 0.567), w = (0.8266, −2.0867).
    stepTwice({ kind: 'sgd', momentum: 0.9, weightDecay: 0.1 }, [w], [[0.5, 0.5]], 0.1);
    values(w).forEach((v, i) => expect(v).toBeCloseTo([0.8266, -2.0867][i], 5));
  });

  it('LARS scales weights by the trust ratio, leaves excluded biases plain, and clips', () => {
    const config: OptimizerConfig = { kind: 'lars', momentum: 0, weightDecay: 0, eta: 0.02, clipLr: false, excludeBiasAndNorm: true };
    const w = param('w', [3, 4]);
    const b = param('b', [3, 4], 'bias');
    // ‖w‖ = 5, ‖g‖ = 1: trust 0.02·5/1 = 0.1 for the weight; the bias takes the raw gradient.
    const optimizer = createOptimizer(config, [w, b]);
    optimizer.step([w, b], [tf.tensor1d([0.6, 0.8]), tf.tensor1d([0.6, 0.8])], 1);
    values(w).forEach((v, i) => expect(v).toBeCloseTo([2.94, 3.92][i], 5));
    values(b).forEach((v, i) => expect(v).toBeCloseTo([2.4, 3.2][i], 5));
    // Clipped: trust/lr = 0.1/0.05 = 2 → 1, so the weight takes the raw gradient at lr 0.05.
    const clipped = param('c', [3, 4]);
    createOptimizer({ ...config, clipLr: true }, [clipped]).step([clipped], [tf.tensor1d([0.6, 0.8])], 0.05);
    values(clipped).forEach((v, i) => expect(v).toBeCloseTo([3 - 0.03, 4 - 0.04][i], 5));
  });

  it('AdamW with bias correction and decoupled weight decay on weights only', () => {
    const config: OptimizerConfig = { kind: 'adamw', beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.1 };
    const w = param('w', [1]);
    const b = param('b', [1], 'bias');
    // t = 1: m̂ = 0.5, v̂ = 0.25, step direction ≈ 1; weight: 1·(1 − 0.1·0.1) − 0.1 = 0.89; bias: 1 − 0.1.
    createOptimizer(config, [w, b]).step([w, b], [tf.tensor1d([0.5]), tf.tensor1d([0.5])], 0.1);
    expect(values(w)[0]).toBeCloseTo(0.89, 5);
    expect(values(b)[0]).toBeCloseTo(0.9, 5);
  });
});

describe('EMA update, fused (GPU) and per tensor (CPU)', () => {
  for (const [name, update] of [['fused', emaFused], ['per tensor', emaPerTensor], ['backend default', emaUpdate]] as const) {
    it(`${name}: moves tensors of different shapes to τ·target + (1 − τ)·online, keeps shapes, and τ = 1 keeps the target exactly`, () => {
      const online = [param('a', [1, 2, 3, 4]), { name: 'k', role: 'weight' as const, variable: tf.variable(tf.tensor2d([[10, 20], [30, 40]])) }];
      const target = [param('a', [0, 0, 0, 0]), { name: 'k', role: 'weight' as const, variable: tf.variable(tf.tensor2d([[0, 0], [0, 8]])) }];
      update(target, online, 0.75);
      expect(values(target[0])).toEqual([0.25, 0.5, 0.75, 1]);
      expect(target[1].variable.shape).toEqual([2, 2]);
      expect(values(target[1])).toEqual([2.5, 5, 7.5, 16]);
      const before = target.map(values);
      update(target, online, 1);
      expect(target.map(values)).toEqual(before);
    });
  }

  it('refuses parameter lists that do not match', () => {
    expect(() => emaUpdate([param('x', [1, 2])], [param('y', [1, 2, 3])], 0.9)).toThrow('emaUpdate: x has 2 values, y 3');
    expect(() => emaUpdate([param('x', [1])], [], 0.9)).toThrow(/differ in length/);
  });
});
