/**
 * A run as a PyTorch project: train.py and siamese_torch.py (the app's networks and methods in
 * PyTorch, under the app's parameter names), config.json (the run's TrainConfig), the weights as
 * safetensors, one fixed batch with the app's loss and gradient norms on it (what
 * `python3 train.py --check-parity` recomputes), and a README with the commands.
 *
 * Only the methods siamese_torch.py reproduces are exported, and only in the form it reproduces
 * (a method option it does not implement refuses the export): never a silently different script.
 * A method's state (MoCo's and MoBY's key queues, NPID's memory bank, UniGrad's correlation matrix)
 * travels with the weights as "state/0", "state/1", … in the order of `MethodInstance.state`, the
 * names checkpoints give it.
 */
import * as tf from '@tensorflow/tfjs';
import { augmentBatch, standardize } from './augment';
import type { TrainConfig } from './config';
import { SHAPE_CLASSES, shapesDataset } from '../data/shapes';
import { disposeInstance } from './methods/instance';
import { defaultOptions, readOptions } from './methods/options';
import { getMethod } from './methods/registry';
import { drawNegatives } from './methods/npid';
import { drawRotations } from './methods/rotation';
import { drawContextPairs, neighbourCell } from './methods/context';
import { drawPuzzles, permutationSet } from './methods/jigsaw';
import { CENTRE_CELL, GRID_CELLS, cellCorner, patchGrid, type PatchGrid } from './methods/patch-grid';
import type { MethodInstance } from './methods/types';
import { Rng } from './random';
import { encodeSafetensors, type NamedArray } from './safetensors';
import { loadTorchState, moduleTensors, torchStateOf, type NamedVariable } from './torch-weights';

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
  mocov2: ['queueSize', 'symmetric'],
  supcon: ['form'],
  npid: ['bankMomentum', 'negatives'],
  moby: ['queueSize'],
  unigrad: ['lambda', 'rho'],
  rotation: [],
  mobyv2al: ['queueSize', 'mobyWeight'],
  context: [],
  jigsaw: ['permutations'],
  exemplar: [],
  inpainting: [],
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
  /** Training images the method's per-image state was built for (rows of NPID's memory bank). */
  datasetSize: number;
  /** Classes the method's task classifier was built for (MoBYv2AL); 1 where it has none. */
  numClasses: number;
}

/** The method's state variables under the names the weights give them. */
function methodState(method: MethodInstance): NamedVariable[] {
  return (method.state ?? []).map((variable, i) => ({ name: `state/${i}`, variable }));
}

/** Every tensor the weights hold: parameters and BatchNorm statistics of every network, then the method's state. */
function methodTensors(method: MethodInstance): NamedVariable[] {
  return [...moduleTensors(method.modules), ...methodState(method)];
}

/** The method's weights (every parameter, BatchNorm statistic and state tensor) in PyTorch's layout, under the app's names. */
export function methodWeights(method: MethodInstance): Promise<NamedArray[]> {
  return torchStateOf(methodTensors(method));
}

/**
 * The method's networks for `config`, initialised from `rng` (the seed's generator by default), for
 * `datasetSize` training images and `numClasses` classes; the caller disposes it.
 */
function bareMethod(config: TrainConfig, datasetSize: number, numClasses: number, rng = new Rng(config.seed)): MethodInstance {
  return getMethod(config.method).create({ config, rng, datasetSize, numClasses });
}

/** A task classifier's weight (MoBYv2AL's), PyTorch layout [classes, features]. */
const CLASSIFIER_KERNEL = 'classifier/kernel';

/** The classes `weights`' task classifier was built for; 1 where there is none. */
export function classCountOf(weights: readonly NamedArray[]): number {
  return weights.find((w) => w.name === CLASSIFIER_KERNEL)?.shape[0] ?? 1;
}

/**
 * The method's freshly initialised weights for `config`. With no dataset yet, per-image state is
 * sized for one batch (the smallest dataset a run takes) and a task classifier for the built-in
 * shapes' classes; train.py sizes both to its image folder.
 */
export async function initialWeights(config: TrainConfig, datasetSize = config.batchSize, numClasses = SHAPE_CLASSES.length): Promise<NamedArray[]> {
  const method = bareMethod(config, datasetSize, numClasses);
  try {
    return await methodWeights(method);
  } finally {
    disposeInstance(method);
  }
}

/** A freshly built method of `config` for `datasetSize` images holding `weights` (state included); the caller disposes it. */
export function methodWithWeights(config: TrainConfig, weights: readonly NamedArray[], datasetSize: number, rng?: Rng): MethodInstance {
  const method = bareMethod(config, datasetSize, classCountOf(weights), rng);
  try {
    loadTorchState(methodTensors(method), weights);
  } catch (error) {
    disposeInstance(method);
    throw error;
  }
  return method;
}

/**
 * What a step of the method draws from its generator, replayed from the generator's state before the
 * step: RotNet's quarter turns of every image of both views, NPID's sampled negatives (bank rows), the
 * patch tasks' neighbours, permutations and offsets (patchTaskDraws).
 */
function replayedDraws(config: TrainConfig, rngBefore: number, batchSize: number, datasetSize: number): NamedArray[] {
  const replay = new Rng(config.seed);
  replay.setState(rngBefore);
  if (config.method === 'rotation') return [{ name: 'rotations', shape: [2 * batchSize], data: drawRotations(replay, 2 * batchSize) }];
  const negatives = config.method === 'npid' ? Number(config.options.negatives ?? 0) : 0;
  if (negatives > 0) return [{ name: 'negatives', shape: [negatives], data: drawNegatives(replay, negatives, datasetSize) }];
  return patchTaskDraws(config, replay, batchSize);
}

/**
 * ‖values‖ summed in float64: tf.norm sums the squares in float32, which for a gradient of half a
 * million entries (the jigsaw's 1000-way classifier) is off by more than the parity tolerance.
 */
function euclideanNorm(values: Float32Array): number {
  let sum = 0;
  for (const v of values) sum += v * v;
  return Math.sqrt(sum);
}

/**
 * The fixed batch (two augmented, standardised views of built-in shapes, NCHW, with each image's
 * dataset index and class, what the method draws (see replayedDraws), and for a method trained on
 * labelled images (MoBYv2AL) their weak view, every image labelled) and the app's loss and
 * gradient norms on it, computed on a copy of the weights so the run's own BatchNorm statistics and
 * state do not move. `datasetSize` is the number of images the weights' per-image state was built for.
 */
export async function parityBatch(config: TrainConfig, weights: readonly NamedArray[], datasetSize: number): Promise<{ views: NamedArray[]; reference: ParityReference }> {
  const batchSize = Math.min(config.batchSize, PARITY_BATCH, datasetSize);
  const images = shapesDataset({ trainCount: batchSize, testCount: 0, size: config.imageSize, seed: config.seed }).train;
  const methodRng = new Rng(config.seed);
  const method = methodWithWeights(config, weights, datasetSize, methodRng);
  try {
    const rng = new Rng(config.seed);
    const semiSupervised = getMethod(config.method).semiSupervised;
    const raw = tf.tidy(() => tf.tensor4d(images.pixels, [batchSize, config.imageSize, config.imageSize, 3]).div(255) as tf.Tensor4D);
    const views = tf.tidy(() => config.augmentations.map((view) => standardize(augmentBatch(raw, view, config.imageSize, rng))) as [tf.Tensor4D, tf.Tensor4D]);
    const weakView = semiSupervised ? tf.tidy(() => standardize(augmentBatch(raw, semiSupervised.weakView, config.imageSize, rng))) : undefined;
    const indexArray = Int32Array.from({ length: batchSize }, (_, i) => i);
    const indices = tf.tensor1d(indexArray, 'int32');
    // Classes the method's classifier knows (the shapes' own where it has one for them).
    const numClasses = classCountOf(weights);
    const classOf = images.labels ?? new Int32Array(batchSize);
    const labels = tf.tensor1d(semiSupervised ? classOf.map((label) => label % numClasses) : classOf, 'int32');
    const schedule = { step: 0, tau: config.tau, temperature: config.temperature };
    const rngBefore = methodRng.getState();
    const inputs = { views, indices, labels, ...(weakView ? { weakView } : {}) };
    const { value, grads } = tf.variableGrads(() => method.computeLoss(inputs, schedule).loss, method.params.map((p) => p.variable));
    const loss = (await value.data())[0];
    const gradientNorms: Record<string, number> = {};
    for (const p of method.params) {
      const grad = grads[p.variable.name];
      gradientNorms[p.name] = grad ? euclideanNorm((await grad.data()) as Float32Array) : 0;
    }
    const nchw = views.map((v) => tf.transpose(v, [0, 3, 1, 2]));
    const viewArrays: NamedArray[] = await Promise.all(nchw.map(async (v, i) => ({ name: `view${i + 1}`, shape: v.shape.slice(), data: (await v.data()) as Float32Array })));
    viewArrays.push({ name: 'indices', shape: [batchSize], data: indexArray }, { name: 'labels', shape: [batchSize], data: (await labels.data()) as Int32Array });
    viewArrays.push(...replayedDraws(config, rngBefore, batchSize, datasetSize));
    if (weakView) {
      const weakNchw = tf.transpose(weakView, [0, 3, 1, 2]);
      viewArrays.push({ name: 'weakView', shape: weakNchw.shape.slice(), data: (await weakNchw.data()) as Float32Array });
      weakNchw.dispose();
    }
    [value, raw, indices, labels, ...views, ...(weakView ? [weakView] : []), ...nchw, ...Object.values(grads)].forEach((t) => t.dispose());
    return { views: viewArrays, reference: { loss, gradientNorms, batchSize, tolerance: PARITY_TOLERANCE, gradientFloor: PARITY_GRADIENT_FLOOR, datasetSize, numClasses } };
  } finally {
    disposeInstance(method);
  }
}

/**
 * [view, image, ...rest] (the app draws view 1's images, then view 2's) → [image, view, ...rest]:
 * per image first, so train.py splits the draws over processes as it splits the images.
 */
function byImage(name: string, values: Int32Array, images: number, rest: readonly number[]): NamedArray {
  const size = rest.reduce((a, b) => a * b, 1);
  const data = new Int32Array(values.length);
  for (let view = 0; view < 2; view++) {
    for (let image = 0; image < images; image++) data.set(values.subarray((view * images + image) * size, (view * images + image + 1) * size), (image * 2 + view) * size);
  }
  return { name: `draw/${name}`, shape: [images, 2, ...rest], data };
}

/** (dy, dx) by which patch `at` of `corners` ((row, column) pairs) was moved from the corner of `cell`. */
function offsetOf(grid: PatchGrid, corners: Int32Array, at: number, cell: number): [number, number] {
  const [top, left] = cellCorner(grid, cell, 0, 0);
  return [corners[2 * at] - top, corners[2 * at + 1] - left];
}

/**
 * The patch tasks' draws in their loss, replayed from `replay` (the method's generator as it stood
 * before the loss), as train.py's `extra` takes them: context prediction's neighbour (0–7) and the
 * offsets (dy, dx) of its centre and neighbour patch; the jigsaw's permutation (index into the run's
 * set) and the offsets of each grid cell's tile. Other methods draw nothing there.
 */
function patchTaskDraws(config: TrainConfig, replay: Rng, images: number): NamedArray[] {
  if (config.method === 'context') {
    const grid = patchGrid(config.imageSize);
    const { positions, corners } = drawContextPairs(replay, grid, 2 * images);
    const offsets = new Int32Array(corners.length);
    for (let i = 0; i < 2 * images; i++) {
      offsets.set(offsetOf(grid, corners, 2 * i, CENTRE_CELL), 4 * i);
      offsets.set(offsetOf(grid, corners, 2 * i + 1, neighbourCell(positions[i])), 4 * i + 2);
    }
    return [byImage('positions', positions, images, []), byImage('offsets', offsets, images, [2, 2])];
  }
  if (config.method === 'jigsaw') {
    const grid = patchGrid(config.imageSize);
    const permutations = permutationSet(readOptions(getMethod('jigsaw').options, config).permutations, config.seed);
    const { labels, corners } = drawPuzzles(replay, grid, permutations, 2 * images);
    const offsets = new Int32Array(corners.length);
    for (let i = 0; i < 2 * images; i++) {
      // Corners come in shuffled order (slot t holds cell permutation[t]); offsets are kept by cell.
      permutations[labels[i]].forEach((cell, slot) => offsets.set(offsetOf(grid, corners, i * GRID_CELLS + slot, cell), 2 * (i * GRID_CELLS + cell)));
    }
    return [byImage('puzzles', labels, images, []), byImage('offsets', offsets, images, [GRID_CELLS, 2])];
  }
  return [];
}

/** The metadata a weights file carries so that it describes itself: the run's config, step and number of training images. */
export function weightsMetadata(config: TrainConfig, step: number, datasetSize: number): Record<string, string> {
  return { format: 'siamese-playground/pytorch-weights', config: JSON.stringify(config), step: String(step), datasetSize: String(datasetSize) };
}

/**
 * Every file of the project. `weights` are the starting weights (PyTorch layout, app names, method
 * state included); `step` the run's step they are from; `datasetSize` its number of training images.
 */
export async function buildPytorchProject(config: TrainConfig, weights: readonly NamedArray[], step: number, datasetSize: number, sources: PytorchSources): Promise<ProjectFile[]> {
  const problem = pytorchExportProblem(config);
  if (problem) throw new Error(problem);
  // Every option written out, so the Python side never needs the app's defaults.
  config = { ...config, options: { ...defaultOptions(getMethod(config.method).options), ...config.options } };
  const { views, reference } = await parityBatch(config, weights, datasetSize);
  return [
    { path: 'train.py', data: sources.trainPy },
    { path: 'siamese_torch.py', data: sources.siameseTorchPy },
    { path: 'README.md', data: sources.readme },
    { path: 'config.json', data: `${JSON.stringify(config, null, 2)}\n` },
    { path: 'weights.safetensors', data: encodeSafetensors([...weights], weightsMetadata(config, step, datasetSize)) },
    { path: 'parity.safetensors', data: encodeSafetensors(views) },
    { path: 'parity.json', data: `${JSON.stringify(reference, null, 2)}\n` },
  ];
}

const BACKBONE_SEGMENT = /(^|\/)backbone\//;

/**
 * Loads weights (PyTorch layout, app names: train.py's output, or the app's own export) into a run's
 * method. Weights of the same method and networks replace every parameter and BatchNorm statistic,
 * so the run continues from them, and the method's state (queues, memory bank) too where the file
 * holds it in this run's shapes (a memory bank of another image folder does not fit); weights of another method (or a bare backbone state dict with
 * names like "backbone/conv0/kernel") replace the encoder alone, found by the name below "backbone/"
 * (the first such tensor in the file, the online encoder). Nothing is written unless everything fits.
 * Returns a sentence saying what was loaded.
 */
export function loadRunWeights(method: MethodInstance, state: readonly NamedArray[]): string {
  const all = moduleTensors(method.modules);
  const ownState = methodState(method);
  if (ownState.length > 0) {
    try {
      loadTorchState([...all, ...ownState], state);
      return `Loaded all ${all.length} tensors of the run's networks and the method's state; training continues from them.`;
    } catch {
      // The networks alone may still fit; the run then keeps its own state.
    }
  }
  try {
    loadTorchState(all, state);
    return `Loaded all ${all.length} tensors of the run's networks${ownState.length > 0 ? ' (the method\'s state is the run\'s own: the file\'s does not fit)' : ''}; training continues from them.`;
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
