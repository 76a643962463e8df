/**
 * Optimizers over explicit parameter lists, with PyTorch semantics so reference learning rates
 * carry over: SGD with momentum, LARS as in solo-learn (biases and norm parameters excluded from
 * weight decay and from the trust ratio), and AdamW (decoupled weight decay).
 */
import * as tf from '@tensorflow/tfjs';
import type { Param } from './nn';

export type OptimizerConfig =
  | { kind: 'sgd'; momentum: number; weightDecay: number }
  | { kind: 'lars'; momentum: number; weightDecay: number; eta: number; clipLr: boolean; excludeBiasAndNorm: boolean }
  | { kind: 'adamw'; beta1: number; beta2: number; epsilon: number; weightDecay: number };

export interface Optimizer {
  readonly config: OptimizerConfig;
  /** Applies one update with learning rate `lr`; `grads[i]` belongs to `params[i]`. */
  step(params: Param[], grads: tf.Tensor[], lr: number): void;
  /** State variables (momentum buffers, moments), for checkpoints and disposal. */
  readonly state: tf.Variable[];
  /**
   * Updates applied so far: the rest of the state (AdamW's bias correction 1 − β^t needs it). A plain
   * number rather than a device variable so the correction is computed in double precision, as
   * PyTorch does; checkpoints save and restore it alongside `state`.
   */
  iterations: number;
  dispose(): void;
}

export function createOptimizer(config: OptimizerConfig, params: Param[]): Optimizer {
  const zerosLike = () => params.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p.variable), false)));
  if (config.kind === 'adamw') return adamW(config, zerosLike(), zerosLike());
  return momentumSgd(config, zerosLike());
}

function momentumSgd(config: Extract<OptimizerConfig, { kind: 'sgd' | 'lars' }>, buffers: tf.Variable[]): Optimizer {
  return {
    config,
    state: buffers,
    iterations: 0,
    step(params, grads, lr) {
      this.iterations += 1;
      tf.tidy(() => {
        params.forEach((p, i) => {
          const w = p.variable;
          const excluded = config.kind === 'lars' && config.excludeBiasAndNorm && p.role !== 'weight';
          let update: tf.Tensor = excluded ? grads[i] : tf.add(grads[i], tf.mul(w, config.weightDecay));
          if (config.kind === 'lars' && !excluded) update = tf.mul(update, larsScale(w, grads[i], lr, config));
          const buffer = tf.add(tf.mul(buffers[i], config.momentum), update);
          buffers[i].assign(buffer);
          w.assign(tf.sub(w, tf.mul(buffer, lr)));
        });
      });
    },
    dispose: () => buffers.forEach((b) => b.dispose()),
  };
}

/** η‖w‖ / (‖g‖ + wd‖w‖), 1 where either norm is zero, optionally clipped so lr·scale ≤ lr. */
function larsScale(w: tf.Tensor, g: tf.Tensor, lr: number, config: Extract<OptimizerConfig, { kind: 'lars' }>): tf.Tensor {
  const wNorm = tf.norm(w);
  const gNorm = tf.norm(g);
  let trust = tf.div(tf.mul(wNorm, config.eta), tf.add(tf.add(gNorm, tf.mul(wNorm, config.weightDecay)), 1e-8));
  if (config.clipLr) trust = tf.minimum(tf.div(trust, lr), 1);
  const bothPositive = tf.logicalAnd(tf.greater(wNorm, 0), tf.greater(gNorm, 0));
  return tf.where(bothPositive, trust, tf.onesLike(trust));
}

function adamW(config: Extract<OptimizerConfig, { kind: 'adamw' }>, first: tf.Variable[], second: tf.Variable[]): Optimizer {
  return {
    config,
    state: [...first, ...second],
    iterations: 0,
    step(params, grads, lr) {
      const t = (this.iterations += 1);
      const correction1 = 1 - config.beta1 ** t;
      const correction2 = 1 - config.beta2 ** t;
      tf.tidy(() => {
        params.forEach((p, i) => {
          const w = p.variable;
          const m = tf.add(tf.mul(first[i], config.beta1), tf.mul(grads[i], 1 - config.beta1));
          const v = tf.add(tf.mul(second[i], config.beta2), tf.mul(tf.square(grads[i]), 1 - config.beta2));
          first[i].assign(m);
          second[i].assign(v);
          const stepDir = tf.div(tf.div(m, correction1), tf.add(tf.sqrt(tf.div(v, correction2)), config.epsilon));
          const decayed = p.role === 'weight' ? tf.mul(w, 1 - lr * config.weightDecay) : w;
          w.assign(tf.sub(decayed, tf.mul(stepDir, lr)));
        });
      });
    },
    dispose: () => [...first, ...second].forEach((b) => b.dispose()),
  };
}
