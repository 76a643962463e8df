/**
 * Faster kernels for the tfjs CPU backend (Node tests, the headless runner, the browser's last
 * fallback). The stock CPU backend walks the convolution filter gradient element by element through
 * TensorBuffer.get (60–90% of a CPU training step), broadcasts binary ops through per-element index
 * arrays, and reduces over leading axes by transposing first. Each replacement handles the common
 * layout (NHWC, per-channel or per-image broadcasting, reductions over leading axes,
 * non-overlapping max-pooling) with plain loops over contiguous rows and hands every other case to
 * the stock kernel. They are registered when this module is imported; cpu-kernels.test.ts checks
 * each against the stock kernel.
 */
import * as tf from '@tensorflow/tfjs';

type KernelFunc = tf.KernelConfig['kernelFunc'];
type Inputs = Record<string, tf.TensorInfo>;

interface BackpropFilterAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

interface CpuBackend {
  data: { get(dataId: unknown): { values: Float32Array } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

function valuesOf(backend: unknown, t: tf.TensorInfo): Float32Array {
  return (backend as CpuBackend).data.get(t.dataId).values;
}

function output(backend: unknown, shape: number[], values: Float32Array): tf.TensorInfo {
  return (backend as CpuBackend).makeTensorInfo(shape, 'float32', values);
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export function conv2dBackpropFilterNhwc(x: Float32Array, dy: Float32Array, xShape: [number, number, number, number], attrs: BackpropFilterAttrs): Float32Array {
  const info = tf.backend_util.computeConv2DInfo(xShape, attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const sums = new Float64Array(filterHeight * filterWidth * inChannels * outChannels);
  for (let b = 0; b < batchSize; b++) {
    for (let yR = 0; yR < outHeight; yR++) {
      for (let yC = 0; yC < outWidth; yC++) {
        const dyOffset = ((b * outHeight + yR) * outWidth + yC) * outChannels;
        for (let wR = 0; wR < filterHeight; wR++) {
          const xR = yR * strideHeight - top + wR;
          if (xR < 0 || xR >= inHeight) continue;
          for (let wC = 0; wC < filterWidth; wC++) {
            const xC = yC * strideWidth - left + wC;
            if (xC < 0 || xC >= inWidth) continue;
            const xOffset = ((b * inHeight + xR) * inWidth + xC) * inChannels;
            const wOffset = (wR * filterWidth + wC) * inChannels * outChannels;
            for (let d1 = 0; d1 < inChannels; d1++) {
              const xValue = x[xOffset + d1];
              if (xValue === 0) continue;
              const row = wOffset + d1 * outChannels;
              for (let d2 = 0; d2 < outChannels; d2++) sums[row + d2] += xValue * dy[dyOffset + d2];
            }
          }
        }
      }
    }
  }
  return Float32Array.from(sums);
}

/** How operand `shape` indexes a broadcast result of `resultShape`, or null for layouts left to tfjs. */
function broadcastIndex(shape: readonly number[], resultShape: readonly number[]): ((i: number) => number) | null {
  const n = size(shape);
  const total = size(resultShape);
  if (n === total) return (i) => i;
  const trimmed = [...shape];
  while (trimmed.length > 0 && trimmed[0] === 1) trimmed.shift();
  if (trimmed.every((d, k) => d === resultShape[resultShape.length - trimmed.length + k])) return (i) => i % n; // trailing dims
  const padded = [...Array(resultShape.length - shape.length).fill(1), ...shape];
  let lead = padded.length;
  while (lead > 0 && padded[lead - 1] === 1) lead--;
  if (padded.slice(0, lead).every((d, k) => d === resultShape[k])) {
    const block = total / n;
    return (i) => Math.floor(i / block); // leading dims (one value per image)
  }
  return null;
}

function binary(stock: KernelFunc, op: (a: number, b: number) => number): KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as Inputs;
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return stock(args);
    const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const ia = broadcastIndex(a.shape, shape);
    const ib = broadcastIndex(b.shape, shape);
    if (!ia || !ib) return stock(args);
    const av = valuesOf(args.backend, a);
    const bv = valuesOf(args.backend, b);
    const out = new Float32Array(size(shape));
    for (let i = 0; i < out.length; i++) out[i] = op(av[ia(i)], bv[ib(i)]);
    return output(args.backend, shape, out);
  };
}

function reduceLeading(stock: KernelFunc, mean: boolean): KernelFunc {
  return (args) => {
    const { x } = args.inputs as Inputs;
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((p, q) => p - q);
    if (x.dtype !== 'float32' || !axes.every((d, k) => d === k)) return stock(args);
    const outer = size(x.shape.slice(0, axes.length));
    const inner = size(x.shape.slice(axes.length));
    const xs = valuesOf(args.backend, x);
    const out = new Float32Array(inner);
    for (let o = 0; o < outer; o++) {
      const row = o * inner;
      for (let j = 0; j < inner; j++) out[j] += xs[row + j];
    }
    if (mean) for (let j = 0; j < inner; j++) out[j] /= outer;
    const shape = keepDims ? x.shape.map((d, k) => (k < axes.length ? 1 : d)) : x.shape.slice(axes.length);
    return output(args.backend, shape, out);
  };
}

/** Non-overlapping max-pool gradient: dy goes to the first maximum of each window, as tfjs does. */
function maxPoolGrad(stock: KernelFunc): KernelFunc {
  return (args) => {
    const { dy, input } = args.inputs as Inputs;
    const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as {
      filterSize: [number, number] | number; strides: [number, number] | number; pad: 'valid' | 'same' | number; dimRoundingMode?: 'floor' | 'round' | 'ceil';
    };
    const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
    const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth } = info;
    const nonOverlapping = strideHeight === filterHeight && strideWidth === filterWidth && info.padInfo.top === 0 && info.padInfo.left === 0;
    if (input.dtype !== 'float32' || !nonOverlapping) return stock(args);
    const xs = valuesOf(args.backend, input);
    const dys = valuesOf(args.backend, dy);
    const dx = new Float32Array(size(input.shape));
    for (let b = 0; b < batchSize; b++) {
      for (let oy = 0; oy < outHeight; oy++) {
        for (let ox = 0; ox < outWidth; ox++) {
          for (let c = 0; c < inChannels; c++) {
            let best = -1;
            let bestValue = Number.NEGATIVE_INFINITY;
            for (let ky = 0; ky < filterHeight; ky++) {
              const iy = oy * strideHeight + ky;
              if (iy >= inHeight) continue;
              for (let kx = 0; kx < filterWidth; kx++) {
                const ix = ox * strideWidth + kx;
                if (ix >= inWidth) continue;
                const at = ((b * inHeight + iy) * inWidth + ix) * inChannels + c;
                if (xs[at] > bestValue) {
                  bestValue = xs[at];
                  best = at;
                }
              }
            }
            if (best >= 0) dx[best] += dys[((b * outHeight + oy) * outWidth + ox) * inChannels + c];
          }
        }
      }
    }
    return output(args.backend, input.shape, dx);
  };
}

function convFilterGrad(stock: KernelFunc): KernelFunc {
  return (args) => {
    const attrs = args.attrs as unknown as BackpropFilterAttrs;
    const { x, dy } = args.inputs as Inputs;
    if (attrs.dataFormat !== 'NHWC' || x.dtype !== 'float32' || dy.dtype !== 'float32') return stock(args);
    const values = conv2dBackpropFilterNhwc(valuesOf(args.backend, x), valuesOf(args.backend, dy), x.shape as [number, number, number, number], attrs);
    return output(args.backend, attrs.filterShape, values);
  };
}

const REPLACEMENTS: Record<string, (stock: KernelFunc) => KernelFunc> = {
  Conv2DBackpropFilter: convFilterGrad,
  Multiply: (stock) => binary(stock, (a, b) => a * b),
  Add: (stock) => binary(stock, (a, b) => a + b),
  Sub: (stock) => binary(stock, (a, b) => a - b),
  RealDiv: (stock) => binary(stock, (a, b) => a / b),
  Sum: (stock) => reduceLeading(stock, false),
  Mean: (stock) => reduceLeading(stock, true),
  MaxPoolGrad: maxPoolGrad,
};

/** The stock kernels replaced here, by name (the tests run them to compare). */
export const replacedCpuKernels = new Map<string, tf.KernelConfig>();

/** Registers the replacements once (the CPU backend's kernels are global, so once per process or worker). */
function install(): void {
  if (replacedCpuKernels.size > 0) return;
  for (const name of Object.keys(REPLACEMENTS)) {
    const stock = tf.getKernel(name, 'cpu');
    if (!stock) continue;
    replacedCpuKernels.set(name, stock);
    tf.unregisterKernel(name, 'cpu');
    tf.registerKernel({ ...stock, kernelFunc: REPLACEMENTS[name](stock.kernelFunc) });
  }
}

install();
