/**
 * A faster Conv2DBackpropFilter for the tfjs CPU backend (Node, tests, the browser's last fallback).
 * The stock kernel walks the filter gradient element by element through TensorBuffer.get, which
 * made it 60–90% of a CPU training step. This one runs over the output positions once and
 * accumulates x ⊗ dy into the filter gradient with flat indices, skipping zero inputs (ReLU maps
 * are half zeros), in float64 like the stock kernel's running sum. NHWC only; anything else goes
 * to the stock kernel.
 */
import * as tf from '@tensorflow/tfjs';

type KernelFunc = tf.KernelConfig['kernelFunc'];

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

function register(): void {
  const stock = tf.getKernel('Conv2DBackpropFilter', 'cpu');
  if (!stock || (stock as { fast?: boolean }).fast) return;
  const stockFunc = stock.kernelFunc;
  const kernelFunc: KernelFunc = (args) => {
    const attrs = args.attrs as unknown as BackpropFilterAttrs;
    const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    if (attrs.dataFormat !== 'NHWC' || x.dtype !== 'float32' || dy.dtype !== 'float32') return stockFunc(args);
    const backend = args.backend as unknown as CpuBackend;
    const values = conv2dBackpropFilterNhwc(backend.data.get(x.dataId).values, backend.data.get(dy.dataId).values, x.shape as [number, number, number, number], attrs);
    return backend.makeTensorInfo(attrs.filterShape, 'float32', values);
  };
  tf.unregisterKernel('Conv2DBackpropFilter', 'cpu');
  tf.registerKernel({ ...stock, kernelFunc, fast: true } as tf.KernelConfig);
}

register();
