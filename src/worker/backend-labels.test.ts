import { describe, expect, it } from 'vitest';
import { getMethod } from '../engine/methods/registry';
import { choiceKey, describeChoice, isSlowBackend, requestedBackend } from './backend-labels';

describe('isSlowBackend', () => {
  it('recognises tfjs CPU kernels and emulated GPUs, not real GPUs or WebAssembly', () => {
    expect(isSlowBackend({ name: 'cpu', adapter: null })).toBe(true);
    expect(isSlowBackend({ name: 'wasm', adapter: '1 thread, SIMD' })).toBe(false);
    expect(isSlowBackend({ name: 'webgpu', adapter: 'google swiftshader' })).toBe(true);
    expect(isSlowBackend({ name: 'webgpu', adapter: 'mesa llvmpipe LLVM 15.0.6, 256 bits' })).toBe(true);
    expect(isSlowBackend({ name: 'webgpu', adapter: 'nvidia ampere NVIDIA GeForce RTX 3060' })).toBe(false);
    expect(isSlowBackend({ name: 'webgpu', adapter: 'apple metal-3' })).toBe(false);
    expect(isSlowBackend({ name: 'webgl', adapter: null })).toBe(false);
  });
});

describe('requestedBackend', () => {
  it('reads a known backend from the address, and nothing else', () => {
    expect(requestedBackend('?backend=cpu')).toBe('cpu');
    expect(requestedBackend('?method=byol&backend=webgl')).toBe('webgl');
    expect(requestedBackend('?backend=wasm')).toBe('wasm');
    expect(requestedBackend('?backend=tpu')).toBeUndefined();
    expect(requestedBackend('')).toBeUndefined();
  });
});

describe('the backend choice', () => {
  it('is described with each figure or the reason it was passed over, then the choice', () => {
    const text = describeChoice({
      name: 'wasm',
      adapter: null,
      choice: 'measured',
      fallbackReasons: [],
      measurements: [
        { name: 'webgpu', adapter: 'google swiftshader', msPerStep: 2800, note: null },
        { name: 'wasm', adapter: null, msPerStep: 91.6, note: null },
        { name: 'cpu', adapter: null, msPerStep: null, note: 'slower than WebAssembly: not measured' },
      ],
    });
    expect(text).toBe('WebGPU (google swiftshader) 2.8 s/step · WebAssembly 92 ms/step · CPU: slower than WebAssembly: not measured → WebAssembly');
    expect(describeChoice({ name: 'webgl', adapter: null, choice: 'remembered', fallbackReasons: [], measurements: [] })).toBe('WebGL (measured before on this device)');
  });

  it('is remembered per device and per step-shaping setting, not per live setting', () => {
    const devices = [{ name: 'webgpu' as const, adapter: 'nvidia' }, { name: 'wasm' as const, adapter: null }];
    const config = getMethod('byol').defaults('classroom');
    const key = choiceKey(devices, config);
    expect(choiceKey(devices, { ...config, learningRate: 0.5, tau: 0.9, totalSteps: 7 })).toBe(key);
    expect(choiceKey(devices, { ...config, batchSize: config.batchSize * 2 })).not.toBe(key);
    expect(choiceKey(devices, { ...config, imageSize: config.imageSize * 2 })).not.toBe(key);
    expect(choiceKey([{ name: 'webgpu', adapter: 'apple' }, devices[1]], config)).not.toBe(key);
  });
});
