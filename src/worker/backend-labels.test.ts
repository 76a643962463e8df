import { describe, expect, it } from 'vitest';
import { requestedBackend, runsOnCpu } from './backend-labels';

describe('runsOnCpu', () => {
  it('recognises the CPU backend and emulated GPUs, not real ones', () => {
    expect(runsOnCpu({ name: 'cpu', adapter: null, fallbackReasons: [] })).toBe(true);
    expect(runsOnCpu({ name: 'webgpu', adapter: 'google swiftshader', fallbackReasons: [] })).toBe(true);
    expect(runsOnCpu({ name: 'webgpu', adapter: 'mesa llvmpipe LLVM 15.0.6, 256 bits', fallbackReasons: [] })).toBe(true);
    expect(runsOnCpu({ name: 'webgpu', adapter: 'nvidia ampere NVIDIA GeForce RTX 3060', fallbackReasons: [] })).toBe(false);
    expect(runsOnCpu({ name: 'webgpu', adapter: 'apple metal-3', fallbackReasons: [] })).toBe(false);
    expect(runsOnCpu({ name: 'webgl', adapter: null, fallbackReasons: [] })).toBe(false);
  });
});

describe('requestedBackend', () => {
  it('reads a known backend from the address, and nothing else', () => {
    expect(requestedBackend('?backend=cpu')).toBe('cpu');
    expect(requestedBackend('?method=byol&backend=webgl')).toBe('webgl');
    expect(requestedBackend('?backend=wasm')).toBeUndefined();
    expect(requestedBackend('')).toBeUndefined();
  });
});
