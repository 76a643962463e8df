/**
 * Counts what one step costs the device in calls, for the benchmark: tfjs kernels (ops, any
 * backend), GPU programs actually dispatched (WebGPU compute dispatches, WebGL draws; a kernel may
 * run several, a reshape none) and host→GPU uploads of CPU-side values (e.g. a JS number turned
 * into a scalar tensor). It wraps tfjs internals for the duration of `work` only; where an
 * internal is missing (another tfjs version) that count is null rather than wrong.
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

export async function countKernels<T>(work: () => Promise<T>): Promise<{ result: T; counts: KernelCounts }> {
  const engine = tf.engine() as unknown as Record<string, unknown>;
  const backend = tf.backend() as unknown as Record<string, unknown> & { tensorMap?: Map<unknown, CpuValues>; texData?: Map<unknown, CpuValues> };
  const counts: KernelCounts = { kernels: 0, gpuPrograms: null, uploads: null };
  const restores: ((() => void) | null)[] = [];
  restores.push(wrap(engine, 'runKernelFunc', ([params]) => {
    if ((params as { kernelName?: string }).kernelName != null) counts.kernels += 1;
  }));
  // WebGPU: recordAndSubmit, the one dispatch of each tfjs program and of each kernel that records its own pipelines (webgpu-conv-bn.ts).
  const programMethod = ['recordAndSubmit', 'runWebGPUProgram', 'runWebGLProgram'].find((name) => typeof backend[name] === 'function');
  if (programMethod) {
    counts.gpuPrograms = 0;
    restores.push(wrap(backend, programMethod, () => (counts.gpuPrograms = (counts.gpuPrograms ?? 0) + 1)));
    const tensorData = backend.tensorMap ?? backend.texData;
    if (tensorData && typeof backend.uploadToGPU === 'function') {
      counts.uploads = 0;
      restores.push(wrap(backend, 'uploadToGPU', ([dataId]) => {
        const entry = tensorData.get(dataId);
        if (entry && entry.values != null && entry.resource == null && entry.texture == null) counts.uploads = (counts.uploads ?? 0) + 1;
      }));
    }
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
