/**
 * One training run: a method, its optimizer, the data stream and the schedules. `step()` queues
 * the work of one step on the device and keeps its scalars there; `flush()` reads every queued
 * step's scalars with a single `await data()`, so the GPU is never stalled once per step.
 */
import * as tf from '@tensorflow/tfjs';
import { augmentBatch, standardize } from './augment';
import { captureCheckpoint, liveSettingsOf, restoreCheckpointState } from './checkpoint';
import type { Checkpoint } from './checkpoint-format';
import type { LiveSettings, TrainConfig } from './config';
import { DeviceImages, type DatasetSplits } from './dataset';
import { cosineTau } from './ema';
import { featureStd } from './metrics';
import { getMethod } from './methods/registry';
import type { LossOutput, MethodDefinition, MethodInstance, StepInputs } from './methods/types';
import { variables } from './nn';
import { createOptimizer, type Optimizer } from './optimizers';
import { Rng } from './random';
import { warmupCosineLr } from './schedules';

export interface StepRecord {
  step: number;
  loss: number;
  /** Mean per-dimension std of the L2-normalised embedding; healthy ≈ 1/√d, collapsed → 0. */
  featureStd: number;
  learningRate: number;
  tau: number;
  terms: Record<string, number>;
}

interface PendingStep {
  step: number;
  learningRate: number;
  tau: number;
  termNames: string[];
  /** [loss, featureStd, ...terms] still on the device. */
  scalars: tf.Tensor1D;
}

export class Trainer {
  readonly definition: MethodDefinition;
  readonly method: MethodInstance;
  readonly embeddingDim: number;
  private config: TrainConfig;
  private readonly optimizer: Optimizer;
  private readonly train: DeviceImages;
  private readonly dataRng: Rng;
  private readonly augmentRng: Rng;
  /** The generator the method was built with; kept for checkpoints, as a method may draw from it while training. */
  private readonly methodRng: Rng;
  private order: Int32Array = new Int32Array(0);
  private cursor = 0;
  private epochCount = 0;
  private stepCount = 0;
  private pending: PendingStep[] = [];
  /**
   * Sees every batch as it is drawn: its dataset indices and its augmented, standardised views.
   * Called inside the step's tf.tidy, so the views are disposed when it returns: read them
   * synchronously or clone them. Lets tests check that runs with one seed share one data stream.
   */
  onBatch: ((indices: Int32Array, views: readonly tf.Tensor4D[]) => void) | null = null;

  constructor(config: TrainConfig, private readonly data: DatasetSplits) {
    this.definition = getMethod(config.method);
    if (this.definition.uses.labels && !data.train.labels) {
      throw new Error(`${this.definition.label} needs class labels, and "${data.name}" has none. Pick a labelled folder (class sub-folders) or another method.`);
    }
    validateLiveSettings(config, data.train.count);
    this.config = structuredClone(config);
    // Separate streams: initialisation, batch order and augmentation. Two runs with the same seed see
    // the same images and the same augmentations whatever the method.
    const initRng = (this.methodRng = new Rng(config.seed));
    this.dataRng = new Rng(config.seed * 7919 + 1);
    this.augmentRng = new Rng(config.seed * 104729 + 2);
    this.method = this.definition.create({
      config: this.config,
      rng: initRng,
      datasetSize: data.train.count,
      numClasses: data.classNames.length,
    });
    this.embeddingDim = config.projector.out;
    this.optimizer = createOptimizer(config.optimizer, this.method.params);
    this.train = new DeviceImages(data.train);
  }

  get steps(): number {
    return this.stepCount;
  }

  get epochs(): number {
    return this.epochCount + this.cursor / Math.max(this.order.length, 1);
  }

  get settings(): TrainConfig {
    return this.config;
  }

  get finished(): boolean {
    return this.stepCount >= this.config.totalSteps;
  }

  /** Applies new live settings from the next step on; weights and optimizer state are kept. */
  updateSettings(changes: Partial<LiveSettings>): void {
    const next = { ...this.config, ...changes };
    validateLiveSettings(next, this.data.train.count);
    this.config = next;
  }

  currentLearningRate(): number {
    return warmupCosineLr(this.stepCount, this.config.totalSteps, this.config.learningRate, this.config.warmupSteps);
  }

  currentTau(): number {
    return this.config.tauSchedule ? cosineTau(this.config.tau, this.stepCount, this.config.totalSteps) : this.config.tau;
  }

  /** Runs one optimisation step on the device. Its numbers arrive with the next `flush()`. */
  step(): void {
    const indices = this.nextBatchIndices();
    const schedule = { step: this.stepCount, tau: this.currentTau(), temperature: this.config.temperature };
    const learningRate = this.currentLearningRate();
    const params = this.method.params;
    let termNames: string[] = [];
    const scalars = tf.tidy(() => {
      const raw = this.train.gather(indices);
      const views = this.config.augmentations.map((view) => standardize(augmentBatch(raw, view, this.config.imageSize, this.augmentRng))) as [tf.Tensor4D, tf.Tensor4D];
      this.onBatch?.(indices, views);
      const labels = this.data.train.labels;
      const inputs: StepInputs = {
        views,
        indices: tf.tensor1d(indices, 'int32'),
        labels: labels ? tf.tensor1d(Int32Array.from(indices, (i) => labels[i]), 'int32') : null,
      };
      let output: LossOutput | undefined;
      const { value, grads } = tf.variableGrads(() => {
        output = this.method.computeLoss(inputs, schedule);
        // Needed after the tape closes; disposed below.
        [output.embedding, ...Object.values(output.terms), ...output.carry].forEach((t) => tf.keep(t));
        return output.loss;
      }, variables(params));
      const out = output as LossOutput;
      this.optimizer.step(params, params.map((p) => grads[p.variable.name] ?? tf.zerosLike(p.variable)), learningRate);
      this.method.afterStep?.(inputs, schedule, out.carry);
      termNames = Object.keys(out.terms);
      const result = tf.stack([value, featureStd(out.embedding), ...Object.values(out.terms)]) as tf.Tensor1D;
      [out.embedding, ...Object.values(out.terms), ...out.carry].forEach((t) => t.dispose());
      return result;
    });
    this.pending.push({ step: this.stepCount, learningRate, tau: schedule.tau, termNames, scalars });
    this.stepCount += 1;
  }

  /** Reads the scalars of every step since the last flush in one transfer. */
  async flush(): Promise<StepRecord[]> {
    const pending = this.pending;
    this.pending = [];
    if (pending.length === 0) return [];
    const all = tf.concat(pending.map((p) => p.scalars));
    pending.forEach((p) => p.scalars.dispose());
    const values = await all.data();
    all.dispose();
    let offset = 0;
    return pending.map((p) => {
      const terms: Record<string, number> = {};
      p.termNames.forEach((name, i) => (terms[name] = values[offset + 2 + i]));
      const record = { step: p.step, loss: values[offset], featureStd: values[offset + 1], learningRate: p.learningRate, tau: p.tau, terms };
      offset += 2 + p.termNames.length;
      return record;
    });
  }

  /**
   * Everything needed to continue this run exactly: weights, buffers, optimizer and method state,
   * and the data stream. The state is captured when this is called; the read-back is asynchronous.
   */
  saveCheckpoint(): Promise<Checkpoint> {
    return captureCheckpoint(this.config, this.method, this.optimizer, {
      step: this.stepCount,
      epoch: this.epochCount,
      cursor: this.cursor,
      order: this.order,
      rng: { data: this.dataRng.getState(), augment: this.augmentRng.getState(), method: this.methodRng.getState() },
    });
  }

  /**
   * Continues from a checkpoint of a run with the same configuration (live settings may differ;
   * the checkpoint's are applied): the next step is the one that followed the checkpoint. Steps
   * queued and not yet flushed belong to the abandoned timeline and are dropped.
   */
  restoreCheckpoint(checkpoint: Checkpoint): void {
    const live = liveSettingsOf(checkpoint.config);
    validateLiveSettings(live, this.data.train.count);
    const stream = restoreCheckpointState(checkpoint, this.config, this.method, this.optimizer);
    this.config = { ...this.config, ...live };
    this.pending.forEach((p) => p.scalars.dispose());
    this.pending = [];
    this.stepCount = stream.step;
    this.epochCount = stream.epoch;
    this.cursor = stream.cursor;
    this.order = stream.order;
    this.dataRng.setState(stream.rng.data);
    this.augmentRng.setState(stream.rng.augment);
    this.methodRng.setState(stream.rng.method);
  }

  dispose(): void {
    this.pending.forEach((p) => p.scalars.dispose());
    this.pending = [];
    this.method.dispose();
    this.optimizer.dispose();
    this.train.dispose();
  }

  private nextBatchIndices(): Int32Array {
    const batch = new Int32Array(this.config.batchSize);
    for (let i = 0; i < batch.length; i++) {
      if (this.cursor >= this.order.length) {
        if (this.order.length > 0) this.epochCount += 1;
        this.order = this.dataRng.permutation(this.data.train.count);
        this.cursor = 0;
      }
      batch[i] = this.order[this.cursor++];
    }
    return batch;
  }
}

/** Refuses settings that cannot work, with a message a user can act on. */
export function validateLiveSettings(settings: Pick<TrainConfig, keyof LiveSettings>, datasetSize: number): void {
  const problems: string[] = [];
  if (!Number.isInteger(settings.batchSize) || settings.batchSize < 2) problems.push('batch size must be a whole number of at least 2');
  else if (settings.batchSize > datasetSize) problems.push(`batch size ${settings.batchSize} is larger than the dataset (${datasetSize} images)`);
  if (!(settings.tau >= 0 && settings.tau <= 1)) problems.push('τ must be between 0 and 1');
  if (!(settings.learningRate > 0 && Number.isFinite(settings.learningRate))) problems.push('learning rate must be a positive number');
  if (!(settings.temperature > 0 && Number.isFinite(settings.temperature))) problems.push('temperature must be a positive number');
  if (!(Number.isInteger(settings.totalSteps) && settings.totalSteps >= 1)) problems.push('total steps must be a whole number of at least 1');
  if (problems.length > 0) throw new Error(`Invalid settings: ${problems.join('; ')}.`);
}
