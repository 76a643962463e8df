/**
 * Fused training-mode BatchNorm: two kernels a backend may register (wasm-kernels.ts does, for
 * wasm). nn.ts uses them where the current backend has both, and its composite of tfjs ops
 * elsewhere. Over x [..., C], normalising over every axis but the last, with the batch statistics:
 *
 * BATCH_NORM_FORWARD: inputs { x, scale?, offset? } (both or neither), attrs { epsilon } →
 *   [y, xHat, mean, variance, invStd]: y = xHat · scale + offset (y = xHat without them),
 *   xHat = (x − mean) · invStd, the biased variance, invStd = 1 / √(variance + epsilon).
 * BATCH_NORM_BACKWARD: inputs { dy, xHat, invStd, scale? } → [dx, dScale, dOffset]: with g = dy · scale,
 *   dx = (g − mean(g) − xHat · mean(g · xHat)) · invStd, dScale = Σ dy · xHat, dOffset = Σ dy.
 */
export const BATCH_NORM_FORWARD = 'SiameseBatchNormForward';
export const BATCH_NORM_BACKWARD = 'SiameseBatchNormBackward';
