/**
 * Gradient anatomy (UniGrad, Tao et al., CVPR 2022): the gradient of a Siamese loss with respect to
 * u₁, the L2-normalised online embedding of view 1 (before any predictor), split per image into a
 * positive term that pulls u₁ towards the other view's target u₂ and a negative term (the rest) that
 * pushes it away from the directions other embeddings occupy. UniGrad's claim: for every method the
 * gradient has the form −c·u₂ + λ·F·u₁, F a correlation matrix of target embeddings.
 *
 * Everything lives in the tangent space of the sphere at u₁: the normalisation's backward pass removes
 * the radial part of a gradient, and the split projects the positive term there too, so that
 * positive + negative = g exactly.
 */
import * as tf from '@tensorflow/tfjs';
import { l2Normalize, stopGradient } from './losses';

/** What a method states about view 1's positive, for one step. */
export interface GradientAnatomyTargets {
  /** The positive target of each image of view 1 (any scale; it is L2-normalised here). */
  readonly target: tf.Tensor2D;
  /**
   * Weight of the pull towards the target in the method's loss, per image of the batch: UniGrad's
   * table gives 1/τ for InfoNCE, 2 for BYOL's 2 − 2cos; a loss averaged over its two views halves it.
   * A number, a tensor of one weight per image where it depends on the embeddings (VICReg), or
   * 'fitted' where no weight is exact (Barlow Twins standardises each dimension over the batch, not each
   * embedding on the sphere): then it is the least-squares fit of g onto −u₂ over the batch.
   */
  readonly coefficient: number | tf.Tensor1D | 'fitted';
  /** The method's own correlation matrix F (UniGrad's running one); otherwise the batch's targets give F. */
  readonly correlation?: tf.Tensor2D;
  /** BYOL and SimSiam: no negative pairs, so any push arises through the predictor. */
  readonly implicitNegative: boolean;
}

/** One step's anatomy, as reported: means over the batch's images. */
export interface GradientAnatomy {
  /** Mean norm of the positive term. */
  positive: number;
  /** Mean norm of the negative term. */
  negative: number;
  /** negative / positive: the effective λ that balances the two forces. */
  ratio: number;
  /** Mean cosine between g and UniGrad's form −c·u₂ + λ·F·u₁, λ fitted to the batch by least squares. */
  unigradCosine: number;
  implicitNegative: boolean;
}

/** Number of values `anatomyScalars` stacks: positive, negative, ratio, UniGrad cosine. */
export const GRADIENT_ANATOMY_SCALARS = 4;

export type GradientSplit = {
  /** g per image: rows of N·‖z₁‖·(I − u₁u₁ᵀ)·∂L/∂z₁. */
  gradient: tf.Tensor2D;
  positive: tf.Tensor2D;
  negative: tf.Tensor2D;
  /** UniGrad's form −c·u₂ + λ·F·u₁ in the tangent space, λ fitted to the batch. */
  unigradForm: tf.Tensor2D;
};

/** Removes each row's component along the matching unit row of `u`: the tangent space of the sphere. */
function tangent(x: tf.Tensor2D, u: tf.Tensor2D): tf.Tensor2D {
  return tf.sub(x, tf.mul(tf.sum(tf.mul(x, u), 1, true), u)) as tf.Tensor2D;
}

/**
 * Splits ∂L/∂z₁ (z₁ the raw projector output, `lossGradient` its gradient) into UniGrad's two terms.
 * The gradient with respect to u₁ = z₁/‖z₁‖ is ‖z₁‖ times the tangent part of ∂L/∂z₁ (exactly so for a
 * loss of u₁ alone; for losses that standardise otherwise, Barlow Twins and VICReg, it is the change of
 * L as u₁ turns at fixed ‖z₁‖). It is multiplied by the batch size so that it is one image's gradient
 * of a loss averaged over the batch, whatever the batch size.
 */
export function splitGradient(embedding: tf.Tensor2D, lossGradient: tf.Tensor2D, targets: GradientAnatomyTargets): GradientSplit {
  return tf.tidy((): GradientSplit => {
    const n = embedding.shape[0];
    const u1 = stopGradient(l2Normalize(embedding));
    const norms = tf.norm(embedding, 'euclidean', 1, true);
    const gradient = tangent(tf.mul(tf.mul(lossGradient, norms), n) as tf.Tensor2D, u1);
    const u2 = stopGradient(l2Normalize(targets.target));
    const pull = tangent(tf.neg(u2) as tf.Tensor2D, u1);
    const positive = tf.mul(pullWeight(targets.coefficient, gradient, pull), pull) as tf.Tensor2D;
    const negative = tf.sub(gradient, positive) as tf.Tensor2D;
    const correlation = targets.correlation ?? tf.div(tf.matMul(u2, u2, true, false), n);
    // F is symmetric, so row i of u₁·F is (F·u₁ᵢ)ᵀ.
    const push = tangent(tf.matMul(u1, correlation) as tf.Tensor2D, u1);
    const lambda = tf.div(tf.sum(tf.mul(negative, push)), tf.maximum(tf.sum(tf.square(push)), 1e-12));
    const unigradForm = tf.add(positive, tf.mul(lambda, push)) as tf.Tensor2D;
    return { gradient, positive, negative, unigradForm };
  });
}

/** The positive term's weight: the method's, or the least-squares fit of `gradient` onto `pull`. */
function pullWeight(coefficient: GradientAnatomyTargets['coefficient'], gradient: tf.Tensor2D, pull: tf.Tensor2D): tf.Tensor {
  if (coefficient === 'fitted') return tf.div(tf.sum(tf.mul(gradient, pull)), tf.maximum(tf.sum(tf.square(pull)), 1e-12));
  if (typeof coefficient === 'number') return tf.scalar(coefficient);
  return tf.reshape(coefficient, [-1, 1]);
}

/** Mean over rows of cos(a_i, b_i); a zero row counts as cosine 0. */
function meanRowCosine(a: tf.Tensor2D, b: tf.Tensor2D): tf.Scalar {
  const norms = tf.mul(tf.norm(a, 'euclidean', 1), tf.norm(b, 'euclidean', 1));
  return tf.mean(tf.div(tf.sum(tf.mul(a, b), 1), tf.maximum(norms, 1e-12)));
}

/** [mean ‖positive‖, mean ‖negative‖, their ratio, mean cos(g, UniGrad's form)] on the device. */
export function anatomyScalars(embedding: tf.Tensor2D, lossGradient: tf.Tensor2D, targets: GradientAnatomyTargets): tf.Tensor1D {
  return tf.tidy(() => {
    const split = splitGradient(embedding, lossGradient, targets);
    const positive = tf.mean(tf.norm(split.positive, 'euclidean', 1));
    const negative = tf.mean(tf.norm(split.negative, 'euclidean', 1));
    const ratio = tf.div(negative, tf.maximum(positive, 1e-12));
    return tf.stack([positive, negative, ratio, meanRowCosine(split.gradient, split.unigradForm)]) as tf.Tensor1D;
  });
}

/** The tensors of `targets` (to keep past the gradient tape and dispose after). */
export function anatomyTensors(targets: GradientAnatomyTargets): tf.Tensor[] {
  const optional: (tf.Tensor | undefined)[] = [targets.correlation, typeof targets.coefficient === 'object' ? targets.coefficient : undefined];
  return [targets.target, ...optional.filter((t): t is tf.Tensor => t !== undefined)];
}
