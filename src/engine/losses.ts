/**
 * Self-supervised losses, written to match the reference (PyTorch) implementations numerically.
 * Every function takes tensors, returns a scalar tensor and keeps no intermediates (tf.tidy).
 * Embeddings are [N, d] with one row per image; "two views" means row i of z1 and row i of z2
 * come from the same image.
 */
import * as tf from '@tensorflow/tfjs';

/** Stands in for -inf in masked logits: exp() of it is exactly 0, and it never makes inf - inf = NaN. */
const MASKED_LOGIT = -1e9;

// tfjs has no stop_gradient op: an identity whose gradient is zeros. Built once; it holds no tensors.
const stopGradientOp = tf.customGrad((x, _save) => ({
  value: tf.clone(x as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
}));

/** Identity in the forward pass, zero gradient in the backward pass (torch's `.detach()`). */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  return stopGradientOp(x) as T;
}

/**
 * Row-wise L2 normalisation, like torch's F.normalize: x / max(‖x‖, 1e-12).
 * The clamp is applied to the squared norm (1e-24) so that a zero row gets a zero gradient, not NaN.
 */
export function l2Normalize<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => {
    const squaredNorm = tf.sum(tf.square(x), -1, true);
    const norm = tf.sqrt(tf.maximum(squaredNorm, 1e-24));
    return tf.div(x, norm) as T;
  });
}

/** Cosine similarity of matching rows, [N]. */
function rowCosine(a: tf.Tensor, b: tf.Tensor): tf.Tensor1D {
  return tf.sum(tf.mul(l2Normalize(a), l2Normalize(b)), -1) as tf.Tensor1D;
}

/** Softmax cross-entropy with integer targets, averaged over rows. */
export function crossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
  const targetMask = tf.oneHot(tf.cast(targets, 'int32'), logits.shape[1]).cast('float32');
  return tf.neg(tf.mean(tf.sum(tf.mul(targetMask, tf.logSoftmax(logits)), 1))) as tf.Scalar;
}

/** [[0, I], [I, 0]] for 2N rows: marks each view's partner (the other view of the same image). */
function partnerMask(n: number): tf.Tensor2D {
  const eye = tf.eye(n);
  const zeros = tf.zeros([n, n]);
  return tf.concat([tf.concat([zeros, eye], 1), tf.concat([eye, zeros], 1)], 0) as tf.Tensor2D;
}

/**
 * Shared core of NT-Xent and SupCon. features: [M, d] unit rows; positiveMask: [M, M] 0/1 with a
 * zero diagonal. For each anchor: log-softmax over every other row (self excluded), then over its
 * positives either the mean of the log-probabilities ("out": the log outside the sum) or the log of
 * their mean probability ("in": the log inside); then averaged over anchors. With one positive per
 * anchor the two are the same.
 */
function contrastWithPositives(features: tf.Tensor2D, positiveMask: tf.Tensor2D, temperature: number, form: SupConForm = 'out'): tf.Scalar {
  const m = features.shape[0];
  const selfMask = tf.cast(tf.eye(m), 'bool');
  const similarity = tf.div(tf.matMul(features, features, false, true), temperature);
  const logits = tf.where(selfMask, tf.fill([m, m], MASKED_LOGIT), similarity);
  const logProb = tf.logSoftmax(logits);
  const positiveCount = tf.sum(positiveMask, 1);
  const perAnchor =
    form === 'out'
      ? tf.div(tf.sum(tf.mul(positiveMask, logProb), 1), positiveCount)
      : tf.sub(tf.logSumExp(tf.where(tf.cast(positiveMask, 'bool'), logProb, tf.fill([m, m], MASKED_LOGIT)), 1), tf.log(positiveCount));
  return tf.neg(tf.mean(perAnchor)) as tf.Scalar;
}

/** SimCLR NT-Xent over the 2N views: each view's positive is the other view of its image. */
export function ntXentLoss(z1: tf.Tensor, z2: tf.Tensor, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const n = z1.shape[0];
    const features = tf.concat([l2Normalize(z1), l2Normalize(z2)], 0) as tf.Tensor2D;
    return contrastWithPositives(features, partnerMask(n), temperature);
  });
}

/**
 * Where SupCon takes the log (Khosla et al., 2020, eqs. 2 and 3): "out", L_out = −mean over positives
 * of log p(positive), the form the paper found better; "in", L_in = −log mean over positives of
 * p(positive). By Jensen's inequality L_in ≤ L_out.
 */
export type SupConForm = 'out' | 'in';

/**
 * Supervised contrastive loss (Khosla et al., 2020), two views, contrast mode "all",
 * base temperature = temperature. labels: int32 [N]. Every anchor has at least one positive (its
 * other view), so the per-anchor mean never divides by zero.
 */
export function supConLoss(z1: tf.Tensor, z2: tf.Tensor, labels: tf.Tensor, temperature: number, form: SupConForm = 'out'): tf.Scalar {
  return tf.tidy(() => {
    const features = tf.concat([l2Normalize(z1), l2Normalize(z2)], 0) as tf.Tensor2D;
    const m = features.shape[0];
    const viewLabels = tf.concat([labels, labels], 0).cast('int32');
    const sameLabel = tf.equal(viewLabels.reshape([m, 1]), viewLabels.reshape([1, m])).cast('float32');
    const positiveMask = tf.sub(sameLabel, tf.eye(m)) as tf.Tensor2D;
    return contrastWithPositives(features, positiveMask, temperature, form);
  });
}

/**
 * MoCo InfoNCE. q, k: [N, d] (normalised here); queue: [K, d] rows already unit length.
 * logits = [q·k, q·queueᵀ] / T, positive first, label 0. Neither k nor the queue gets a gradient.
 */
export function infoNCELoss(q: tf.Tensor, k: tf.Tensor, queue: tf.Tensor, temperature: number): tf.Scalar {
  return tf.tidy(() => tf.mean(infoNCEPerImage(q, k, queue, temperature)) as tf.Scalar);
}

/** `infoNCELoss` of each row on its own, [N]: −log softmax of the positive (active learning's highest-loss pick). */
export function infoNCEPerImage(q: tf.Tensor, k: tf.Tensor, queue: tf.Tensor, temperature: number): tf.Tensor1D {
  return tf.tidy(() => {
    const qn = l2Normalize(q) as tf.Tensor2D;
    const kn = stopGradient(l2Normalize(k));
    const positive = tf.sum(tf.mul(qn, kn), -1, true);
    const negatives = tf.matMul(qn, stopGradient(queue) as tf.Tensor2D, false, true);
    const logits = tf.div(tf.concat([positive, negatives], 1), temperature) as tf.Tensor2D;
    return tf.neg(tf.reshape(tf.slice(tf.logSoftmax(logits), [0, 0], [-1, 1]), [-1])) as tf.Tensor1D;
  });
}

/** BYOL: mean over rows of 2 − 2·cos(p, z). z is the target and gets no gradient. */
export function byolLoss(p: tf.Tensor, z: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.sub(2, tf.mul(2, rowCosine(p, stopGradient(z))))) as tf.Scalar);
}

export interface SimSiamOptions {
  /** SimSiam's key ingredient; turning it off (for an ablation) makes training collapse. Default true. */
  stopGradient?: boolean;
}

/** SimSiam: −mean cos(p, z), with a stop-gradient on z unless disabled. */
export function simSiamLoss(p: tf.Tensor, z: tf.Tensor, options: SimSiamOptions = {}): tf.Scalar {
  const target = options.stopGradient === false ? (t: tf.Tensor) => t : stopGradient;
  return tf.tidy(() => tf.neg(tf.mean(rowCosine(p, target(z)))) as tf.Scalar);
}

/** BatchNorm-style standardisation along the batch (biased variance, ε = 1e-5), no affine. */
function standardizeAlongBatch(z: tf.Tensor): tf.Tensor2D {
  const { mean, variance } = tf.moments(z, 0, true);
  return tf.div(tf.sub(z, mean), tf.sqrt(tf.add(variance, 1e-5))) as tf.Tensor2D;
}

export interface BarlowTwinsTerms {
  /** Σ_i (1 − c_ii)² */
  onDiagonal: tf.Scalar;
  /** λ Σ_{i≠j} c_ij² (already weighted) */
  offDiagonal: tf.Scalar;
}

/** The two parts of the Barlow Twins loss, Σ_i (1 − c_ii)² and λ Σ_{i≠j} c_ij², c = standardised z1ᵀz2 / N. */
export function barlowTwinsTerms(z1: tf.Tensor, z2: tf.Tensor, lambda: number): BarlowTwinsTerms {
  return tf.tidy(() => {
    const n = z1.shape[0];
    const d = z1.shape[1] as number;
    const crossCorrelation = tf.div(
      tf.matMul(standardizeAlongBatch(z1), standardizeAlongBatch(z2), true, false),
      n,
    );
    const eye = tf.eye(d);
    const diagonal = tf.sum(tf.mul(crossCorrelation, eye), 1);
    const onDiagonal = tf.sum(tf.square(tf.sub(1, diagonal))) as tf.Scalar;
    // Masking (rather than "sum of all − sum of diagonal") avoids cancelling two large sums.
    const offDiagonal = tf.mul(lambda, tf.sum(tf.mul(tf.square(crossCorrelation), tf.sub(1, eye)))) as tf.Scalar;
    return { onDiagonal, offDiagonal };
  });
}

export interface VicregTerms {
  /** MSE(z1, z2) over all elements. */
  invariance: tf.Scalar;
  /** mean(relu(1 − std)) / 2 for each branch, summed. */
  variance: tf.Scalar;
  /** Squared off-diagonal covariance / d for each branch, summed. */
  covariance: tf.Scalar;
}

/** Unbiased per-dimension variance over the batch and the centred rows. */
function centredWithVariance(z: tf.Tensor): { centred: tf.Tensor2D; variance: tf.Tensor1D } {
  const n = z.shape[0];
  const centred = tf.sub(z, tf.mean(z, 0, true)) as tf.Tensor2D;
  const variance = tf.div(tf.sum(tf.square(centred), 0), n - 1) as tf.Tensor1D;
  return { centred, variance };
}

function vicregVarianceTerm(variance: tf.Tensor1D): tf.Scalar {
  const std = tf.sqrt(tf.add(variance, 1e-4));
  return tf.div(tf.mean(tf.relu(tf.sub(1, std))), 2) as tf.Scalar;
}

function vicregCovarianceTerm(centred: tf.Tensor2D): tf.Scalar {
  const [n, d] = centred.shape;
  const covariance = tf.div(tf.matMul(centred, centred, true, false), n - 1);
  const offDiagonalSquared = tf.sum(tf.mul(tf.square(covariance), tf.sub(1, tf.eye(d))));
  return tf.div(offDiagonalSquared, d) as tf.Scalar;
}

/** The three unweighted VICReg terms (official facebookresearch/vicreg code); the method weights them. */
export function vicregTerms(z1: tf.Tensor, z2: tf.Tensor): VicregTerms {
  return tf.tidy(() => {
    const invariance = tf.mean(tf.squaredDifference(z1, z2)) as tf.Scalar;
    const a = centredWithVariance(z1);
    const b = centredWithVariance(z2);
    const variance = tf.add(vicregVarianceTerm(a.variance), vicregVarianceTerm(b.variance)) as tf.Scalar;
    const covariance = tf.add(vicregCovarianceTerm(a.centred), vicregCovarianceTerm(b.centred)) as tf.Scalar;
    return { invariance, variance, covariance };
  });
}

/**
 * UniGrad's running correlation matrix F [d, d] (symmetric), from momentum-encoder outputs.
 * batchCorr = (ẑ1mᵀẑ1m + ẑ2mᵀẑ2m) / 2N; first call (F = null) returns batchCorr, later calls
 * ρF + (1 − ρ)·batchCorr. The caller owns (and disposes) both the old and the new F.
 */
export function uniGradCorrelation(F: tf.Tensor | null, z1m: tf.Tensor, z2m: tf.Tensor, rho: number): tf.Tensor2D {
  return tf.tidy(() => {
    const a = l2Normalize(z1m) as tf.Tensor2D;
    const b = l2Normalize(z2m) as tf.Tensor2D;
    const n = a.shape[0];
    const batchCorrelation = tf.div(tf.add(tf.matMul(a, a, true, false), tf.matMul(b, b, true, false)), 2 * n);
    if (F === null) return batchCorrelation as tf.Tensor2D;
    return tf.add(tf.mul(rho, F), tf.mul(1 - rho, batchCorrelation)) as tf.Tensor2D;
  });
}

/**
 * UniGrad surrogate loss ½[(sg(g1)·ẑ1).sum(-1).mean() + (sg(g2)·ẑ2).sum(-1).mean()] with
 * g1 = −ẑ2m + λ ẑ1 F and g2 = −ẑ1m + λ ẑ2 F. Its gradient w.r.t. ẑ is exactly g: the value itself
 * is not meaningful, only its gradient. z1m, z2m and F get no gradient.
 */
export function uniGradLoss(
  z1: tf.Tensor,
  z2: tf.Tensor,
  z1m: tf.Tensor,
  z2m: tf.Tensor,
  F: tf.Tensor,
  lambda: number,
): tf.Scalar {
  return tf.tidy(() => {
    const a = l2Normalize(z1) as tf.Tensor2D;
    const b = l2Normalize(z2) as tf.Tensor2D;
    const correlation = F as tf.Tensor2D;
    const g1 = stopGradient(tf.add(tf.neg(l2Normalize(z2m)), tf.mul(lambda, tf.matMul(a, correlation))));
    const g2 = stopGradient(tf.add(tf.neg(l2Normalize(z1m)), tf.mul(lambda, tf.matMul(b, correlation))));
    const term1 = tf.mean(tf.sum(tf.mul(g1, a), -1));
    const term2 = tf.mean(tf.sum(tf.mul(g2, b), -1));
    return tf.mul(0.5, tf.add(term1, term2)) as tf.Scalar;
  });
}

/**
 * NPID / InstDisc non-parametric softmax: logits = ẑ·bankᵀ / T over the whole memory bank
 * [M, d] (unit rows), target class = each row's dataset index. Full softmax, not NCE.
 * The bank gets no gradient.
 */
export function npidLoss(features: tf.Tensor, bank: tf.Tensor, indices: tf.Tensor, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const logits = tf.div(
      tf.matMul(l2Normalize(features) as tf.Tensor2D, stopGradient(bank) as tf.Tensor2D, false, true),
      temperature,
    ) as tf.Tensor2D;
    return crossEntropy(logits, indices as tf.Tensor1D);
  });
}
