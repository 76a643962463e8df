/**
 * Fused updates: kernels a backend may register (wasm-kernels.ts does for wasm, webgpu-updates.ts for
 * WebGPU) so that a step's element-wise bookkeeping takes one kernel where the composite of tfjs ops takes a chain of small
 * ones per tensor; on a backend bound by its per-kernel overhead that chain is a large share of a
 * step. optimizers.ts, ema.ts and nn.ts use each where the current backend registers it
 * (`backendHas`) and their composites elsewhere. Each computes, operation by operation in float32,
 * what its composite computes, and writes its results into new buffers that the caller assigns to
 * its variables: an update in place could change a tensor that shares the variable's data (a clone,
 * an EMA target just copied from it) and values a backend has cached from it (XNNPACK's packed weights).
 *
 * ADAMW_UPDATE: inputs [...weights, ...grads, ...firstMoments, ...secondMoments] (n each, matching
 *   sizes), attrs AdamWUpdateAttrs → [...weights', ...firstMoments', ...secondMoments'].
 * MOMENTUM_UPDATE (SGD with momentum, LARS): inputs [...weights, ...grads, ...buffers], attrs
 *   MomentumUpdateAttrs → [...weights', ...buffers'].
 * EMA_UPDATE: inputs [...targets, ...onlines], attrs { rate } → targets' = target + (online − target) · rate.
 * RUNNING_STATISTICS_UPDATE (BatchNorm): inputs { runningMean, runningVariance, mean, variance }, attrs
 *   { keep, rate, varianceRate } → [runningMean · keep + mean · rate, runningVariance · keep + variance · varianceRate].
 * RELU_BACKWARD: inputs { dy, x } → dx = dy · step(x), the gradient of Relu.
 */
import * as tf from '@tensorflow/tfjs';

export const ADAMW_UPDATE = 'SiameseAdamWUpdate';
export const MOMENTUM_UPDATE = 'SiameseMomentumUpdate';
export const EMA_UPDATE = 'SiameseEmaUpdate';
export const RUNNING_STATISTICS_UPDATE = 'SiameseRunningStatisticsUpdate';
export const RELU_BACKWARD = 'SiameseReluBackward';

/** The scalars of optimizers.ts's AdamW step, each rounded to float32 as a tf.scalar would be. */
export interface AdamWUpdateAttrs {
  beta1: number;
  beta2: number;
  epsilon: number;
  lr: number;
  /** 1 − β1^t and 1 − β2^t, computed in double. */
  correction1: number;
  correction2: number;
  /** 1 − lr · weightDecay, applied to the tensors marked in `decayed`. */
  decayFactor: number;
  decayed: boolean[];
}

/**
 * u = g + w · weightDecay where `decayed`, g elsewhere; times LARS's trust ratio where `trusted`
 * (η‖w‖ / (‖g‖ + wd‖w‖ + 1e-8), 1 where either norm is 0, with clipLr min(ratio / lr, 1));
 * buffer' = buffer · momentum + u; w' = w − buffer' · lr.
 */
export interface MomentumUpdateAttrs {
  lr: number;
  momentum: number;
  weightDecay: number;
  decayed: boolean[];
  trusted: boolean[];
  eta: number;
  clipLr: boolean;
}

/** Whether the current backend registers the kernel `name`. */
export function backendHas(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/**
 * Runs one of these kernels and has `variables` take over its first outputs, in order: the kernels
 * write new buffers rather than update in place, so no other tensor sharing a variable's data changes.
 */
export function assignFromKernel(kernel: string, inputs: tf.Tensor[] | tf.NamedTensorMap, attrs: object, variables: tf.Variable[]): void {
  tf.tidy(() => {
    const outputs = tf.engine().runKernel(kernel, inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
    variables.forEach((variable, i) => variable.assign(outputs[i]));
  });
}
