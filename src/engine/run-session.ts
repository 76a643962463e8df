/**
 * The one run driver. Every place that trains — the app's Train tab, Compare, the headless runner
 * and the benchmark — drives its runs through a `RunSession`: a single run is a session of one.
 *
 * A session owns one copy of the training images on the device, one evaluation sample, and a
 * `Trainer` and an `Evaluator` per run. It steps the runs round-robin (one step each in turn, so
 * they progress together and a run trains exactly as it would alone), reads their numbers back in
 * batches on one report cadence, applies one divergence rule, schedules evaluations by one rule
 * (evaluation-settings.ts) and keeps the active clock that pauses do not advance.
 *
 * Speed: a session of one run takes the wall time between reports; with several runs, one step in
 * `timeEvery` of each run is timed alone (the device drained first, the step read back after), so
 * each run's images per second is its own, whatever the others cost.
 */
import type { LiveSettings, TrainConfig } from './config';
import { DeviceImages, type DatasetSplits } from './dataset';
import { evaluationDue, type EvaluationSettings } from './evaluation-settings';
import { EvaluationSample, Evaluator, knnProblem, type EvaluationResult } from './evaluation';
import type { Checkpoint } from './checkpoint-format';
import { Trainer, type LabelledImages, type StepRecord } from './trainer';
import * as tf from '@tensorflow/tfjs';

export interface RunSpec {
  readonly id: string;
  readonly name: string;
  readonly config: TrainConfig;
}

export interface SessionOptions {
  /** Cadence and protocol of evaluation; null: never evaluate. */
  evaluation: EvaluationSettings | null;
  /** Replaces the evaluation interval per run: about this many evaluations over each run's length. */
  evaluationsPerRun?: number;
  /** Read back and report once any run has taken this many steps since the last report… */
  reportEverySteps: number;
  /** …or once this much time has passed (leave out to report by steps only). */
  reportIntervalMs?: number;
  /** Awaited between steps: a worker lets its queued messages (pause, settings) in here. */
  betweenSteps?: () => Promise<void>;
  /** With several runs, one step in this many of each is timed alone. */
  timeEvery?: number;
  /** Measure each run's gradient anatomy (`StepRecord.gradients`) every this many steps; 0 or left out: never. */
  gradientsEvery?: number;
  /** The labelled images of semi-supervised runs (active learning); see `TrainerOptions.labelled`. */
  labelled?: LabelledImages;
  /**
   * Before the first step, evaluate the first run's untrained encoder and report it as the evaluation
   * of step 0 (Compare's reference line; its runs share that encoder). The runs' own evaluations keep
   * their cadence, the first after step 1. Left out: the first evaluation comes after step 1, so the
   * Train tab shows its first step at once.
   */
  untrainedReference?: boolean;
}

export type RunStatus = 'training' | 'finished' | 'diverged';

/** What a user reads when the loss of step `step` (counted from 1, as every step in the app) is not a finite number. */
export function divergenceMessage({ step, loss }: Pick<StepRecord, 'step' | 'loss'>): string {
  return (
    `The loss became ${loss} at step ${step}, so the run stopped. This usually means the ` +
    'learning rate is too high for this batch size or method: lower it (or raise the batch size) and train again.'
  );
}

/** What changed in one run since the last report. */
export interface RunReport {
  runId: string;
  records: StepRecord[];
  steps: number;
  epochs: number;
  /** This run's own speed; null until it can be measured. */
  imagesPerSecond: number | null;
  stepMilliseconds: number | null;
  embeddingDim: number;
  status: RunStatus;
  /** Why the run stopped early, in words a user can act on. */
  problem: string | null;
}

export interface SessionReport {
  /** Every run, in the order given. */
  runs: RunReport[];
  /** Active time of the session (pauses excluded): the charts' wall-time axis. */
  elapsedSeconds: number;
  /** All runs together since the previous report, evaluations included. */
  imagesPerSecond: number;
}

export interface SessionEvaluation {
  runId: string;
  result: EvaluationResult;
  elapsedSeconds: number;
  /** This run's evaluation time so far as a share of the session's active time. */
  costShare: number;
}

export interface SessionListener {
  report(report: SessionReport): void;
  evaluation(evaluation: SessionEvaluation): void;
}

/** Wall time while the session is active (training, single steps, evaluations); pauses do not count. */
export class ActiveClock {
  private accumulated = 0;
  private startedAt: number | null = null;

  constructor(private readonly now: () => number = () => performance.now()) {}

  get running(): boolean {
    return this.startedAt !== null;
  }

  start(): void {
    this.startedAt ??= this.now();
  }

  stop(): void {
    if (this.startedAt === null) return;
    this.accumulated += this.now() - this.startedAt;
    this.startedAt = null;
  }

  milliseconds(): number {
    return this.accumulated + (this.startedAt === null ? 0 : this.now() - this.startedAt);
  }
}

/** Timed steps a run's speed is the median of. */
const TIMINGS_KEPT = 5;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** One run of a session: its trainer, evaluator and bookkeeping. */
export class SessionRun {
  status: RunStatus = 'training';
  problem: string | null = null;
  /** Records read back but not yet reported. */
  readonly buffered: StepRecord[] = [];
  private readonly timings: number[] = [];
  /** Steps and session time at the last report, for a lone run's speed. */
  lastReport = { steps: 0, images: 0, milliseconds: 0 };
  lastEvaluatedStep: number | null = null;
  lastEvaluationMilliseconds = 0;
  /** Session time when this run's last evaluation ended. */
  lastEvaluationEnd = 0;
  evaluationMilliseconds = 0;
  evaluationRequested = false;

  constructor(
    readonly id: string,
    readonly name: string,
    readonly trainer: Trainer,
    readonly evaluator: Evaluator | null,
    /** This run's own evaluation interval (Compare's evaluations per run); null: the settings' interval. */
    readonly evaluateEvery: number | null,
  ) {}

  get timedImagesPerSecond(): number | null {
    return this.timings.length > 0 ? this.trainer.settings.batchSize / median(this.timings) : null;
  }

  recordTiming(seconds: number): void {
    this.timings.push(seconds);
    if (this.timings.length > TIMINGS_KEPT) this.timings.shift();
  }

  /** Adds read-back records. The one divergence rule: a non-finite loss stops this run (the others go on). */
  receive(records: StepRecord[]): void {
    this.buffered.push(...records);
    const diverged = records.find((r) => !Number.isFinite(r.loss));
    if (diverged && this.status !== 'diverged') {
      this.status = 'diverged';
      this.problem = divergenceMessage(diverged);
    }
  }
}

export class RunSession {
  readonly runs: readonly SessionRun[];
  /** Why kNN cannot be measured on this data (RankMe and the projection still can), or null. */
  readonly knnProblem: string | null;
  readonly clock = new ActiveClock();
  private readonly images: DeviceImages;
  private readonly sample: EvaluationSample | null;
  private readonly timeEvery: number;
  private turn = 0;
  private looping = false;
  /** Single steps and evaluations under way outside `train()`: dispose waits for them. */
  private inFlight = 0;
  private pauseRequested = false;
  private disposed = false;
  /** The step-0 evaluation asked for by `untrainedReference` is still to come. */
  private untrainedPending: boolean;
  /** Images all runs had trained on and the session time at the last report. */
  private lastReport = { images: 0, milliseconds: 0 };

  constructor(
    specs: readonly RunSpec[],
    readonly data: DatasetSplits,
    private readonly options: SessionOptions,
    private readonly listener: SessionListener,
  ) {
    if (specs.length === 0) throw new Error('Add at least one run.');
    if (new Set(specs.map((s) => s.id)).size !== specs.length) throw new Error('Every run needs its own id.');
    if (!(Number.isInteger(options.reportEverySteps) && options.reportEverySteps >= 1)) throw new Error('Report at least every 1 step.');
    this.timeEvery = Math.max(1, options.timeEvery ?? 10);
    this.untrainedPending = options.untrainedReference === true;
    // One copy of the training images on the device, shared by every run and the evaluation bank.
    this.images = new DeviceImages(data.train);
    const runs: SessionRun[] = [];
    let sample: EvaluationSample | null = null;
    try {
      const evaluation = options.evaluationsPerRun === 0 ? null : options.evaluation;
      if (evaluation) sample = new EvaluationSample(data, this.images, evaluation);
      for (const spec of specs) {
        let trainer: Trainer;
        try {
          trainer = new Trainer(spec.config, data, { trainImages: this.images, gradientsEvery: options.gradientsEvery, labelled: options.labelled });
        } catch (error) {
          throw new Error(specs.length > 1 ? `Run "${spec.name}": ${messageOf(error)}` : messageOf(error));
        }
        const evaluator = evaluation && sample ? new Evaluator(trainer, evaluation, sample) : null;
        // About that many evaluations over the run's own length.
        const every = options.evaluationsPerRun ? Math.max(1, Math.round(spec.config.totalSteps / options.evaluationsPerRun)) : null;
        runs.push(new SessionRun(spec.id, spec.name, trainer, evaluator, every));
      }
    } catch (error) {
      runs.forEach((r) => {
        r.evaluator?.dispose();
        r.trainer.dispose();
      });
      sample?.dispose();
      this.images.dispose();
      throw error;
    }
    this.runs = runs;
    this.sample = sample;
    this.knnProblem = sample ? knnProblem(data) : null;
  }

  /** The training images on the device (bytes the upload took: `images.bytes`). */
  get trainImages(): DeviceImages {
    return this.images;
  }

  get running(): boolean {
    return this.looping;
  }

  /** True once no run is left training. */
  get finished(): boolean {
    return this.runs.every((r) => r.status !== 'training');
  }

  run(id?: string): SessionRun {
    const run = id === undefined ? this.runs[0] : this.runs.find((r) => r.id === id);
    if (!run) throw new Error(`There is no run "${id}" in this session.`);
    return run;
  }

  /**
   * Shader warm-up. The first step on a GPU backend compiles every kernel it uses (WebGPU pipelines,
   * WebGL programs): seconds, or far more on a software GPU. One step of a throwaway copy of every
   * distinct configuration moves that before the first visible step, so the first report shows the
   * real speed, and the runs' weights, data order and augmentations are untouched. Returns milliseconds.
   */
  async warmUp(): Promise<number> {
    if (!kernelsCompileOnFirstUse()) return 0;
    const start = performance.now();
    const seen = new Set<string>();
    for (const run of this.runs) {
      const key = JSON.stringify(run.trainer.settings);
      if (seen.has(key)) continue;
      seen.add(key);
      // Its one step measures the gradient anatomy when the runs will, so those kernels compile here too.
      const scratch = new Trainer(run.trainer.settings, this.data, { trainImages: this.images, gradientsEvery: this.options.gradientsEvery ? 1 : 0, labelled: run.trainer.labelled ?? undefined });
      try {
        scratch.step();
        await scratch.flush();
      } finally {
        scratch.dispose();
      }
    }
    return performance.now() - start;
  }

  /**
   * Trains until every run is done, `pause()` is called, or (for the benchmark) every run has taken
   * `untilSteps` steps; reports on the cadence and evaluates when due on the way. The last steps'
   * numbers are reported before it returns.
   */
  async train(untilSteps?: number): Promise<'finished' | 'paused'> {
    if (this.looping) throw new Error('The session is already training.');
    this.assertUsable();
    this.looping = true;
    this.pauseRequested = false;
    this.clock.start();
    try {
      await this.evaluateUntrained();
      while (!this.pauseRequested && !this.disposed) {
        const run = this.nextRun();
        if (!run || (untilSteps !== undefined && run.trainer.steps >= untilSteps)) break;
        await this.advance(run);
        if (this.reportDue()) await this.report();
        await this.evaluateDue();
        await this.options.betweenSteps?.();
      }
      if (!this.disposed) {
        await this.report();
        await this.evaluateDue();
      }
    } finally {
      this.clock.stop();
      this.looping = false;
    }
    return this.finished ? 'finished' : 'paused';
  }

  /** Stops `train()` after the step in progress; it reports and returns 'paused'. */
  pause(): void {
    if (this.looping) this.pauseRequested = true;
  }

  /** One step of the next run in turn, reported at once, then its evaluation if one is due. */
  async stepOnce(): Promise<void> {
    if (this.looping) throw new Error('Pause before stepping.');
    this.assertUsable();
    const run = this.nextRun();
    if (!run) return;
    await this.whileActive(async () => {
      await this.evaluateUntrained();
      await this.advance(run);
      await this.report();
      await this.evaluateDue();
    });
  }

  /** Asks for an evaluation of `runId` (or every run) at the next opportunity; evaluates now when idle. */
  async requestEvaluation(runId?: string): Promise<void> {
    const targets = runId === undefined ? this.runs : [this.run(runId)];
    targets.forEach((r) => (r.evaluationRequested = true));
    if (this.looping) return;
    await this.whileActive(async () => {
      await this.report();
      await this.evaluateDue();
    });
  }

  /** Evaluates one run now, whatever the schedule (the runner's random-init baseline, the benchmark). */
  async evaluate(runId?: string): Promise<SessionEvaluation> {
    const run = this.run(runId);
    if (!run.evaluator) throw new Error('This session was started without evaluation.');
    return this.whileActive(async () => {
      await this.drain();
      return this.evaluateRun(run);
    });
  }

  /** New live settings for one run from its next step on. */
  updateSettings(runId: string | undefined, changes: Partial<LiveSettings>): void {
    this.run(runId).trainer.updateSettings(changes);
  }

  /** New labelled images for every semi-supervised run from its next step on (active learning's next cycle). */
  setLabelled(set: LabelledImages): void {
    for (const run of this.runs) run.trainer.setLabelled(set);
  }

  /** New evaluation cadence or protocol for every run (the bank and held-out images stay). */
  updateEvaluation(changes: Partial<EvaluationSettings>): void {
    for (const run of this.runs) {
      run.evaluator?.updateSettings(changes);
      if (changes.gradientsEvery !== undefined) run.trainer.gradientsEvery = changes.gradientsEvery;
    }
  }

  /** Continues `runId` from a checkpoint of the same configuration; its evaluations continue from there too. */
  restore(runId: string | undefined, checkpoint: Checkpoint): void {
    const run = this.run(runId);
    run.trainer.restoreCheckpoint(checkpoint);
    run.buffered.length = 0;
    run.status = run.trainer.finished ? 'finished' : 'training';
    run.problem = null;
    run.lastReport = { steps: run.trainer.steps, images: run.trainer.imagesSeen, milliseconds: this.clock.milliseconds() };
    run.lastEvaluatedStep = null;
  }

  /** Stops training after the current step and frees everything the session built. */
  async dispose(): Promise<void> {
    this.pause();
    while (this.looping || this.inFlight > 0) await new Promise<void>((resolve) => setTimeout(resolve, 0));
    if (this.disposed) return;
    this.disposed = true;
    for (const run of this.runs) {
      run.evaluator?.dispose();
      run.trainer.dispose();
    }
    this.sample?.dispose();
    this.images.dispose();
  }

  private assertUsable(): void {
    if (this.disposed) throw new Error('This session was disposed.');
  }

  /** Work outside `train()`: counted on the active clock, and waited for by `dispose()`. */
  private async whileActive<T>(work: () => Promise<T>): Promise<T> {
    this.assertUsable();
    this.inFlight += 1;
    const wasRunning = this.clock.running;
    this.clock.start();
    try {
      return await work();
    } finally {
      if (!wasRunning) this.clock.stop();
      this.inFlight -= 1;
    }
  }

  /** The run whose turn it is (skipping stopped ones), or null when none is left. */
  private nextRun(): SessionRun | null {
    for (let offset = 0; offset < this.runs.length; offset++) {
      const run = this.runs[(this.turn + offset) % this.runs.length];
      if (run.status === 'training') return run;
    }
    return null;
  }

  /** One step of `run`, timed to completion now and then when several runs share the device. */
  private async advance(run: SessionRun): Promise<void> {
    this.turn = (this.runs.indexOf(run) + 1) % this.runs.length;
    if (this.runs.length > 1 && this.isTimedStep(run)) {
      await this.drain();
      // The drain may have found this run diverged.
      if (run.status !== 'training') return;
      const start = performance.now();
      run.trainer.step();
      run.receive(await run.trainer.flush());
      run.recordTiming((performance.now() - start) / 1000);
    } else {
      run.trainer.step();
    }
    if (run.status === 'training' && run.trainer.finished) run.status = 'finished';
  }

  /** The 2nd, (2 + timeEvery)th, … step of a run is timed: the 1st also compiles kernels. A one-step run times its only step. */
  private isTimedStep(run: SessionRun): boolean {
    const firstTimed = run.trainer.settings.totalSteps > 1 ? 1 : 0;
    const step = run.trainer.steps;
    return step >= firstTimed && (step - firstTimed) % this.timeEvery === 0;
  }

  private reportDue(): boolean {
    const interval = this.options.reportIntervalMs;
    if (interval !== undefined && this.clock.milliseconds() - this.lastReport.milliseconds >= interval) return true;
    return this.runs.some((r) => r.trainer.steps - r.lastReport.steps >= this.options.reportEverySteps);
  }

  /** Reads back every run's queued numbers (one read per run, issued together). */
  private async drain(): Promise<void> {
    const results = await Promise.all(this.runs.map((r) => r.trainer.flush()));
    results.forEach((records, i) => this.runs[i].receive(records));
  }

  /** Reads back and hands every run's news to the listener; a report with no new step is sent only when forced. */
  async report(force = false): Promise<void> {
    await this.drain();
    if (this.disposed || (!force && this.runs.every((r) => r.buffered.length === 0 && r.trainer.steps === r.lastReport.steps))) return;
    const now = this.clock.milliseconds();
    const images = this.runs.reduce((sum, r) => sum + r.trainer.imagesSeen, 0);
    const seconds = (now - this.lastReport.milliseconds) / 1000;
    const lone = this.runs.length === 1;
    const runs = this.runs.map((run): RunReport => {
      const steps = run.trainer.steps - run.lastReport.steps;
      const runSeconds = (now - run.lastReport.milliseconds) / 1000;
      const windowSpeed = lone && steps > 0 && runSeconds > 0 ? (run.trainer.imagesSeen - run.lastReport.images) / runSeconds : null;
      const imagesPerSecond = lone ? windowSpeed : run.timedImagesPerSecond;
      run.lastReport = { steps: run.trainer.steps, images: run.trainer.imagesSeen, milliseconds: now };
      return {
        runId: run.id,
        records: run.buffered.splice(0),
        steps: run.trainer.steps,
        epochs: run.trainer.epochs,
        imagesPerSecond,
        stepMilliseconds: imagesPerSecond ? (run.trainer.settings.batchSize / imagesPerSecond) * 1000 : null,
        embeddingDim: run.trainer.embeddingDim,
        status: run.status,
        problem: run.problem,
      };
    });
    this.listener.report({ runs, elapsedSeconds: now / 1000, imagesPerSecond: seconds > 0 ? (images - this.lastReport.images) / seconds : 0 });
    this.lastReport = { images, milliseconds: now };
  }

  /**
   * The step-0 evaluation of `untrainedReference`, once, before the first run's first step (a session
   * restored from a checkpoint has no untrained encoder left to show). It leaves the run's schedule as
   * it was: its first evaluation of its own still comes after step 1.
   */
  private async evaluateUntrained(): Promise<void> {
    if (!this.untrainedPending) return;
    this.untrainedPending = false;
    const run = this.runs[0];
    if (!run.evaluator || run.trainer.steps > 0 || this.disposed) return;
    const evaluation = await this.evaluateRun(run);
    run.lastEvaluatedStep = null;
    if (!this.disposed) this.listener.evaluation(evaluation);
  }

  /** Evaluates every run whose evaluation is due, after reading back its steps (a diverged run is not evaluated). */
  private async evaluateDue(): Promise<void> {
    for (const run of this.runs) {
      if (!this.evaluationDue(run)) continue;
      await this.report();
      if (!this.evaluationDue(run) || this.disposed) continue;
      this.listener.evaluation(await this.evaluateRun(run));
    }
  }

  private evaluationDue(run: SessionRun): boolean {
    if (!run.evaluator || run.status === 'diverged' || run.trainer.steps === run.lastEvaluatedStep) return false;
    if (run.evaluationRequested) return true;
    const settings = run.evaluator.evaluationSettings;
    return evaluationDue(
      {
        step: run.trainer.steps,
        totalSteps: run.trainer.settings.totalSteps,
        lastEvaluatedStep: run.lastEvaluatedStep,
        millisecondsSinceLast: this.clock.milliseconds() - run.lastEvaluationEnd,
        lastEvaluationMilliseconds: run.lastEvaluationMilliseconds,
      },
      run.evaluateEvery === null ? settings : { ...settings, everySteps: run.evaluateEvery },
    );
  }

  private async evaluateRun(run: SessionRun): Promise<SessionEvaluation> {
    const wasRunning = this.clock.running;
    this.clock.start();
    try {
      run.evaluationRequested = false;
      const started = this.clock.milliseconds();
      const result = await run.evaluator!.evaluate();
      // A lone run's speed is its training's: the window of its next report starts after this.
      const spent = this.clock.milliseconds() - started;
      this.runs.forEach((r) => (r.lastReport.milliseconds += spent));
      run.lastEvaluatedStep = result.step;
      run.evaluationMilliseconds += result.milliseconds;
      run.lastEvaluationMilliseconds = result.milliseconds;
      run.lastEvaluationEnd = this.clock.milliseconds();
      return { runId: run.id, result, elapsedSeconds: this.clock.milliseconds() / 1000, costShare: run.evaluationMilliseconds / Math.max(this.clock.milliseconds(), 1e-9) };
    } finally {
      if (!wasRunning) this.clock.stop();
    }
  }
}

/** True where kernels are compiled on first use (GPU backends); the CPU backends have nothing to warm up. */
function kernelsCompileOnFirstUse(): boolean {
  return tf.getBackend() === 'webgl' || tf.getBackend() === 'webgpu';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
