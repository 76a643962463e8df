/**
 * Training kernels for tfjs's WebGPU backend: what a step would otherwise run as chains of small
 * dispatches. Each file registered here names its kernels; kernel-checks.ts checks them in the browser
 * (Node has no WebGPU) against the composites or the stock kernels they replace.
 */
import * as tf from '@tensorflow/tfjs';
import { WEBGPU_AUGMENT_KERNELS } from './webgpu-augment';
import { WEBGPU_CONV_BN_KERNELS } from './webgpu-conv-bn';
import { WEBGPU_METRICS_KERNELS } from './webgpu-metrics';
import { WEBGPU_UPDATE_KERNELS } from './webgpu-updates';

type KernelFunc = tf.KernelConfig['kernelFunc'];

/** The stock kernels replaced here by name, null for the fused ones tfjs lacks (the checks run them to compare). */
export const replacedWebGPUKernels = new Map<string, tf.KernelConfig | null>();

function install(kernels: Record<string, KernelFunc>): void {
  for (const [name, kernelFunc] of Object.entries(kernels)) {
    const stock = tf.getKernel(name, 'webgpu') ?? null;
    replacedWebGPUKernels.set(name, stock);
    if (stock) tf.unregisterKernel(name, 'webgpu');
    tf.registerKernel({ kernelName: name, backendName: 'webgpu', setupFunc: stock?.setupFunc, kernelFunc });
  }
}

/** Registers the kernels for 'webgpu', once per process or worker (kernels are global). */
export function registerWebGPUKernels(): void {
  if (replacedWebGPUKernels.size > 0) return;
  install(WEBGPU_UPDATE_KERNELS);
  install(WEBGPU_CONV_BN_KERNELS);
  install(WEBGPU_METRICS_KERNELS);
  install(WEBGPU_AUGMENT_KERNELS);
}
