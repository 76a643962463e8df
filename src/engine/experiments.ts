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
  /** What the paper the experiment comes from found, with its numbers. */
  paper: string;
  /** What to watch in the charts and the table. */
  lookFor: string;
  /**
   * What its runs gave on this app's built-in data (docs/experiments.md: three seeds on the shape silhouettes),
   * said plainly, noise included.
   */
  measured: string;
  /**
   * Whether the summary shows the untrained encoder's kNN as a reference line: where a run's
   * teacher is a random network (BYOL at τ = 1), the question is how far it gets above that network.
   */
  untrainedReference: boolean;
  /** Name of the summary chart's axis: what the runs differ in. */
  axis: string;
  /** kNN evaluations per run (evenly spaced, the last at the end). */
  evaluations: number;
  runs: ExperimentRun[];
}

/** Evaluations per run of every experiment: enough points for a kNN curve, cheap next to training. */
const EVALUATIONS = 6;
/** Images each run of the batch-size sweep trains on: 200 steps at batch 128 (about 21 epochs of the 1,200 built-in images). */
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
    title: 'BYOL bootstrapping: how fast should the target follow?',
    question:
      "How does the target network's momentum τ change what BYOL learns, from τ = 0 (the target is the online network itself) to τ = 1 (the target stays the random network it started as)?",
    paper:
      'BYOL (Grill et al., 2020, §5, 300 ImageNet epochs, linear accuracy): τ = 0.99 is best (72.5%), 0.9 and 0.999 a little lower; τ = 0 collapses (0.3%); ' +
      'τ = 1, a constant random target, gets only 18.8%, but that is far above the random network itself (1.4%): predicting a random network\'s outputs already teaches something, and following the online network slowly bootstraps better targets.',
    lookFor:
      `τ is held constant (the cosine schedule is off) so each run keeps the τ it names. At τ = 0.999 the target keeps most of its random start (0.999^${base.totalSteps} ≈ ${(0.999 ** base.totalSteps).toFixed(2)} of it after ${base.totalSteps} steps), ` +
      'so it behaves much like τ = 1. The reference line is the untrained encoder, which is what the τ = 1 target is: does learning from it beat it? ' +
      'At τ = 0 watch the collapse std: the target is a copy of the online network and nothing but the predictor stands between it and a constant.',
    measured: 'Partly. On the shape silhouettes, three seeds of 300 steps: a constant random target (τ = 1) still lifts kNN from 30.0% (the untrained encoder) to 41.6 ± 0.5%, the paper\'s surprise; but every τ ends within noise of the others (41.6–43.1%), 0.99 is not the best, and τ = 0 does not collapse (collapse std 0.074, as healthy as the others\').',
    axis: 'τ (target momentum)',
    evaluations: EVALUATIONS,
    untrainedReference: true,
    runs: sweepRuns(byol.label, base, { setting: 'tau', values: sweepNumbers([0, 0.9, 0.99, 0.999, 1]) }, (v) => `${byol.label} τ ${v}`),
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
    paper: "BYOL (Grill et al., 2020, Fig. 3a, ImageNet): from batch 4096 down to 256 BYOL's linear accuracy stays nearly flat while SimCLR's drops quickly; below 256 both fall, SimCLR faster.",
    lookFor:
      'Every run sees the same number of images (smaller batches take more steps) with the learning rate scaled linearly with the batch size, as in the papers. ' +
      'See whether the final kNN lines of the summary chart agree in miniature: does SimCLR lose more than BYOL as the batch shrinks?',
    measured: 'Not the paper\'s direction. On the shape silhouettes, three seeds of 25,600 images per run (small batches take more steps): SimCLR ends at 56.1%, 58.3%, 57.9% and 56.0% at batch 16, 32, 64 and 128, differences within the spread between seeds (up to ±4.6), so it does not lose at small batches. BYOL holds 45.6–46.6% from 16 to 64 and falls to 30.8 ± 3.9%, the untrained encoder\'s 30.0%, at 128, where it gets only 200 steps: short of steps, not of batch. The paper\'s effect needs batches in the hundreds and thousands.',
    axis: 'batch size',
    evaluations: EVALUATIONS,
    untrainedReference: false,
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
      'In the shape silhouettes the class is the shape and the colours around it are a nuisance. Without colour jitter both views keep their colours, so matching them by colour alone is enough: ' +
      'expect features that know colour better than shape, and a lower kNN accuracy; with crops alone, lower still.',
    paper: 'BYOL (Grill et al., 2020, Fig. 3b, ImageNet): removing augmentations hurts both, SimCLR far more than BYOL; with random crops alone SimCLR loses about twice as many points of linear accuracy as BYOL.',
    measured: 'Yes. On the shape silhouettes, three seeds of 300 steps: without colour jitter SimCLR falls from 53.0% to 39.1% and with crops alone to 32.1%, near the untrained encoder (30.0 ± 1.2%); BYOL keeps its accuracy without colour jitter (40.9% → 42.4%) and loses 4.5 points with crops alone (36.4%): SimCLR far more hurt than BYOL, as in the paper.',
    axis: 'augmentations',
    evaluations: EVALUATIONS,
    untrainedReference: false,
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
    paper: 'SimSiam (Chen & He, 2021, Table 4, ImageNet, 100 epochs, linear accuracy): SimCLR 66.5%, BYOL 66.5%, SimSiam 68.1%: close, once each has its own tuned recipe.',
    measured: 'On the shape silhouettes, three seeds of 300 steps: all three clearly above the untrained encoder (30.0 ± 1.2%), and SimCLR ahead in every seed (53.0% against BYOL 40.9% and SimSiam 39.0%). At this budget the contrastive loss learns fastest; the papers\' near-tie comes after 100 ImageNet epochs with each method\'s tuned recipe.',
    axis: 'method',
    evaluations: EVALUATIONS,
    untrainedReference: false,
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
    paper:
      'On ImageNet linear evaluation the pretext tasks stayed well below the Siamese methods even with large ResNets (Kolesnikov et al., 2019, revisited them), ' +
      'while SimCLR reached 69.3% and BYOL 74.3% with a ResNet-50.',
    measured: 'Yes. On the shape silhouettes, three seeds of 300 steps: SimCLR (53.0%) and BYOL (40.9%) above every pretext task, which stay within 2–6 points of the untrained encoder (30.0 ± 1.2%): context prediction 35.6%, jigsaw 33.9%, RotNet 31.6%.',
    axis: 'method',
    evaluations: EVALUATIONS,
    untrainedReference: true,
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
      "SimSiam with a momentum encoder is BYOL with SimSiam's heads. docs/experiments.md has what these runs measured. " +
      'Compare the final kNN of each pair, and the gradient anatomy: does the momentum encoder change the balance of pull and push (the effective λ)?',
    paper: 'UniGrad (Tao et al., 2022, ResNet-50, 100 ImageNet epochs): every method gains 1.3–7.3 points of linear accuracy with a momentum encoder.',
    measured: 'Mixed, mostly noise. On the shape silhouettes, three seeds of 300 steps: with a momentum encoder SimSiam (39.0% → 43.2 ± 8.9%) and Barlow Twins (40.1% → 43.6%) gain on average, within the spread between seeds, and SimCLR loses (51.6% → 47.3%), its collapse std lower (0.085 → 0.063). UniGrad\'s gains came after 100 ImageNet epochs.',
    axis: 'target branch',
    evaluations: EVALUATIONS,
    untrainedReference: false,
    runs: methods.flatMap(({ label, config, without }) =>
      [
        { value: 'same network', options: { ...config.options, targetBranch: without }, tau: {} },
        { value: 'momentum encoder', options: { ...config.options, targetBranch: TARGET_BRANCH.momentum }, tau: { tau: 0.99, tauSchedule: true } },
      ].map(({ value, options, tau }) => ({ name: `${label}, ${value}`, config: { ...config, ...tau, options }, series: label, value })),
    ),
  };
}

function mocoMomentumExperiment(catalog: readonly CatalogMethod[]): Experiment | null {
  const moco = classroom(catalog, 'mocov2');
  if (!moco) return null;
  const base = { ...moco.config, tauSchedule: false };
  return {
    id: 'moco-momentum',
    title: 'MoCo: how slowly should the key encoder move?',
    question: 'How does the key encoder\'s momentum m change what MoCo learns, from m = 0 (the key encoder is a copy of the query encoder after every step) to 0.999?',
    paper:
      'MoCo (He et al., 2020, §4.1, ResNet-50, K = 4096, linear accuracy): m = 0.9 gives 55.2%, 0.99 57.8%, 0.999 59.0%, 0.9999 58.6%; at m = 0 training fails (the loss oscillates): ' +
      'keys encoded by quickly changing encoders are not consistent with each other, and the queue mixes them.',
    lookFor:
      `m is held constant (the cosine schedule is off). The queue holds ${base.options.queueSize} keys, about ${Math.round(base.options.queueSize / base.batchSize)} batches: ` +
      'with a small m those keys come from many different encoders. Compare the final kNN and the loss: a fast-moving key encoder makes the loss noisy.',
    measured: 'Yes. On the shape silhouettes, three seeds of 300 steps: m = 0 fails as in the paper — 33.4% kNN, barely above the untrained encoder (30.0 ± 1.2%), collapse std 0.019 and RankMe 5.9 — and kNN climbs with m: 44.1% at 0.9, 47.9% at 0.99, 46.9% at 0.999 (0.99 and 0.999 within noise of each other).',
    axis: 'm (key encoder momentum)',
    evaluations: EVALUATIONS,
    untrainedReference: false,
    runs: sweepRuns(moco.label, base, { setting: 'tau', values: sweepNumbers([0, 0.9, 0.99, 0.999]) }, (v) => `${moco.label} m ${v}`),
  };
}

/** Queue sizes of MoCo's K sweep: from two batches' worth to the classroom preset's queue. */
const QUEUE_SIZES = [64, 512, 4096];

function mocoQueueExperiment(catalog: readonly CatalogMethod[]): Experiment | null {
  const moco = classroom(catalog, 'mocov2');
  if (!moco) return null;
  return {
    id: 'moco-queue',
    title: 'MoCo: how many negatives?',
    question: 'Does MoCo learn better features with more negatives, that is a longer queue of keys (K)?',
    paper: 'MoCo (He et al., 2020, Fig. 3, ResNet-50): linear accuracy climbs steadily with K, from 256 to 65,536 keys (60.6%).',
    lookFor:
      `A run of ${moco.config.totalSteps} steps at batch ${moco.config.batchSize} encodes ${moco.config.totalSteps * moco.config.batchSize} keys, so the largest queue is filled about twice; ` +
      'the queue starts as random unit vectors, which are easy negatives. Compare the final kNN and the loss: a longer queue makes the task harder (the loss starts near log(K + 1)).',
    measured: 'Noise. On the shape silhouettes, three seeds of 300 steps: K = 64, 512 and 4096 end at 47.9%, 47.9% and 47.1%, within the spread between seeds; the paper\'s climb with K, up to 65,536 keys, needs far longer runs than a queue filled in a few steps.',
    axis: 'K (queue size)',
    evaluations: EVALUATIONS,
    untrainedReference: false,
    runs: sweepRuns(moco.label, moco.config, { setting: 'options.queueSize', values: sweepNumbers(QUEUE_SIZES) }, (v) => `${moco.label} K ${v}`),
  };
}

/**
 * MoCo's Figure 3 in miniature: negatives from the batch (SimCLR, end to end), from a memory bank (NPID)
 * and from a queue encoded by a momentum encoder (MoCo), at the same number K of negatives per image.
 * Every run shares SimCLR's classroom heads, temperature and augmentations, so the source of the
 * negatives (and MoCo's momentum encoder, which belongs to it) is all that differs.
 */
function negativesExperiment(catalog: readonly CatalogMethod[]): Experiment | null {
  const [simclr, npid, moco] = ['simclr', 'npid', 'mocov2'].map((id) => classroom(catalog, id));
  if (!simclr || !npid || !moco) return null;
  const shared = simclr.config;
  // SimCLR scores each view against the other 2N − 2 views of the batch.
  const negatives = 2 * shared.batchSize - 2;
  const common = { projector: shared.projector, temperature: shared.temperature, augmentations: shared.augmentations };
  const run = (label: string, config: TrainConfig, value: string): ExperimentRun => ({ name: label, config: { ...config, ...structuredClone(common) }, series: 'final kNN', value });
  return {
    id: 'negatives',
    title: 'Where do the negatives come from?',
    question: `At the same number of negatives per image (K = ${negatives}), is it better to take them from the batch (SimCLR), from a memory bank of old features (NPID) or from a queue encoded by a momentum encoder (MoCo)?`,
    paper:
      'MoCo (He et al., 2020, Fig. 3, ResNet-50): end to end (negatives from the batch) matches MoCo while it fits in memory (K ≤ 1024); ' +
      'the memory bank is below MoCo at every K: its features were computed by many different past encoders.',
    lookFor:
      `K = ${negatives} is what SimCLR gets from a batch of ${shared.batchSize}; NPID draws ${negatives} rows of its bank each step and MoCo keeps a queue of ${negatives} keys per view. ` +
      'All three share SimCLR\'s heads, temperature and augmentations. The bank entry of an image is refreshed only once an epoch; the queue is refreshed every step.',
    measured: 'Yes, in part. On the shape silhouettes, three seeds of 300 steps: the memory bank (NPID, 34.0%) is far below the batch (SimCLR, 53.0%) and the queue (MoCo, 48.2%) in every seed, as in the paper\'s Figure 3; SimCLR above MoCo here, where the paper has them together at small K.',
    axis: 'source of negatives',
    evaluations: EVALUATIONS,
    untrainedReference: false,
    runs: [
      run(simclr.label, shared, 'batch, end to end'),
      run(npid.label, { ...npid.config, options: { ...npid.config.options, negatives } }, 'memory bank'),
      run(moco.label, { ...moco.config, options: { ...moco.config.options, queueSize: negatives } }, 'queue + momentum encoder'),
    ],
  };
}

/** BYOL's heads without BatchNorm in their hidden layers (the encoder keeps its own). */
function withoutHeadNorm(config: TrainConfig): TrainConfig {
  return { ...config, projector: { ...config.projector, hiddenNorm: false }, predictor: config.predictor && { ...config.predictor, hiddenNorm: false } };
}

function collapseExperiment(catalog: readonly CatalogMethod[]): Experiment | null {
  const simsiam = classroom(catalog, 'simsiam');
  const byol = classroom(catalog, 'byol');
  if (!simsiam || !byol) return null;
  const variant = (method: { label: string; config: TrainConfig }, value: string, config: TrainConfig): ExperimentRun => ({ name: `${method.label}, ${value}`, config, series: method.label, value });
  return {
    id: 'collapse',
    title: 'Collapse, on purpose',
    question: 'Which of the pieces that keep SimSiam and BYOL from collapsing to a constant can be taken away: the stop-gradient, the predictor, the slow target, BatchNorm in the heads?',
    paper:
      'SimSiam (Chen & He, 2021, Fig. 2): without the stop-gradient it collapses at once (0.1% accuracy). BYOL (Grill et al., 2020, Table 5b): without the predictor, or with τ = 0, it collapses (0.2–0.3%). ' +
      "Without BatchNorm in the heads BYOL collapsed in early re-implementations (Fetterman & Albrecht, 2020); Richemond et al. (2020) showed it trains without batch statistics (73.9% with group norm and weight standardisation), so BatchNorm is not a hidden source of negatives.",
    lookFor:
      'Beside the loss, watch the collapse std (the embedding\'s per-dimension spread; a healthy level is about 1/√d, 0 is collapse) and the features\' RankMe: a collapsed run has a near-perfect loss and a kNN at the untrained level or below. ' +
      'The encoder keeps its own BatchNorm in the run without it in the heads.',
    measured: 'Partly: in the collapse std and RankMe more than in kNN. On the shape silhouettes, three seeds of 300 steps: BYOL without its predictor collapses (collapse std 0.018 against 0.073 as published) and without BatchNorm in its heads half-way (0.031), yet both keep their kNN (41.1% and 40.7% against 40.9%); SimSiam without stop-gradient loses kNN and rank (34.2% against 39.0%, RankMe 6.0 against 8.8) but not collapse std; BYOL at τ = 0 shows no sign of collapse.',
    axis: 'what is taken away',
    evaluations: EVALUATIONS,
    untrainedReference: true,
    runs: [
      variant(simsiam, 'as published', simsiam.config),
      variant(simsiam, 'no stop-gradient', { ...simsiam.config, options: { ...simsiam.config.options, stopGradient: 0 } }),
      variant(byol, 'as published', byol.config),
      variant(byol, 'no predictor', { ...byol.config, options: { ...byol.config.options, predictor: 0 } }),
      variant(byol, 'τ = 0', { ...byol.config, tau: 0, tauSchedule: false }),
      variant(byol, 'no BatchNorm in the heads', withoutHeadNorm(byol.config)),
    ],
  };
}

/** The experiments the catalog's methods allow, in the order the gallery shows them. */
export function experimentsFor(catalog: readonly CatalogMethod[]): Experiment[] {
  return [
    tauExperiment,
    batchExperiment,
    augmentationExperiment,
    methodsExperiment,
    pretextExperiment,
    momentumExperiment,
    mocoMomentumExperiment,
    mocoQueueExperiment,
    negativesExperiment,
    collapseExperiment,
  ]
    .map((build) => build(catalog))
    .filter((e) => e !== null);
}
