/**
 * Checks of custom kernels in the browser, where Node cannot run them (WebGPU). Each check computes
 * named float arrays (values, gradients, optimizer state) twice on the current backend: once with its
 * kernels registered, once for the reference, with them unregistered (the engine's composite runs, or
 * the stock kernel a replacement took the place of) or on tfjs's CPU backend. The headless page runs
 * them (job `kernel-check`, src/headless) and e2e/webgpu-kernels.spec.ts asserts every result.
 *
 * To add checks: write them in a file of your own exporting a KernelCheck[], and spread it into
 * KERNEL_CHECKS below.
 */
import * as tf from '@tensorflow/tfjs';
import { AUGMENT_CHECKS } from './webgpu-augment-checks';
import { CONV_BN_CHECKS } from './webgpu-conv-bn-checks';
import { METRICS_CHECKS } from './webgpu-metrics-checks';
import { UPDATE_CHECKS } from './webgpu-update-checks';
import { replacedWebGPUKernels } from './webgpu-kernels';

export interface KernelCheck {
  /** Unique: results and `only` filters name it. */
  name: string;
  /** Backends it runs on (where its kernels are registered). */
  backends: string[];
  /** The kernels under test: each must run in the checked run; none runs in a composite reference. */
  kernels: string[];
  /** 'composite' (default): the same backend with `kernels` unregistered or their stock kernels back; 'cpu': tfjs's CPU backend. */
  reference?: 'composite' | 'cpu';
  /** Largest difference allowed per output, relative to the reference output's largest magnitude (1 where that is 0). */
  tolerance: number;
  /** Computes the arrays to compare on the current backend, disposing every tensor it makes. */
  run(): Promise<Record<string, ArrayLike<number>>> | Record<string, ArrayLike<number>>;
}

export interface OutputDifference {
  label: string;
  size: number;
  maxAbs: number;
  /** maxAbs over the reference's largest magnitude (1 where that is 0): what `tolerance` bounds. */
  maxRel: number;
}

export interface KernelCheckResult {
  name: string;
  backend: string;
  tolerance: number;
  outputs: OutputDifference[];
  /** Largest maxRel of the outputs (Infinity where NaNs, sizes or labels disagree). */
  worst: number;
  /** Tensors still alive after the checked run and after the reference run. */
  leaked: number;
  referenceLeaked: number;
  /** Kernels under test that the checked run did not run, and fused ones (tfjs has no stock kernel of the name) that the composite reference did run. */
  missingKernels: string[];
  referenceRanKernels: string[];
  passed: boolean;
  error: string | null;
}

export const KERNEL_CHECKS: KernelCheck[] = [...UPDATE_CHECKS, ...CONV_BN_CHECKS, ...METRICS_CHECKS, ...AUGMENT_CHECKS];

/** Compares two arrays: NaN matches NaN at the same place, infinities match themselves; any other disagreement is infinite. */
export function difference(label: string, actual: ArrayLike<number> | undefined, expected: ArrayLike<number>): OutputDifference {
  if (!actual || actual.length !== expected.length) return { label, size: expected.length, maxAbs: Infinity, maxRel: Infinity };
  let scale = 0;
  let maxAbs = 0;
  for (let i = 0; i < expected.length; i++) {
    const [a, e] = [actual[i], expected[i]];
    if (Number.isFinite(e)) scale = Math.max(scale, Math.abs(e));
    if (Object.is(a, e) || a === e || (Number.isNaN(a) && Number.isNaN(e))) continue;
    maxAbs = Math.max(maxAbs, Number.isFinite(a) && Number.isFinite(e) ? Math.abs(a - e) : Infinity);
  }
  return { label, size: expected.length, maxAbs, maxRel: maxAbs / (scale > 0 ? scale : 1) };
}

/** Runs `fn` recording the names of the kernels it runs, and the tensors it leaves alive. */
async function observed(fn: () => Promise<Record<string, ArrayLike<number>>> | Record<string, ArrayLike<number>>): Promise<{ values: Record<string, ArrayLike<number>>; kernels: Set<string>; leaked: number }> {
  const engine = tf.engine() as unknown as { runKernel: (name: string, ...rest: unknown[]) => unknown };
  const original = engine.runKernel;
  const kernels = new Set<string>();
  engine.runKernel = function (this: unknown, name: string, ...rest: unknown[]) {
    kernels.add(name);
    return original.call(this, name, ...rest);
  };
  const before = tf.memory().numTensors;
  try {
    const values = await fn();
    return { values, kernels, leaked: tf.memory().numTensors - before };
  } finally {
    engine.runKernel = original;
  }
}

/** Runs `fn` with `names` unregistered on `backend`, or their stock kernels back where a replacement took their place. */
async function withoutKernels<T>(backend: string, names: string[], fn: () => Promise<T>): Promise<T> {
  const registered = names.map((name) => tf.getKernel(name, backend)).filter((config) => config !== undefined);
  const set = (name: string, config: tf.KernelConfig | null | undefined) => {
    if (tf.getKernel(name, backend)) tf.unregisterKernel(name, backend);
    if (config) tf.registerKernel(config);
  };
  names.forEach((name) => set(name, backend === 'webgpu' ? replacedWebGPUKernels.get(name) : null));
  try {
    return await fn();
  } finally {
    registered.forEach((config) => set(config.kernelName, config));
  }
}

async function runCheck(check: KernelCheck, backend: string): Promise<KernelCheckResult> {
  const result: KernelCheckResult = {
    name: check.name, backend, tolerance: check.tolerance, outputs: [], worst: Infinity, leaked: 0, referenceLeaked: 0, missingKernels: [], referenceRanKernels: [], passed: false, error: null,
  };
  try {
    const checked = await observed(() => check.run());
    let reference: Awaited<ReturnType<typeof observed>>;
    if (check.reference === 'cpu') {
      await tf.setBackend('cpu');
      try {
        reference = await observed(() => check.run());
      } finally {
        await tf.setBackend(backend);
      }
    } else {
      reference = await withoutKernels(backend, check.kernels, () => observed(() => check.run()));
      // A replacement's stock kernel runs in the reference under the same name: only fused kernels (no stock one) must not run there.
      const fused = check.kernels.filter((k) => !(backend === 'webgpu' && replacedWebGPUKernels.get(k)));
      result.referenceRanKernels = fused.filter((k) => reference.kernels.has(k));
    }
    result.outputs = Object.entries(reference.values).map(([label, expected]) => difference(label, checked.values[label], expected));
    const extra = Object.keys(checked.values).filter((label) => !(label in reference.values));
    result.outputs.push(...extra.map((label) => ({ label, size: checked.values[label].length, maxAbs: Infinity, maxRel: Infinity })));
    result.worst = result.outputs.reduce((worst, o) => Math.max(worst, o.maxRel), 0);
    result.leaked = checked.leaked;
    result.referenceLeaked = reference.leaked;
    result.missingKernels = check.kernels.filter((k) => !checked.kernels.has(k));
    result.passed = result.outputs.length > 0 && result.worst <= check.tolerance && result.leaked === 0 && result.referenceLeaked === 0
      && result.missingKernels.length === 0 && result.referenceRanKernels.length === 0;
  } catch (error) {
    result.error = error instanceof Error ? `${error.message}` : String(error);
  }
  return result;
}

/** Runs the checks for the current backend (those named in `only`, if given), one after another. */
export async function runKernelChecks(only?: string[]): Promise<KernelCheckResult[]> {
  const backend = tf.getBackend();
  const checks = KERNEL_CHECKS.filter((c) => c.backends.includes(backend) && (!only || only.includes(c.name)));
  const results: KernelCheckResult[] = [];
  for (const check of checks) results.push(await runCheck(check, backend));
  return results;
}
