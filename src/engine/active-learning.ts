/**
 * Active learning (MoBYv2AL, Caramalau et al., BMVC 2022): train the task classifier jointly with MoBY on
 * the labelled and unlabelled images, then ask for the labels of the images a strategy picks, and repeat.
 *
 * The labels of a labelled dataset are hidden behind a `LabelOracle`: training sees a copy of the data
 * with no labels at all plus the labels revealed so far, and the strategies read features, the
 * classifier and the self-supervised loss, never a label. Training goes through `RunSession`, one
 * session for all cycles (warm start: the network keeps training as labels arrive) or a new one per
 * cycle (re-initialised, as in the paper).
 */
import * as tf from '@tensorflow/tfjs';
import { augmentBatch, standardize } from './augment';
import type { TrainConfig } from './config';
import { DeviceImages, type DatasetSplits, type ImageSet } from './dataset';
import { embedImages, principalAxes } from './evaluation';
import { l2Normalize } from './losses';
import { Rng } from './random';
import { RunSession, type SessionReport } from './run-session';
import { labelledImagesProblem, type LabelledImages, type Trainer } from './trainer';

export const SELECTION_STRATEGIES = ['coreset', 'random', 'uncertainty', 'loss'] as const;
export type SelectionStrategy = (typeof SELECTION_STRATEGIES)[number];

export const STRATEGY_LABELS: Record<SelectionStrategy, string> = {
  coreset: 'core-set (k-center greedy)',
  random: 'random',
  uncertainty: 'uncertainty (entropy)',
  loss: 'highest MoBY loss',
};

/** The paper's pool subset: k-center greedy runs over at most this many unlabelled images, drawn at random. */
export const DEFAULT_POOL_SUBSET = 10_000;

/** Images embedded, classified or scored per chunk while selecting. */
const SELECTION_CHUNK = 256;

/**
 * The hidden labels of a simulation. Labels come out only for the images asked for, and every image
 * revealed is counted once, so a test can check that nothing else was ever read.
 */
export class LabelOracle {
  private readonly revealed = new Map<number, number>();

  constructor(
    private readonly hidden: Int32Array,
    readonly classCount: number,
  ) {}

  /** Images whose labels were revealed. */
  get reveals(): number {
    return this.revealed.size;
  }

  /** Reveals the labels of `indices` (each must be new) and returns them in the same order. */
  reveal(indices: ArrayLike<number>): Int32Array {
    const labels = new Int32Array(indices.length);
    const asked = new Set<number>();
    for (let i = 0; i < indices.length; i++) {
      const index = indices[i];
      if (!(Number.isInteger(index) && index >= 0 && index < this.hidden.length)) throw new Error(`Image ${index} is not one of the ${this.hidden.length} training images.`);
      if (this.revealed.has(index) || asked.has(index)) throw new Error(`Image ${index} is already labelled; a strategy must pick unlabelled images.`);
      asked.add(index);
      labels[i] = this.hidden[index];
    }
    for (let i = 0; i < indices.length; i++) this.revealed.set(indices[i], labels[i]);
    return labels;
  }

  /** The revealed images and their labels, in the order they were revealed. */
  get labelled(): LabelledImages {
    return { indices: Int32Array.from(this.revealed.keys()), labels: Int32Array.from(this.revealed.values()) };
  }
}

/** How many labelled images each class has. */
export function labelsPerClass(labels: ArrayLike<number>, classCount: number): number[] {
  const counts = new Array<number>(classCount).fill(0);
  for (let i = 0; i < labels.length; i++) counts[labels[i]] += 1;
  return counts;
}

/**
 * k-center greedy (Sener & Savarese 2018), Euclidean, on the device: `count` rows of `candidates`
 * [N, D], each the candidate farthest from its nearest centre so far, where the centres are `centres`
 * [M, D] (the labelled images, counted as already chosen) and the rows picked before it. Without
 * centres the first pick is row 0 (the caller orders the candidates at random). Ties go to the lowest
 * row. Each pick is one N × D distance update; the picks stay on the device until the end, so the loop
 * never waits for a read-back. Returns row numbers into `candidates`, in the order picked.
 */
export async function kCenterGreedy(candidates: tf.Tensor2D, centres: tf.Tensor2D | null, count: number): Promise<Int32Array> {
  const n = candidates.shape[0];
  if (!(Number.isInteger(count) && count >= 0)) throw new Error(`k-center greedy needs a whole number of picks, got ${count}.`);
  if (count > n) throw new Error(`k-center greedy cannot pick ${count} of ${n} candidates.`);
  if (count === 0) return new Int32Array(0);
  const squaredNorms = tf.tidy(() => tf.sum(tf.square(candidates), 1));
  // ‖x − c‖² = ‖x‖² + ‖c‖² − 2 x·c, clamped at 0 against rounding.
  const distancesTo = (points: tf.Tensor2D) =>
    tf.relu(tf.sub(tf.add(tf.reshape(squaredNorms, [-1, 1]), tf.reshape(tf.sum(tf.square(points), 1), [1, -1])), tf.mul(2, tf.matMul(candidates, points, false, true)))) as tf.Tensor2D;
  const rows = tf.range(0, n, 1, 'int32');
  let nearest: tf.Tensor1D = tf.tidy(() => {
    if (!centres || centres.shape[0] === 0) return tf.fill([n], Infinity) as tf.Tensor1D;
    const parts: tf.Tensor1D[] = [];
    for (let start = 0; start < centres.shape[0]; start += SELECTION_CHUNK) {
      const size = Math.min(SELECTION_CHUNK, centres.shape[0] - start);
      parts.push(tf.min(distancesTo(tf.slice(centres, [start, 0], [size, -1])), 1) as tf.Tensor1D);
    }
    return parts.reduce((a, b) => tf.minimum(a, b)) as tf.Tensor1D;
  });
  const picks: tf.Tensor1D[] = [];
  try {
    for (let k = 0; k < count; k++) {
      const [pick, next] = tf.tidy(() => {
        const index = tf.argMax(nearest) as tf.Scalar;
        const distances = tf.reshape(distancesTo(tf.gather(candidates, tf.reshape(index, [1]))), [-1]);
        // A picked row is a centre: −1 keeps it from being picked again whatever the rounding.
        const updated = tf.where(tf.equal(rows, index), tf.fill([n], -1), tf.minimum(nearest, distances)) as tf.Tensor1D;
        return [tf.reshape(index, [1]) as tf.Tensor1D, updated];
      });
      nearest.dispose();
      nearest = next;
      picks.push(pick);
    }
    const all = tf.concat(picks);
    const values = await all.data();
    all.dispose();
    return Int32Array.from(values);
  } finally {
    picks.forEach((p) => p.dispose());
    nearest.dispose();
    rows.dispose();
    squaredNorms.dispose();
  }
}

/** The `count` indices with the largest scores, highest first; ties go to the earlier index. */
function topScores(indices: Int32Array, scores: ArrayLike<number>, count: number): Int32Array {
  const order = Array.from(indices.keys()).sort((a, b) => scores[b] - scores[a] || a - b);
  return Int32Array.from(order.slice(0, count), (i) => indices[i]);
}

/** `count` of `indices` drawn without replacement, in random order. */
function randomSubset(indices: Int32Array, count: number, rng: Rng): Int32Array {
  const order = rng.permutation(indices.length);
  return Int32Array.from(order.subarray(0, count), (i) => indices[i]);
}

export interface SelectionRequest {
  /** The trained run: its encoder, classifier and self-supervised loss; its training images on the device. */
  trainer: Trainer;
  /** Images already labelled (never picked again; core-set's centres). */
  labelled: Int32Array;
  /** Images to pick. */
  budget: number;
  /** Random picks, the pool subset and the highest-loss views. */
  rng: Rng;
  /** Core-set searches at most this many unlabelled images, a random subset of them. */
  poolSubset?: number;
}

/** Why a selection cannot run, or null. */
export function selectionProblem(budget: number, labelledCount: number, imageCount: number): string | null {
  const pool = imageCount - labelledCount;
  if (!(Number.isInteger(budget) && budget >= 1)) return `The budget must be a whole number of images, at least 1; got ${budget}.`;
  if (pool === 0) return `Every one of the ${imageCount} images is labelled already: there is nothing left to suggest.`;
  if (budget > pool) return `The budget (${budget}) is larger than the unlabelled pool (${pool} of ${imageCount} images are unlabelled).`;
  return null;
}

/**
 * The images `strategy` asks to label next, of the unlabelled ones. Reads the network only: features
 * (core-set), the classifier's entropy (uncertainty) or the self-supervised loss of each image (loss).
 */
export async function selectForLabelling(strategy: SelectionStrategy, request: SelectionRequest): Promise<Int32Array> {
  const { trainer, labelled, budget, rng } = request;
  const count = trainer.trainImages.set.count;
  const problem = selectionProblem(budget, labelled.length, count);
  if (problem) throw new Error(problem);
  const taken = new Set(labelled);
  const pool = Int32Array.from({ length: count }, (_, i) => i).filter((i) => !taken.has(i));
  if (strategy === 'random') return randomSubset(pool, budget, rng);
  const { method, trainImages, settings } = trainer;
  if (strategy === 'coreset') {
    const subset = randomSubset(pool, Math.max(budget, Math.min(pool.length, request.poolSubset ?? DEFAULT_POOL_SUBSET)), rng);
    const candidates = embedImages(method.encoder, trainImages, subset, settings.imageSize, SELECTION_CHUNK);
    const centres = labelled.length > 0 ? embedImages(method.encoder, trainImages, labelled, settings.imageSize, SELECTION_CHUNK) : null;
    try {
      const rows = await kCenterGreedy(candidates, centres, budget);
      return Int32Array.from(rows, (r) => subset[r]);
    } finally {
      candidates.dispose();
      centres?.dispose();
    }
  }
  const scores = new Float32Array(pool.length);
  for (let start = 0; start < pool.length; start += SELECTION_CHUNK) {
    const rows = pool.subarray(start, Math.min(start + SELECTION_CHUNK, pool.length));
    const score = tf.tidy(() => {
      if (strategy === 'uncertainty') {
        if (!method.classifier) throw new Error(`${trainer.definition.label} has no classifier to be uncertain with.`);
        const logits = method.classifier.apply(embedImages(method.encoder, trainImages, rows, settings.imageSize), false) as tf.Tensor2D;
        const logProbabilities = tf.logSoftmax(logits);
        return tf.neg(tf.sum(tf.mul(tf.exp(logProbabilities), logProbabilities), 1));
      }
      if (!method.lossPerImage) throw new Error(`${trainer.definition.label} has no self-supervised loss per image.`);
      const raw = trainImages.gather(rows);
      const views = settings.augmentations.map((view) => standardize(augmentBatch(raw, view, settings.imageSize, rng))) as [tf.Tensor4D, tf.Tensor4D];
      return method.lossPerImage(views, settings.temperature);
    });
    scores.set(await score.data(), start);
    score.dispose();
  }
  return topScores(pool, scores, budget);
}

/** Top-1 accuracy of the run's task classifier on `test` (features in evaluation mode). */
export async function classifierAccuracy(trainer: Trainer, test: ImageSet): Promise<number> {
  const classifier = trainer.method.classifier;
  if (!classifier) throw new Error(`${trainer.definition.label} has no task classifier.`);
  if (!test.labels || test.count === 0) throw new Error('The accuracy needs held-out images with labels.');
  const images = new DeviceImages(test);
  try {
    let correct = 0;
    for (let start = 0; start < test.count; start += SELECTION_CHUNK) {
      const rows = Int32Array.from({ length: Math.min(SELECTION_CHUNK, test.count - start) }, (_, i) => start + i);
      const predicted = tf.tidy(() => tf.argMax(classifier.apply(embedImages(trainer.method.encoder, images, rows, trainer.settings.imageSize), false), 1));
      const values = await predicted.data();
      predicted.dispose();
      values.forEach((p, i) => (correct += p === test.labels![rows[i]] ? 1 : 0));
    }
    return correct / test.count;
  } finally {
    images.dispose();
  }
}

export interface ActiveLearningPlan {
  /** A MoBYv2AL configuration (options.mobyWeight 0: the labels-only baseline); its totalSteps is replaced. */
  config: TrainConfig;
  strategy: SelectionStrategy;
  /** Labels drawn at random before the first cycle. */
  initial: number;
  /** Labels asked for after each cycle but the last. */
  budget: number;
  cycles: number;
  stepsPerCycle: number;
  /** A new network every cycle (the paper) instead of training on (warm start, the default). */
  reinitialise: boolean;
  poolSubset?: number;
}

export interface CycleResult {
  /** 1, 2, …: the cycle just trained. */
  cycle: number;
  strategy: SelectionStrategy;
  /** Labels the cycle trained with. */
  labelled: number;
  /** Task classifier top-1 accuracy on the held-out split after the cycle. */
  accuracy: number;
  perClassLabels: number[];
  /** Labels the oracle has revealed, those picked for the next cycle included. */
  reveals: number;
  /** The images picked for the next cycle (empty after the last). */
  selected: Int32Array;
  selectionMilliseconds: number;
}

/** Why a simulation cannot run on `data`, or null. */
export function activeLearningProblem(plan: ActiveLearningPlan, data: DatasetSplits): string | null {
  const whole = (n: number) => Number.isInteger(n) && n >= 1;
  if (!data.train.labels || data.classNames.length < 2) return `A simulation needs a labelled dataset (a folder with one sub-folder per class), and "${data.name}" has no class labels.`;
  if (!data.test?.labels || data.test.count === 0) return `A simulation measures accuracy on held-out images, and "${data.name}" has none.`;
  if (!whole(plan.initial)) return `The initial labels must be a whole number, at least 1; got ${plan.initial}.`;
  if (!whole(plan.budget)) return `The budget must be a whole number of images per cycle, at least 1; got ${plan.budget}.`;
  if (!whole(plan.cycles)) return `The cycles must be a whole number, at least 1; got ${plan.cycles}.`;
  if (!whole(plan.stepsPerCycle)) return `The steps per cycle must be a whole number, at least 1; got ${plan.stepsPerCycle}.`;
  const needed = plan.initial + plan.budget * (plan.cycles - 1);
  if (needed > data.train.count) {
    return `${plan.cycles} cycles from ${plan.initial} labels, ${plan.budget} more per cycle, need ${needed} labels, but there are only ${data.train.count} training images: lower the budget or the cycles.`;
  }
  return null;
}

/**
 * A simulated active-learning experiment: labels hidden, `initial` revealed at random, then per cycle
 * train (through a `RunSession`), measure the classifier on the held-out split, and reveal the
 * `budget` images the strategy picks. `onCycle` hears each cycle; `onReport` the training reports.
 */
export async function simulateActiveLearning(
  plan: ActiveLearningPlan,
  data: DatasetSplits,
  onCycle: (result: CycleResult) => void,
  onReport: (report: SessionReport) => void = () => {},
): Promise<CycleResult[]> {
  const problem = activeLearningProblem(plan, data);
  if (problem) throw new Error(problem);
  const oracle = new LabelOracle(data.train.labels!, data.classNames.length);
  // Training sees no label but those the oracle revealed.
  const hidden: DatasetSplits = { ...data, train: { ...data.train, labels: null } };
  const rng = new Rng(plan.config.seed * 7727 + 11);
  oracle.reveal(randomSubset(Int32Array.from({ length: data.train.count }, (_, i) => i), plan.initial, rng));
  const config: TrainConfig = { ...plan.config, totalSteps: plan.reinitialise ? plan.stepsPerCycle : plan.stepsPerCycle * plan.cycles };
  const newSession = () => new RunSession([{ id: 'active', name: plan.strategy, config }], hidden, { evaluation: null, reportEverySteps: Math.min(10, plan.stepsPerCycle), labelled: oracle.labelled }, { report: onReport, evaluation: () => {} });
  const results: CycleResult[] = [];
  let session: RunSession | null = null;
  try {
    for (let cycle = 1; cycle <= plan.cycles; cycle++) {
      if (!session || plan.reinitialise) {
        await session?.dispose();
        session = newSession();
      } else {
        session.setLabelled(oracle.labelled);
      }
      await session.train(plan.reinitialise ? undefined : cycle * plan.stepsPerCycle);
      const run = session.run();
      if (run.problem) throw new Error(run.problem);
      const labelled = oracle.labelled;
      const accuracy = await classifierAccuracy(run.trainer, data.test!);
      const started = performance.now();
      const selected = cycle < plan.cycles ? await selectForLabelling(plan.strategy, { trainer: run.trainer, labelled: labelled.indices, budget: plan.budget, rng, poolSubset: plan.poolSubset }) : new Int32Array(0);
      const selectionMilliseconds = performance.now() - started;
      oracle.reveal(selected);
      const result: CycleResult = { cycle, strategy: plan.strategy, labelled: labelled.indices.length, accuracy, perClassLabels: labelsPerClass(labelled.labels, data.classNames.length), reveals: oracle.reveals, selected, selectionMilliseconds };
      results.push(result);
      onCycle(result);
    }
  } finally {
    await session?.dispose();
  }
  return results;
}

/** Your own folder: labelling rounds on images whose labels come from a person, not an oracle. */
export interface LabellingPlan {
  /** A MoBYv2AL configuration; its totalSteps is replaced by plannedCycles × stepsPerCycle. */
  config: TrainConfig;
  strategy: SelectionStrategy;
  /** Images suggested after each cycle (fewer when fewer are unlabelled). */
  budget: number;
  stepsPerCycle: number;
  /** The learning-rate schedule spans this many cycles; a cycle past them extends it. */
  plannedCycles: number;
  poolSubset?: number;
}

/** Points of the labelling map at most: every labelled and suggested image, then unlabelled ones drawn at random. */
export const MAP_POINTS = 1_000;

/** A 2-D PCA map of training images in the encoder's features (L2-normalised, as kNN and core-set see them). */
export interface FeatureMap {
  /** Training image of each point. */
  indices: Int32Array;
  x: Float32Array;
  y: Float32Array;
}

/** Projects `indices`' backbone features on their top two principal axes. */
export async function featureMap(trainer: Trainer, indices: Int32Array): Promise<FeatureMap> {
  const n = indices.length;
  if (n === 0) return { indices, x: new Float32Array(0), y: new Float32Array(0) };
  const { method, trainImages, settings } = trainer;
  const dim = method.encoder.featureDim;
  const packed = tf.tidy(() => {
    const unit = l2Normalize(embedImages(method.encoder, trainImages, indices, settings.imageSize, SELECTION_CHUNK));
    const centred = tf.sub(unit, tf.mean(unit, 0, true));
    const covariance = tf.div(tf.matMul(centred, centred, true, false), Math.max(n - 1, 1));
    return tf.concat([tf.reshape(covariance, [-1]), tf.reshape(centred, [-1])]);
  });
  const values = (await packed.data()) as Float32Array;
  packed.dispose();
  const { axes } = principalAxes(values.subarray(0, dim * dim), dim, 2);
  const centred = values.subarray(dim * dim);
  const project = (axis: Float64Array | undefined) =>
    Float32Array.from({ length: n }, (_, row) => {
      if (!axis) return 0;
      let sum = 0;
      for (let d = 0; d < dim; d++) sum += centred[row * dim + d] * axis[d];
      return sum;
    });
  return { indices, x: project(axes[0]), y: project(axes[1]) };
}

export interface LabellingCycleResult {
  cycle: number;
  /** Labelled images the run held when this cycle's training ended (read from the trainer itself). */
  trainedWith: number;
  perClassLabels: number[];
  /** Unlabelled images left. */
  unlabelled: number;
  /** The images to label next, indices into the training images. */
  selected: Int32Array;
  /** What the person should know: a smaller suggestion than asked, a class without labels, nothing left. */
  notes: string[];
  /** The labelled, the suggested and (up to MAP_POINTS in all) unlabelled images in the trained features. */
  map: FeatureMap;
}

/**
 * Active learning on a folder someone labels by hand: `data` has the named classes and no labels of
 * its own; each `cycle` trains on the labels given so far (one `RunSession` kept across cycles: warm
 * start) and picks the next images to label. Bad input that the person can go on from (a budget past
 * the pool, a class without labels, every image labelled) becomes a note, never an error.
 */
export class LabellingRounds {
  private session: RunSession | null = null;
  private cycles = 0;
  private readonly rng: Rng;

  constructor(
    private readonly plan: LabellingPlan,
    private readonly data: DatasetSplits,
    private readonly onReport: (report: SessionReport) => void = () => {},
  ) {
    const problem = labellingProblem(plan, data);
    if (problem) throw new Error(problem);
    this.rng = new Rng(plan.config.seed * 7727 + 13);
  }

  get completedCycles(): number {
    return this.cycles;
  }

  async cycle(labelled: LabelledImages): Promise<LabellingCycleResult> {
    const { plan, data } = this;
    const problem = labelledImagesProblem(labelled, data.train.count, data.classNames.length);
    if (problem) throw new Error(problem);
    const cycle = this.cycles + 1;
    const until = cycle * plan.stepsPerCycle;
    if (!this.session) {
      const config: TrainConfig = { ...plan.config, totalSteps: Math.max(plan.plannedCycles, 1) * plan.stepsPerCycle };
      this.session = new RunSession([{ id: 'labelling', name: plan.strategy, config }], data, { evaluation: null, reportEverySteps: Math.min(10, plan.stepsPerCycle), labelled }, { report: this.onReport, evaluation: () => {} });
    } else {
      this.session.setLabelled(labelled);
    }
    const run = this.session.run();
    if (until > run.trainer.settings.totalSteps) this.session.updateSettings(undefined, { totalSteps: until });
    await this.session.train(until);
    if (run.problem) throw new Error(run.problem);
    this.cycles = cycle;
    const trained = run.trainer.labelled!;
    const perClassLabels = labelsPerClass(trained.labels, data.classNames.length);
    const unlabelled = data.train.count - trained.indices.length;
    const notes: string[] = [];
    const missing = data.classNames.filter((_, c) => perClassLabels[c] === 0);
    if (missing.length > 0) notes.push(`No image is labelled ${missing.map((c) => `"${c}"`).join(', ')} yet: the classifier cannot learn ${missing.length === 1 ? 'that class' : 'those classes'} until one is.`);
    let selected: Int32Array = new Int32Array(0);
    if (unlabelled === 0) {
      notes.push(`Every one of the ${data.train.count} images is labelled: there is nothing left to suggest. Download the labels.`);
    } else {
      const budget = Math.min(plan.budget, unlabelled);
      if (budget < plan.budget) {
        notes.push(unlabelled === 1 ? `Only one image is unlabelled, fewer than the ${plan.budget} asked for, so it is suggested.` : `Only ${unlabelled} images are unlabelled, fewer than the ${plan.budget} asked for, so all ${unlabelled} are suggested.`);
      }
      selected = await selectForLabelling(plan.strategy, { trainer: run.trainer, labelled: trained.indices, budget, rng: this.rng, poolSubset: plan.poolSubset });
    }
    return { cycle, trainedWith: trained.indices.length, perClassLabels, unlabelled, selected, notes, map: await featureMap(run.trainer, this.mapIndices(trained.indices, selected)) };
  }

  /** Every labelled and suggested image, then unlabelled ones at random up to MAP_POINTS. */
  private mapIndices(labelled: Int32Array, selected: Int32Array): Int32Array {
    const shown = new Set([...labelled, ...selected]);
    const rest = Int32Array.from({ length: this.data.train.count }, (_, i) => i).filter((i) => !shown.has(i));
    const room = Math.max(0, MAP_POINTS - shown.size);
    return Int32Array.from([...shown, ...randomSubset(rest, Math.min(room, rest.length), new Rng(this.cycles))]);
  }

  async dispose(): Promise<void> {
    const session = this.session;
    this.session = null;
    await session?.dispose();
  }
}

/** Why labelling rounds cannot start on `data` with `plan`, or null. */
export function labellingProblem(plan: LabellingPlan, data: DatasetSplits): string | null {
  const whole = (n: number) => Number.isInteger(n) && n >= 1;
  if (data.classNames.length < 2) return 'Name at least two classes before the first cycle: the classifier learns to tell them apart, and labels need names.';
  if (new Set(data.classNames).size !== data.classNames.length) return 'Two classes have the same name; give each class its own name.';
  if (!whole(plan.budget)) return `The images per cycle must be a whole number, at least 1; got ${plan.budget}.`;
  if (!whole(plan.stepsPerCycle)) return `The steps per cycle must be a whole number, at least 1; got ${plan.stepsPerCycle}.`;
  if (!whole(plan.plannedCycles)) return `The cycles must be a whole number, at least 1; got ${plan.plannedCycles}.`;
  if (data.train.count < 2) return `The folder has ${data.train.count} usable image; active learning needs at least two.`;
  return null;
}
