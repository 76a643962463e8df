/**
 * SimCLR (Chen et al., 2020). Two views of each image go through one encoder and projector; the
 * NT-Xent loss makes each view pick out its partner among all 2N − 1 other views of the batch.
 * Reference defaults: solo-learn scripts/pretrain/cifar/simclr.yaml (projector 2048 → 256 as
 * Linear–ReLU–Linear, T = 0.2, LARS lr 0.4 · bs/256, wd 1e-4, η = 0.02, "symmetric" augmentations).
 */
import * as tf from '@tensorflow/tfjs';
import { ntXentLoss } from '../losses';
import { scaledLr } from '../schedules';
import { readOptions, type MethodOptionSpecs } from './options';
import {
  REFERENCE_RUN,
  TAU_WITH_MOMENTUM_BRANCH,
  classroomAugmentations,
  createProjectedEncoder,
  createTargetBranch,
  meanPositiveLogit,
  methodPresets,
  pullPushTerms,
  soloAugmentations,
  targetBranchOption,
  targetBranchParts,
} from './shared';
import type { MethodDefinition } from './types';

const OPTIONS = {
  targetBranch: targetBranchOption('same network, gradients through both views', true),
} satisfies MethodOptionSpecs;

const defaults = methodPresets('simclr', OPTIONS, {
  reference: () => ({
    projector: { hidden: [2048], out: 256, hiddenNorm: false },
    optimizer: { kind: 'lars', momentum: 0.9, weightDecay: 1e-4, eta: 0.02, clipLr: true, excludeBiasAndNorm: true },
    learningRate: scaledLr(0.4, REFERENCE_RUN.batchSize),
    temperature: 0.2,
    augmentations: soloAugmentations('symmetric'),
  }),
  classroom: () => ({
    projector: { hidden: [512], out: 128, hiddenNorm: false },
    temperature: 0.2,
    augmentations: classroomAugmentations(soloAugmentations('symmetric-weak')),
  }),
});

export const simclr: MethodDefinition = {
  id: 'simclr',
  label: 'SimCLR',
  family: 'contrastive',
  explanation:
    'SimCLR pulls together the two augmented views of each image and pushes apart the views of every other ' +
    'image in the batch: each view must pick out its partner among all 2N − 1 others (a softmax over cosine ' +
    'similarities divided by the temperature). The negatives are what stop collapse: mapping every image to the ' +
    'same point would make the partner impossible to find. A lower temperature weighs the hardest negatives more.',
  uses: { tau: TAU_WITH_MOMENTUM_BRANCH, temperature: true, labels: false },
  options: OPTIONS,
  defaults,
  create({ config, rng }) {
    const encoder = createProjectedEncoder(config, rng, 'simclr');
    const branch = createTargetBranch(readOptions(OPTIONS, config).targetBranch, encoder, config, rng);
    return {
      encoder: encoder.backbone,
      params: encoder.module.params,
      ...targetBranchParts(encoder, branch),
      computeLoss(inputs, { temperature }) {
        const { features, embedding: z1 } = encoder.encodeFirstView(inputs);
        const z2 = encoder.project(inputs.views[1], true);
        const output = { embedding: z1, secondEmbedding: z2, features, carry: [] };
        if (!branch) {
          const loss = ntXentLoss(z1, z2, temperature);
          return { ...output, loss, terms: pullPushTerms(loss, meanPositiveLogit(z1, z2, temperature)), anatomy: { target: z2, coefficient: 1 / temperature, implicitNegative: false } };
        }
        // Each view's online embedding against the other view's target, the batch's targets as negatives; symmetrised.
        const [t1, t2] = branch.targets(inputs.views, z1, z2);
        const loss = tf.div(tf.add(ntXentLoss(z1, t2, temperature), ntXentLoss(z2, t1, temperature)), 2) as tf.Scalar;
        const positive = tf.div(tf.add(meanPositiveLogit(z1, t2, temperature), meanPositiveLogit(z2, t1, temperature)), 2) as tf.Scalar;
        return { ...output, loss, terms: pullPushTerms(loss, positive), anatomy: { target: t2, coefficient: 1 / (2 * temperature), implicitNegative: false } };
      },
    };
  },
};
