/**
 * Counts what one step costs the device in calls, for the benchmark: tfjs kernels (ops, any
 * backend), GPU programs actually dispatched and host→GPU uploads of CPU-side values (e.g. a JS
 * number turned into a scalar tensor). It wraps internals for the duration of `work` only; where an
 * internal is missing (another tfjs version, a browser without WebGPU) that count is null rather than
 * wrong.
 *
 * GPU programs: on WebGPU every compute dispatch recorded on any pass (GPUComputePassEncoder's
 * dispatchWorkgroups, also the ones of kernels that record their own pipelines rather than going
 * through tfjs's runWebGPUProgram; a kernel may dispatch several, a reshape none); on WebGL every
 * program run (runWebGLProgram, one draw each). Uploads: tensors whose values were on the CPU and
 * were copied into a GPU buffer or texture (the backend's uploadToGPU with CPU values). The uniform
 * block every dispatch carries (shapes, scalar attributes), written by the queue, is not an upload.
 */
import * as tf from '@tensorflow/tfjs';

export interface KernelCounts {
  kernels: number;
  gpuPrograms: number | null;
  uploads: number | null;
}

type Method = (...args: never[]) => unknown;

/** Replaces `target[name]` with a counting wrapper; returns the restore function, or null if absent. */
function wrap(target: Record<string, unknown>, name: string, count: (args: unknown[]) => void): (() => void) | null {
  const original = target[name];
  if (typeof original !== 'function') return null;
  const own = Object.prototype.hasOwnProperty.call(target, name);
  target[name] = function (this: unknown, ...args: unknown[]) {
    count(args);
    return (original as Method).apply(this, args as never[]);
  };
  return () => {
    if (own) target[name] = original;
    else delete target[name];
  };
}

/** The compute pass encoder's prototype, where this context has WebGPU. */
function computePassPrototype(): Record<string, unknown> | null {
  const encoder = (globalThis as unknown as { GPUComputePassEncoder?: { prototype: Record<string, unknown> } }).GPUComputePassEncoder;
  return encoder?.prototype ?? null;
}

export async function countKernels<T>(work: () => Promise<T>): Promise<{ result: T; counts: KernelCounts }> {
  const engine = tf.engine() as unknown as Record<string, unknown>;
  const backend = tf.backend() as unknown as Record<string, unknown> & { tensorMap?: Map<unknown, CpuValues>; texData?: Map<unknown, CpuValues> };
  const counts: KernelCounts = { kernels: 0, gpuPrograms: null, uploads: null };
  const restores: ((() => void) | null)[] = [];
  const countProgram = () => (counts.gpuPrograms = (counts.gpuPrograms ?? 0) + 1);
  restores.push(wrap(engine, 'runKernelFunc', ([params]) => {
    if ((params as { kernelName?: string }).kernelName != null) counts.kernels += 1;
  }));
  const passes = computePassPrototype();
  const isWebGPU = typeof backend.runWebGPUProgram === 'function';
  const isWebGL = typeof backend.runWebGLProgram === 'function';
  if (isWebGPU && passes) {
    counts.gpuPrograms = 0;
    restores.push(wrap(passes, 'dispatchWorkgroups', countProgram), wrap(passes, 'dispatchWorkgroupsIndirect', countProgram));
  } else if (isWebGL) {
    counts.gpuPrograms = 0;
    restores.push(wrap(backend, 'runWebGLProgram', countProgram));
  }
  const tensorData = backend.tensorMap ?? backend.texData;
  if ((isWebGPU || isWebGL) && tensorData && typeof backend.uploadToGPU === 'function') {
    counts.uploads = 0;
    restores.push(wrap(backend, 'uploadToGPU', ([dataId]) => {
      const entry = tensorData.get(dataId);
      if (entry && entry.values != null && entry.resource == null && entry.texture == null) counts.uploads = (counts.uploads ?? 0) + 1;
    }));
  }
  try {
    return { result: await work(), counts };
  } finally {
    restores.reverse().forEach((restore) => restore?.());
  }
}

interface CpuValues {
  values?: unknown;
  resource?: unknown;
  texture?: unknown;
}
