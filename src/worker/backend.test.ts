import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { tinyConfig, tinyData } from '../engine/testing/tiny';
import { chooseBackend, defaultBackend, probeBackends } from './backend';

afterAll(() => tf.setBackend('cpu'));

describe('choosing the backend (Node: WebAssembly and CPU, no GPU)', () => {
  const config = tinyConfig('byol', { imageSize: 8, batchSize: 4 });
  const data = tinyData(16, 8);

  it('finds what runs here and says why the rest does not', async () => {
    const backends = await probeBackends();
    expect(backends.map((b) => b.name)).toEqual(['webgpu', 'webgl', 'wasm', 'cpu']);
    expect(backends.find((b) => b.name === 'webgpu')!.note).toMatch(/^unavailable: this browser exposes no navigator\.gpu/);
    expect(backends.filter((b) => b.note === null).map((b) => b.name)).toEqual(['wasm', 'cpu']);
    // Before any run: the WebAssembly path, unless the address asks for another.
    expect((await defaultBackend(backends)).name).toBe('wasm');
    const asked = await defaultBackend(backends, 'cpu');
    expect([asked.name, asked.choice, tf.getBackend()]).toEqual(['cpu', 'requested', 'cpu']);
    const missing = await defaultBackend(backends, 'webgpu');
    expect(missing.name).toBe('wasm');
    expect(missing.fallbackReasons[0]).toMatch(/^WebGPU unavailable/);
  });

  it('uses the only candidate left without timing it: the CPU backend is passed over for WebAssembly', async () => {
    const backends = await probeBackends();
    const info = await chooseBackend({ kind: 'fastest', remembered: null }, backends, config, data);
    expect([info.name, info.choice, tf.getBackend()]).toEqual(['wasm', 'only', 'wasm']);
    const byName = Object.fromEntries(info.measurements.map((m) => [m.name, m]));
    expect([byName.wasm.msPerStep, byName.wasm.note]).toEqual([null, 'the only candidate: not timed']);
    expect(byName.cpu.msPerStep).toBeNull();
    expect(byName.cpu.note).toMatch(/slower than WebAssembly/);
    expect(info.fallbackReasons.join(' ')).toMatch(/WebGPU unavailable/);
  });

  it('times the candidates on the run’s own configuration and uses the fastest that trains', async () => {
    // A GPU that is not emulated is a candidate beside WebAssembly; in Node it cannot start.
    const backends = (await probeBackends()).map((b) => (b.name === 'webgpu' ? { ...b, adapter: 'a real GPU', note: null } : b));
    const info = await chooseBackend({ kind: 'fastest', remembered: null }, backends, config, data);
    expect([info.name, info.choice, tf.getBackend()]).toEqual(['wasm', 'measured', 'wasm']);
    const byName = Object.fromEntries(info.measurements.map((m) => [m.name, m]));
    expect(byName.wasm.msPerStep).toBeGreaterThan(0);
    expect(byName.webgpu.msPerStep).toBeNull();
    expect(byName.webgpu.note).toMatch(/^failed: /);
    expect(byName.cpu.note).toMatch(/slower than WebAssembly/);
  });

  it('uses a remembered or requested backend without measuring, and refuses one the browser lacks', async () => {
    const backends = await probeBackends();
    const remembered = await chooseBackend({ kind: 'fastest', remembered: 'cpu' }, backends, config, data);
    expect([remembered.name, remembered.choice, remembered.measurements, tf.getBackend()]).toEqual(['cpu', 'remembered', [], 'cpu']);
    const requested = await chooseBackend({ kind: 'use', name: 'wasm' }, backends, config, data);
    expect([requested.name, requested.choice, tf.getBackend()]).toEqual(['wasm', 'requested', 'wasm']);
    await expect(chooseBackend({ kind: 'use', name: 'webgpu' }, backends, config, data)).rejects.toThrow(/^WebGPU is not available in this browser: unavailable: this browser exposes no navigator\.gpu/);
    // A remembered backend that is gone is chosen again.
    expect((await chooseBackend({ kind: 'fastest', remembered: 'webgl' }, backends, config, data)).choice).toBe('only');
  });
});
