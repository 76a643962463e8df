/**
 * The custom kernels of the tfjs WebGPU backend, registered once per process or worker where that
 * backend is set up (worker/backend.ts).
 */
import { registerWebGPUConvBatchNormKernels } from './webgpu-conv-bn';

export function registerWebGPUKernels(): void {
  registerWebGPUConvBatchNormKernels();
}
