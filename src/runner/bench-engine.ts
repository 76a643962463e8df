/**
 * The benchmark's measurements of the bare engine, on whatever backend tfjs is running: no worker
 * messages, no charts, just a `RunSession` of one run stepping back to back with one read-back at the
 * end. Pure TS over the engine, so Node (CPU) and the headless page's worker (WebGPU, WebGL) measure
 * the same way.
 *
 * Method: kernels are compiled first on a throwaway run (the session's warm-up); the measured run's
 * first step is untimed; throughput is then timed over `timedSteps` steps ended by one read-back, with
 * kernels, GPU programs and uploads counted on the way. Tensors leaked per step is the change in
 * live tensors across those steps. The time split comes from `profiledSteps` separate profiled steps with a
 * device sync after each phase, the sync's own latency taken out (see Trainer.profileStep).
 * The cost of metrics at the app's default cadence adds the per-step metrics phase to one timed
 * evaluation (kNN, probe, RankMe, projection; after an untimed one that compiles its kernels),
 * spread over the interval the app's evaluation rule (evaluationDue) would leave between two.
 */
import * as tf from '@tensorflow/tfjs';
import type { TrainConfig } from '../engine/config';
import type { DatasetSplits } from '../engine/dataset';
import { DEFAULT_EVALUATION } from '../engine/evaluation';
import { RunSession } from '../engine/run-session';
import type { StepRecord, StepPhaseTimes } from '../engine/trainer';
import type { BackendInfo, BackendName } from '../worker/backend-labels';
import { countKernels, type KernelCounts } from './kernel-counter';

/** Untimed steps at most, however short they are (a run must not end before it is measured). */
const MAX_WARM_UP_STEPS = 200;

export interface EngineBenchJob {
  config: TrainConfig;
  timedSteps: number;
  profiledSteps: number;
  /** Steps whose kernels are timed one by one (tf.profile), after the profiled ones; 0 for none. */
  kernelTimeSteps?: number;
  /**
   * Untimed steps before the timed ones, for at least this long (at least one step): V8 runs
   * WebAssembly first as quickly compiled code and tiers the busy functions up while it runs, so the
   * first tens of steps on that backend are slower than the rest of a run.
   */
  warmUpSeconds?: number;
}

/** Wall time a kind of kernel took per step, on a backend whose kernels run synchronously (CPU, WebAssembly). */
export interface KernelTime {
  kernel: string;
  msPerStep: number;
  callsPerStep: number;
}

export interface EngineBenchResult {
  backend: BackendName;
  adapter: string | null;
  /** Compiling kernels on the throwaway warm-up step (0 on the CPU backend). */
  warmUpMs: number;
  /** Untimed steps of the measured run before the timed ones (warmUpSeconds). */
  warmUpSteps: number;
  timedSteps: number;
  msPerStep: number;
  stepsPerSecond: number;
  imagesPerSecond: number;
  /** Mean milliseconds per phase over the profiled steps. */
  phases: StepPhaseTimes;
  /** Fixed cost of one device sync, measured and taken out of every phase. */
  syncMs: number;
  /** Sum of the phases (syncs taken out): close to a real step, plus the extra forward pass. */
  profiledMsPerStep: number;
  /** Per step, averaged over the timed steps (their read-back included). */
  perStep: KernelCounts;
  /** Per phase of a profiled step, each with its one-number read-back; backward without its forward. */
  perPhase: Record<keyof StepPhaseTimes, KernelCounts>;
  tensorsLeakedPerStep: number;
  /** One evaluation with the default settings (bank and held-out sizes as in the app). */
  evaluationMs: number;
  /** Images in that evaluation's bank and held-out sample. */
  evaluationSample: { bank: number; heldOut: number };
  /** Steps between two evaluations under the default cadence and time budget. */
  evaluationIntervalSteps: number;
  /** Share of run time spent on metrics at the default cadence: per-step metrics plus evaluations. */
  metricsShare: number;
  /** Growth of the GPU memory the backend holds (in use plus its reuse pool) per timed step: 0 when buffers are reused. */
  gpuBytesAllocatedGrowthPerStep: number | null;
  /** Live tensors and their bytes after the measurements (weights, optimizer state, data). */
  tensors: number;
  bytes: number;
  /** Bytes in GPU buffers/textures in use, and allocated including the backend's reuse pool. */
  gpuBytes: number | null;
  gpuBytesAllocated: number | null;
  /** Per kernel name, slowest first, when kernelTimeSteps asked for them. */
  kernelTimes: KernelTime[] | null;
}

function divideCounts(c: KernelCounts, n: number): KernelCounts {
  const per = (x: number | null) => (x === null ? null : x / n);
  return { kernels: c.kernels / n, gpuPrograms: per(c.gpuPrograms), uploads: per(c.uploads) };
}

function subtractCounts(a: KernelCounts, b: KernelCounts): KernelCounts {
  const minus = (x: number | null, y: number | null) => (x === null || y === null ? null : x - y);
  return { kernels: a.kernels - b.kernels, gpuPrograms: minus(a.gpuPrograms, b.gpuPrograms), uploads: minus(a.uploads, b.uploads) };
}

function gpuMemory(): { gpuBytes: number | null; gpuBytesAllocated: number | null } {
  const memory = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number; numBytesAllocatedInGPU?: number; numBytesInGPUAllocated?: number };
  return {
    gpuBytes: memory.numBytesInGPU ?? null,
    gpuBytesAllocated: memory.numBytesAllocatedInGPU ?? memory.numBytesInGPUAllocated ?? null,
  };
}

export async function benchEngine(job: EngineBenchJob, data: DatasetSplits, backend: BackendInfo): Promise<EngineBenchResult> {
  const { config, timedSteps, profiledSteps } = job;
  let records: StepRecord[] = [];
  // Never evaluates on its own (the interval is longer than the run); one evaluation is timed below.
  const evaluation = { ...DEFAULT_EVALUATION, everySteps: 0 };
  const session = new RunSession([{ id: 'bench', name: config.method, config: { ...config, totalSteps: Math.max(config.totalSteps, MAX_WARM_UP_STEPS + timedSteps + profiledSteps + (job.kernelTimeSteps ?? 0) + 3) } }], data, { evaluation, reportEverySteps: Number.MAX_SAFE_INTEGER }, {
    report: (report) => (records = report.runs[0].records),
    evaluation: () => undefined,
  });
  const { trainer } = session.run();
  try {
    const warmUpMs = await session.warmUp();
    // Untimed steps, then the timed ones (kernels counted on the way: a counter increment per kernel).
    const warmUpStart = performance.now();
    let warmUpSteps = 0;
    do await session.train(++warmUpSteps);
    while (warmUpSteps < MAX_WARM_UP_STEPS && performance.now() - warmUpStart < (job.warmUpSeconds ?? 0) * 1000);
    const tensorsBefore = tf.memory().numTensors;
    const allocatedBefore = gpuMemory().gpuBytesAllocated;
    const start = performance.now();
    const { counts } = await countKernels(() => session.train(warmUpSteps + timedSteps));
    const elapsed = performance.now() - start;
    const tensorsLeakedPerStep = (tf.memory().numTensors - tensorsBefore) / timedSteps;
    const allocatedAfter = gpuMemory().gpuBytesAllocated;
    const { problem } = session.run();
    if (problem) throw new Error(`${problem} The measurement would not be of a working run.`);
    if (records.length !== timedSteps) throw new Error(`Expected ${timedSteps} timed steps, read back ${records.length}.`);

    const phases: StepPhaseTimes = { augment: 0, forward: 0, backward: 0, optimizer: 0, afterStep: 0, metrics: 0 };
    const phaseCounts = {} as Record<keyof StepPhaseTimes, KernelCounts>;
    let syncMs = 0;
    // The phases' separate kernels (e.g. their read-backs) compile on the first profiled step: untimed.
    await trainer.profileStep();
    for (let i = 0; i < profiledSteps; i++) {
      const profile = await trainer.profileStep(async (phase, run) => {
        const { counts: ofPhase } = await countKernels(run);
        phaseCounts[phase] = ofPhase;
      });
      for (const key of Object.keys(phases) as (keyof StepPhaseTimes)[]) phases[key] += profile.phases[key] / profiledSteps;
      syncMs += profile.syncMs / profiledSteps;
    }
    await trainer.flush();
    phaseCounts.backward = subtractCounts(phaseCounts.backward, phaseCounts.forward);
    const kernelTimes = job.kernelTimeSteps ? await timeKernels(job.kernelTimeSteps, async () => {
          trainer.step();
          await trainer.flush();
        }) : null;

    // The first evaluation compiles its kernels; the second is timed.
    await session.evaluate();
    const { result } = await session.evaluate();
    const msPerStep = elapsed / timedSteps;
    const cost = metricsCost(msPerStep, phases.metrics, result.milliseconds);

    const memory = tf.memory();
    return {
      backend: backend.name,
      adapter: backend.adapter,
      warmUpMs,
      warmUpSteps,
      timedSteps,
      msPerStep,
      stepsPerSecond: (timedSteps * 1000) / elapsed,
      imagesPerSecond: (timedSteps * config.batchSize * 1000) / elapsed,
      phases,
      syncMs,
      profiledMsPerStep: Object.values(phases).reduce((a, b) => a + b, 0),
      perStep: divideCounts(counts, timedSteps),
      perPhase: phaseCounts,
      tensorsLeakedPerStep,
      evaluationMs: result.milliseconds,
      evaluationSample: { bank: result.bankSize, heldOut: result.heldOutSize },
      evaluationIntervalSteps: cost.intervalSteps,
      metricsShare: cost.share,
      gpuBytesAllocatedGrowthPerStep: allocatedBefore === null || allocatedAfter === null ? null : (allocatedAfter - allocatedBefore) / timedSteps,
      tensors: memory.numTensors,
      bytes: memory.numBytes,
      ...gpuMemory(),
      kernelTimes,
    };
  } finally {
    await session.dispose();
  }
}

/**
 * Each kernel's wall time summed by name over `steps` steps (tf.profile). Meaningful where kernels run
 * synchronously (CPU, WebAssembly); on a GPU backend it times the launches, not the work.
 */
async function timeKernels(steps: number, step: () => Promise<unknown>): Promise<KernelTime[]> {
  const totals = new Map<string, { ms: number; calls: number }>();
  for (let i = 0; i < steps; i++) {
    const info = await tf.profile(async () => {
      await step();
    });
    for (const k of info.kernels) {
      const total = totals.get(k.name) ?? { ms: 0, calls: 0 };
      total.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      total.calls++;
      totals.set(k.name, total);
    }
  }
  return [...totals]
    .map(([kernel, t]) => ({ kernel, msPerStep: t.ms / steps, callsPerStep: t.calls / steps }))
    .sort((a, b) => b.msPerStep - a.msPerStep);
}

/**
 * Metrics' share of run time at the default cadence: an evaluation every `everySteps` steps, or later
 * when the time budget asks for more training time in between (see evaluationDue); every step also
 * pays its metrics phase (loss terms, feature std, view geometry).
 */
export function metricsCost(msPerStep: number, metricsPhaseMs: number, evaluationMs: number): { intervalSteps: number; share: number } {
  const { everySteps, maxTimeShare } = DEFAULT_EVALUATION;
  const budgetSteps = maxTimeShare >= 1 ? 0 : Math.ceil((evaluationMs * (1 - maxTimeShare)) / maxTimeShare / msPerStep);
  const intervalSteps = Math.max(everySteps, budgetSteps);
  const trainingMs = intervalSteps * msPerStep;
  return { intervalSteps, share: (intervalSteps * metricsPhaseMs + evaluationMs) / (trainingMs + evaluationMs) };
}
