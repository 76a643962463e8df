/**
 * Several runs trained side by side on the same data: a `Comparison` owns one `Trainer` per run
 * and steps them round-robin, one step each in turn, so they progress together and a chart at
 * any moment compares them at the same step. Each trainer keeps its own networks and random
 * streams, so a run trains exactly as it would alone; runs with the same seed and batch size
 * draw the same batches and, with the same augmentation recipe, the same views.
 *
 * Numbers are read back in batches (`flush`), never once per step. Throughput is measured per run
 * on a timed step now and then: the device is drained first, then one step of that run is run and
 * read back, so the time is that run's alone, whatever the others cost.
 */
import { createKnnEvalData, disposeKnnEvalData, evaluateKnnAccuracy, type KnnEvalData } from './knn-eval';
import type { TrainConfig } from './config';
import { DeviceImages, type DatasetSplits } from './dataset';
import { Trainer, type StepRecord } from './trainer';

export interface ComparisonRunSpec {
  id: string;
  name: string;
  config: TrainConfig;
}

export interface ComparisonOptions {
  /** kNN evaluations per run, evenly spaced, the last at its final step; 0 for none. */
  evaluations: number;
  /** One step in this many of each run is timed to completion (10: the 2nd, 12th, 22nd, …). */
  timeEvery?: number;
}

export type ComparisonRunStatus = 'training' | 'finished' | 'diverged';

/** What changed in one run since the last flush. */
export interface RunUpdate {
  runId: string;
  records: StepRecord[];
  steps: number;
  epochs: number;
  /** From the run's recent timed steps; null until one has been timed. */
  imagesPerSecond: number | null;
  status: ComparisonRunStatus;
  /** Why a run stopped early, in words a user can act on. */
  problem: string | null;
}

export interface KnnEvaluation {
  runId: string;
  step: number;
  accuracy: number;
  milliseconds: number;
}

/** Timed steps a run's throughput is the median of. */
const TIMINGS_KEPT = 5;

/** Steps after which a run with `totalSteps` steps is evaluated: `count` evenly spaced, ending at the last. */
export function evaluationSteps(totalSteps: number, count: number): number[] {
  const steps = new Set<number>();
  for (let k = 1; k <= count; k++) steps.add(Math.max(1, Math.round((k * totalSteps) / count)));
  return [...steps].sort((a, b) => a - b);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export class ComparisonRun {
  status: ComparisonRunStatus = 'training';
  problem: string | null = null;
  /** Records read back but not yet handed out by `flush`. */
  readonly buffered: StepRecord[] = [];
  readonly evaluationSteps: number[];
  private nextEvaluation = 0;
  private readonly timings: number[] = [];

  constructor(
    readonly id: string,
    readonly name: string,
    readonly trainer: Trainer,
    evaluations: number,
  ) {
    this.evaluationSteps = evaluations > 0 ? evaluationSteps(trainer.settings.totalSteps, evaluations) : [];
  }

  get imagesPerSecond(): number | null {
    return this.timings.length > 0 ? this.trainer.settings.batchSize / median(this.timings) : null;
  }

  /** True when the run has just reached one of its evaluation steps. */
  get evaluationDue(): boolean {
    return this.status !== 'diverged' && this.trainer.steps === this.evaluationSteps[this.nextEvaluation];
  }

  markEvaluated(): void {
    this.nextEvaluation += 1;
  }

  recordTiming(seconds: number): void {
    this.timings.push(seconds);
    if (this.timings.length > TIMINGS_KEPT) this.timings.shift();
  }

  /** Adds read-back records; a non-finite loss stops this run (the others go on). */
  receive(records: StepRecord[]): void {
    this.buffered.push(...records);
    const bad = records.find((r) => !Number.isFinite(r.loss));
    if (bad && this.status !== 'diverged') {
      this.status = 'diverged';
      this.problem =
        `The loss became ${bad.loss} at step ${bad.step}, so this run stopped; the others go on. ` +
        'A lower learning rate (or a larger batch) usually fixes it.';
    }
  }
}

export class Comparison {
  readonly runs: readonly ComparisonRun[];
  /** Why kNN cannot be measured on this data, or null. */
  readonly evaluationProblem: string | null;
  private readonly knn: KnnEvalData | null;
  private readonly images: DeviceImages;
  private readonly timeEvery: number;
  /** Index of the run whose turn is next. */
  private turn = 0;

  constructor(specs: readonly ComparisonRunSpec[], data: DatasetSplits, options: ComparisonOptions) {
    if (specs.length === 0) throw new Error('Add at least one run to compare.');
    const ids = new Set(specs.map((s) => s.id));
    if (ids.size !== specs.length) throw new Error('Every run of a comparison needs its own id.');
    if (!(Number.isInteger(options.evaluations) && options.evaluations >= 0)) throw new Error('The number of kNN evaluations must be a whole number of at least 0.');
    this.timeEvery = Math.max(1, options.timeEvery ?? 10);
    // One copy of the training images on the device, shared by every run and the kNN bank.
    this.images = new DeviceImages(data.train);
    const runs: ComparisonRun[] = [];
    try {
      for (const spec of specs) {
        let trainer: Trainer;
        try {
          trainer = new Trainer(spec.config, data, { trainImages: this.images });
        } catch (error) {
          throw new Error(`Run "${spec.name}": ${error instanceof Error ? error.message : String(error)}`);
        }
        runs.push(new ComparisonRun(spec.id, spec.name, trainer, options.evaluations));
      }
    } catch (error) {
      runs.forEach((r) => r.trainer.dispose());
      this.images.dispose();
      throw error;
    }
    this.runs = runs;
    const knn = options.evaluations > 0 ? createKnnEvalData(data, this.images) : { eval: null, problem: null };
    this.knn = knn.eval;
    this.evaluationProblem = knn.problem;
  }

  get finished(): boolean {
    return this.runs.every((r) => r.status !== 'training');
  }

  /** The run whose turn it is (skipping stopped ones), or null when none is left. */
  nextRun(): ComparisonRun | null {
    for (let offset = 0; offset < this.runs.length; offset++) {
      const run = this.runs[(this.turn + offset) % this.runs.length];
      if (run.status === 'training') return run;
    }
    return null;
  }

  /** Queues one step of the next run in turn; returns that run, or null when every run is done. */
  step(): ComparisonRun | null {
    const run = this.nextRun();
    if (!run) return null;
    run.trainer.step();
    this.turn = (this.runs.indexOf(run) + 1) % this.runs.length;
    if (run.trainer.finished) run.status = 'finished';
    return run;
  }

  /**
   * One step of the next run in turn — timed to completion now and then — followed by its kNN
   * evaluation when it has reached one of its evaluation steps.
   */
  async advance(): Promise<{ run: ComparisonRun | null; evaluation: KnnEvaluation | null }> {
    const next = this.nextRun();
    if (!next) return { run: null, evaluation: null };
    if (this.isTimedStep(next)) {
      await this.drain();
      // The drain may have found this run diverged.
      if (next.status !== 'training') return { run: next, evaluation: null };
      const start = performance.now();
      this.step();
      next.receive(await next.trainer.flush());
      next.recordTiming((performance.now() - start) / 1000);
    } else {
      this.step();
    }
    if (!next.evaluationDue || !this.knn) return { run: next, evaluation: null };
    // Reading back first tells whether the run diverged (NaN weights are not worth evaluating).
    await this.drain();
    if (!next.evaluationDue) return { run: next, evaluation: null };
    return { run: next, evaluation: await this.evaluate(next) };
  }

  /** kNN accuracy of `run`'s encoder now. */
  async evaluate(run: ComparisonRun): Promise<KnnEvaluation> {
    if (!this.knn) throw new Error(this.evaluationProblem ?? 'This comparison was started without kNN evaluations.');
    const start = performance.now();
    const accuracy = await evaluateKnnAccuracy(run.trainer.method.encoder, run.trainer.settings.imageSize, this.knn);
    if (run.evaluationDue) run.markEvaluated();
    return { runId: run.id, step: run.trainer.steps, accuracy, milliseconds: performance.now() - start };
  }

  /** Every run's news since the last flush; all queued scalars are read back together. */
  async flush(): Promise<RunUpdate[]> {
    await this.drain();
    return this.runs.map((run) => {
      const records = run.buffered.splice(0);
      return { runId: run.id, records, steps: run.trainer.steps, epochs: run.trainer.epochs, imagesPerSecond: run.imagesPerSecond, status: run.status, problem: run.problem };
    });
  }

  dispose(): void {
    this.runs.forEach((r) => r.trainer.dispose());
    if (this.knn) disposeKnnEvalData(this.knn);
    this.images.dispose();
  }

  /** The 2nd, (2 + timeEvery)th, … step of a run is timed: the 1st also compiles the device's kernels. A one-step run times its only step. */
  private isTimedStep(run: ComparisonRun): boolean {
    const firstTimed = run.trainer.settings.totalSteps > 1 ? 1 : 0;
    const step = run.trainer.steps;
    return step >= firstTimed && (step - firstTimed) % this.timeEvery === 0;
  }

  /** Reads back every run's queued scalars (one read per run, issued together). */
  private async drain(): Promise<void> {
    const results = await Promise.all(this.runs.map((r) => r.trainer.flush()));
    results.forEach((records, i) => this.runs[i].receive(records));
  }
}
