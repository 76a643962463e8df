/**
 * Optimizers over explicit parameter lists, with PyTorch semantics so reference learning rates
 * carry over: SGD with momentum, LARS as in solo-learn (biases and norm parameters excluded from
 * weight decay and from the trust ratio), and AdamW (decoupled weight decay).
 */
import * as tf from '@tensorflow/tfjs';
import { ADAMW_UPDATE, MOMENTUM_UPDATE, assignFromKernel, backendHas, type AdamWUpdateAttrs, type MomentumUpdateAttrs } from './fused-updates';
import { variableFrom, type Param } from './nn';

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
  const zerosLike = () => params.map((p) => variableFrom(tf.zerosLike(p.variable), false));
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
      if (backendHas(MOMENTUM_UPDATE)) {
        const excluded = params.map((p) => config.kind === 'lars' && config.excludeBiasAndNorm && p.role !== 'weight');
        const attrs: MomentumUpdateAttrs = {
          lr,
          momentum: config.momentum,
          weightDecay: config.weightDecay,
          decayed: excluded.map((e) => !e),
          trusted: excluded.map((e) => config.kind === 'lars' && !e),
          eta: config.kind === 'lars' ? config.eta : 0,
          clipLr: config.kind === 'lars' && config.clipLr,
        };
        fusedUpdate(MOMENTUM_UPDATE, params, grads, [buffers], attrs);
        return;
      }
      tf.tidy(() => {
        // One tensor per constant per step, shared by every parameter: no per-tensor scalar uploads.
        const constants = { lr: tf.scalar(lr), momentum: tf.scalar(config.momentum), decay: tf.scalar(config.weightDecay), one: tf.scalar(1) };
        params.forEach((p, i) => {
          const w = p.variable;
          const excluded = config.kind === 'lars' && config.excludeBiasAndNorm && p.role !== 'weight';
          let update: tf.Tensor = excluded ? grads[i] : tf.add(grads[i], tf.mul(w, constants.decay));
          if (config.kind === 'lars' && !excluded) update = tf.mul(update, larsScale(w, grads[i], config, constants));
          const buffer = tf.add(tf.mul(buffers[i], constants.momentum), update);
          buffers[i].assign(buffer);
          w.assign(tf.sub(w, tf.mul(buffer, constants.lr)));
        });
      });
    },
    dispose: () => buffers.forEach((b) => b.dispose()),
  };
}

/** η‖w‖ / (‖g‖ + wd‖w‖), 1 where either norm is zero, optionally clipped so lr·scale ≤ lr. */
function larsScale(w: tf.Tensor, g: tf.Tensor, config: Extract<OptimizerConfig, { kind: 'lars' }>, constants: { lr: tf.Scalar; decay: tf.Scalar; one: tf.Scalar }): tf.Tensor {
  const wNorm = tf.norm(w);
  const gNorm = tf.norm(g);
  let trust = tf.div(tf.mul(wNorm, config.eta), tf.add(tf.add(gNorm, tf.mul(wNorm, constants.decay)), 1e-8));
  if (config.clipLr) trust = tf.minimum(tf.div(trust, constants.lr), constants.one);
  const bothPositive = tf.logicalAnd(tf.greater(wNorm, 0), tf.greater(gNorm, 0));
  return tf.where(bothPositive, trust, constants.one);
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
      if (backendHas(ADAMW_UPDATE)) {
        const attrs: AdamWUpdateAttrs = {
          beta1: config.beta1,
          beta2: config.beta2,
          epsilon: config.epsilon,
          lr,
          correction1,
          correction2,
          decayFactor: 1 - lr * config.weightDecay,
          decayed: params.map((p) => p.role === 'weight'),
        };
        fusedUpdate(ADAMW_UPDATE, params, grads, [first, second], attrs);
        return;
      }
      tf.tidy(() => {
        // One tensor per constant per step, shared by every parameter: no per-tensor scalar uploads.
        const [beta1, oneMinusBeta1, beta2, oneMinusBeta2, c1, c2, epsilon, rate, decayFactor] = [
          config.beta1, 1 - config.beta1, config.beta2, 1 - config.beta2, correction1, correction2, config.epsilon, lr, 1 - lr * config.weightDecay,
        ].map((v) => tf.scalar(v));
        params.forEach((p, i) => {
          const w = p.variable;
          const m = tf.add(tf.mul(first[i], beta1), tf.mul(grads[i], oneMinusBeta1));
          const v = tf.add(tf.mul(second[i], beta2), tf.mul(tf.square(grads[i]), oneMinusBeta2));
          first[i].assign(m);
          second[i].assign(v);
          const stepDir = tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), epsilon));
          const decayed = p.role === 'weight' ? tf.mul(w, decayFactor) : w;
          w.assign(tf.sub(decayed, tf.mul(stepDir, rate)));
        });
      });
    },
    dispose: () => [...first, ...second].forEach((b) => b.dispose()),
  };
}

/**
 * One step of every parameter in one kernel of the backend's (see fused-updates.ts): the new weights
 * and state come back in new buffers, which the variables take over.
 */
function fusedUpdate(kernel: string, params: Param[], grads: tf.Tensor[], state: tf.Variable[][], attrs: AdamWUpdateAttrs | MomentumUpdateAttrs): void {
  if (grads.length !== params.length) throw new Error(`Optimizer step: ${grads.length} gradients for ${params.length} parameters`);
  if (params.length === 0) return;
  const weights = params.map((p) => p.variable);
  assignFromKernel(kernel, [...weights, ...grads, ...state.flat()], attrs, [weights, ...state].flat());
}
