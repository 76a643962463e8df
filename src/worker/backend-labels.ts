/** Backend names, how the UI shows them and how a choice is described; no tfjs import, so the page can use it. */
import type { TrainConfig } from '../engine/config';

export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';

/** Every backend the app has, GPU first. */
export const BACKEND_ORDER: BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

const LABELS: Record<BackendName, string> = { webgpu: 'WebGPU', webgl: 'WebGL', wasm: 'WebAssembly', cpu: 'CPU' };

export function backendLabel(name: BackendName): string {
  return LABELS[name];
}

/** One backend as the worker found it: its speed on the run's configuration, or why it was not measured. */
export interface BackendMeasurement {
  name: BackendName;
  adapter: string | null;
  /** Milliseconds per training step of the configuration being started; null when not measured. */
  msPerStep: number | null;
  /** Why it was not measured or cannot be used; null when measured. */
  note: string | null;
}

export interface BackendInfo {
  name: BackendName;
  /** GPU adapter description where the backend reports one. */
  adapter: string | null;
  /**
   * How this backend came to be used: 'measured' (fastest of those timed on this run's configuration),
   * 'remembered' (measured on an earlier start of the same configuration on this device), 'requested'
   * (the user or the address asked for it), 'only' (the one candidate left after the passed-over ones,
   * not timed), 'default' (before any run: the CPU path, for previews).
   */
  choice: 'measured' | 'remembered' | 'requested' | 'only' | 'default';
  /** What was measured or passed over for this choice (empty before a run). */
  measurements: BackendMeasurement[];
  /** One line per backend that could not be used, e.g. "WebGPU unavailable: no adapter". */
  fallbackReasons: string[];
}

/** How a start asks for its backend: a fixed one, or the fastest (with the choice remembered for this configuration, if any). */
export type BackendRequest = { kind: 'use'; name: BackendName } | { kind: 'fastest'; remembered: BackendName | null };

/** Adapters that emulate a GPU on the CPU (Chromium's SwiftShader, Mesa's llvmpipe, Windows' WARP). */
const SOFTWARE_ADAPTER = /swiftshader|llvmpipe|softpipe|software|basic render|warp/i;

export function isEmulatedAdapter(adapter: string | null): boolean {
  return SOFTWARE_ADAPTER.test(adapter ?? '');
}

/**
 * True where every step is slow but for the smallest setups: tfjs's plain CPU kernels, or a GPU emulated
 * on the CPU. The WebAssembly path also runs on the CPU, but at a speed the default setup is made for.
 */
export function isSlowBackend(info: Pick<BackendInfo, 'name' | 'adapter'>): boolean {
  return info.name === 'cpu' || (info.name !== 'wasm' && isEmulatedAdapter(info.adapter));
}

/** The backend a page address asks for (`?backend=webgpu|webgl|wasm|cpu`). */
export function requestedBackend(search: string): BackendName | undefined {
  const requested = new URLSearchParams(search).get('backend');
  return BACKEND_ORDER.find((name) => name === requested);
}

function seconds(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s/step` : `${Math.round(ms)} ms/step`;
}

/** "WebGPU (SwiftShader): emulated, not measured · WebAssembly 90 ms/step → WebAssembly" */
export function describeChoice(info: BackendInfo): string {
  const parts = info.measurements.map((m) => {
    const name = m.adapter && (m.name === 'webgpu' || m.name === 'wasm') ? `${backendLabel(m.name)} (${m.adapter})` : backendLabel(m.name);
    return m.msPerStep !== null ? `${name} ${seconds(m.msPerStep)}` : `${name}: ${m.note}`;
  });
  const reason = { measured: '', remembered: ' (measured before on this device)', requested: ' (as asked)', only: '', default: '' }[info.choice];
  return `${parts.join(' · ')}${parts.length > 0 ? ' → ' : ''}${backendLabel(info.name)}${reason}`;
}

/**
 * What a measured choice is remembered under: the backends this device offers (with their adapters)
 * and what sets a step's cost (method, encoder, heads, image and batch size).
 */
export function choiceKey(available: readonly Pick<BackendMeasurement, 'name' | 'adapter'>[], config: TrainConfig): string {
  const { method, backbone, projector, predictor, imageSize, batchSize } = config;
  return JSON.stringify({ devices: available.map((b) => [b.name, b.adapter]), method, backbone, projector, predictor, imageSize, batchSize });
}
