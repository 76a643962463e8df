/**
 * Faster versions of a few tfjs CPU kernels, for Node tests and measurement scripts only (the app
 * runs on WebGPU/WebGL). tfjs-backend-cpu computes the convolution filter gradient one weight at a
 * time through TensorBuffer.get, broadcasts binary ops through per-element index arrays, and reduces
 * over leading axes by transposing first; together they made a small ConvNet step ~10× slower than
 * its arithmetic. Each replacement handles the common layout (NHWC, per-channel broadcasting,
 * reductions over leading axes, non-overlapping max-pooling) with plain loops over contiguous rows,
 * hands every other case to the original kernel, and is checked against the original when installed.
 */
import * as tf from '@tensorflow/tfjs';

interface CpuBackend {
  data: { get(id: unknown): { values: Float32Array } };
  makeTensorInfo(shape: number[], dtype: string, values: Float32Array): tf.TensorInfo;
}

type Inputs = Record<string, tf.TensorInfo>;

function valuesOf(backend: unknown, t: tf.TensorInfo): Float32Array {
  return (backend as CpuBackend).data.get(t.dataId).values;
}

function output(backend: unknown, shape: number[], values: Float32Array): tf.TensorInfo {
  return (backend as CpuBackend).makeTensorInfo(shape, 'float32', values);
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function convFilterGrad(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x, dy } = args.inputs as Inputs;
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = args.attrs as unknown as {
      strides: [number, number] | number; pad: 'same' | 'valid' | number; dataFormat: string;
      dimRoundingMode?: 'floor' | 'round' | 'ceil'; filterShape: [number, number, number, number];
    };
    if (dataFormat === 'NCHW' || x.dtype !== 'float32') return original(args);
    const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode);
    const xs = valuesOf(args.backend, x);
    const dys = valuesOf(args.backend, dy);
    const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth, strideHeight, strideWidth } = info;
    const dw = new Float32Array(size(filterShape));
    for (let b = 0; b < batchSize; b++) {
      for (let oy = 0; oy < outHeight; oy++) {
        for (let ox = 0; ox < outWidth; ox++) {
          const dyRow = ((b * outHeight + oy) * outWidth + ox) * outChannels;
          for (let ky = 0; ky < filterHeight; ky++) {
            const iy = oy * strideHeight + ky - info.padInfo.top;
            if (iy < 0 || iy >= inHeight) continue;
            for (let kx = 0; kx < filterWidth; kx++) {
              const ix = ox * strideWidth + kx - info.padInfo.left;
              if (ix < 0 || ix >= inWidth) continue;
              const xRow = ((b * inHeight + iy) * inWidth + ix) * inChannels;
              const block = (ky * filterWidth + kx) * inChannels * outChannels;
              for (let ci = 0; ci < inChannels; ci++) {
                const xv = xs[xRow + ci];
                if (xv === 0) continue;
                const row = block + ci * outChannels;
                for (let co = 0; co < outChannels; co++) dw[row + co] += xv * dys[dyRow + co];
              }
            }
          }
        }
      }
    }
    return output(args.backend, filterShape, dw);
  };
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

function binary(original: tf.KernelFunc, op: (a: number, b: number) => number): tf.KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as Inputs;
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return original(args);
    const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const ia = broadcastIndex(a.shape, shape);
    const ib = broadcastIndex(b.shape, shape);
    if (!ia || !ib) return original(args);
    const av = valuesOf(args.backend, a);
    const bv = valuesOf(args.backend, b);
    const out = new Float32Array(size(shape));
    for (let i = 0; i < out.length; i++) out[i] = op(av[ia(i)], bv[ib(i)]);
    return output(args.backend, shape, out);
  };
}

function reduceLeading(original: tf.KernelFunc, mean: boolean): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as Inputs;
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((p, q) => p - q);
    if (x.dtype !== 'float32' || !axes.every((d, k) => d === k)) return original(args);
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
function maxPoolGrad(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { dy, input } = args.inputs as Inputs;
    const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as {
      filterSize: [number, number] | number; strides: [number, number] | number; pad: 'valid' | 'same' | number; dimRoundingMode?: 'floor' | 'round' | 'ceil';
    };
    const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
    const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth } = info;
    const nonOverlapping = strideHeight === filterHeight && strideWidth === filterWidth && info.padInfo.top === 0 && info.padInfo.left === 0;
    if (input.dtype !== 'float32' || !nonOverlapping) return original(args);
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

/** Cases the replacements must reproduce, each a function of fixed random inputs. */
function checks(): Array<() => tf.Tensor> {
  const x = tf.randomNormal([3, 6, 6, 5], 0, 1, 'float32', 1) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, 5, 4], 0, 1, 'float32', 2) as tf.Tensor4D;
  const perChannel = tf.randomNormal([1, 1, 1, 5], 1, 1, 'float32', 3);
  const perImage = tf.randomNormal([3, 1, 1, 1], 1, 1, 'float32', 4);
  const relu = tf.relu(x);
  const filterGrad = (stride: number) => () => tf.grad((f: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x, f as tf.Tensor4D, stride, 'same'))))(w);
  return [
    filterGrad(1),
    filterGrad(2),
    () => tf.mul(x, perChannel),
    () => tf.sub(perChannel, x),
    () => tf.div(x, perImage),
    () => tf.add(tf.reshape(perChannel, [5]), x),
    () => tf.mul(x, tf.transpose(x, [0, 2, 1, 3])),
    () => tf.sum(x, [0, 1, 2]),
    () => tf.mean(x, [0, 1], true),
    () => tf.sum(x, [1, 2]),
    () => tf.mean(x),
    // ReLU outputs tie at 0: the gradient must still go to the same (first) position.
    () => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(v as tf.Tensor4D, 2, 2, 'valid'), perChannel)))(relu),
  ];
}

const REPLACEMENTS: Record<string, (original: tf.KernelFunc) => tf.KernelFunc> = {
  Conv2DBackpropFilter: convFilterGrad,
  Multiply: (original) => binary(original, (a, b) => a * b),
  Add: (original) => binary(original, (a, b) => a + b),
  Sub: (original) => binary(original, (a, b) => a - b),
  RealDiv: (original) => binary(original, (a, b) => a / b),
  Sum: (original) => reduceLeading(original, false),
  Mean: (original) => reduceLeading(original, true),
  MaxPoolGrad: maxPoolGrad,
};

let installed = false;

/** Replaces the kernels on the CPU backend (once), after checking them against the originals. */
export function installFastCpuKernels(): void {
  if (installed) return;
  const cases = tf.tidy(() => checks().map((f) => tf.keep(f())));
  for (const [name, replace] of Object.entries(REPLACEMENTS)) {
    const original = tf.getKernel(name, 'cpu');
    if (!original) throw new Error(`No CPU kernel ${name} to replace`);
    tf.unregisterKernel(name, 'cpu');
    tf.registerKernel({ kernelName: name, backendName: 'cpu', kernelFunc: replace(original.kernelFunc) });
  }
  installed = true;
  const again = tf.tidy(() => checks().map((f) => tf.keep(f())));
  cases.forEach((expected, k) => {
    const want = Array.from(expected.dataSync());
    const got = again[k].dataSync();
    const shapesMatch = expected.shape.join() === again[k].shape.join();
    const worst = want.reduce((m: number, v: number, i: number) => Math.max(m, Math.abs(v - got[i]) / Math.max(1, Math.abs(v))), 0);
    if (!shapesMatch || !(worst < 1e-4)) throw new Error(`Fast CPU kernel check ${k} failed: shape ${again[k].shape} vs ${expected.shape}, error ${worst}`);
  });
  [...cases, ...again].forEach((t) => t.dispose());
}
