/**
 * SimSiam (Chen & He, 2021). BYOL without the momentum encoder: both branches share one encoder, a
 * predictor sits on one side and the other side's projection is treated as a constant (stop-gradient).
 * `options.stopGradient = 0` removes the stop-gradient, the paper's ablation: training then collapses.
 * Reference defaults: solo-learn scripts/pretrain/cifar/simsiam.yaml and solo/methods/simsiam.py
 * (projector 2048-2048-2048 ending in BN without affine, predictor 512 hidden, SGD lr 0.5 · bs/256,
 * wd 1e-5, "symmetric-weak" augmentations). Deviation: solo-learn keeps the predictor's learning rate
 * fixed (no cosine decay); here it follows the common schedule.
 */
import * as tf from '@tensorflow/tfjs';
import { createMlp } from '../heads';
import { simSiamLoss } from '../losses';
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
  stopGradient: { label: 'Stop-gradient', hint: 'Turn it off to watch SimSiam collapse (feature std → 0).', kind: 'toggle', default: 1 },
  // With the momentum encoder SimSiam becomes BYOL with SimSiam's heads and loss; the target never gets gradients.
  targetBranch: targetBranchOption('same network (stop-gradient switch above)', false),
} satisfies MethodOptionSpecs;

const defaults = methodPresets('simsiam', OPTIONS, {
  reference: () => ({
    projector: { hidden: [2048, 2048], out: 2048, lastNorm: 'plain' },
    predictor: { hidden: [512], out: 2048 },
    optimizer: { kind: 'sgd', momentum: 0.9, weightDecay: 1e-5 },
    learningRate: scaledLr(0.5, REFERENCE_RUN.batchSize),
    augmentations: soloAugmentations('symmetric-weak'),
  }),
  classroom: () => ({
    projector: { hidden: [512], out: 512, lastNorm: 'plain' },
    predictor: { hidden: [128], out: 512 },
    augmentations: classroomAugmentations(soloAugmentations('symmetric-weak')),
  }),
});

export const simsiam: MethodDefinition = {
  id: 'simsiam',
  label: 'SimSiam',
  family: 'asymmetric',
  explanation:
    'SimSiam pulls together two views of the same image: a predictor on one branch learns to output the other ' +
    'branch\'s projection (negative cosine similarity). It pushes nothing apart and, unlike BYOL, has no momentum ' +
    'encoder — both branches are the same network. What stops collapse is the stop-gradient: the target ' +
    'projection is treated as a constant. Turn the stop-gradient off (the ablation) and the embeddings collapse ' +
    'to a single point within a few hundred steps — watch the feature std fall to 0.',
  uses: { tau: TAU_WITH_MOMENTUM_BRANCH, temperature: false, labels: false },
  options: OPTIONS,
  defaults,
  create({ config, rng }) {
    if (!config.predictor) throw new Error('SimSiam needs a predictor head');
    const encoder = createProjectedEncoder(config, rng, 'simsiam');
    const predictor = createMlp(config.predictor, config.projector.out, rng, 'predictor');
    const options = readOptions(OPTIONS, config);
    const stopGradient = options.stopGradient === 1;
    const branch = createTargetBranch(options.targetBranch, encoder, config, rng);
    const { modules, emaPairs } = targetBranchParts(encoder, branch);
    return {
      encoder: encoder.backbone,
      params: [...encoder.module.params, ...predictor.params],
      modules: [...modules, predictor],
      emaPairs,
      computeLoss(inputs) {
        const { features, embedding: z1 } = encoder.encodeFirstView(inputs);
        const z2 = encoder.project(inputs.views[1], true);
        const p1 = predictor.apply(z1, true);
        const p2 = predictor.apply(z2, true);
        const [t1, t2] = branch ? branch.targets(inputs.views, z1, z2) : [z1, z2];
        const loss = tf.div(tf.add(simSiamLoss(p1, t2, { stopGradient }), simSiamLoss(p2, t1, { stopGradient })), 2) as tf.Scalar;
        return { loss, terms: {}, embedding: z1, secondEmbedding: z2, features, carry: [], anatomy: { target: t2, coefficient: 0.5, implicitNegative: true } };
      },
    };
  },
};
