/**
 * Which tfjs backend trains: the fastest of those the browser offers, found by timing a few real
 * steps of the configuration being started on each (WebGPU, WebGL, WebAssembly, CPU), or the one the
 * user asked for. An emulated GPU (SwiftShader, llvmpipe) is never timed or chosen over the CPU's own
 * WebAssembly path, and the tfjs CPU backend only where WebAssembly is missing: both are slower on the
 * same cores, and timing an emulated GPU would first spend its shader compilation (tens of seconds).
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import '../kernels/wasm-kernels';
import { registerWebGPUKernels } from '../kernels/webgpu-kernels';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { TrainConfig } from '../engine/config';
import type { DatasetSplits } from '../engine/dataset';
import { Trainer } from '../engine/trainer';
import { memoryCap } from './memory-cap';
import { BACKEND_ORDER, backendLabel, isEmulatedAdapter, type BackendInfo, type BackendMeasurement, type BackendName, type BackendRequest } from './backend-labels';

registerWebGPUKernels();

/** Timed steps per backend, after an untimed one (GPU kernels compile, WebAssembly operators are set up). */
const TIMED_STEPS = 2;

async function webgpuAdapter(): Promise<{ adapter: string | null; problem: string | null }> {
  const gpu = (globalThis.navigator as Navigator & { gpu?: GPU } | undefined)?.gpu;
  if (!gpu) return { adapter: null, problem: 'this browser exposes no navigator.gpu' };
  const adapter = await gpu.requestAdapter();
  if (!adapter) return { adapter: null, problem: 'no adapter' };
  const info = adapter.info;
  const description = [info?.vendor, info?.architecture, info?.description].filter(Boolean).join(' ');
  return { adapter: description || 'unknown adapter', problem: null };
}

/** The GPU's description as WebGL reports it, where the browser exposes it. */
function webglRenderer(): string | null {
  const backend = tf.findBackend('webgl') as unknown as { gpgpu?: { gl: WebGLRenderingContext } } | null;
  const gl = backend?.gpgpu?.gl;
  if (!gl) return null;
  const debug = gl.getExtension('WEBGL_debug_renderer_info');
  return debug ? String(gl.getParameter(debug.UNMASKED_RENDERER_WEBGL)) : null;
}

/** Starts `name`; its adapter, or why it cannot run here. */
async function initialise(name: BackendName): Promise<{ adapter: string | null; problem: string | null }> {
  try {
    let adapter: string | null = null;
    if (name === 'webgpu') {
      const probe = await webgpuAdapter();
      if (probe.problem) return probe;
      adapter = probe.adapter;
    }
    if (!(await tf.setBackend(name))) return { adapter, problem: 'the backend failed to initialise' };
    await tf.ready();
    if (name === 'wasm') adapter = `${getThreadsCount()} thread${getThreadsCount() === 1 ? '' : 's'}, ${tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'SIMD' : 'no SIMD'}`;
    return { adapter: name === 'webgl' ? webglRenderer() : adapter, problem: null };
  } catch (error) {
    return { adapter: null, problem: error instanceof Error ? error.message : String(error) };
  }
}

/** Every backend of the app, started once each: what this browser offers. */
export async function probeBackends(): Promise<BackendMeasurement[]> {
  const found: BackendMeasurement[] = [];
  for (const name of BACKEND_ORDER) {
    const { adapter, problem } = await initialise(name);
    found.push({ name, adapter, msPerStep: null, note: problem ? `unavailable: ${problem}` : null });
  }
  return found;
}

function usable(backends: readonly BackendMeasurement[]): BackendMeasurement[] {
  return backends.filter((b) => b.note === null);
}

/** Before any run (previews, the catalog): the asked-for backend, else the CPU's WebAssembly path, else tfjs CPU. */
export async function defaultBackend(backends: readonly BackendMeasurement[], requested?: BackendName): Promise<BackendInfo> {
  const available = usable(backends);
  const asked = requested ? available.find((b) => b.name === requested) : undefined;
  const chosen = asked ?? available.find((b) => b.name === 'wasm') ?? available.find((b) => b.name === 'cpu');
  if (!chosen) throw new Error(`No tfjs backend could start: ${backends.map((b) => `${backendLabel(b.name)} ${b.note}`).join('; ')}`);
  await tf.setBackend(chosen.name);
  const fallbackReasons = requested && !asked ? [`${backendLabel(requested)} ${backends.find((b) => b.name === requested)?.note ?? 'unavailable'}`] : [];
  return { name: chosen.name, adapter: chosen.adapter, choice: asked ? 'requested' : 'default', measurements: [], fallbackReasons };
}

/** Milliseconds per step of `config` on the current backend: the mean of a few, after an untimed one. */
async function timeSteps(config: TrainConfig, data: DatasetSplits): Promise<number> {
  const trainer = new Trainer({ ...config, totalSteps: Math.max(config.totalSteps, TIMED_STEPS + 1) }, data);
  try {
    trainer.step();
    await trainer.flush();
    const start = performance.now();
    for (let i = 0; i < TIMED_STEPS; i++) {
      trainer.step();
      await trainer.flush();
    }
    return (performance.now() - start) / TIMED_STEPS;
  } finally {
    trainer.dispose();
  }
}

/**
 * Sets the backend a run of `config` trains on and says why: the requested one; the one remembered
 * for this configuration; the only candidate left once emulated GPUs and the tfjs CPU backend are
 * passed over (untimed); or the fastest of the candidates, timed here. What could not be used, or was
 * passed over unmeasured, is listed with the reason.
 */
export async function chooseBackend(request: BackendRequest, backends: readonly BackendMeasurement[], config: TrainConfig, data: DatasetSplits): Promise<BackendInfo> {
  const available = usable(backends);
  const unavailable = backends.filter((b) => b.note !== null);
  const fallbackReasons = unavailable.map((b) => `${backendLabel(b.name)} ${b.note}`);
  const use = (b: BackendMeasurement, choice: BackendInfo['choice'], measurements: BackendMeasurement[]): BackendInfo => ({ name: b.name, adapter: b.adapter, choice, measurements, fallbackReasons });
  const wanted = request.kind === 'use' ? request.name : request.remembered;
  const found = wanted ? available.find((b) => b.name === wanted) : undefined;
  if (request.kind === 'use') {
    if (!found) throw new Error(`${backendLabel(request.name)} is not available in this browser: ${backends.find((b) => b.name === request.name)?.note ?? 'unknown backend'}.`);
    await tf.setBackend(found.name);
    return use(found, 'requested', []);
  }
  if (found) {
    await tf.setBackend(found.name);
    return use(found, 'remembered', []);
  }
  const hasWasm = available.some((b) => b.name === 'wasm');
  const passedOver = (b: BackendMeasurement): string | null => {
    if ((b.name === 'webgpu' || b.name === 'webgl') && isEmulatedAdapter(b.adapter)) return 'emulated on the CPU, slower than WebAssembly there: not measured';
    if (b.name === 'cpu' && hasWasm) return 'the same cores without SIMD kernels, slower than WebAssembly: not measured';
    return null;
  };
  // Each backend with why it is passed over (null: a candidate to time).
  const sorted = available.map((b) => ({ ...b, note: passedOver(b) }));
  const candidates = sorted.filter((b) => b.note === null);
  if (candidates.length === 1) {
    // Nothing to compare it with: timing would only delay the first step.
    const only = candidates[0];
    await tf.setBackend(only.name);
    return use(only, 'only', sorted.map((b) => (b === only ? { ...b, note: 'the only candidate: not timed' } : b)));
  }
  const measurements: BackendMeasurement[] = [];
  for (const b of sorted) {
    if (b.note) {
      measurements.push(b);
      continue;
    }
    try {
      if (!(await tf.setBackend(b.name))) throw new Error('it did not start');
      measurements.push({ ...b, msPerStep: await timeSteps(config, data) });
    } catch (error) {
      measurements.push({ ...b, note: `failed: ${error instanceof Error ? error.message : String(error)}` });
    }
  }
  const timed = measurements.filter((m) => m.msPerStep !== null);
  const fastest = timed.reduce<BackendMeasurement | null>((best, m) => (best === null || m.msPerStep! < best.msPerStep! ? m : best), null) ?? available.find((b) => b.name === 'cpu');
  if (!fastest) throw new Error(`No backend could train this configuration: ${measurements.map((m) => `${backendLabel(m.name)} ${m.note}`).join('; ')}`);
  await tf.setBackend(fastest.name);
  return use(fastest, 'measured', measurements);
}

/** The WebGPU device the current backend trains on, or null on another backend. */
function gpuDevice(): GPUDevice | null {
  if (tf.getBackend() !== 'webgpu') return null;
  return (tf.backend() as WebGPUBackend).device;
}

const watchedDevices = new WeakSet<GPUDevice>();

/**
 * Watches the WebGPU device the backend trains on, once per device: `onLost` when it is lost (a
 * driver reset, the GPU removed, destroy()) — tfjs never recovers one — and `onOutOfMemory` when the
 * GPU refuses an allocation (WebGPU reports that as an uncaptured error; tfjs does not look).
 */
export function watchGpuDevice(onLost: (detail: string) => void, onOutOfMemory: (detail: string) => void): void {
  const device = gpuDevice();
  if (!device || watchedDevices.has(device)) return;
  watchedDevices.add(device);
  void device.lost.then((info) => onLost(`${info.reason === 'destroyed' ? 'the device was destroyed' : 'the driver gave no reason'}${info.message ? ` (${info.message})` : ''}`));
  device.addEventListener('uncapturederror', (event) => {
    const error = (event as GPUUncapturedErrorEvent).error;
    if (typeof GPUOutOfMemoryError !== 'undefined' && error instanceof GPUOutOfMemoryError) onOutOfMemory(error.message || 'the GPU is out of memory');
  });
}

/** Destroys the current WebGPU device (the diagnostics panel's fault); false on another backend. */
export function destroyGpuDevice(): boolean {
  const device = gpuDevice();
  device?.destroy();
  return device !== null;
}

/** The WebAssembly backend's memory can grow to its 32-bit address space, less one 64 KiB page (its builds' heap maximum). */
const WASM_MEMORY_LIMIT = 2 ** 32 - 2 ** 16;

/**
 * Most bytes the current backend can hold, where the browser tells: WebAssembly's address space, the
 * CPU backend's JavaScript heap (Chromium reports its limit); null for GPUs, whose memory pages cannot
 * see. The diagnostics panel's cap, where set, lowers it.
 */
export function backendMemoryLimit(): number | null {
  const name = tf.getBackend();
  const cap = memoryCap();
  const limit = name === 'wasm' ? WASM_MEMORY_LIMIT : name === 'cpu' ? ((performance as Performance & { memory?: { jsHeapSizeLimit?: number } }).memory?.jsHeapSizeLimit ?? null) : null;
  return limit === null ? cap : cap === null ? limit : Math.min(limit, cap);
}
