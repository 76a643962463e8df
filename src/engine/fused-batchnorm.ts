/**
 * Fused training-mode BatchNorm: two kernels a backend may register (wasm-kernels.ts does, for
 * wasm). nn.ts uses them where the current backend has both, and its composite of tfjs ops
 * elsewhere. Over x [..., C], normalising over every axis but the last, with the batch statistics:
 *
 * BATCH_NORM_FORWARD: inputs { x, scale?, offset? } (both or neither), attrs { epsilon } →
 *   [y, mean, variance, invStd]: y = (x − mean) · invStd · scale + offset (without them, (x − mean) · invStd),
 *   the biased variance, invStd = 1 / √(variance + epsilon).
 * BATCH_NORM_BACKWARD: inputs { dy, x, mean, invStd, scale? } → [dx, dScale, dOffset]: with
 *   x̂ = (x − mean) · invStd and g = dy · scale, dx = (g − mean(g) − x̂ · mean(g · x̂)) · invStd,
 *   dScale = Σ dy · x̂, dOffset = Σ dy. It takes x rather than x̂ because the tape keeps x alive
 *   anyway (the convolution's output): one full-size tensor fewer per layer.
 */
export const BATCH_NORM_FORWARD = 'SiameseBatchNormForward';
export const BATCH_NORM_BACKWARD = 'SiameseBatchNormBackward';
