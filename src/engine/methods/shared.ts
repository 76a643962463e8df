/** Network pieces, state and settings several methods build the same way. */
import * as tf from '@tensorflow/tfjs';
import { standardView, type AugmentationConfig, type ViewAugmentation } from '../augment';
import { createBackbone, type Backbone } from '../backbones';
import type { PresetName, TrainConfig } from '../config';
import { copyWeights } from '../ema';
import { createMlp, type Mlp } from '../heads';
import { l2Normalize, stopGradient } from '../losses';
import { sequential, variableFrom, type Module } from '../nn';
import { BACKBONE_PRESETS } from '../presets';
import type { Rng } from '../random';
import { TARGET_BRANCH, defaultOptions, type MethodOptionChoice, type MethodOptionSpec } from './options';
import type { MethodInstance, StepInputs } from './types';

/** A backbone followed by a projector. */
export interface ProjectedEncoder {
  readonly backbone: Backbone;
  readonly projector: Mlp;
  /** Backbone and projector as one module (for copies and EMA). */
  readonly module: Module;
  project(x: tf.Tensor4D, training: boolean): tf.Tensor2D;
  /** Backbone features and their projection from one forward pass (the probe trains on the features). */
  encode(x: tf.Tensor4D, training: boolean): { features: tf.Tensor2D; embedding: tf.Tensor2D };
  /** `encode` of view 1 for the loss, with the step's gradient probe added to the embedding when it has one. */
  encodeFirstView(inputs: StepInputs): { features: tf.Tensor2D; embedding: tf.Tensor2D };
}

export function createProjectedEncoder(config: TrainConfig, rng: Rng, name: string): ProjectedEncoder {
  const backbone = createBackbone(config.backbone, rng, `${name}/backbone`);
  const projector = createMlp(config.projector, backbone.featureDim, rng, `${name}/projector`);
  const module = sequential(backbone, projector);
  const encode = (x: tf.Tensor4D, training: boolean) => {
    const features = backbone.apply(x, training) as tf.Tensor2D;
    return { features, embedding: projector.apply(features, training) as tf.Tensor2D };
  };
  const encodeFirstView = (inputs: StepInputs) => {
    const { features, embedding } = encode(inputs.views[0], true);
    return { features, embedding: inputs.gradientProbe ? (tf.add(embedding, inputs.gradientProbe) as tf.Tensor2D) : embedding };
  };
  return { backbone, projector, module, project: (x, training) => encode(x, training).embedding, encode, encodeFirstView };
}

/**
 * The momentum (key/target) encoder of MoCo, MoBY and UniGrad: built as its own network, then
 * overwritten with the online weights, so it shares no variable with the online side.
 */
export function createMomentumCopy(online: ProjectedEncoder, config: TrainConfig, rng: Rng, name: string): ProjectedEncoder {
  const target = createProjectedEncoder(config, rng, name);
  copyWeights(online.module, target.module);
  return target;
}

/** The "Target branch" option; `ownLabel` names the method's own form. */
export function targetBranchOption(ownLabel: string, withStopGradient: boolean): MethodOptionSpec {
  const choices: MethodOptionChoice[] = [
    { value: TARGET_BRANCH.own, label: ownLabel },
    ...(withStopGradient ? [{ value: TARGET_BRANCH.stopGradient, label: 'same network, stop-gradient' }] : []),
    { value: TARGET_BRANCH.momentum, label: 'momentum encoder (τ)' },
  ];
  return {
    label: 'Target branch',
    hint: 'What each view is pulled towards. UniGrad found that a momentum encoder (a slowly moving copy of the network, τ), not the loss, explains most of the gap between methods.',
    kind: 'choice',
    default: TARGET_BRANCH.own,
    choices,
  };
}

/** τ matters to these methods only with the momentum encoder. */
export const TAU_WITH_MOMENTUM_BRANCH = { option: 'targetBranch', value: TARGET_BRANCH.momentum } as const;

/** The target side of a two-view loss other than the method's own form: detached embeddings of both views. */
export interface TargetBranch {
  /** The momentum copy where there is one: the method lists it in its modules and EMA pairs. */
  readonly momentum: ProjectedEncoder | null;
  /** Targets for view 1 and view 2, given the online embeddings of both; never differentiated. */
  targets(views: readonly [tf.Tensor4D, tf.Tensor4D], z1: tf.Tensor2D, z2: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D];
}

/** The target branch for a `targetBranch` option value; null for the method's own form. */
export function createTargetBranch(mode: number, online: ProjectedEncoder, config: TrainConfig, rng: Rng): TargetBranch | null {
  if (mode === TARGET_BRANCH.own) return null;
  if (mode === TARGET_BRANCH.stopGradient) return { momentum: null, targets: (_views, z1, z2) => [stopGradient(z1), stopGradient(z2)] };
  const momentum = createMomentumCopy(online, config, rng, 'momentum');
  return { momentum, targets: (views) => [stopGradient(momentum.project(views[0], true)), stopGradient(momentum.project(views[1], true))] };
}

/** The modules and EMA pair a target branch adds to a method's instance. */
export function targetBranchParts(online: ProjectedEncoder, branch: TargetBranch | null): Pick<MethodInstance, 'modules' | 'emaPairs'> {
  const momentum = branch?.momentum;
  if (!momentum) return { modules: [online.module] };
  return { modules: [online.module, momentum.module], emaPairs: [{ online: online.module, target: momentum.module }] };
}

/** `rows` random unit vectors of width `dim`, drawn on the CPU (normal, then L2-normalised). */
export function randomUnitRows(rng: Rng, rows: number, dim: number): tf.Tensor2D {
  const values = new Float32Array(rows * dim);
  for (let i = 0; i < values.length; i++) values[i] = rng.normal();
  return tf.tidy(() => l2Normalize(tf.tensor2d(values, [rows, dim])));
}

/**
 * A FIFO of unit-length keys (MoCo, MoBY), rows in arrival order: the oldest key is row 0, the newest
 * the last row. Starts with random unit vectors, as the reference code does. tfjs cannot write into a
 * tensor in place, so any update rewrites the whole buffer: a shift costs what a ring write would,
 * needs no pointer, and works for any queue length and batch size.
 */
export class KeyQueue {
  readonly keys: tf.Variable;

  constructor(readonly size: number, dim: number, rng: Rng) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`The key queue needs a whole number of keys of at least 1, got ${size}.`);
    this.keys = variableFrom(randomUnitRows(rng, size, dim), false);
  }

  /** Appends a batch of keys (unit rows, oldest first); only the newest `size` keys are kept. */
  enqueue(batch: tf.Tensor2D): void {
    tf.tidy(() => {
      const n = batch.shape[0];
      const incoming = n >= this.size ? tf.slice(batch, [n - this.size, 0], [this.size, -1]) : batch;
      const kept = this.size - incoming.shape[0];
      const next = kept > 0 ? tf.concat([tf.slice(this.keys, [this.size - kept, 0], [kept, -1]), incoming], 0) : incoming;
      this.keys.assign(next);
    });
  }
}

/**
 * A contrastive loss −mean log softmax(positive) split into its two forces: `pull` = −mean positive
 * logit (s⁺/T; smaller when matching views agree) and `push` = the mean log-sum-exp over all
 * candidates (smaller when negatives are far). pull + push = loss exactly.
 */
export function pullPushTerms(loss: tf.Scalar, meanPositiveLogit: tf.Scalar): Record<string, tf.Scalar> {
  const pull = tf.neg(meanPositiveLogit) as tf.Scalar;
  return { pull, push: tf.sub(loss, pull) as tf.Scalar };
}

/** Mean over rows of cos(a_i, b_i) / temperature. */
export function meanPositiveLogit(a: tf.Tensor2D, b: tf.Tensor2D, temperature: number): tf.Scalar {
  return tf.tidy(() => tf.div(tf.mean(tf.sum(tf.mul(l2Normalize(a), l2Normalize(b)), 1)), temperature) as tf.Scalar);
}

/** A view with its colour jitter strengths replaced (solo-learn's recipes differ mostly there). */
function withJitter(view: ViewAugmentation, brightness: number, contrast: number, saturation: number, hue: number): ViewAugmentation {
  return { ...view, colorJitter: { probability: 0.8, brightness, contrast, saturation, hue } };
}

/**
 * The augmentation recipes of solo-learn's CIFAR configs (scripts/pretrain/cifar/augmentations/*.yaml):
 * "symmetric" (SimCLR, SupCon: strong jitter 0.8/0.8/0.8/0.2, blur 0.5), "symmetric-weak" (MoCo v2+,
 * SimSiam: 0.4/0.4/0.4/0.1, blur 0.5) and "asymmetric" (BYOL, Barlow Twins: 0.4/0.4/0.2/0.1, no blur,
 * solarise 0.2 on the second view). Crops 0.08–1, flip 0.5, grayscale 0.2 in all three.
 */
export function soloAugmentations(recipe: 'symmetric' | 'symmetric-weak' | 'asymmetric'): AugmentationConfig {
  if (recipe === 'asymmetric') return [standardView(), standardView({ solarize: 0.2 })];
  const view = standardView({ blur: 0.5 });
  const jittered = recipe === 'symmetric' ? withJitter(view, 0.8, 0.8, 0.8, 0.2) : withJitter(view, 0.4, 0.4, 0.4, 0.1);
  return sameForBothViews(jittered);
}

/** One recipe for both views, as two separate objects so editing one view never edits the other. */
export function sameForBothViews(view: ViewAugmentation): AugmentationConfig {
  return [view, structuredClone(view)];
}

/** Both views with crops no smaller than `minScale` of the image (milder than 0.08 for short runs). */
export function withMinCropScale(views: AugmentationConfig, minScale: number): AugmentationConfig {
  return views.map((view) => (view.crop ? { ...view, crop: { ...view.crop, scale: [minScale, 1] } } : view)) as AugmentationConfig;
}

/**
 * The run shape shared by every reference preset: ResNet-18 (CIFAR stem) at 32 px, batch 256,
 * 1000 epochs of CIFAR-10's 50 000 images (195 steps an epoch) with 10 warm-up epochs, as in
 * solo-learn's scripts/pretrain/cifar/*.yaml.
 */
export const REFERENCE_RUN = {
  seed: 1,
  imageSize: 32,
  batchSize: 256,
  totalSteps: 195_000,
  warmupSteps: 1950,
  backbone: BACKBONE_PRESETS['resnet-18'],
} satisfies Partial<TrainConfig>;

/**
 * The run shape and optimizer shared by every classroom preset: Tiny ConvNet, 32 px, batch 32, 300
 * steps. Of the encoders and sizes tried on a 2-core CPU's WebAssembly backend it moved kNN accuracy
 * furthest above the untrained encoder's, and in the least time (docs/methods.md has the runs that set
 * it). AdamW at 2e-3 moved kNN accuracy further in 300 steps than each method's SGD or LARS settings.
 */
export const CLASSROOM_RUN = {
  seed: 1,
  imageSize: 32,
  batchSize: 32,
  totalSteps: 300,
  warmupSteps: 10,
  backbone: BACKBONE_PRESETS['convnet-tiny'],
  optimizer: { kind: 'adamw', beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 1e-4 },
  learningRate: 2e-3,
} satisfies Partial<TrainConfig>;

/**
 * Where every preset starts: no predictor, and τ and temperature at these values for methods that
 * have no use for them (the setup hides them there). A method that uses one states its own.
 */
const PRESET_BASE = { predictor: null, tau: 0.99, tauSchedule: false, temperature: 0.1 } satisfies Partial<TrainConfig>;

/** What a preset states beyond the settings `given` to it: the method's own recipe and option overrides. */
type Recipe<Given extends keyof TrainConfig, OptionName extends string> = Omit<TrainConfig, 'method' | 'preset' | 'options' | Given> &
  Partial<Pick<TrainConfig, Given>> & { options?: Partial<Record<OptionName, number>> };

/** A reference preset's recipe: heads, optimizer and learning rate, augmentations, and what else is the method's own. */
type ReferenceRecipe<OptionName extends string> = Recipe<keyof typeof REFERENCE_RUN | keyof typeof PRESET_BASE, OptionName>;
/** A classroom preset's recipe: heads, augmentations, and what else is the method's own. */
type ClassroomRecipe<OptionName extends string> = Recipe<keyof typeof CLASSROOM_RUN | keyof typeof PRESET_BASE, OptionName>;

/**
 * A method's `defaults`: each preset is the shared run shape (REFERENCE_RUN or CLASSROOM_RUN) with the
 * method's recipe on top, and its options are the declared defaults with the recipe's overrides.
 * Every call builds new objects, so editing a preset never edits another.
 */
export function methodPresets<OptionName extends string>(
  id: string,
  options: Readonly<Record<OptionName, MethodOptionSpec>>,
  recipes: { reference(): ReferenceRecipe<OptionName>; classroom(): ClassroomRecipe<OptionName> },
): (preset: PresetName) => TrainConfig {
  const withOptions = (overrides: Partial<Record<OptionName, number>> = {}): Record<string, number> => ({ ...defaultOptions(options), ...overrides });
  return (preset) => {
    if (preset === 'reference') {
      const { options: overrides, ...recipe } = recipes.reference();
      return { ...PRESET_BASE, ...structuredClone(REFERENCE_RUN), ...recipe, method: id, preset, options: withOptions(overrides) };
    }
    const { options: overrides, ...recipe } = recipes.classroom();
    return { ...PRESET_BASE, ...structuredClone(CLASSROOM_RUN), ...recipe, method: id, preset, options: withOptions(overrides) };
  };
}

/**
 * A method's recipe for the classroom: crops of at least 30% of the image (milder crops a recipe
 * already has are kept) and no blur. Both come from tuning at 16 px, where an 8% crop is a 4-pixel
 * patch and σ up to 2 px an eighth of the image; the 32 px presets were measured with them.
 */
export function classroomAugmentations(views: AugmentationConfig): AugmentationConfig {
  const minScale = 0.3;
  return views.map((view) => ({
    ...view,
    crop: view.crop && view.crop.scale[0] < minScale ? { ...view.crop, scale: [minScale, Math.max(minScale, view.crop.scale[1])] } : view.crop,
    blur: null,
  })) as AugmentationConfig;
}
