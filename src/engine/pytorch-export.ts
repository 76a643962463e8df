/**
 * A run as a PyTorch project: train.py and siamese_torch.py (the app's networks and methods in
 * PyTorch, under the app's parameter names), config.json (the run's TrainConfig), the weights as
 * safetensors, one fixed batch with the app's loss and gradient norms on it (what
 * `python3 train.py --check-parity` recomputes), and a README with the commands.
 *
 * Only the methods siamese_torch.py reproduces are exported, and only in the form it reproduces
 * (a method option it does not implement refuses the export): never a silently different script.
 */
import * as tf from '@tensorflow/tfjs';
import { augmentBatch, standardize } from './augment';
import type { TrainConfig } from './config';
import { shapesDataset } from '../data/shapes';
import { disposeInstance } from './methods/instance';
import { defaultOptions } from './methods/options';
import { getMethod } from './methods/registry';
import type { MethodInstance } from './methods/types';
import { Rng } from './random';
import { encodeSafetensors, type NamedArray } from './safetensors';
import { loadTorchState, moduleTensors, torchStateOf } from './torch-weights';

/**
 * The methods siamese_torch.py reproduces, in the order they were ported, each with the options its
 * port reads; any other option of the method must keep its default.
 */
const PORTED_OPTIONS: Readonly<Record<string, readonly string[]>> = {
  byol: [],
  simclr: [],
  simsiam: ['stopGradient'],
  barlow: ['lambda', 'scale'],
  vicreg: ['invarianceWeight', 'varianceWeight', 'covarianceWeight'],
};
export const PYTORCH_PROJECT_METHODS: readonly string[] = Object.keys(PORTED_OPTIONS);

/** Largest fixed batch: enough for BatchNorm statistics, small enough to compute quickly on a CPU. */
const PARITY_BATCH = 16;
/** Relative difference `--check-parity` accepts in the loss and in each gradient norm. */
export const PARITY_TOLERANCE = 1e-4;
/**
 * Gradient norms are compared relative to at least this fraction of the total gradient norm: a
 * gradient the network cancels to zero (a bias right before a BatchNorm) is float32 rounding noise on
 * both sides, and its relative difference means nothing.
 */
export const PARITY_GRADIENT_FLOOR = 1e-3;

/** Why `config` cannot be exported as a PyTorch project, or null when it can. */
export function pytorchExportProblem(config: TrainConfig): string | null {
  const definition = getMethod(config.method);
  if (!PYTORCH_PROJECT_METHODS.includes(config.method)) {
    return `${definition.label} has no PyTorch port yet; the PyTorch project covers ${PYTORCH_PROJECT_METHODS.map((id) => getMethod(id).label).join(', ')}.`;
  }
  const defaults = defaultOptions(definition.options);
  const ported = PORTED_OPTIONS[config.method];
  const changed = Object.entries(config.options).filter(([name, value]) => name in defaults && !ported.includes(name) && defaults[name] !== value);
  if (changed.length > 0) {
    return `The PyTorch port of ${definition.label} implements its default form only; reset ${changed.map(([name]) => name).join(', ')} to export.`;
  }
  return null;
}

/** The exported project's Python sources, read from scripts/ by whoever builds the project. */
export interface PytorchSources {
  trainPy: string;
  siameseTorchPy: string;
  readme: string;
}

export interface ProjectFile {
  path: string;
  data: Uint8Array | string;
}

/** The app's numbers on the fixed batch: what `--check-parity` compares with. */
export interface ParityReference {
  loss: number;
  /** ‖∂L/∂θ‖ of each trainable parameter, by app name. */
  gradientNorms: Record<string, number>;
  batchSize: number;
  tolerance: number;
  /** See PARITY_GRADIENT_FLOOR. */
  gradientFloor: number;
}

/** The method's weights (every parameter and BatchNorm statistic) in PyTorch's layout, under the app's names. */
export function methodWeights(method: MethodInstance): Promise<NamedArray[]> {
  return torchStateOf(moduleTensors(method.modules));
}

/** The method's networks for `config`, initialised from its seed, with nothing to train on; the caller disposes it. */
function bareMethod(config: TrainConfig): MethodInstance {
  return getMethod(config.method).create({ config, rng: new Rng(config.seed), datasetSize: 1, numClasses: 1 });
}

/** The method's freshly initialised weights for `config`. */
export async function initialWeights(config: TrainConfig): Promise<NamedArray[]> {
  const method = bareMethod(config);
  try {
    return await methodWeights(method);
  } finally {
    disposeInstance(method);
  }
}

/** A freshly built method of `config` holding `weights`; the caller disposes it. */
export function methodWithWeights(config: TrainConfig, weights: readonly NamedArray[]): MethodInstance {
  const method = bareMethod(config);
  try {
    loadTorchState(moduleTensors(method.modules), weights);
  } catch (error) {
    disposeInstance(method);
    throw error;
  }
  return method;
}

/**
 * The fixed batch (two augmented, standardised views of built-in shapes, NCHW) and the app's loss
 * and gradient norms on it, computed on a copy of the weights so the run's own BatchNorm
 * statistics do not move.
 */
export async function parityBatch(config: TrainConfig, weights: readonly NamedArray[]): Promise<{ views: NamedArray[]; reference: ParityReference }> {
  const batchSize = Math.min(config.batchSize, PARITY_BATCH);
  const images = shapesDataset({ trainCount: batchSize, testCount: 0, size: config.imageSize, seed: config.seed }).train;
  const method = methodWithWeights(config, weights);
  try {
    const rng = new Rng(config.seed);
    const views = tf.tidy(() => {
      const raw = tf.tensor4d(images.pixels, [batchSize, config.imageSize, config.imageSize, 3]).div(255) as tf.Tensor4D;
      return config.augmentations.map((view) => standardize(augmentBatch(raw, view, config.imageSize, rng))) as [tf.Tensor4D, tf.Tensor4D];
    });
    const indices = tf.tensor1d(Int32Array.from({ length: batchSize }, (_, i) => i), 'int32');
    const schedule = { step: 0, tau: config.tau, temperature: config.temperature };
    const { value, grads } = tf.variableGrads(() => method.computeLoss({ views, indices, labels: null }, schedule).loss, method.params.map((p) => p.variable));
    const norms = tf.tidy(() => method.params.map((p) => (grads[p.variable.name] ? tf.norm(grads[p.variable.name]) : tf.scalar(0))));
    const loss = (await value.data())[0];
    const gradientNorms: Record<string, number> = {};
    for (const [i, norm] of norms.entries()) gradientNorms[method.params[i].name] = (await norm.data())[0];
    const nchw = views.map((v) => tf.transpose(v, [0, 3, 1, 2]));
    const viewArrays = await Promise.all(nchw.map(async (v, i) => ({ name: `view${i + 1}`, shape: v.shape.slice(), data: (await v.data()) as Float32Array })));
    [value, indices, ...views, ...nchw, ...norms, ...Object.values(grads)].forEach((t) => t.dispose());
    return { views: viewArrays, reference: { loss, gradientNorms, batchSize, tolerance: PARITY_TOLERANCE, gradientFloor: PARITY_GRADIENT_FLOOR } };
  } finally {
    disposeInstance(method);
  }
}

/** The metadata a weights file carries so that it describes itself: the run's config and step. */
export function weightsMetadata(config: TrainConfig, step: number): Record<string, string> {
  return { format: 'siamese-playground/pytorch-weights', config: JSON.stringify(config), step: String(step) };
}

/** Every file of the project. `weights` are the starting weights (PyTorch layout, app names); `step` the run's step they are from. */
export async function buildPytorchProject(config: TrainConfig, weights: readonly NamedArray[], step: number, sources: PytorchSources): Promise<ProjectFile[]> {
  const problem = pytorchExportProblem(config);
  if (problem) throw new Error(problem);
  // Every option written out, so the Python side never needs the app's defaults.
  config = { ...config, options: { ...defaultOptions(getMethod(config.method).options), ...config.options } };
  const { views, reference } = await parityBatch(config, weights);
  return [
    { path: 'train.py', data: sources.trainPy },
    { path: 'siamese_torch.py', data: sources.siameseTorchPy },
    { path: 'README.md', data: sources.readme },
    { path: 'config.json', data: `${JSON.stringify(config, null, 2)}\n` },
    { path: 'weights.safetensors', data: encodeSafetensors([...weights], weightsMetadata(config, step)) },
    { path: 'parity.safetensors', data: encodeSafetensors(views) },
    { path: 'parity.json', data: `${JSON.stringify(reference, null, 2)}\n` },
  ];
}

const BACKBONE_SEGMENT = /(^|\/)backbone\//;

/**
 * Loads weights (PyTorch layout, app names: train.py's output, or the app's own export) into a run's
 * method. Weights of the same method and networks replace every parameter and BatchNorm statistic,
 * so the run continues from them; weights of another method (or a bare backbone state dict with
 * names like "backbone/conv0/kernel") replace the encoder alone, found by the name below "backbone/"
 * (the first such tensor in the file, the online encoder). Nothing is written unless everything fits.
 * Returns a sentence saying what was loaded.
 */
export function loadRunWeights(method: MethodInstance, state: readonly NamedArray[]): string {
  const all = moduleTensors(method.modules);
  try {
    loadTorchState(all, state);
    return `Loaded all ${all.length} tensors of the run's networks; training continues from them.`;
  } catch (fullError) {
    const encoder = [...method.encoder.params, ...method.encoder.buffers];
    const firstName = encoder[0]?.name ?? '';
    const prefix = firstName.slice(0, firstName.search(BACKBONE_SEGMENT) + (firstName.match(BACKBONE_SEGMENT)?.[0].length ?? 0));
    const byLocal = new Map<string, NamedArray>();
    for (const tensor of state) {
      const match = tensor.name.match(BACKBONE_SEGMENT);
      if (!match || match.index === undefined) continue;
      const local = tensor.name.slice(match.index + match[0].length);
      if (!byLocal.has(local)) byLocal.set(local, { ...tensor, name: prefix + local });
    }
    if (byLocal.size === 0) throw fullError;
    try {
      loadTorchState(encoder, [...byLocal.values()]);
    } catch (encoderError) {
      throw new Error(`${(fullError as Error).message} Nor do they hold this run's encoder: ${(encoderError as Error).message}`);
    }
    return `Loaded the encoder (${encoder.length} tensors); the heads and any target network keep their own values.`;
  }
}
