/**
 * One training run: a method, its optimizer, the data stream and the schedules. `step()` queues
 * the work of one step on the device and keeps its scalars there; `flush()` reads every queued
 * step's scalars with a single `await data()`, so the GPU is never stalled once per step.
 */
import * as tf from '@tensorflow/tfjs';
import { augmentBatch, augmentationProblems, standardize } from './augment';
import { captureCheckpoint, liveSettingsOf, restoreCheckpointState } from './checkpoint';
import type { Checkpoint } from './checkpoint-format';
import type { LiveSettings, TrainConfig } from './config';
import { DeviceImages, type DatasetSplits } from './dataset';
import { cosineTau } from './ema';
import { GRADIENT_ANATOMY_SCALARS, anatomyScalars, anatomyTensors, type GradientAnatomy } from './gradient-anatomy';
import { embeddingStatistics, featureStd } from './metrics';
import { applyEma, disposeInstance } from './methods/instance';
import { assertValidOptions } from './methods/options';
import { getMethod } from './methods/registry';
import type { LossOutput, MethodDefinition, MethodInstance, StepInputs, StepSchedule } from './methods/types';
import { variableFrom, variables } from './nn';
import { createOptimizer, type Optimizer } from './optimizers';
import { LinearProbe } from './probe';
import { Rng } from './random';
import { warmupCosineLr } from './schedules';

export interface StepRecord {
  /** Steps done once this one was: 1 for the first step, as every step number in the app counts. */
  step: number;
  loss: number;
  /** Mean per-dimension std of the L2-normalised embedding; healthy ≈ 1/√d, collapsed → 0. */
  featureStd: number;
  learningRate: number;
  tau: number;
  terms: Record<string, number>;
  /** Epochs completed after this step's batch, fractional. */
  epoch: number;
  /** Geometry of the two views' projector outputs; null when the method does not expose the second view. */
  views: ViewMetrics | null;
  /** The online linear probe on this batch, before its update; null without labels or backbone features. */
  probe: ProbeStepMetrics | null;
  /** UniGrad's split of ∂L/∂u₁ on the steps that measure it (`gradientsEvery`); null on the others and for methods without a positive target. */
  gradients: GradientAnatomy | null;
}

/** Per-step representation geometry (Wang & Isola), from the batch's projector outputs. */
export interface ViewMetrics {
  /** Mean ‖ẑ1 − ẑ2‖² over matched pairs: 0 when the two views map to the same point. */
  alignment: number;
  /** log E exp(−2‖ẑ_i − ẑ_j‖²) over the first view: 0 when collapsed, lower is more uniform. */
  uniformity: number;
  positiveCosine: number;
  negativeCosine: number;
}

export interface ProbeStepMetrics {
  loss: number;
  accuracy: number;
}

export interface TrainerOptions {
  /**
   * The training split already on the device (e.g. shared by the runs of a comparison); the caller
   * keeps it and disposes it. Without it the trainer uploads its own copy.
   */
  trainImages?: DeviceImages;
  /** Measure the gradient anatomy on every this many steps; 0 or left out: never. */
  gradientsEvery?: number;
  /**
   * For a semi-supervised method (MoBYv2AL): the images whose labels are known, and those labels.
   * Only these labels are read; every other image is unlabelled, whatever the dataset holds. Left
   * out: every image is labelled where the dataset has labels, none where it has not.
   */
  labelled?: LabelledImages;
}

/** Training images whose labels were revealed (active learning), with their labels, in the same order. */
export interface LabelledImages {
  readonly indices: Int32Array;
  readonly labels: Int32Array;
}

/** The labelled images a semi-supervised run starts with when none are given: all of them where the dataset has labels. */
function everyLabel(data: DatasetSplits): LabelledImages {
  const labels = data.train.labels;
  return labels ? { indices: Int32Array.from(labels, (_, i) => i), labels: Int32Array.from(labels) } : { indices: new Int32Array(0), labels: new Int32Array(0) };
}

/** Problems with a labelled set for `count` training images and `classes` classes, in words a user can act on. */
export function labelledImagesProblem(set: LabelledImages, count: number, classes: number): string | null {
  if (set.indices.length !== set.labels.length) return `There are ${set.indices.length} labelled images but ${set.labels.length} labels.`;
  if (new Set(set.indices).size !== set.indices.length) return 'An image is labelled twice; keep one label per image.';
  const badIndex = set.indices.find((i) => !(Number.isInteger(i) && i >= 0 && i < count));
  if (badIndex !== undefined) return `Image ${badIndex} is not one of the ${count} training images.`;
  const badLabel = set.labels.find((l) => !(Number.isInteger(l) && l >= 0 && l < classes));
  if (badLabel !== undefined) return `Label ${badLabel} is not one of the ${classes} classes.`;
  return null;
}

/** A step's numbers as they sit on the device, and which of them it has. */
interface StepMetrics {
  termNames: string[];
  hasViews: boolean;
  hasProbe: boolean;
  /** Whether the step measured the gradient anatomy, and whether its method's negative is implicit. */
  gradients: { implicitNegative: boolean } | null;
  /** [loss, ...terms, ...probe(2), featureStd, ...views(4), ...gradients(4)] still on the device. */
  scalars: tf.Tensor1D;
}

interface PendingStep extends StepMetrics {
  step: number;
  epoch: number;
  learningRate: number;
  tau: number;
}

const VIEW_METRIC_COUNT = 4;
const PROBE_METRIC_COUNT = 2;

export class Trainer {
  readonly definition: MethodDefinition;
  readonly method: MethodInstance;
  readonly embeddingDim: number;
  /** Online linear probe on the backbone features, where the data has labels. */
  readonly probe: LinearProbe | null;
  private config: TrainConfig;
  private readonly optimizer: Optimizer;
  private readonly train: DeviceImages;
  private readonly ownsTrainImages: boolean;
  private readonly dataRng: Rng;
  private readonly augmentRng: Rng;
  /** The generator the method was built with; kept for checkpoints, as a method may draw from it while training. */
  private readonly methodRng: Rng;
  private order: Int32Array = new Int32Array(0);
  private cursor = 0;
  private epochCount = 0;
  private stepCount = 0;
  private imagesTrained = 0;
  private pending: PendingStep[] = [];
  /** A semi-supervised method's labelled images, their labels by index, and the unlabelled pool; null for other methods. */
  private partial: { set: LabelledImages; labelOf: Map<number, number>; pool: Int32Array; order: Int32Array; cursor: number } | null = null;
  /** Steps between two measurements of the gradient anatomy (the last step is measured too); 0: never. */
  gradientsEvery: number;
  /**
   * Sees every batch as it is drawn: its dataset indices and its augmented, standardised views.
   * Called inside the step's tf.tidy, so the views are disposed when it returns: read them
   * synchronously or clone them. Lets tests check that runs with one seed share one data stream.
   */
  onBatch: ((indices: Int32Array, views: readonly tf.Tensor4D[]) => void) | null = null;

  constructor(
    config: TrainConfig,
    private readonly data: DatasetSplits,
    options: TrainerOptions = {},
  ) {
    this.definition = Trainer.check(config, data);
    if (options.trainImages && options.trainImages.set !== data.train) throw new Error('The shared device images are not this dataset\'s training split.');
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
    this.embeddingDim = this.method.embeddingDim ?? config.projector.out;
    this.optimizer = createOptimizer(config.optimizer, this.method.params);
    this.train = options.trainImages ?? new DeviceImages(data.train);
    this.ownsTrainImages = options.trainImages === undefined;
    this.gradientsEvery = options.gradientsEvery ?? 0;
    if (this.definition.semiSupervised) this.setLabelled(options.labelled ?? everyLabel(data));
    else if (options.labelled) throw new Error(`${this.definition.label} does not train on a partly labelled set; choose MoBYv2AL for active learning.`);
    this.probe =
      data.train.labels && data.classNames.length > 1
        ? new LinearProbe(this.method.encoder.featureDim, data.classNames.length, new Rng(config.seed * 15485863 + 3))
        : null;
  }

  /** Refuses a configuration that cannot train on `data`, with a message a user can act on; returns its method. */
  static check(config: TrainConfig, data: DatasetSplits): MethodDefinition {
    const definition = getMethod(config.method);
    if (definition.uses.labels && !data.train.labels) {
      throw new Error(
        `${definition.label} is supervised: it needs a class label for every image, and "${data.name}" has none. ` +
          'Choose a labelled dataset (a folder with one sub-folder per class) or a self-supervised method such as SimCLR.',
      );
    }
    validateLiveSettings(config, data.train.count);
    assertValidOptions(definition.label, definition.options, config.options);
    return definition;
  }

  /**
   * Replaces the labelled images of a semi-supervised run from the next step on (active learning's
   * new labels); the unlabelled pool is every other training image. Weights and optimizer state are kept.
   */
  setLabelled(set: LabelledImages): void {
    if (!this.definition.semiSupervised) throw new Error(`${this.definition.label} does not train on a partly labelled set.`);
    const problem = labelledImagesProblem(set, this.data.train.count, this.data.classNames.length);
    if (problem) throw new Error(problem);
    if (this.method.labelledBatchesOnly && set.indices.length === 0) throw new Error('Training on the labels alone needs at least one labelled image.');
    const labelOf = new Map<number, number>();
    set.indices.forEach((index, i) => labelOf.set(index, set.labels[i]));
    const pool = Int32Array.from({ length: this.data.train.count }, (_, i) => i).filter((i) => !labelOf.has(i));
    this.partial = { set: { indices: Int32Array.from(set.indices), labels: Int32Array.from(set.labels) }, labelOf, pool, order: new Int32Array(0), cursor: 0 };
    this.order = new Int32Array(0);
    this.cursor = 0;
  }

  /** The labelled images of a semi-supervised run; null for other methods. */
  get labelled(): LabelledImages | null {
    return this.partial?.set ?? null;
  }

  /** The data this run trains on. */
  get dataset(): DatasetSplits {
    return this.data;
  }

  /** The training images on the device, shared with evaluation so they are uploaded once. */
  get trainImages(): DeviceImages {
    return this.train;
  }

  get steps(): number {
    return this.stepCount;
  }

  /** Images trained on since this trainer was made, each step at the batch size it ran with. */
  get imagesSeen(): number {
    return this.imagesTrained;
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
    const { indices, schedule, learningRate, labelled } = this.beginStep();
    const stepNumber = this.stepCount + 1;
    const gradientsDue = this.gradientsEvery > 0 && (stepNumber % this.gradientsEvery === 0 || stepNumber === this.config.totalSteps);
    const probe = gradientsDue ? variableFrom(tf.zeros([indices.length, this.embeddingDim]), true) : null;
    let metrics: StepMetrics | undefined;
    tf.tidy(() => {
      const inputs = this.stepInputs(indices, this.augmentedViews(indices), probe, labelled);
      const { value, grads, out, embeddingGradient } = this.lossAndGradients(inputs, schedule);
      this.optimize(grads, learningRate);
      this.afterOptimizer(inputs, schedule, out);
      metrics = this.stepMetrics(value, out, inputs.labels, embeddingGradient);
      retainedTensors(out).forEach((t) => t.dispose());
      return metrics.scalars;
    });
    probe?.dispose();
    this.queue(schedule, learningRate, metrics!);
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
      // The layout of StepMetrics.scalars: loss, terms, probe, feature std, views, gradients.
      const loss = values[offset++];
      const terms: Record<string, number> = {};
      for (const name of p.termNames) terms[name] = values[offset++];
      let probe: ProbeStepMetrics | null = null;
      if (p.hasProbe) {
        probe = { loss: values[offset], accuracy: values[offset + 1] };
        offset += PROBE_METRIC_COUNT;
      }
      const featureStd = values[offset++];
      let views: ViewMetrics | null = null;
      if (p.hasViews) {
        views = { alignment: values[offset], uniformity: values[offset + 1], positiveCosine: values[offset + 2], negativeCosine: values[offset + 3] };
        offset += VIEW_METRIC_COUNT;
      }
      let gradients: GradientAnatomy | null = null;
      if (p.gradients) {
        const [positive, negative, ratio, unigradCosine] = values.subarray(offset, offset + GRADIENT_ANATOMY_SCALARS);
        gradients = { positive, negative, ratio, unigradCosine, implicitNegative: p.gradients.implicitNegative };
        offset += GRADIENT_ANATOMY_SCALARS;
      }
      return { step: p.step, loss, featureStd, learningRate: p.learningRate, tau: p.tau, terms, epoch: p.epoch, views, probe, gradients };
    });
  }

  /**
   * Everything needed to continue this run exactly: weights, buffers, optimizer and method state,
   * the online probe and the data stream. The state is captured when this is called; the read-back is asynchronous.
   */
  saveCheckpoint(): Promise<Checkpoint> {
    return captureCheckpoint(this.config, this.method, this.optimizer, this.probe, {
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
    const stream = restoreCheckpointState(checkpoint, this.config, this.method, this.optimizer, this.probe);
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

  /**
   * One step with the same effect on the parameters as `step()`, run phase by phase with a device
   * sync after each, for the benchmark's time split. Per-phase times inside the fused `step()` cannot
   * be observed without such syncs, so this step is slower than a real one. Each sync reads one number
   * computed after the phase's work (device queues run in order); its fixed cost, measured on an idle
   * queue first, is subtracted from every phase. The forward pass also runs once on its own (so
   * BatchNorm running statistics move twice) and backward is (forward + backward) − forward.
   * Its numbers arrive with the next `flush()`, as `step()`'s. `around` wraps each phase (with its
   * sync), e.g. to count the kernels it runs.
   */
  async profileStep(around: (phase: keyof StepPhaseTimes, run: () => Promise<void>) => Promise<void> = (_phase, run) => run()): Promise<StepProfile> {
    const anchor = this.method.params[0].variable;
    await readProbe(anchor);
    const syncStart = performance.now();
    await readProbe(anchor);
    const syncMs = performance.now() - syncStart;
    const phases: StepPhaseTimes = { augment: 0, forward: 0, backward: 0, optimizer: 0, afterStep: 0, metrics: 0 };
    const timed = async (phase: keyof StepPhaseTimes, work: () => tf.Tensor) => {
      const start = performance.now();
      await around(phase, () => readProbe(work()));
      phases[phase] = Math.max(performance.now() - start - syncMs, 0);
    };

    const { indices, schedule, learningRate, labelled } = this.beginStep();
    let views: [tf.Tensor4D, tf.Tensor4D] | undefined;
    await timed('augment', () => (views = tf.tidy(() => this.augmentedViews(indices)))[1]);
    const inputs = this.stepInputs(indices, views as [tf.Tensor4D, tf.Tensor4D], null, labelled);
    // The forward pass on its own must not use up the method's random draws (RotNet's rotations).
    const methodRngState = this.methodRng.getState();
    let forwardLoss: tf.Tensor | undefined;
    await timed('forward', () => (forwardLoss = tf.tidy(() => this.method.computeLoss(inputs, schedule).loss)));
    forwardLoss?.dispose();
    this.methodRng.setState(methodRngState);
    let gradients: ReturnType<Trainer['lossAndGradients']> | undefined;
    await timed('backward', () => {
      gradients = this.lossAndGradients(inputs, schedule);
      return gradients.grads[0] ?? gradients.value;
    });
    phases.backward = Math.max(phases.backward - phases.forward, 0);
    const { value, grads, out } = gradients!;
    await timed('optimizer', () => {
      tf.tidy(() => this.optimize(grads, learningRate));
      return anchor;
    });
    await timed('afterStep', () => {
      tf.tidy(() => this.afterOptimizer(inputs, schedule, out));
      return anchor;
    });
    let metrics: StepMetrics | undefined;
    await timed('metrics', () => tf.tidy(() => (metrics = this.stepMetrics(value, out, inputs.labels)).scalars));
    this.queue(schedule, learningRate, metrics!);
    const owned = [...inputs.views, inputs.indices, ...(inputs.labels ? [inputs.labels] : []), ...(inputs.weakView ? [inputs.weakView] : [])];
    [value, ...grads, ...retainedTensors(out), ...owned].forEach((t) => t.dispose());
    return { phases, syncMs };
  }

  /** The step about to run: its batch (the data stream moves on), schedule and learning rate. */
  private beginStep(): { indices: Int32Array; schedule: StepSchedule; learningRate: number; labelled: boolean } {
    const labelled = this.labelledBatchDue();
    // With every image labelled the labelled batches are the whole set's stream, as any other method draws it.
    const indices = labelled && this.partial!.pool.length > 0 ? this.nextLabelledBatch() : this.nextBatchIndices();
    return { indices, labelled, schedule: { step: this.stepCount, tau: this.currentTau(), temperature: this.config.temperature }, learningRate: this.currentLearningRate() };
  }

  /**
   * The loss and the gradient of every trainable parameter (zeros where the loss does not reach one),
   * and ∂L/∂z₁ where the inputs carry a gradient probe that the method's loss uses.
   */
  private lossAndGradients(inputs: StepInputs, schedule: StepSchedule): { value: tf.Scalar; grads: tf.Tensor[]; out: LossOutput; embeddingGradient?: tf.Tensor2D } {
    const params = this.method.params;
    const probe = inputs.gradientProbe as tf.Variable | undefined;
    let output: LossOutput | undefined;
    const { value, grads } = tf.variableGrads(
      () => {
        output = this.method.computeLoss(inputs, schedule);
        // Needed after the tape closes; the caller disposes them.
        retainedTensors(output).forEach((t) => tf.keep(t));
        return output.loss;
      },
      probe ? [...variables(params), probe] : variables(params),
    );
    const embeddingGradient = probe ? (grads[probe.name] as tf.Tensor2D | undefined) : undefined;
    return { value, grads: params.map((p) => grads[p.variable.name] ?? tf.zerosLike(p.variable)), out: output!, embeddingGradient };
  }

  private optimize(grads: tf.Tensor[], learningRate: number): void {
    this.optimizer.step(this.method.params, grads, learningRate);
  }

  /** What the method does after the optimizer step (queues, memory banks), then the declared EMA targets. */
  private afterOptimizer(inputs: StepInputs, schedule: StepSchedule, out: LossOutput): void {
    this.method.afterStep?.(inputs, schedule, out.carry);
    applyEma(this.method, schedule.tau);
  }

  /** Queues the step's numbers for the next flush and counts the step. */
  private queue(schedule: StepSchedule, learningRate: number, metrics: StepMetrics): void {
    this.pending.push({ step: this.stepCount + 1, epoch: this.epochs, learningRate, tau: schedule.tau, ...metrics });
    this.stepCount += 1;
    this.imagesTrained += this.config.batchSize;
  }

  /** The batch's two augmented, standardised views, drawn from the augmentation stream. Call inside a tidy. */
  private augmentedViews(indices: Int32Array): [tf.Tensor4D, tf.Tensor4D] {
    const raw = this.train.gather(indices);
    const views = this.config.augmentations.map((view) => standardize(augmentBatch(raw, view, this.config.imageSize, this.augmentRng))) as [tf.Tensor4D, tf.Tensor4D];
    this.onBatch?.(indices, views);
    return views;
  }

  /**
   * The step's inputs. A semi-supervised method's labelled batch carries its revealed labels and a weak
   * view; its unlabelled batch carries no labels at all.
   */
  private stepInputs(indices: Int32Array, views: [tf.Tensor4D, tf.Tensor4D], gradientProbe: tf.Variable | null = null, labelled = false): StepInputs {
    const common = { views, indices: tf.tensor1d(indices, 'int32'), ...(gradientProbe ? { gradientProbe: gradientProbe as tf.Tensor2D } : {}) };
    const semiSupervised = this.definition.semiSupervised;
    if (semiSupervised && this.partial) {
      if (!labelled) return { ...common, labels: null };
      const { labelOf } = this.partial;
      // Drawn from the method's generator, so the two strong views are those any other method would see.
      const weakView = tf.tidy(() => standardize(augmentBatch(this.train.gather(indices), semiSupervised.weakView, this.config.imageSize, this.methodRng)));
      return { ...common, labels: tf.tensor1d(Int32Array.from(indices, (i) => labelOf.get(i)!), 'int32'), weakView };
    }
    const labels = this.data.train.labels;
    return { ...common, labels: labels ? tf.tensor1d(Int32Array.from(indices, (i) => labels[i]), 'int32') : null };
  }

  /**
   * Whether a semi-supervised run's next batch is labelled: every other step (the first one labelled),
   * every step when the pool is empty or the method trains on labels only, never without labelled images.
   */
  private labelledBatchDue(): boolean {
    if (!this.partial || this.partial.set.indices.length === 0) return false;
    return this.method.labelledBatchesOnly === true || this.partial.pool.length === 0 || this.stepCount % 2 === 0;
  }

  /** A batch of labelled images in random order, a new permutation each pass (images repeat when there are fewer than a batch). */
  private nextLabelledBatch(): Int32Array {
    const partial = this.partial!;
    const batch = new Int32Array(this.config.batchSize);
    for (let i = 0; i < batch.length; i++) {
      if (partial.cursor >= partial.order.length) {
        partial.order = this.dataRng.permutation(partial.set.indices.length);
        partial.cursor = 0;
      }
      batch[i] = partial.set.indices[partial.order[partial.cursor++]];
    }
    return batch;
  }

  /**
   * What a step reports, on the device in one tensor: loss, the loss terms, the online probe (which
   * trains on this batch here), feature std with the view geometry (one fused kernel where the backend
   * has it), and the gradient anatomy where it was measured.
   */
  private stepMetrics(value: tf.Scalar, out: LossOutput, labels: tf.Tensor1D | null, embeddingGradient?: tf.Tensor2D): StepMetrics {
    const scalars: tf.Scalar[] = [value, ...Object.values(out.terms)];
    const hasProbe = this.probe !== null && out.features !== undefined && labels !== null;
    if (hasProbe) {
      const probe = this.probe!.trainStep(out.features!, labels!);
      scalars.push(probe.loss, probe.accuracy);
    }
    const hasViews = out.secondEmbedding !== undefined;
    const geometry = hasViews ? embeddingStatistics(out.embedding, out.secondEmbedding as tf.Tensor2D) : tf.reshape(featureStd(out.embedding), [1]);
    const anatomy = embeddingGradient && out.anatomy;
    const parts = [tf.stack(scalars), geometry, ...(anatomy ? [anatomyScalars(out.embedding, embeddingGradient, anatomy)] : [])];
    const gradients = anatomy ? { implicitNegative: anatomy.implicitNegative } : null;
    return { scalars: tf.concat(parts) as tf.Tensor1D, termNames: Object.keys(out.terms), hasViews, hasProbe, gradients };
  }

  dispose(): void {
    this.pending.forEach((p) => p.scalars.dispose());
    this.pending = [];
    disposeInstance(this.method);
    this.optimizer.dispose();
    if (this.ownsTrainImages) this.train.dispose();
    this.probe?.dispose();
  }

  /** The next batch of the whole training set in random order or, for a semi-supervised run, of its unlabelled pool. */
  private nextBatchIndices(): Int32Array {
    const pool = this.partial && this.partial.pool.length > 0 ? this.partial.pool : null;
    const batch = new Int32Array(this.config.batchSize);
    for (let i = 0; i < batch.length; i++) {
      if (this.cursor >= this.order.length) {
        if (this.order.length > 0) this.epochCount += 1;
        this.order = this.dataRng.permutation(pool ? pool.length : this.data.train.count);
        this.cursor = 0;
      }
      const position = this.order[this.cursor++];
      batch[i] = pool ? pool[position] : position;
    }
    return batch;
  }
}

/** Milliseconds per phase of one profiled step (`afterStep`: EMA targets, queues, memory banks). */
export interface StepPhaseTimes {
  augment: number;
  forward: number;
  backward: number;
  optimizer: number;
  afterStep: number;
  metrics: number;
}

export interface StepProfile {
  phases: StepPhaseTimes;
  /** Fixed cost of one device sync (a one-number read-back on an idle queue), already taken out of each phase. */
  syncMs: number;
}

/**
 * Waits until everything queued so far has run, by reading back one number of `tensor` through a
 * new kernel (WebGPU and WebGL queues execute in order; the CPU backend is synchronous).
 */
async function readProbe(tensor: tf.Tensor): Promise<void> {
  const probe = tf.tidy(() => tf.slice(tf.reshape(tensor, [-1]), 0, 1));
  await probe.data();
  probe.dispose();
}

/** Tensors of a loss output that must outlive the gradient tape. */
function retainedTensors(output: LossOutput): tf.Tensor[] {
  const optional = [output.secondEmbedding, output.features].filter((t): t is tf.Tensor2D => t !== undefined);
  return [output.embedding, ...optional, ...Object.values(output.terms), ...output.carry, ...(output.anatomy ? anatomyTensors(output.anatomy) : [])];
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
  problems.push(...augmentationProblems(settings.augmentations));
  if (problems.length > 0) throw new Error(`Invalid settings: ${problems.join('; ')}.`);
}
