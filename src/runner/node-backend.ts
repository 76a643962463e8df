/**
 * The CPU backends in Node, for the runner and the benchmark: tfjs's CPU backend (with the engine's
 * faster kernels) or WebAssembly (XNNPACK, SIMD, the engine's training kernels; one thread in Node).
 */
import * as tf from '@tensorflow/tfjs';
import './relaxed-simd';
import '../kernels/wasm-kernels';
import type { BackendInfo } from '../worker/backend-labels';

export async function nodeBackend(name: 'cpu' | 'wasm'): Promise<BackendInfo> {
  if (!(await tf.setBackend(name))) throw new Error(`The ${name} backend failed to start in Node.`);
  await tf.ready();
  return { name, adapter: null, choice: 'requested', measurements: [], fallbackReasons: [] };
}
