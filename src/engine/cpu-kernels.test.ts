import * as tf from '@tensorflow/tfjs';
import { conv2DBackpropFilter as stockBackpropFilter } from '@tensorflow/tfjs-backend-cpu/dist/kernels/Conv2DBackpropFilter';
import { describe, expect, it } from 'vitest';
import { replacedCpuKernels } from './cpu-kernels';
import { withStockKernels } from './testing/stock-kernels';
import { Rng } from './random';
import { gradCheckDetailed } from './testing/gradcheck';

function random(shape: number[], rng: Rng, zeroFraction = 0): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: size }, () => (rng.next() < zeroFraction ? 0 : rng.normal())), shape);
}

const cases: { name: string; x: [number, number, number, number]; filter: [number, number, number, number]; stride: number; pad: 'same' | 'valid' }[] = [
  { name: '3×3 same, stride 1', x: [2, 5, 5, 3], filter: [3, 3, 3, 4], stride: 1, pad: 'same' },
  { name: '3×3 same, stride 2, odd size', x: [2, 7, 5, 2], filter: [3, 3, 2, 3], stride: 2, pad: 'same' },
  { name: '1×1 stride 2 (ResNet shortcut)', x: [3, 6, 6, 4], filter: [1, 1, 4, 5], stride: 2, pad: 'same' },
  { name: '3×3 valid', x: [1, 6, 6, 2], filter: [3, 3, 2, 2], stride: 1, pad: 'valid' },
];

describe('CPU Conv2DBackpropFilter', () => {
  for (const c of cases) {
    it(`matches the stock kernel and finite differences: ${c.name}`, () => {
      const rng = new Rng(5);
      // Half the inputs zero, as after a ReLU: the fast kernel skips them.
      const x = random(c.x, rng, 0.5) as tf.Tensor4D;
      const outShape = tf.tidy(() => tf.conv2d(x, tf.zeros(c.filter) as tf.Tensor4D, c.stride, c.pad).shape);
      const dy = random(outShape, rng);
      // The filter gradient of sum(conv(x, w) · dy) is exactly backpropFilter(x, dy).
      const objective = (w: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, w as tf.Tensor4D, c.stride, c.pad), dy)) as tf.Scalar;
      const fast = tf.grad(objective)(tf.zeros(c.filter));
      const attrs = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: c.filter };
      const backend = tf.backend();
      const stockInfo = stockBackpropFilter({ inputs: { x, dy }, backend, attrs } as never) as tf.TensorInfo;
      const stock = tf.engine().makeTensorFromTensorInfo(stockInfo);
      const fastValues = fast.dataSync();
      const stockValues = stock.dataSync();
      expect(fastValues.length).toBe(stockValues.length);
      fastValues.forEach((v, i) => expect(v).toBeCloseTo(stockValues[i], 4));

      const check = gradCheckDetailed(objective, random(c.filter, rng), { numCoordinates: 12 });
      expect(check.maxRelativeError).toBeLessThan(1e-2);
      [x, dy, fast, stock].forEach((t) => t.dispose());
    });
  }

});

/** Cases the replacements must reproduce, each a function of fixed random inputs. */
function replacedOpCases(): Record<string, () => tf.Tensor> {
  const x = tf.randomNormal([3, 6, 6, 5], 0, 1, 'float32', 1) as tf.Tensor4D;
  const perChannel = tf.randomNormal([1, 1, 1, 5], 1, 1, 'float32', 3);
  const perImage = tf.randomNormal([3, 1, 1, 1], 1, 1, 'float32', 4);
  return {
    'multiply per channel': () => tf.mul(x, perChannel),
    'subtract from per-channel': () => tf.sub(perChannel, x),
    'divide per image': () => tf.div(x, perImage),
    'add a rank-1 vector': () => tf.add(tf.reshape(perChannel, [5]), x),
    'multiply same shape': () => tf.mul(x, tf.transpose(x, [0, 2, 1, 3])),
    'sum over leading axes': () => tf.sum(x, [0, 1, 2]),
    'mean keeping dims': () => tf.mean(x, [0, 1], true),
    'sum over inner axes (stock path)': () => tf.sum(x, [1, 2]),
    'mean of everything': () => tf.mean(x),
    // ReLU outputs tie at 0: the gradient must still go to the same (first) position.
    'max-pool gradient with ties': () => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(v as tf.Tensor4D, 2, 2, 'valid'), perChannel)))(tf.relu(x)),
  };
}

describe('CPU kernel replacements', () => {
  it('are installed for every kernel they replace', () => {
    expect([...replacedCpuKernels.keys()].sort()).toEqual(['Add', 'Conv2DBackpropFilter', 'MaxPoolGrad', 'Mean', 'Multiply', 'RealDiv', 'Sub', 'Sum']);
  });

  for (const [name, run] of Object.entries(replacedOpCases())) {
    it(`match the stock kernels: ${name}`, () => {
      const fast = run();
      const stock = withStockKernels('cpu', replacedCpuKernels, run);
      expect(fast.shape).toEqual(stock.shape);
      const want = stock.dataSync();
      fast.dataSync().forEach((v, i) => expect(v).toBeCloseTo(want[i], 4));
    });
  }
});
