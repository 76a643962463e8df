/**
 * Barlow Twins (Zbontar et al., 2021). The cross-correlation matrix between the batch-standardised
 * embeddings of the two views is driven towards the identity: diagonal → 1 (invariance), off-diagonal
 * → 0 (redundancy reduction, weighted by λ).
 * Reference defaults: solo-learn scripts/pretrain/cifar/barlow.yaml and solo/losses/barlow.py
 * (projector 2048-2048 → 2048 with BN in the hidden layers, λ = 0.0051, loss scaled by 0.1,
 * LARS lr 0.3 · bs/256, wd 1e-4, η = 0.02, "asymmetric" augmentations). The paper's own loss has no
 * scale (options.scale = 1).
 */
import * as tf from '@tensorflow/tfjs';
import { barlowTwinsTerms } from '../losses';
import { scaledLr } from '../schedules';
import { readOptions, type MethodOptionSpecs } from './options';
import {
  REFERENCE_RUN,
  TAU_WITH_MOMENTUM_BRANCH,
  classroomAugmentations,
  createProjectedEncoder,
  createTargetBranch,
  methodPresets,
  soloAugmentations,
  targetBranchOption,
  targetBranchParts,
} from './shared';
import type { MethodDefinition } from './types';

const OPTIONS = {
  lambda: { label: 'λ', hint: 'Weight of the off-diagonal (redundancy) term, the push.', kind: 'number', default: 0.0051, min: 0, step: 0.001 },
  scale: { label: 'Loss scale', hint: 'Multiplies the whole loss (solo-learn uses 0.1; the paper\'s loss has none, 1).', kind: 'number', default: 0.1, min: 0, step: 0.01 },
  targetBranch: targetBranchOption('same network, gradients through both views', true),
} satisfies MethodOptionSpecs;

const defaults = methodPresets('barlow', OPTIONS, {
  reference: () => ({
    projector: { hidden: [2048, 2048], out: 2048 },
    optimizer: { kind: 'lars', momentum: 0.9, weightDecay: 1e-4, eta: 0.02, clipLr: true, excludeBiasAndNorm: true },
    learningRate: scaledLr(0.3, REFERENCE_RUN.batchSize),
    augmentations: soloAugmentations('asymmetric'),
  }),
  classroom: () => ({
    projector: { hidden: [512], out: 512 },
    augmentations: classroomAugmentations(soloAugmentations('asymmetric')),
  }),
});

export const barlow: MethodDefinition = {
  id: 'barlow',
  label: 'Barlow Twins',
  family: 'decorrelation',
  explanation:
    'Barlow Twins standardises each embedding dimension over the batch and computes the correlation of every ' +
    'dimension of view 1 with every dimension of view 2. It pulls the diagonal to 1 — each feature agrees ' +
    'across the two views — and pushes the off-diagonal to 0, so different features carry different information. ' +
    'That redundancy-reduction term (weighted by λ) is what stops collapse: a collapsed embedding has all its ' +
    'features perfectly correlated. No negatives, no momentum encoder, no predictor.',
  uses: { tau: TAU_WITH_MOMENTUM_BRANCH, temperature: false, labels: false },
  options: OPTIONS,
  defaults,
  create({ config, rng }) {
    const encoder = createProjectedEncoder(config, rng, 'barlow');
    const { lambda, scale, targetBranch } = readOptions(OPTIONS, config);
    const branch = createTargetBranch(targetBranch, encoder, config, rng);
    return {
      encoder: encoder.backbone,
      params: encoder.module.params,
      ...targetBranchParts(encoder, branch),
      computeLoss(inputs) {
        const { features, embedding: z1 } = encoder.encodeFirstView(inputs);
        const z2 = encoder.project(inputs.views[1], true);
        // The method's own form correlates the two online views; with a target branch, each online view
        // with the other view's target, symmetrised.
        const [t1, t2] = branch ? branch.targets(inputs.views, z1, z2) : [z1, z2];
        const pairs = branch ? [barlowTwinsTerms(z1, t2, lambda), barlowTwinsTerms(z2, t1, lambda)] : [barlowTwinsTerms(z1, z2, lambda)];
        const weight = scale / pairs.length;
        const terms = {
          onDiagonal: tf.mul(weight, tf.addN(pairs.map((p) => p.onDiagonal))) as tf.Scalar,
          offDiagonal: tf.mul(weight, tf.addN(pairs.map((p) => p.offDiagonal))) as tf.Scalar,
        };
        const loss = tf.add(terms.onDiagonal, terms.offDiagonal) as tf.Scalar;
        return { loss, terms, embedding: z1, secondEmbedding: z2, features, carry: [], anatomy: { target: t2, coefficient: 'fitted', implicitNegative: false } };
      },
    };
  },
};
