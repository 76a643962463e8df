/**
 * What a method is: the networks it builds, the loss it computes, the state it updates after
 * each optimizer step, its options and its defaults. One file per method implements
 * `MethodDefinition` and registers it in `registry.ts`. A method declares what it owns (modules,
 * EMA pairs, state variables); the trainer moves the EMA targets, checkpoints and disposes them.
 */
import type * as tf from '@tensorflow/tfjs';
import type { ViewAugmentation } from '../augment';
import type { Backbone } from '../backbones';
import type { GradientAnatomyTargets } from '../gradient-anatomy';
import type { PresetName, TrainConfig } from '../config';
import type { Module, Param } from '../nn';
import type { Rng } from '../random';
import type { MethodOptionSpecs, TauUse } from './options';

export type MethodFamily = 'contrastive' | 'asymmetric' | 'decorrelation' | 'hybrid' | 'pretext';

/** Everything the loss may use in one step. Views are augmented and standardised, NHWC. */
export interface StepInputs {
  readonly views: [tf.Tensor4D, tf.Tensor4D];
  /** Dataset index of every image in the batch (NPID's memory bank). */
  readonly indices: tf.Tensor1D;
  /** Class labels where the dataset has them (SupCon); null otherwise. */
  readonly labels: tf.Tensor1D | null;
  /**
   * Zeros added to view 1's online embedding on the steps that measure the gradient anatomy: the
   * trainer differentiates the loss with respect to it, which is ∂L/∂z₁. Absent on other steps.
   */
  readonly gradientProbe?: tf.Tensor2D;
  /**
   * The batch's weakly augmented view (crop and flip), only on the labelled batches of a method that
   * declares `semiSupervised`; `labels` then holds the labels revealed for the batch, and no others.
   */
  readonly weakView?: tf.Tensor4D;
}

export interface StepSchedule {
  readonly step: number;
  readonly tau: number;
  readonly temperature: number;
}

export interface LossOutput {
  readonly loss: tf.Scalar;
  /**
   * Named parts of the loss where the method has them (Barlow on/off-diagonal, VICReg's three
   * terms, a contrastive loss split into its pull on the positive and its push on the negatives).
   * Each term is already weighted, so the terms add up to `loss`.
   */
  readonly terms: Record<string, tf.Scalar>;
  /** Projector output of the first view (backbone features for RotNet): what collapse detection measures. */
  readonly embedding: tf.Tensor2D;
  /**
   * Projector output of the second view. With `embedding` it gives the per-step alignment,
   * uniformity and positive/negative cosine; those are not reported when a method leaves it out.
   */
  readonly secondEmbedding?: tf.Tensor2D;
  /**
   * Backbone features of the first view, as computed for the loss (solo-learn's "feats"): the online
   * linear probe trains on them, detached, at no extra forward pass. No probe when left out.
   */
  readonly features?: tf.Tensor2D;
  /** Tensors `afterStep` needs (e.g. MoCo's keys to enqueue). */
  readonly carry: tf.Tensor[];
  /** View 1's positive target and its weight in the loss, for the gradient anatomy; left out where there is none (RotNet). */
  readonly anatomy?: GradientAnatomyTargets;
}

export interface MethodContext {
  readonly config: TrainConfig;
  /**
   * The method's random generator: initialisation draws from it, and so may anything the method
   * draws while training (RotNet's rotations). Checkpoints save and restore its state, so a resumed
   * run draws what the uninterrupted one would have. A generator seeded from it would not be saved.
   */
  readonly rng: Rng;
  readonly datasetSize: number;
  readonly numClasses: number;
}

export interface MethodInstance {
  /** The online encoder: what is evaluated with kNN and exported. */
  readonly encoder: Backbone;
  /** Parameters the optimizer updates. */
  readonly params: Param[];
  /** Every module the method owns (online and target): the trainer checkpoints and disposes them. */
  readonly modules: Module[];
  /**
   * Online/target pairs the trainer moves by EMA after `afterStep`, with the step's τ:
   * target ← τ·target + (1 − τ)·online. Each target is a separately built copy and is also listed in `modules`.
   */
  readonly emaPairs?: ReadonlyArray<{ readonly online: Module; readonly target: Module }>;
  /**
   * State that is neither a parameter nor a BatchNorm buffer but must survive a checkpoint: MoCo's and
   * MoBY's key queues, NPID's memory bank, UniGrad's running correlation matrix. Never trainable; a
   * checkpoint saves and restores their values in this order, and the trainer disposes them.
   */
  readonly state?: tf.Variable[];
  /** Width of `LossOutput.embedding` when it is not `config.projector.out` (RotNet: backbone features). */
  readonly embeddingDim?: number;
  /** A task classifier on the encoder's features (MoBYv2AL): active learning's accuracy and uncertainty. */
  readonly classifier?: Module;
  /** Batches are drawn from the labelled images only (a labels-only baseline), never from the unlabelled pool. */
  readonly labelledBatchesOnly?: boolean;
  /** The self-supervised loss of each image of two views, [N], in evaluation mode (active learning's highest-loss pick). */
  lossPerImage?(views: readonly [tf.Tensor4D, tf.Tensor4D], temperature: number): tf.Tensor1D;
  /** Called inside the gradient tape. */
  computeLoss(inputs: StepInputs, schedule: StepSchedule): LossOutput;
  /** Called after the optimizer step, inside tf.tidy, before the EMA of `emaPairs`: queues, memory banks. */
  afterStep?(inputs: StepInputs, schedule: StepSchedule, carry: tf.Tensor[]): void;
}

export interface MethodDefinition {
  readonly id: string;
  readonly label: string;
  readonly family: MethodFamily;
  /** One paragraph for the classroom: what it pulls together, what it pushes apart, what stops collapse. */
  readonly explanation: string;
  /**
   * Which of the live settings mean something for this method, so the UI shows only those. τ may
   * matter only when an option has one value (a momentum encoder chosen as the target branch).
   */
  readonly uses: { tau: TauUse; temperature: boolean; labels: boolean };
  /** The method's own settings with their defaults; `TrainConfig.options` may set any of these and no other. */
  readonly options: MethodOptionSpecs;
  /**
   * A method trained on a partly labelled set (MoBYv2AL): the trainer alternates a batch of labelled
   * images (with this weak view and their revealed labels) and a batch of unlabelled ones (no labels).
   */
  readonly semiSupervised?: { readonly weakView: ViewAugmentation };
  defaults(preset: PresetName): TrainConfig;
  create(context: MethodContext): MethodInstance;
}
