/**
 * Finite-difference gradient check for tests: compares tf.grad of a scalar function with central
 * differences (f(x + ε) − f(x − ε)) / 2ε at a few coordinates. Test-only: uses dataSync freely.
 * float32 rounding makes ε ≈ 1e-2…1e-3 and relative tolerances ≈ 1e-2 the sensible range.
 */
import * as tf from '@tensorflow/tfjs';

export interface GradCheckOptions {
  /** Finite-difference step. Default 1e-2. */
  eps?: number;
  /** Flat indices of x to check. Default: `numCoordinates` indices spread evenly over x. */
  indices?: number[];
  /** How many coordinates to check when `indices` is not given (all if x is smaller). Default 8. */
  numCoordinates?: number;
  /**
   * Relative errors are |analytic − numeric| / max(|analytic|, |numeric|, floor): this floor turns
   * the check into an absolute one for near-zero gradients. Default 1e-3.
   */
  floor?: number;
  /**
   * Function to difference numerically, when it is not f itself: for surrogate losses whose
   * gradient is, by design, not the derivative of their value (e.g. UniGrad, where the
   * stop-gradient part must be frozen at x for the numeric side). Default f.
   */
  numericF?: (x: tf.Tensor) => tf.Scalar;
}

export interface GradCheckCoordinate {
  index: number;
  analytic: number;
  numeric: number;
  relativeError: number;
}

export interface GradCheckResult {
  maxRelativeError: number;
  coordinates: GradCheckCoordinate[];
}

function evenlySpreadIndices(size: number, count: number): number[] {
  if (size <= count) return Array.from({ length: size }, (_, i) => i);
  // Midpoints of equal slices: different rows and, for most shapes, different columns.
  return Array.from({ length: count }, (_, i) => Math.floor(((i + 0.5) * size) / count));
}

function evaluateAt(f: (x: tf.Tensor) => tf.Scalar, values: Float32Array, x: tf.Tensor): number {
  return tf.tidy(() => f(tf.tensor(values, x.shape, 'float32')).dataSync()[0]);
}

/** Full comparison, coordinate by coordinate. */
export function gradCheckDetailed(
  f: (x: tf.Tensor) => tf.Scalar,
  x: tf.Tensor,
  options: GradCheckOptions = {},
): GradCheckResult {
  const eps = options.eps ?? 1e-2;
  const floor = options.floor ?? 1e-3;
  const numericF = options.numericF ?? f;
  const base = x.dataSync() as Float32Array;
  const analyticAll = tf.tidy(() => tf.grad(f)(x).dataSync());
  const indices = options.indices ?? evenlySpreadIndices(base.length, options.numCoordinates ?? 8);
  const coordinates = indices.map((index) => {
    const plus = Float32Array.from(base);
    const minus = Float32Array.from(base);
    plus[index] += eps;
    minus[index] -= eps;
    // Divide by the step float32 actually took, not the nominal eps.
    const step = plus[index] - minus[index];
    const numeric = (evaluateAt(numericF, plus, x) - evaluateAt(numericF, minus, x)) / step;
    const analytic = analyticAll[index];
    const relativeError = Math.abs(analytic - numeric) / Math.max(Math.abs(analytic), Math.abs(numeric), floor);
    return { index, analytic, numeric, relativeError };
  });
  return { maxRelativeError: Math.max(0, ...coordinates.map((c) => c.relativeError)), coordinates };
}

/** Largest relative error between tf.grad(f)(x) and central differences over the checked coordinates. */
export function gradCheck(f: (x: tf.Tensor) => tf.Scalar, x: tf.Tensor, options: GradCheckOptions = {}): number {
  return gradCheckDetailed(f, x, options).maxRelativeError;
}
