import { describe, expect, it } from 'vitest';
import { runsOnCpu } from './backend-labels';

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
