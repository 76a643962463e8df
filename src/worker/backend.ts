/**
 * Picks the fastest tfjs backend the browser offers — WebGPU, then WebGL, then CPU — and says why
 * each faster one was passed over, so the UI can name the fallback instead of silently being slow.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';

import { BACKEND_ORDER, backendLabel, type BackendInfo, type BackendName } from './backend-labels';

async function webgpuAdapter(): Promise<{ adapter: string | null; problem: string | null }> {
  const gpu = (globalThis.navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) return { adapter: null, problem: 'this browser exposes no navigator.gpu' };
  const adapter = await gpu.requestAdapter();
  if (!adapter) return { adapter: null, problem: 'no adapter' };
  const info = adapter.info;
  const description = [info?.vendor, info?.architecture, info?.description].filter(Boolean).join(' ');
  return { adapter: description || 'unknown adapter', problem: null };
}

/** Tries the backends in order, starting at `first`, and returns the one that initialised. */
export async function selectBackend(first: BackendName = 'webgpu'): Promise<BackendInfo> {
  const fallbackReasons: string[] = [];
  for (const name of BACKEND_ORDER.slice(BACKEND_ORDER.indexOf(first))) {
    let adapter: string | null = null;
    try {
      if (name === 'webgpu') {
        const probe = await webgpuAdapter();
        if (probe.problem) {
          fallbackReasons.push(`WebGPU unavailable: ${probe.problem}`);
          continue;
        }
        adapter = probe.adapter;
      }
      if (await tf.setBackend(name)) {
        await tf.ready();
        return { name, adapter, fallbackReasons };
      }
      fallbackReasons.push(`${backendLabel(name)} unavailable: the backend failed to initialise`);
    } catch (error) {
      fallbackReasons.push(`${backendLabel(name)} unavailable: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  throw new Error(`No tfjs backend could start: ${fallbackReasons.join('; ')}`);
}
