/**
 * UniGrad (Tao et al., CVPR 2022, "Exploring the Equivalence of Siamese Self-Supervised Learning via
 * a Unified Gradient Framework"). The gradient of every Siamese loss splits into a positive part
 * (towards the other view's momentum embedding) and a negative part that pushes the embedding along
 * the directions the batch already occupies. UniGrad uses that gradient directly:
 * g = −ẑm(other view) + λ ẑ F, where F is a running average of the momentum embeddings' correlation
 * matrix F ← ρF + (1 − ρ)(ẑ1mᵀẑ1m + ẑ2mᵀẑ2m)/2N, initialised from the first batch and updated with
 * the current batch before the loss uses it.
 * Reference defaults: fundamentalvision/UniGrad configs/unigrad.py and project/pretrainer.py (ImageNet:
 * projector 2048-2048 → 2048 with BN in the hidden layers, λ = 100, ρ = 0.99, momentum 0.996 rising by
 * a cosine, SGD lr 0.05 · bs/256, wd 1e-4; MoCo v2 augmentations: crops 0.2–1, jitter 0.4/0.4/0.4/0.1),
 * here on the common CIFAR run shape. The classroom preset lowers λ to 5 for its 32-wide encoder.
 */
import * as tf from '@tensorflow/tfjs';
import { uniGradCorrelation, uniGradLoss } from '../losses';
import { variableFrom } from '../nn';
import { scaledLr } from '../schedules';
import { readOptions, type MethodOptionSpecs } from './options';
import { REFERENCE_RUN, classroomAugmentations, createMomentumCopy, createProjectedEncoder, meanPositiveLogit, methodPresets, pullPushTerms, soloAugmentations, withMinCropScale } from './shared';
import type { MethodDefinition } from './types';

const OPTIONS = {
  lambda: { label: 'λ', hint: 'Weight of the push along the running correlation matrix F.', kind: 'number', default: 100, min: 0, step: 1 },
  rho: { label: 'ρ', hint: 'Momentum of the running correlation matrix F.', kind: 'number', default: 0.99, min: 0, max: 1, step: 0.01 },
} satisfies MethodOptionSpecs;

const defaults = methodPresets('unigrad', OPTIONS, {
  reference: () => ({
    projector: { hidden: [2048, 2048], out: 2048 },
    optimizer: { kind: 'sgd', momentum: 0.9, weightDecay: 1e-4 },
    learningRate: scaledLr(0.05, REFERENCE_RUN.batchSize),
    tau: 0.996,
    tauSchedule: true,
    augmentations: withMinCropScale(soloAugmentations('symmetric-weak'), 0.2),
  }),
  classroom: () => ({
    projector: { hidden: [512], out: 512 },
    tau: 0.99,
    tauSchedule: true,
    augmentations: classroomAugmentations(soloAugmentations('symmetric-weak')),
    // λ = 100 pushes a 32-wide Tiny ConvNet apart much harder than the pull holds it together: kNN
    // fell below the random encoder (23.8%); λ = 20 gave 29.7%, λ = 5 34.6% (docs/methods.md).
    options: { lambda: 5 },
  }),
});

export const unigrad: MethodDefinition = {
  id: 'unigrad',
  label: 'UniGrad',
  family: 'hybrid',
  explanation:
    'UniGrad shows that SimCLR, MoCo, BYOL and Barlow Twins all have gradients of the same shape, and trains ' +
    'with that gradient directly. It pulls each view\'s embedding towards the other view\'s embedding from a ' +
    'momentum encoder (τ), and pushes it away from the directions that the whole dataset already occupies, ' +
    'measured by a running correlation matrix F of the momentum embeddings (weighted by λ). That push against F ' +
    'spreads the embeddings over the sphere and stops collapse without negative pairs or a predictor.',
  uses: { tau: true, temperature: false, labels: false },
  options: OPTIONS,
  defaults,
  create({ config, rng }) {
    const online = createProjectedEncoder(config, rng, 'online');
    const target = createMomentumCopy(online, config, rng, 'momentum');
    const d = config.projector.out;
    const { lambda, rho } = readOptions(OPTIONS, config);
    const correlation = variableFrom(tf.zeros([d, d]), false);
    // 0 until the first batch has initialised F, then 1; on the device so a step never waits on a read-back.
    const correlationReady = variableFrom(tf.scalar(0), false);
    return {
      encoder: online.backbone,
      params: online.module.params,
      modules: [online.module, target.module],
      emaPairs: [{ online: online.module, target: target.module }],
      state: [correlation, correlationReady],
      computeLoss(inputs) {
        const { views } = inputs;
        const { features, embedding: z1 } = online.encodeFirstView(inputs);
        const z2 = online.project(views[1], true);
        const z1m = target.project(views[0], true);
        const z2m = target.project(views[1], true);
        const batchCorrelation = uniGradCorrelation(null, z1m, z2m, rho);
        // ρF + (1 − ρ)·batch once F exists, the batch alone on the first step.
        const keep = tf.mul(correlationReady, rho);
        const nextCorrelation = tf.add(tf.mul(keep, correlation), tf.mul(tf.sub(1, keep), batchCorrelation)) as tf.Tensor2D;
        const loss = uniGradLoss(z1, z2, z1m, z2m, nextCorrelation, lambda);
        // The loss averages its two views, so u₁'s gradient is ½(−u₂ + λ·F·u₁).
        const anatomy = { target: z2m, coefficient: 0.5, correlation: nextCorrelation, implicitNegative: false };
        const agreement = tf.mul(0.5, tf.add(meanPositiveLogit(z1, z2m, 1), meanPositiveLogit(z2, z1m, 1))) as tf.Scalar;
        return { loss, terms: pullPushTerms(loss, agreement), embedding: z1, secondEmbedding: z2, features, carry: [nextCorrelation], anatomy };
      },
      afterStep(_inputs, _schedule, [nextCorrelation]) {
        correlation.assign(nextCorrelation);
        correlationReady.assign(tf.scalar(1));
      },
    };
  },
};
