/**
 * `npm run bench`: for each method and each backend the machine has, the bare engine's speed,
 * time split, kernel counts, memory and leaks (CPU in Node, WebGPU/WebGL in headless Chromium),
 * and for the browser backends the full app loop (real page, worker, charts) with its main-thread
 * long tasks. Writes a JSON report and prints a table; targets are checked here, never in tests.
 */
import { nodeBackend } from './node-backend';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import type { PresetName, TrainConfig } from '../engine/config';
import { getMethod, METHODS } from '../engine/methods/registry';
import { backbonePresetOf, type BackbonePreset } from '../engine/presets';
import type { StepPhaseTimes } from '../engine/trainer';
import { BACKEND_ORDER, type BackendName } from '../worker/backend-labels';
import type { AppLoopResult, AppLoopSetup, FirstStepResult } from './app-loop';
import { benchEngine, type EngineBenchResult, type KernelTime } from './bench-engine';
import { KCENTER_SIZES, type KCenterBenchJob, type KCenterBenchResult } from './kcenter-bench';
import { BENCH_USAGE, buildConfig, parseBenchArgs, parseCommandLine, type BenchModeName, type CliOutput } from './cli-args';
import { loadData } from './data-source';
import { measurePytorchStep, PYTORCH_METHODS, type PytorchMethod, type PytorchStepResult } from './pytorch-reference';

/**
 * The configurations: tiny enough for a 2-core CPU; the default setup as the app starts it (the
 * classroom preset, its encoder, size and batch: `encoder: null`); the two CPU-speed workloads; and
 * the CIFAR ResNet-18 with the reference heads.
 */
export const BENCH_MODES: Record<BenchModeName, { preset: PresetName; encoder: BackbonePreset | null; imageSize: number | null; batchSize: number | null; timedSteps: number; profiledSteps: number; appWarmSteps: number }> = {
  quick: { preset: 'classroom', encoder: 'convnet-tiny', imageSize: 16, batchSize: 16, timedSteps: 10, profiledSteps: 1, appWarmSteps: 2 },
  classroom: { preset: 'classroom', encoder: null, imageSize: null, batchSize: null, timedSteps: 10, profiledSteps: 2, appWarmSteps: 3 },
  resnet8: { preset: 'classroom', encoder: 'resnet-8', imageSize: 32, batchSize: 32, timedSteps: 10, profiledSteps: 2, appWarmSteps: 3 },
  full: { preset: 'reference', encoder: 'resnet-18', imageSize: 32, batchSize: 128, timedSteps: 30, profiledSteps: 5, appWarmSteps: 5 },
};

/** Long enough that schedules behave as in a real run and the app never finishes while measured. */
const BENCH_TOTAL_STEPS = 1000;
/** Steps whose kernels --kernel-times times one by one. */
const KERNEL_TIME_STEPS = 2;
/** Kinds of kernel listed per row by --kernel-times; the rest are summed. */
const KERNEL_TIME_ROWS = 12;
const QUICK_METHODS = ['byol', 'simclr'];

export interface BenchRow {
  method: string;
  backend: BackendName;
  engine: EngineBenchResult | null;
  engineError: string | null;
  app: AppLoopResult | null;
  appError: string | null;
}

/** PyTorch's time for a method's step on this CPU: the faster thread count is the reference. */
export interface PytorchReference {
  method: string;
  best: PytorchStepResult | null;
  runs: PytorchStepResult[];
  /** Why it was not measured (no torch here), or null. */
  skipped: string | null;
}

export interface BenchTargets {
  zeroLeaks: boolean | null;
  emaUnder2Percent: boolean | null;
  appLoopAtLeast90Percent: boolean | null;
  noTaskOver50Ms: boolean | null;
  metricsUnder10Percent: boolean | null;
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0];

function defaultMethods(mode: BenchModeName): string[] {
  if (mode === 'full') return METHODS.map((m) => m.id);
  const chosen = QUICK_METHODS.filter((id) => METHODS.some((m) => m.id === id));
  return chosen.length > 0 ? chosen : [METHODS[0].id];
}

export function checkTargets(row: BenchRow): BenchTargets {
  const engine = row.engine;
  return {
    zeroLeaks: engine ? engine.tensorsLeakedPerStep === 0 : null,
    emaUnder2Percent: engine ? engine.phases.afterStep / engine.msPerStep < 0.02 : null,
    appLoopAtLeast90Percent: engine && row.app ? row.app.imagesPerSecond / engine.imagesPerSecond >= 0.9 : null,
    noTaskOver50Ms: row.app ? row.app.longestTaskMs <= 50 : null,
    metricsUnder10Percent: engine ? engine.metricsShare < 0.1 : null,
  };
}

const PHASES: [keyof StepPhaseTimes, string][] = [
  ['augment', 'augment'],
  ['forward', 'fwd'],
  ['backward', 'bwd'],
  ['optimizer', 'optim'],
  ['afterStep', 'EMA'],
  ['metrics', 'metrics'],
];

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const fixed = (x: number | null | undefined, digits = 1) => (x === null || x === undefined ? '—' : x.toFixed(digits));
const mb = (bytes: number | null) => (bytes === null ? '—' : (bytes / 2 ** 20).toFixed(1));

/** The app's full step (metrics included) against PyTorch's on the same CPU, as the share of PyTorch's speed. */
export function formatPytorchTable(rows: BenchRow[], pytorch: PytorchReference[]): string {
  const lines = rows
    .filter((r) => r.engine)
    .flatMap((r) => {
      const reference = pytorch.find((p) => p.method === r.method);
      if (!reference?.best) return [];
      const e = r.engine as EngineBenchResult;
      const { best } = reference;
      return [[r.method, r.backend, fixed(e.msPerStep, 1), `${fixed(best.msPerStep, 1)} (${best.threads} thr)`, `${((100 * best.msPerStep) / e.msPerStep).toFixed(1)}%`, fixed(best.cpuMsPerStep, 0)]];
    });
  const skipped = pytorch.filter((p) => p.skipped).map((p) => `  ${p.method}: ${p.skipped}`);
  return [
    'Against PyTorch on this CPU: the same network, batch, optimizer and batched augmentation, timed in this run (PyTorch at 1 thread and at every core, the faster counts)',
    table(['method', 'backend', 'app ms/step', 'PyTorch ms/step', 'app speed / PyTorch', 'PyTorch CPU ms/step'], lines),
    ...(skipped.length > 0 ? ['PyTorch not measured:', ...skipped] : []),
  ].join('\n');
}

export function formatBenchTables(rows: BenchRow[]): string {
  const speed = rows.map((r) => {
    const e = r.engine;
    const ratio = e && r.app ? `${((100 * r.app.imagesPerSecond) / e.imagesPerSecond).toFixed(0)}%` : '—';
    return [
      r.method,
      r.backend,
      e ? fixed(e.stepsPerSecond, 3) : 'error',
      fixed(e?.imagesPerSecond),
      fixed(e?.msPerStep, 0),
      fixed(e ? e.warmUpMs / 1000 : null),
      e ? String(e.warmUpSteps) : '—',
      r.app ? fixed(r.app.imagesPerSecond) : r.appError ? 'error' : '—',
      ratio,
      r.app ? fixed(r.app.longestTaskMs, 0) : '—',
      r.app ? fixed(r.app.longestTaskCpuMs, 0) : '—',
    ];
  });
  const split = rows
    .filter((r) => r.engine)
    .map((r) => {
      const e = r.engine as EngineBenchResult;
      return [
        r.method,
        r.backend,
        ...PHASES.map(([key]) => `${fixed(e.phases[key], 0)} (${((100 * e.phases[key]) / e.profiledMsPerStep).toFixed(1)}%)`),
        fixed(e.syncMs, 1),
        `${((100 * e.phases.afterStep) / e.msPerStep).toFixed(1)}%`,
        fixed(e.evaluationMs, 0),
        String(e.evaluationIntervalSteps),
        `${(100 * e.metricsShare).toFixed(1)}%`,
      ];
    });
  const perPhase = rows
    .filter((r) => r.engine)
    .map((r) => {
      const e = r.engine as EngineBenchResult;
      return [r.method, r.backend, ...PHASES.map(([key]) => {
        const c = e.perPhase[key];
        return c.gpuPrograms === null ? String(c.kernels) : `${c.kernels} (${c.gpuPrograms}, ${c.uploads})`;
      })];
    });
  const device = rows
    .filter((r) => r.engine)
    .map((r) => {
      const e = r.engine as EngineBenchResult;
      return [r.method, r.backend, fixed(e.perStep.kernels, 0), fixed(e.perStep.gpuPrograms, 0), fixed(e.perStep.uploads, 0), String(e.tensors), mb(e.bytes), mb(e.gpuBytes), mb(e.gpuBytesAllocated), fixed(e.tensorsLeakedPerStep, 2), e.gpuBytesAllocatedGrowthPerStep === null ? '—' : mb(e.gpuBytesAllocatedGrowthPerStep)];
    });
  const verdict = (ok: boolean | null) => (ok === null ? '—' : ok ? 'yes' : 'NO');
  const targets = rows.map((r) => {
    const t = checkTargets(r);
    return [r.method, r.backend, verdict(t.zeroLeaks), verdict(t.emaUnder2Percent), verdict(t.appLoopAtLeast90Percent), verdict(t.noTaskOver50Ms), verdict(t.metricsUnder10Percent)];
  });
  const errors = rows.flatMap((r) => [
    ...(r.engineError ? [`${r.method} on ${r.backend}: ${r.engineError}`] : []),
    ...(r.appError ? [`${r.method} on ${r.backend} (app loop): ${r.appError}`] : []),
  ]);
  return [
    'Throughput after warm-up (bare engine: step() back to back, one read-back at the end; app: the real page and worker; warm-up s: kernel compilation; untimed steps: run before timing, for --warm-up seconds)',
    table(['method', 'backend', 'steps/s', 'img/s', 'ms/step', 'warm-up s', 'untimed steps', 'app img/s', 'app/bare', 'longest task ms', 'max task CPU ms'], speed),
    '',
    'Time split of a profiled step, ms (share of the profiled step), one sync per phase with its latency taken out; EMA/step: the EMA phase against a real step;',
    'eval: one evaluation with the default settings, every: steps between evaluations at the default cadence and time budget, metrics: their share of run time',
    table(['method', 'backend', ...PHASES.map(([, label]) => label), 'sync', 'EMA/step', 'eval ms', 'every', 'metrics'], split),
    '',
    'Per phase of a profiled step: tfjs kernels (GPU programs, uploads), each with its one-number read-back',
    table(['method', 'backend', ...PHASES.map(([, label]) => label)], perPhase),
    '',
    'Per step: tfjs kernels, GPU programs dispatched, host→GPU uploads; memory after the run; leaked tensors and GPU allocation growth per step',
    table(['method', 'backend', 'kernels', 'GPU progs', 'uploads', 'tensors', 'tensor MB', 'GPU MB', 'GPU MB alloc', 'leaked/step', 'alloc MB/step'], device),
    '',
    'Targets',
    table(['method', 'backend', 'no leaks', 'EMA < 2%', 'app ≥ 90%', 'tasks ≤ 50 ms', 'metrics < 10%'], targets),
    ...(errors.length > 0 ? ['', 'Not measured:', ...errors.map((e) => `  ${e}`)] : []),
  ].join('\n');
}

/** Where a step's time goes, per kind of kernel, for the rows that timed their kernels (--kernel-times). */
export function formatKernelTimes(rows: BenchRow[]): string | null {
  const timed = rows.filter((r) => r.engine?.kernelTimes);
  if (timed.length === 0) return null;
  const summed = (kernel: string, times: KernelTime[]): KernelTime => ({
    kernel,
    msPerStep: times.reduce((sum, t) => sum + t.msPerStep, 0),
    callsPerStep: times.reduce((sum, t) => sum + t.callsPerStep, 0),
  });
  const lines = timed.flatMap((r) => {
    const times = r.engine!.kernelTimes!;
    const rest = times.slice(KERNEL_TIME_ROWS);
    const all = summed('all kernels', times);
    return [...times.slice(0, KERNEL_TIME_ROWS), summed(`(${rest.length} other kinds)`, rest), all].map((t) => [
      r.method, r.backend, t.kernel, fixed(t.msPerStep, 1), fixed(t.callsPerStep, 0), `${fixed((100 * t.msPerStep) / all.msPerStep, 1)}%`,
    ]);
  });
  return [
    `Time per kind of kernel, ms per step (mean of ${KERNEL_TIME_STEPS} steps, each kernel timed on its own; real work on WebAssembly and CPU, launches only on a GPU backend)`,
    table(['method', 'backend', 'kernel', 'ms/step', 'calls/step', 'share'], lines),
  ].join('\n');
}

/** Active learning's selection on each browser backend, against the target of 5 s for 500 picks of 10,000. */
export function formatKCenter(results: (KCenterBenchResult | { backend: BackendName; error: string })[]): string {
  const lines = results.map((r) => ('error' in r ? `  ${r.backend}: not measured (${r.error})` : `  ${r.backend}: ${r.seconds.toFixed(2)} s (${r.picks} picks of ${r.pool}, ${r.centres} labelled, ${r.width} features; target ≤ 5 s: ${r.seconds <= 5 ? 'met' : 'NOT met'})`));
  return ['k-center greedy (core-set selection), in the headless page:', ...lines].join('\n');
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

export async function benchCli(argv: string[], io: CliOutput): Promise<number> {
  const args = parseCommandLine(argv, parseBenchArgs, BENCH_USAGE, io);
  if (typeof args === 'number') return args;
  const mode = BENCH_MODES[args.mode];
  const timedSteps = args.timedSteps ?? mode.timedSteps;
  const kernelTimeSteps = args.kernelTimes ? KERNEL_TIME_STEPS : 0;
  const methods = args.methods ?? defaultMethods(args.mode);
  const backends = args.backends ?? BACKEND_ORDER;
  const setupOf = (method: string): AppLoopSetup => {
    // What the mode leaves open comes from the method's preset, as the app starts it.
    const preset = getMethod(method).defaults(mode.preset);
    return {
      method,
      preset: mode.preset,
      encoder: mode.encoder ?? backbonePresetOf(preset.backbone) ?? 'convnet-tiny',
      imageSize: mode.imageSize ?? preset.imageSize,
      batchSize: args.batchSize ?? mode.batchSize ?? preset.batchSize,
      totalSteps: BENCH_TOTAL_STEPS,
    };
  };
  const shape = setupOf(methods[0]);
  const configOf = (method: string): TrainConfig => {
    const setup = setupOf(method);
    return buildConfig({ ...setup, steps: setup.totalSteps });
  };
  let data;
  try {
    data = loadData(args.data, shape.imageSize).data;
  } catch (error) {
    io.err(errorText(error));
    return 1;
  }
  io.err(`Benchmark (${args.mode}): ${methods.join(', ')} on ${backends.join(', ')}; ${shape.encoder}, ${shape.imageSize} px, batch ${shape.batchSize}; ${timedSteps} timed steps.`);

  const rows: BenchRow[] = [];
  const row = (method: string, backend: BackendName): BenchRow => {
    const r: BenchRow = { method, backend, engine: null, engineError: null, app: null, appError: null };
    rows.push(r);
    return r;
  };
  let chromiumVersion: string | null = null;
  const kCenter: (KCenterBenchResult | { backend: BackendName; error: string })[] = [];
  const kCenterJob: KCenterBenchJob = { ...KCENTER_SIZES, width: configOf(methods[0]).backbone.widths.at(-1) ?? 0 };

  for (const backend of backends) {
    if (backend === 'cpu') {
      for (const method of methods) {
        const r = row(method, 'cpu');
        io.err(`  ${method} on cpu (Node)…`);
        try {
          r.engine = await benchEngine({ config: configOf(method), timedSteps, profiledSteps: Math.min(mode.profiledSteps, timedSteps), kernelTimeSteps, warmUpSeconds: args.warmUpSeconds }, data, await nodeBackend('cpu'));
        } catch (error) {
          r.engineError = errorText(error);
        }
      }
      continue;
    }
    const { openHeadlessSession } = await import('./chromium');
    const { measureAppLoop } = await import('./app-loop');
    let session;
    try {
      session = await openHeadlessSession(data, io.err);
    } catch (error) {
      for (const method of methods) row(method, backend).engineError = errorText(error);
      continue;
    }
    chromiumVersion = session.browser.version();
    try {
      for (const method of methods) {
        const r = row(method, backend);
        io.err(`  ${method} on ${backend} (headless Chromium)…`);
        try {
          await session.run({ kind: 'bench', bench: { config: configOf(method), timedSteps, profiledSteps: Math.min(mode.profiledSteps, timedSteps), kernelTimeSteps, warmUpSeconds: args.warmUpSeconds }, backend, dataset: session.manifest }, (message) => {
            if (message.type === 'bench') r.engine = message.result;
          });
        } catch (error) {
          r.engineError = errorText(error).replace(/^page\.evaluate: (Error: )?/, '');
          continue;
        }
        if (!args.appLoop) continue;
        io.err(`  ${method} on ${backend}, in the app…`);
        try {
          r.app = await measureAppLoop(session.browser, session.server.origin, backend, setupOf(method), {
            warmSteps: mode.appWarmSteps,
            warmUpSeconds: args.warmUpSeconds,
            measureSteps: timedSteps,
            timeoutMs: 10 * 60_000,
          });
        } catch (error) {
          r.appError = errorText(error);
        }
      }
      if (args.kCenter) {
        io.err(`  k-center greedy on ${backend}, ${kCenterJob.picks} of ${kCenterJob.pool} (${kCenterJob.centres} labelled), ${kCenterJob.width} features…`);
        try {
          await session.run({ kind: 'kcenter', kcenter: kCenterJob, config: configOf(methods[0]), backend, dataset: session.manifest }, (message) => {
            if (message.type === 'kcenter') kCenter.push({ ...message.result, backend });
          });
        } catch (error) {
          kCenter.push({ backend, error: errorText(error).replace(/^page\.evaluate: (Error: )?/, '') });
        }
      }
    } finally {
      await session.close();
    }
  }

  // The same step in PyTorch on the same cores, at 1 thread and at every core (on a small VM one
  // thread is often faster: its wake-ups cost more than the work they share); the faster is the reference.
  const pytorch: PytorchReference[] = [];
  if (args.pytorch) {
    for (const method of methods.filter((m): m is PytorchMethod => (PYTORCH_METHODS as readonly string[]).includes(m))) {
      const runs: PytorchStepResult[] = [];
      for (const threads of [...new Set([1, cpus().length])]) {
        io.err(`  ${method} in PyTorch, ${threads} thread${threads === 1 ? '' : 's'}…`);
        try {
          const result = await measurePytorchStep(configOf(method), { method, steps: Math.max(timedSteps, 10), warmupSteps: 3, threads });
          if ('skipped' in result) {
            pytorch.push({ method, best: null, runs: [], skipped: result.skipped });
            break;
          }
          runs.push(result);
        } catch (error) {
          io.err(`    failed: ${errorText(error)}`);
        }
      }
      if (runs.length > 0) pytorch.push({ method, best: runs.reduce((a, b) => (b.msPerStep < a.msPerStep ? b : a)), runs, skipped: null });
    }
  }

  // Pressing Train on the app's default setup in a fresh page: the backend is measured, then step 1 shows.
  let firstStep: FirstStepResult | null = null;
  let firstStepError: string | null = null;
  if (args.appLoop && backends.some((b) => b !== 'cpu')) {
    io.err('  Train pressed → step 1, default setup, fresh page…');
    try {
      const { openHeadlessSession } = await import('./chromium');
      const { measureFirstStep } = await import('./app-loop');
      const session = await openHeadlessSession(data, io.err);
      try {
        firstStep = await measureFirstStep(session.browser, session.server.origin, 5 * 60_000);
      } finally {
        await session.close();
      }
    } catch (error) {
      firstStepError = errorText(error);
    }
  }

  const report = {
    date: new Date().toISOString(),
    mode: args.mode,
    commit: gitCommit(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? null, node: process.version, chromium: chromiumVersion },
    configuration: { ...mode, timedSteps, totalSteps: BENCH_TOTAL_STEPS, data: args.data },
    rows: rows.map((r) => ({ ...r, targets: checkTargets(r) })),
    pytorch,
    firstStep: firstStep ?? { error: firstStepError },
    kCenter,
  };
  const outDir = resolve(args.out);
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `bench-${report.mode}-${report.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  io.out(formatBenchTables(rows));
  const kernelTimes = formatKernelTimes(rows);
  if (kernelTimes) io.out(`\n${kernelTimes}`);
  if (pytorch.length > 0) io.out(`\n${formatPytorchTable(rows, pytorch)}`);
  if (firstStep) io.out(`\nTrain pressed → step 1 on screen (default setup, fresh page, target ≤ 3 s): ${(firstStep.milliseconds / 1000).toFixed(2)} s; ${firstStep.backendChoice}`);
  else if (firstStepError) io.out(`\nTrain pressed → step 1: not measured (${firstStepError})`);
  if (kCenter.length > 0) io.out(`\n${formatKCenter(kCenter)}`);
  io.out(`\nReport: ${file}`);
  return rows.some((r) => r.engine) ? 0 : 1;
}
