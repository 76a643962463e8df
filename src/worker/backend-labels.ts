/** Backend names and how the UI shows them; no tfjs import, so the page can use it. */
export type BackendName = 'webgpu' | 'webgl' | 'cpu';

export interface BackendInfo {
  name: BackendName;
  /** GPU adapter description where the backend reports one. */
  adapter: string | null;
  /** One line per faster backend that could not be used, e.g. "WebGPU unavailable: no adapter". */
  fallbackReasons: string[];
}

export const BACKEND_ORDER: BackendName[] = ['webgpu', 'webgl', 'cpu'];

const LABELS: Record<BackendName, string> = { webgpu: 'WebGPU', webgl: 'WebGL', cpu: 'CPU' };

export function backendLabel(name: BackendName): string {
  return LABELS[name];
}

/** Adapters that emulate a GPU on the CPU (Chromium's SwiftShader, Mesa's llvmpipe, Windows' WARP). */
const SOFTWARE_ADAPTER = /swiftshader|llvmpipe|softpipe|software|basic render|warp/i;

/** True when training runs on the CPU, directly or through an emulated GPU, so large setups are slow. */
export function runsOnCpu(info: BackendInfo): boolean {
  return info.name === 'cpu' || SOFTWARE_ADAPTER.test(info.adapter ?? '');
}

/** The backend a page address asks for (`?backend=webgl|cpu|webgpu`), to skip the faster ones. */
export function requestedBackend(search: string): BackendName | undefined {
  const requested = new URLSearchParams(search).get('backend');
  return BACKEND_ORDER.find((name) => name === requested);
}
