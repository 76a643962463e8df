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
import type { PresetName, TrainConfig } from '../config';
import { vicregTerms } from '../losses';
import { disposeModule } from '../nn';
import { scaledLr } from '../schedules';
import { CLASSROOM_RUN, classroomAugmentations, REFERENCE_RUN, createProjectedEncoder, sameForBothViews, soloAugmentations, withMinCropScale } from './shared';
import type { MethodDefinition } from './types';

/** vicreg.yaml's augmentations: the asymmetric jitter, crops from 0.2, solarisation 0.1 on both views. */
function vicregAugmentations(imageSize: number): AugmentationConfig {
  const [first] = withMinCropScale(soloAugmentations('asymmetric', imageSize), 0.2);
  const view = { ...first, solarizeProbability: 0.1 };
  return sameForBothViews(view);
}

function defaults(preset: PresetName): TrainConfig {
  if (preset === 'reference') {
    return {
      ...REFERENCE_RUN,
      method: 'vicreg',
      preset,
      projector: { hidden: [2048, 2048], out: 2048 },
      predictor: null,
      optimizer: { kind: 'lars', momentum: 0.9, weightDecay: 1e-4, eta: 0.02, clipLr: true, excludeBiasAndNorm: true },
      learningRate: scaledLr(0.3, REFERENCE_RUN.batchSize),
      tau: 0.99,
      tauSchedule: false,
      temperature: 0.1,
      augmentations: vicregAugmentations(REFERENCE_RUN.imageSize),
      options: { invarianceWeight: 25, varianceWeight: 25, covarianceWeight: 1 },
    };
  }
  return {
    ...CLASSROOM_RUN,
    method: 'vicreg',
    preset,
    projector: { hidden: [512], out: 512 },
    predictor: null,
    tau: 0.99,
    tauSchedule: false,
    temperature: 0.1,
    augmentations: classroomAugmentations(vicregAugmentations(CLASSROOM_RUN.imageSize)),
    options: { invarianceWeight: 25, varianceWeight: 25, covarianceWeight: 1 },
  };
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
  uses: { tau: false, temperature: false, labels: false },
  defaults,
  create({ config, rng }) {
    const encoder = createProjectedEncoder(config, rng, 'vicreg');
    const { invarianceWeight = 25, varianceWeight = 25, covarianceWeight = 1 } = config.options;
    return {
      encoder: encoder.backbone,
      params: encoder.module.params,
      modules: [encoder.module],
      computeLoss({ views }) {
        const { features, embedding: z1 } = encoder.encode(views[0], true);
        const z2 = encoder.project(views[1], true);
        const parts = vicregTerms(z1, z2);
        const terms = {
          invariance: tf.mul(invarianceWeight, parts.invariance) as tf.Scalar,
          variance: tf.mul(varianceWeight, parts.variance) as tf.Scalar,
          covariance: tf.mul(covarianceWeight, parts.covariance) as tf.Scalar,
        };
        const loss = tf.addN([terms.invariance, terms.variance, terms.covariance]) as tf.Scalar;
        return { loss, terms, embedding: z1, secondEmbedding: z2, features, carry: [] };
      },
      dispose() {
        disposeModule(encoder.module);
      },
    };
  },
};
