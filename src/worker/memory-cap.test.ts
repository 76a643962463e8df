import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it } from 'vitest';
import { AllocationFailure, capMemory, isAllocationFailure, memoryCap } from './memory-cap';

describe('out of memory in the worker', () => {
  afterEach(() => capMemory(null));

  it('recognises what browsers and backends say when memory runs out, and nothing else', () => {
    const failures = [
      new AllocationFailure('capped'),
      new RangeError('Array buffer allocation failed'),
      new Error('Aborted(OOM). Build with -sASSERTIONS for more info.'),
      new Error('Cannot enlarge memory arrays to size 4294967296 bytes'),
      new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded'),
      new Error('Unable to create WebGLTexture.'),
      'GPUOutOfMemoryError: out of memory',
    ];
    for (const failure of failures) expect(isAllocationFailure(failure), String(failure)).toBe(true);
    const others = [new Error('The loss became NaN at step 3'), new RangeError('Invalid array length: -1'), new Error('Kernel Conv2D not registered'), 'memory access out of bounds'];
    for (const other of others) expect(isAllocationFailure(other), String(other)).toBe(false);
  });

  it('fails the allocation that passes the cap inside the step, which frees its scope as it unwinds', async () => {
    await tf.setBackend('cpu');
    const kept = tf.zeros([100]);
    const before = tf.memory();
    capMemory(before.numBytes + 4 * 1000);
    expect(memoryCap()).toBe(before.numBytes + 4000);
    // 900 floats fit under the cap; a further 200 do not.
    const sum = tf.tidy(() => tf.sum(tf.ones([900])));
    expect(sum.dataSync()[0]).toBe(900);
    sum.dispose();
    expect(() => tf.tidy(() => tf.add(tf.ones([900]), tf.ones([200]).sum()))).toThrow(AllocationFailure);
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
    capMemory(null);
    expect(tf.tidy(() => tf.ones([2000]).sum()).dataSync()[0]).toBe(2000);
    expect(() => capMemory(0)).toThrow('A memory cap must be a positive number of bytes, not 0.');
    kept.dispose();
  });
});
