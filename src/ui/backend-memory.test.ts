import { afterEach, describe, expect, it, vi } from 'vitest';
import { tinyConfig } from '../engine/testing/tiny';
import type { BackendInfo, BackendMeasurement } from '../worker/backend-labels';
import { backendRequest, rememberChoice } from './backend-memory';

const available: BackendMeasurement[] = [
  { name: 'webgpu', adapter: 'a real GPU', msPerStep: null, note: null },
  { name: 'wasm', adapter: '1 thread, SIMD', msPerStep: null, note: null },
];

function choice(name: BackendInfo['name'], kind: BackendInfo['choice']): BackendInfo {
  return { name, adapter: null, choice: kind, measurements: [], fallbackReasons: [] };
}

/** A localStorage of a Map, or one that refuses every call (private mode, full). */
function stubStorage(refuse = false): Map<string, string> {
  const items = new Map<string, string>();
  const refused = () => {
    throw new Error('QuotaExceededError');
  };
  vi.stubGlobal('localStorage', {
    getItem: (key: string) => (refuse ? refused() : (items.get(key) ?? null)),
    setItem: (key: string, value: string) => (refuse ? refused() : void items.set(key, value)),
  });
  return items;
}

afterEach(() => vi.unstubAllGlobals());

describe('the backend remembered per device and configuration', () => {
  const config = tinyConfig('byol', { imageSize: 16, batchSize: 16 });

  it('keeps a measured choice for the next start of the same configuration on the same devices, and nothing else', () => {
    stubStorage();
    expect(backendRequest('fastest', available, config)).toEqual({ kind: 'fastest', remembered: null });
    rememberChoice(choice('wasm', 'only'), available, config);
    rememberChoice(choice('webgpu', 'requested'), available, config);
    expect(backendRequest('fastest', available, config)).toEqual({ kind: 'fastest', remembered: null });
    rememberChoice(choice('webgpu', 'measured'), available, config);
    expect(backendRequest('fastest', available, config)).toEqual({ kind: 'fastest', remembered: 'webgpu' });
    // Another batch size, or another adapter, is measured again.
    expect(backendRequest('fastest', available, { ...config, batchSize: 32 })).toEqual({ kind: 'fastest', remembered: null });
    expect(backendRequest('fastest', [{ ...available[0], adapter: 'another GPU' }, available[1]], config)).toEqual({ kind: 'fastest', remembered: null });
    // A fixed setting wins over what was remembered.
    expect(backendRequest('wasm', available, config)).toEqual({ kind: 'use', name: 'wasm' });
  });

  it('ignores a stored name that is no backend, and storage that refuses means measuring again', () => {
    const items = stubStorage();
    rememberChoice(choice('webgpu', 'measured'), available, config);
    const [key] = [...items.keys()];
    items.set(key, 'tpu');
    expect(backendRequest('fastest', available, config)).toEqual({ kind: 'fastest', remembered: null });
    stubStorage(true);
    expect(() => rememberChoice(choice('webgpu', 'measured'), available, config)).not.toThrow();
    expect(backendRequest('fastest', available, config)).toEqual({ kind: 'fastest', remembered: null });
  });
});
