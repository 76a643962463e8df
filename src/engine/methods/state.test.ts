import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import type { TrainConfig } from '../config';
import { infoNCELoss, l2Normalize, uniGradCorrelation } from '../losses';
import { Rng } from '../random';
import { tinyConfig } from '../testing/tiny';
import { disposeInstance } from './instance';
import { getMethod } from './registry';
import { rotateQuarterTurns } from './rotation';
import { KeyQueue } from './shared';
import type { MethodInstance, StepInputs } from './types';

function inputsFor(seed: number, indices: number[]): StepInputs {
  const batch = indices.length;
  return {
    views: [
      tf.randomNormal([batch, 16, 16, 3], 0, 1, 'float32', seed) as tf.Tensor4D,
      tf.randomNormal([batch, 16, 16, 3], 0, 1, 'float32', seed + 1) as tf.Tensor4D,
    ],
    indices: tf.tensor1d(indices, 'int32'),
    labels: null,
  };
}

function disposeInputs(inputs: StepInputs): void {
  [...inputs.views, inputs.indices].forEach((t) => t.dispose());
}

function create(config: TrainConfig, datasetSize = 32): MethodInstance {
  return getMethod(config.method).create({ config, rng: new Rng(1), datasetSize, numClasses: 3 });
}

/** One step without an optimizer: loss, then afterStep. Returns copies of the carried tensors. */
function step(instance: MethodInstance, inputs: StepInputs, temperature = 0.2): { loss: number; carry: number[][][] } {
  return tf.tidy(() => {
    const schedule = { step: 0, tau: 0.99, temperature };
    const output = instance.computeLoss(inputs, schedule);
    const carry = output.carry.map((t) => t.arraySync() as number[][]);
    const loss = output.loss.dataSync()[0];
    instance.afterStep?.(inputs, schedule, output.carry);
    return { loss, carry };
  });
}

function rows(t: tf.Tensor): number[][] {
  return t.arraySync() as number[][];
}

function expectRowsClose(actual: number[][], expected: number[][], digits = 5): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(expected[i][j], digits)));
}

describe('KeyQueue', () => {
  it('starts with unit rows and holds exactly the last K keys, oldest first, for any batch size', () => {
    const queue = new KeyQueue(5, 3, new Rng(4));
    const pushed = rows(queue.keys);
    pushed.forEach((r) => expect(Math.hypot(...r)).toBeCloseTo(1, 5));
    for (const n of [2, 2, 3, 7, 1]) {
      const batch = Array.from({ length: n }, (_, i) => [pushed.length + i, 0, 0]);
      pushed.push(...batch);
      const keys = tf.tensor2d(batch);
      queue.enqueue(keys);
      keys.dispose();
      expectRowsClose(rows(queue.keys), pushed.slice(-5), 6);
    }
    queue.keys.dispose();
  });
});

describe('MoCo v2 queue', () => {
  it('enqueues each view\'s keys after the loss, which used the queues as they were before the step', () => {
    // 12 keys with batches of 8: not a multiple, so the queue wraps mid-batch.
    const config = tinyConfig('mocov2', { options: { queueSize: 12, symmetric: 1 } });
    const instance = create(config);
    const [queue1, queue2] = instance.state!;
    expect(instance.state).toHaveLength(2);
    // What the queues must hold: their initial random keys, then every enqueued key, the last 12.
    const expected = [rows(queue1), rows(queue2)];
    for (let s = 0; s < 3; s++) {
      const inputs = inputsFor(10 * s, [0, 1, 2, 3, 4, 5, 6, 7]);
      const expectedLoss = tf.tidy(() => {
        const online = instance.modules[0];
        const target = instance.emaPairs![0].target;
        const [v1, v2] = inputs.views;
        const q1 = online.apply(v1, true);
        const q2 = online.apply(v2, true);
        const k1 = l2Normalize(target.apply(v1, true));
        const k2 = l2Normalize(target.apply(v2, true));
        return (infoNCELoss(q1, k2, queue2, 0.2).dataSync()[0] + infoNCELoss(q2, k1, queue1, 0.2).dataSync()[0]) / 2;
      });
      const { loss, carry } = step(instance, inputs);
      expect(loss).toBeCloseTo(expectedLoss, 4);
      [0, 1].forEach((view) => (expected[view] = [...expected[view], ...carry[view]].slice(-12)));
      expectRowsClose(rows(queue1), expected[0]);
      expectRowsClose(rows(queue2), expected[1]);
      disposeInputs(inputs);
    }
    rows(queue1).forEach((r) => expect(Math.hypot(...r)).toBeCloseTo(1, 5));
    disposeInstance(instance);
  });

  it('keeps a single queue of second-view keys in the asymmetric variant', () => {
    const instance = create(tinyConfig('mocov2', { options: { queueSize: 16, symmetric: 0 } }));
    expect(instance.state).toHaveLength(1);
    const inputs = inputsFor(3, [0, 1, 2, 3, 4, 5, 6, 7]);
    const { carry } = step(instance, inputs);
    expect(carry).toHaveLength(1);
    expectRowsClose(rows(instance.state![0]).slice(-8), carry[0]);
    disposeInputs(inputs);
    disposeInstance(instance);
  });
});

describe('MoBY queues', () => {
  it('hold the last K target keys of each view', () => {
    const instance = create(tinyConfig('moby', { options: { queueSize: 8 } }));
    const carried: number[][][][] = [];
    for (let s = 0; s < 2; s++) {
      const inputs = inputsFor(20 + s, [0, 1, 2, 3, 4, 5]);
      carried.push(step(instance, inputs).carry);
      disposeInputs(inputs);
    }
    [0, 1].forEach((view) => expectRowsClose(rows(instance.state![view]), [...carried[0][view], ...carried[1][view]].slice(-8)));
    disposeInstance(instance);
  });
});

describe('NPID memory bank', () => {
  it('moves only the batch\'s rows to normalise(m·old + (1 − m)·feature) and keeps every row unit length', () => {
    const instance = create(tinyConfig('npid', { options: { bankMomentum: 0.5 } }), 10);
    const bank = instance.state![0];
    rows(bank).forEach((r) => expect(Math.hypot(...r)).toBeCloseTo(1, 5));
    // Image 3 appears twice, as it can when a batch straddles two epochs: its last feature wins.
    const indices = [3, 7, 0, 3];
    const inputs = inputsFor(5, indices);
    const before = rows(bank);
    const { carry } = step(instance, inputs);
    const features = carry[0];
    const after = rows(bank);
    const normalise = (v: number[]) => v.map((x) => x / Math.hypot(...v));
    const lastIndexOf = (image: number) => indices.lastIndexOf(image);
    for (let image = 0; image < 10; image++) {
      const position = lastIndexOf(image);
      const expected = position < 0 ? before[image] : normalise(before[image].map((x, j) => 0.5 * x + 0.5 * features[position][j]));
      after[image].forEach((v, j) => expect(v).toBeCloseTo(expected[j], 5));
      expect(Math.hypot(...after[image])).toBeCloseTo(1, 5);
    }
    disposeInputs(inputs);
    disposeInstance(instance);
  });
});

describe('UniGrad correlation matrix', () => {
  it('is initialised from the first batch, then F ← ρF + (1 − ρ)·batch, and stays symmetric', () => {
    const rho = 0.9;
    const instance = create(tinyConfig('unigrad', { options: { lambda: 100, rho } }));
    const [correlation] = instance.state!;
    const target = instance.emaPairs![0].target;
    const batchOutputs = (inputs: StepInputs) => inputs.views.map((v) => target.apply(v, true));
    let previous: tf.Tensor | null = null;
    for (let s = 0; s < 3; s++) {
      const inputs = inputsFor(40 + s, [0, 1, 2, 3, 4, 5, 6, 7]);
      // The momentum outputs this step will see (afterStep's EMA runs after the loss).
      const [z1m, z2m] = batchOutputs(inputs);
      const expected = uniGradCorrelation(previous, z1m, z2m, rho);
      step(instance, inputs);
      expectRowsClose(rows(correlation), rows(expected), 4);
      const f = rows(correlation);
      f.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(f[j][i], 6)));
      previous?.dispose();
      previous = correlation.clone();
      [z1m, z2m, expected].forEach((t) => t.dispose());
      disposeInputs(inputs);
    }
    previous?.dispose();
    disposeInstance(instance);
  });
});

describe('rotation prediction', () => {
  it('turns each image by its own number of quarter turns, counter-clockwise', () => {
    // One 2×2 single-channel image [[1, 2], [3, 4]] four times, turned 0, 1, 2, 3 times.
    const image = [[[1], [2]], [[3], [4]]];
    const turned = rotateQuarterTurns(tf.tensor4d([image, image, image, image]), Int32Array.from([0, 1, 2, 3]));
    expect(turned.arraySync()).toEqual([
      [[[1], [2]], [[3], [4]]],
      [[[2], [4]], [[1], [3]]],
      [[[4], [3]], [[2], [1]]],
      [[[3], [1]], [[4], [2]]],
    ]);
    turned.dispose();
  });

  it('composes: one turn then three turns is the identity', () => {
    const x = tf.randomNormal([3, 5, 5, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
    const once = rotateQuarterTurns(x, Int32Array.from([1, 1, 1]));
    const back = rotateQuarterTurns(once, Int32Array.from([3, 3, 3]));
    expect(Array.from(back.dataSync())).toEqual(Array.from(x.dataSync()));
    [x, once, back].forEach((t) => t.dispose());
  });
});
