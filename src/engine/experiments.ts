/**
 * Ready-made experiments a teacher starts with one click: the BYOL paper's ablations (target
 * momentum, batch size, augmentations), a method face-off and the pretext tasks against two Siamese
 * methods, in miniature on the built-in data.
 * Each is a list of runs on the classroom presets that differ in one thing, plus the question it
 * answers and what to look for. Experiments involving a method that is not in the catalog leave
 * it out, and an experiment with nothing left to compare is not offered.
 * Plain data, no tfjs: the page builds these from the worker's method catalog.
 */
import type { AugmentationConfig, ViewAugmentation } from './augment';
import type { PresetName, TrainConfig } from './config';
import { TARGET_BRANCH } from './methods/options';
import { expandSweep, sweepNumbers, type SweepSpec } from './sweeps';

/** What an experiment needs to know of a method (a subset of the worker's catalog entry). */
export interface CatalogMethod {
  readonly id: string;
  readonly label: string;
  readonly defaults: Readonly<Record<PresetName, TrainConfig>>;
}

export interface ExperimentRun {
  name: string;
  config: TrainConfig;
  /** The summary chart's line this run belongs to (one per method), and its place on the axis. */
  series: string;
  value: string;
}

export interface Experiment {
  id: string;
  title: string;
  /** The question the experiment answers, in one sentence. */
  question: string;
  /** What to watch in the charts and the table. */
  lookFor: string;
  /** Name of the summary chart's axis: what the runs differ in. */
  axis: string;
  /** kNN evaluations per run (evenly spaced, the last at the end). */
  evaluations: number;
  runs: ExperimentRun[];
}

/** Evaluations per run of every experiment: enough points for a kNN curve, cheap next to training. */
const EVALUATIONS = 6;
/** Images each run of the batch-size sweep trains on: 200 steps at batch 128 (about 21 epochs of the shapes). */
const BATCH_SWEEP_IMAGES = 200 * 128;

function classroom(catalog: readonly CatalogMethod[], id: string): { label: string; config: TrainConfig } | null {
  const method = catalog.find((m) => m.id === id);
  return method ? { label: method.label, config: structuredClone(method.defaults.classroom) } : null;
}

function sweepRuns(label: string, base: TrainConfig, spec: SweepSpec, name: (value: string) => string): ExperimentRun[] {
  return expandSweep(base, spec).map((point) => ({ name: name(point.label), config: point.config, series: label, value: point.label }));
}

function tauExperiment(catalog: readonly CatalogMethod[]): Experiment | null {
  const byol = classroom(catalog, 'byol');
  if (!byol) return null;
  // The cosine schedule would carry every run's τ up to 1 and blur the difference: τ stays as set.
  const base = { ...byol.config, tauSchedule: false };
  return {
    id: 'byol-tau',
    title: 'BYOL: how fast should the target follow?',
    question: "How does the target network's momentum τ (held constant: 0.9, 0.99, 0.999) change what BYOL learns?",
    lookFor:
      `At τ = 0.999 the target keeps most of its random start (0.999^${base.totalSteps} ≈ ${(0.999 ** base.totalSteps).toFixed(2)} of it after ${base.totalSteps} steps), ` +
      'so the online network chases a nearly fixed random projection: expect kNN to rise slowly. ' +
      'At τ = 0.9 the target is a near copy of the online network, the setting closest to collapse: watch the collapse std. ' +
      "The BYOL paper's ablation of τ finds a middle value best. τ is held constant here (the cosine schedule is off) so each run keeps the τ it names.",
    axis: 'τ (target momentum)',
    evaluations: EVALUATIONS,
    runs: sweepRuns(byol.label, base, { setting: 'tau', values: sweepNumbers([0.9, 0.99, 0.999]) }, (v) => `${byol.label} τ ${v}`),
  };
}

function batchExperiment(catalog: readonly CatalogMethod[]): Experiment | null {
  const methods = ['byol', 'simclr'].map((id) => classroom(catalog, id)).filter((m) => m !== null);
  if (methods.length === 0) return null;
  const names = methods.map((m) => m.label).join(' and ');
  return {
    id: 'batch-size',
    title: `Batch size: ${names}`,
    question:
      methods.length > 1
        ? 'As the batch shrinks from 128 to 16, does SimCLR, which needs the other images of the batch as negatives, lose more than BYOL, which uses none?'
        : 'As the batch shrinks from 128 to 16, how much does BYOL, which needs no negatives, lose?',
    lookFor:
      'Every run sees the same number of images (smaller batches take more steps) with the learning rate scaled linearly with the batch size, as in the papers. ' +
      "In the BYOL paper (Fig. 3a) SimCLR's accuracy drops quickly as the batch shrinks while BYOL's stays nearly flat: see whether the final kNN lines of the summary chart agree in miniature.",
    axis: 'batch size',
    evaluations: EVALUATIONS,
    runs: methods.flatMap((method) => {
      const base = { ...method.config, totalSteps: Math.round(BATCH_SWEEP_IMAGES / method.config.batchSize) };
      const spec: SweepSpec = { setting: 'batchSize', values: sweepNumbers([16, 32, 64, 128]), batchScaling: 'equal-epochs' };
      return sweepRuns(method.label, base, spec, (v) => `${method.label} batch ${v}`);
    }),
  };
}

/** The recipe with every colour change (jitter) removed; crops, flips, grayscale, blur and solarisation stay. */
function withoutColorJitter(recipe: AugmentationConfig): AugmentationConfig {
  return recipe.map((view) => ({ ...view, colorJitter: null })) as AugmentationConfig;
}

/** Random resized crops and flips only (torchvision's and the papers' "crop"), nothing else. */
function cropOnly(recipe: AugmentationConfig): AugmentationConfig {
  return recipe.map(
    (view): ViewAugmentation => ({ crop: view.crop, flipProbability: view.flipProbability, colorJitter: null, grayscaleProbability: 0, blur: null, solarizeProbability: 0 }),
  ) as AugmentationConfig;
}

function augmentationExperiment(catalog: readonly CatalogMethod[]): Experiment | null {
  const methods = ['byol', 'simclr'].map((id) => classroom(catalog, id)).filter((m) => m !== null);
  if (methods.length === 0) return null;
  return {
    id: 'augmentations',
    title: 'Which augmentations matter?',
    question: 'What happens to the learned features when colour jitter is removed, or when only random crops (and flips) are left?',
    lookFor:
      'In the coloured shapes the class is the shape and colour is a nuisance. Without colour jitter both views keep their colours, so matching them by colour alone is enough: ' +
      'expect features that know colour better than shape, and a lower kNN accuracy; with crops alone, lower still. The BYOL paper (Fig. 3b) finds BYOL less hurt than SimCLR by removing colour changes.',
    axis: 'augmentations',
    evaluations: EVALUATIONS,
    runs: methods.flatMap((method) => {
      const recipe = method.config.augmentations;
      const spec: SweepSpec = {
        setting: 'augmentations',
        values: [
          { label: 'full recipe', value: recipe },
          { label: 'no colour jitter', value: withoutColorJitter(recipe) },
          { label: 'crop only', value: cropOnly(recipe) },
        ],
      };
      return sweepRuns(method.label, method.config, spec, (v) => `${method.label} ${v}`);
    }),
  };
}

/**
 * Methods of the catalog side by side on equal terms: each its own classroom recipe (optimizer, learning
 * rate, heads, augmentations) on the first one's encoder, image size and seed, and the same number of images.
 */
function faceOffRuns(methods: ReadonlyArray<{ label: string; config: TrainConfig }>): ExperimentRun[] {
  const reference = methods[0].config;
  const images = reference.totalSteps * reference.batchSize;
  return methods.map(({ label, config }) => ({
    name: label,
    config: {
      ...config,
      backbone: reference.backbone,
      imageSize: reference.imageSize,
      seed: reference.seed,
      totalSteps: Math.max(1, Math.round(images / config.batchSize)),
    },
    series: 'final kNN',
    value: label,
  }));
}

function methodsExperiment(catalog: readonly CatalogMethod[]): Experiment | null {
  const methods = ['byol', 'simclr', 'simsiam'].map((id) => classroom(catalog, id)).filter((m) => m !== null);
  if (methods.length < 2) return null;
  return {
    id: 'methods',
    title: methods.map((m) => m.label).join(' vs '),
    question: 'Trained on the same images with the same encoder, which method learns the most useful features in the same time?',
    lookFor:
      'Each method runs its own classroom recipe (optimizer, learning rate, heads) on the same encoder, image size, seed and number of images. ' +
      'Compare the kNN curves, the collapse std against the healthy 1/√d level, and the images per second: the methods do not cost the same per step.',
    axis: 'method',
    evaluations: EVALUATIONS,
    runs: faceOffRuns(methods),
  };
}

function pretextExperiment(catalog: readonly CatalogMethod[]): Experiment | null {
  const pretext = ['rotation', 'context', 'jigsaw'].map((id) => classroom(catalog, id)).filter((m) => m !== null);
  const siamese = ['simclr', 'byol'].map((id) => classroom(catalog, id)).filter((m) => m !== null);
  if (pretext.length === 0 || siamese.length === 0) return null;
  return {
    id: 'pretext-vs-contrastive',
    title: 'Pretext tasks vs contrastive learning',
    question: 'Do the hand-made puzzles of 2015–2018 (rotation, patch position, jigsaw) teach an encoder as much as comparing two views of an image does, on the same budget?',
    lookFor:
      'Every run trains the same encoder on the same number of images with its own classroom recipe. The pretext tasks learn only what their puzzle needs ' +
      '(which way is up, where a patch sits), the Siamese methods that two views of an image belong together: in the papers SimCLR and BYOL overtook the pretext tasks ' +
      'by a wide margin on ImageNet. Compare the final kNN of the summary chart, and the loss: a pretext loss starts at log of its number of classes ' +
      '(log 4 for rotation, log 8 for the patch position). The patch tasks train on patches a quarter of the image wide, and evaluation sees whole images.',
    axis: 'method',
    evaluations: EVALUATIONS,
    runs: faceOffRuns([...pretext, ...siamese]),
  };
}

function momentumExperiment(catalog: readonly CatalogMethod[]): Experiment | null {
  // SimSiam's own branch is already the same network with a stop-gradient; the others have that as a choice.
  const methods = [
    { id: 'simclr', without: TARGET_BRANCH.stopGradient },
    { id: 'simsiam', without: TARGET_BRANCH.own },
    { id: 'barlow', without: TARGET_BRANCH.stopGradient },
  ].flatMap(({ id, without }) => {
    const method = classroom(catalog, id);
    return method && method.config.options.targetBranch !== undefined ? [{ ...method, without }] : [];
  });
  if (methods.length === 0) return null;
  return {
    id: 'momentum-encoder',
    title: 'Is the momentum encoder the key?',
    question:
      'UniGrad (Tao et al., 2022) trained each method with and without a momentum encoder and found that it, not the loss, explains most of the gap between methods. ' +
      'Does each method learn better features when its target branch is a momentum encoder instead of the same network with a stop-gradient?',
    lookFor:
      "Each pair differs only in the target branch: the same network, detached, or a slowly moving copy of it (τ 0.99 rising to 1, as BYOL's classroom preset). " +
      'SimSiam with a momentum encoder is BYOL with SimSiam\'s heads. In the paper (ResNet-50, 100 ImageNet epochs) every method gains 1.3–7.3 points of linear accuracy with it; docs/methods.md has what these runs measured. ' +
      'Compare the final kNN of each pair, and the gradient anatomy: does the momentum encoder change the balance of pull and push (the effective λ)?',
    axis: 'target branch',
    evaluations: EVALUATIONS,
    runs: methods.flatMap(({ label, config, without }) =>
      [
        { value: 'same network', options: { ...config.options, targetBranch: without }, tau: {} },
        { value: 'momentum encoder', options: { ...config.options, targetBranch: TARGET_BRANCH.momentum }, tau: { tau: 0.99, tauSchedule: true } },
      ].map(({ value, options, tau }) => ({ name: `${label}, ${value}`, config: { ...config, ...tau, options }, series: label, value })),
    ),
  };
}

/** The experiments the catalog's methods allow, in the order the gallery shows them. */
export function experimentsFor(catalog: readonly CatalogMethod[]): Experiment[] {
  return [tauExperiment, batchExperiment, augmentationExperiment, methodsExperiment, pretextExperiment, momentumExperiment].map((build) => build(catalog)).filter((e) => e !== null);
}
