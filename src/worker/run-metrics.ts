/**
 * The worker's side of evaluation: when to evaluate, how long the run has been active, and what
 * share of that time evaluation took. Kept out of training.worker.ts so it can be driven in Node
 * with a fake `post`.
 */
import { Evaluator, type HeldOutEmbeddings } from '../engine/evaluation';
import { evaluationDue, type EvaluationSettings } from '../engine/evaluation-settings';
import type { Trainer } from '../engine/trainer';
import type { FromWorker } from './protocol';

/** Wall time while the run is active (training, single steps, evaluations); pauses do not count. */
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

export class RunMetrics {
  readonly clock = new ActiveClock();
  private readonly evaluator: Evaluator;
  private lastEvaluatedStep: number | null = null;
  private evaluationMilliseconds = 0;
  private lastEvaluationMilliseconds = 0;
  /** Active time when the last evaluation ended. */
  private lastEvaluationEnd = 0;
  private requested = false;
  private disposed = false;

  constructor(
    private readonly trainer: Trainer,
    settings: EvaluationSettings,
    private readonly post: (message: FromWorker) => void,
  ) {
    this.evaluator = new Evaluator(trainer, settings);
  }

  get elapsedSeconds(): number {
    return this.clock.milliseconds() / 1000;
  }

  get settings(): EvaluationSettings {
    return this.evaluator.evaluationSettings;
  }

  /** Due before the first step, then by cadence and time budget, on request, and once more at the end. */
  due(): boolean {
    if (this.lastEvaluatedStep === this.trainer.steps) return false;
    if (this.requested || this.trainer.finished) return true;
    return evaluationDue(
      {
        step: this.trainer.steps,
        lastEvaluatedStep: this.lastEvaluatedStep,
        millisecondsSinceLast: this.clock.milliseconds() - this.lastEvaluationEnd,
        lastEvaluationMilliseconds: this.lastEvaluationMilliseconds,
      },
      this.settings,
    );
  }

  /** Asks for an evaluation at the next opportunity (the loop checks `due()` between steps). */
  request(): void {
    this.requested = true;
  }

  updateSettings(changes: Partial<EvaluationSettings>): void {
    this.evaluator.updateSettings(changes);
  }

  /** Evaluates now and posts the result. Call after the trainer's queued steps were read back. */
  async evaluate(): Promise<void> {
    const wasRunning = this.clock.running;
    this.clock.start();
    try {
      this.requested = false;
      let result;
      try {
        result = await this.evaluator.evaluate();
      } catch (error) {
        // A reset or a new run while the read-back was pending: nothing to report.
        if (this.disposed) return;
        throw error;
      }
      this.lastEvaluatedStep = result.step;
      this.evaluationMilliseconds += result.milliseconds;
      this.lastEvaluationMilliseconds = result.milliseconds;
      this.lastEvaluationEnd = this.clock.milliseconds();
      this.post({ type: 'evaluation', result, elapsedSeconds: this.elapsedSeconds, costShare: this.evaluationMilliseconds / this.clock.milliseconds() });
    } finally {
      if (!wasRunning) this.clock.stop();
    }
  }

  async neighbours(row: number): Promise<void> {
    try {
      this.post({ type: 'neighbours', result: await this.evaluator.nearestNeighbours(row), message: null });
    } catch (error) {
      this.post({ type: 'neighbours', result: null, message: error instanceof Error ? error.message : String(error) });
    }
  }

  /** The held-out embeddings of the last evaluation. */
  embeddings(): Promise<HeldOutEmbeddings> {
    return this.evaluator.heldOutEmbeddings();
  }

  dispose(): void {
    this.disposed = true;
    this.evaluator.dispose();
  }
}
