/**
 * Supervised Contrastive learning (Khosla et al., 2020). SimCLR with labels: every view whose image
 * has the same class as the anchor is a positive, not only the anchor's partner view.
 * Reference defaults: solo-learn scripts/pretrain/cifar/supcon.yaml (projector 2048 → 256 as
 * Linear–ReLU–Linear, T = 0.2, SGD lr 0.4 · bs/256, wd 1e-5, "symmetric" augmentations).
 */
import * as tf from '@tensorflow/tfjs';
import type { PresetName, TrainConfig } from '../config';
import { l2Normalize, supConLoss } from '../losses';
import { disposeModule } from '../nn';
import { scaledLr } from '../schedules';
import { CLASSROOM_RUN, classroomAugmentations, REFERENCE_RUN, createProjectedEncoder, pullPushTerms, soloAugmentations } from './shared';
import type { MethodDefinition } from './types';

function defaults(preset: PresetName): TrainConfig {
  if (preset === 'reference') {
    return {
      ...REFERENCE_RUN,
      method: 'supcon',
      preset,
      projector: { hidden: [2048], out: 256, hiddenNorm: false },
      predictor: null,
      optimizer: { kind: 'sgd', momentum: 0.9, weightDecay: 1e-5 },
      learningRate: scaledLr(0.4, REFERENCE_RUN.batchSize),
      tau: 0.99,
      tauSchedule: false,
      temperature: 0.2,
      augmentations: soloAugmentations('symmetric', REFERENCE_RUN.imageSize),
      options: {},
    };
  }
  return {
    ...CLASSROOM_RUN,
    method: 'supcon',
    preset,
    projector: { hidden: [512], out: 128, hiddenNorm: false },
    predictor: null,
    tau: 0.99,
    tauSchedule: false,
    temperature: 0.2,
    augmentations: classroomAugmentations(soloAugmentations('symmetric-weak', CLASSROOM_RUN.imageSize)),
    options: {},
  };
}

/** Mean over the 2N anchors of the mean similarity / T to their positives (same label, not itself). */
function meanPositiveLogitByLabel(z1: tf.Tensor2D, z2: tf.Tensor2D, labels: tf.Tensor1D, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const features = tf.concat([l2Normalize(z1), l2Normalize(z2)], 0);
    const m = features.shape[0];
    const viewLabels = tf.concat([labels, labels], 0);
    const positives = tf.sub(tf.cast(tf.equal(tf.reshape(viewLabels, [m, 1]), tf.reshape(viewLabels, [1, m])), 'float32'), tf.eye(m));
    const similarity = tf.div(tf.matMul(features, features, false, true), temperature);
    return tf.mean(tf.div(tf.sum(tf.mul(positives, similarity), 1), tf.sum(positives, 1))) as tf.Scalar;
  });
}

export const supcon: MethodDefinition = {
  id: 'supcon',
  label: 'SupCon (uses labels)',
  family: 'contrastive',
  explanation:
    'SupCon is SimCLR with labels: it pulls together every pair of views whose images share a class (not only ' +
    'the two views of one image) and pushes apart views of different classes. It is supervised, so it needs ' +
    'a labelled dataset; it shows how far the same loss gets when it is told which images belong together. ' +
    'Negatives of other classes stop collapse.',
  uses: { tau: false, temperature: true, labels: true },
  defaults,
  create({ config, rng }) {
    const encoder = createProjectedEncoder(config, rng, 'supcon');
    return {
      encoder: encoder.backbone,
      params: encoder.module.params,
      modules: [encoder.module],
      computeLoss({ views, labels }, { temperature }) {
        if (!labels) throw new Error('SupCon is supervised: every image needs a class label, and this batch has none.');
        const { features, embedding: z1 } = encoder.encode(views[0], true);
        const z2 = encoder.project(views[1], true);
        const loss = supConLoss(z1, z2, labels, temperature);
        return { loss, terms: pullPushTerms(loss, meanPositiveLogitByLabel(z1, z2, labels, temperature)), embedding: z1, secondEmbedding: z2, features, carry: [] };
      },
      dispose() {
        disposeModule(encoder.module);
      },
    };
  },
};
