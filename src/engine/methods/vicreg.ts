/**
 * VICReg (Bardes et al., 2022). Three terms on the two views' embeddings: invariance (mean squared
 * distance), variance (a hinge keeping each dimension's std above 1, ε = 1e-4, halved per branch as in
 * the official code) and covariance (off-diagonal covariance over N − 1, squared, divided by d).
 * Reference defaults: solo-learn scripts/pretrain/cifar/vicreg.yaml and solo/methods/vicreg.py
 * (projector 2048-2048 → 2048 with BN in the hidden layers, weights 25 / 25 / 1, LARS lr 0.3 · bs/256,
 * wd 1e-4, η = 0.02; crops 0.2–1, jitter 0.4/0.4/0.2/0.1, solarise 0.1 on both views).
 */
import * as tf from '@tensorflow/tfjs';
import type { AugmentationConfig } from '../augment';
import { vicregTerms } from '../losses';
import { scaledLr } from '../schedules';
import { readOptions, type MethodOptionSpecs } from './options';
import {
  REFERENCE_RUN,
  TAU_WITH_MOMENTUM_BRANCH,
  classroomAugmentations,
  createProjectedEncoder,
  createTargetBranch,
  methodPresets,
  sameForBothViews,
  soloAugmentations,
  targetBranchOption,
  targetBranchParts,
  withMinCropScale,
} from './shared';
import type { MethodDefinition } from './types';

const OPTIONS = {
  invarianceWeight: { label: 'Invariance weight', hint: 'Pull: squared distance between the two views.', kind: 'number', default: 25, min: 0, step: 1 },
  varianceWeight: { label: 'Variance weight', hint: 'Push: keep each dimension\'s std above 1.', kind: 'number', default: 25, min: 0, step: 1 },
  covarianceWeight: { label: 'Covariance weight', hint: 'Push: decorrelate the dimensions.', kind: 'number', default: 1, min: 0, step: 0.1 },
  targetBranch: targetBranchOption('same network, gradients through both views', true),
} satisfies MethodOptionSpecs;

/** vicreg.yaml's augmentations: the asymmetric jitter, crops from 0.2, no blur, solarisation 0.1 on both views. */
function vicregAugmentations(): AugmentationConfig {
  const [first] = withMinCropScale(soloAugmentations('asymmetric'), 0.2);
  return sameForBothViews({ ...first, solarizeProbability: 0.1 });
}

const defaults = methodPresets('vicreg', OPTIONS, {
  reference: () => ({
    projector: { hidden: [2048, 2048], out: 2048 },
    optimizer: { kind: 'lars', momentum: 0.9, weightDecay: 1e-4, eta: 0.02, clipLr: true, excludeBiasAndNorm: true },
    learningRate: scaledLr(0.3, REFERENCE_RUN.batchSize),
    augmentations: vicregAugmentations(),
  }),
  classroom: () => ({
    projector: { hidden: [512], out: 512 },
    augmentations: classroomAugmentations(vicregAugmentations()),
  }),
});

/**
 * The invariance term's pull on u₁ = z₁/‖z₁‖ towards u₂, per image: weight·mean‖z₁ − z₂‖² over the
 * batch and the d dimensions gives one image −(2·weight/d)·‖z₁‖·‖z₂‖ along u₂ in the tangent space.
 */
function invariancePull(z1: tf.Tensor2D, z2: tf.Tensor2D, weight: number): tf.Tensor1D {
  const d = z1.shape[1];
  return tf.mul((2 * weight) / d, tf.mul(tf.norm(z1, 'euclidean', 1), tf.norm(z2, 'euclidean', 1)));
}

export const vicreg: MethodDefinition = {
  id: 'vicreg',
  label: 'VICReg',
  family: 'decorrelation',
  explanation:
    'VICReg pulls the two views\' embeddings together with a plain squared distance (invariance). Two ' +
    'regularisers stop collapse without any negatives: the variance term pushes the standard deviation of every ' +
    'embedding dimension over the batch up to at least 1, so the embeddings cannot all shrink to one point, and ' +
    'the covariance term pushes the correlations between different dimensions to 0, so they cannot all encode ' +
    'the same thing. The three weights (25 / 25 / 1) balance the pull against the two pushes.',
  uses: { tau: TAU_WITH_MOMENTUM_BRANCH, temperature: false, labels: false },
  options: OPTIONS,
  defaults,
  create({ config, rng }) {
    const encoder = createProjectedEncoder(config, rng, 'vicreg');
    const { invarianceWeight, varianceWeight, covarianceWeight, targetBranch } = readOptions(OPTIONS, config);
    const branch = createTargetBranch(targetBranch, encoder, config, rng);
    return {
      encoder: encoder.backbone,
      params: encoder.module.params,
      ...targetBranchParts(encoder, branch),
      computeLoss(inputs) {
        const { features, embedding: z1 } = encoder.encodeFirstView(inputs);
        const z2 = encoder.project(inputs.views[1], true);
        // With a target branch, each online view against the other view's target, symmetrised.
        const [t1, t2] = branch ? branch.targets(inputs.views, z1, z2) : [z1, z2];
        const pairs = branch ? [vicregTerms(z1, t2), vicregTerms(z2, t1)] : [vicregTerms(z1, z2)];
        const weighted = (weight: number, term: 'invariance' | 'variance' | 'covariance') => tf.mul(weight / pairs.length, tf.addN(pairs.map((p) => p[term]))) as tf.Scalar;
        const terms = {
          invariance: weighted(invarianceWeight, 'invariance'),
          variance: weighted(varianceWeight, 'variance'),
          covariance: weighted(covarianceWeight, 'covariance'),
        };
        const loss = tf.addN([terms.invariance, terms.variance, terms.covariance]) as tf.Scalar;
        const anatomy = { target: t2, coefficient: invariancePull(z1, t2, invarianceWeight / pairs.length), implicitNegative: false };
        return { loss, terms, embedding: z1, secondEmbedding: z2, features, carry: [], anatomy };
      },
    };
  },
};
