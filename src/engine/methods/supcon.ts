/**
 * Supervised Contrastive learning (Khosla et al., 2020). SimCLR with labels: every view whose image
 * has the same class as the anchor is a positive, not only the anchor's partner view.
 * Reference defaults: solo-learn scripts/pretrain/cifar/supcon.yaml (projector 2048 → 256 as
 * Linear–ReLU–Linear, T = 0.2, SGD lr 0.4 · bs/256, wd 1e-5, "symmetric" augmentations).
 * `options.form` chooses where the log sits (the paper's eqs. 2 and 3): L_out by default, the form
 * the paper recommends; L_in is the form of solo-learn's loss (solo/losses/simclr.py with labels as
 * indexes, −log Σ_p exp / Σ_a exp), which differs from L_in only by the constant log |P(i)| per anchor.
 */
import * as tf from '@tensorflow/tfjs';
import { l2Normalize, supConLoss, type SupConForm } from '../losses';
import { scaledLr } from '../schedules';
import { REFERENCE_RUN, classroomAugmentations, createProjectedEncoder, methodPresets, pullPushTerms, soloAugmentations } from './shared';
import { readOptions, type MethodOptionSpecs } from './options';
import type { MethodDefinition } from './types';

const FORMS: readonly SupConForm[] = ['out', 'in'];

const OPTIONS = {
  form: {
    label: 'Loss form',
    hint: 'Where the log sits in the mean over an anchor\'s positives (Khosla et al., eqs. 2 and 3).',
    kind: 'choice',
    default: 0,
    choices: [
      { value: 0, label: 'L_out: log outside the mean (the paper\'s choice)' },
      { value: 1, label: 'L_in: log inside the mean (solo-learn\'s loss)' },
    ],
  },
} satisfies MethodOptionSpecs;

const defaults = methodPresets('supcon', OPTIONS, {
  reference: () => ({
    projector: { hidden: [2048], out: 256, hiddenNorm: false },
    optimizer: { kind: 'sgd', momentum: 0.9, weightDecay: 1e-5 },
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

/**
 * Mean over the 2N anchors of the similarity / T to their positives (same label, not itself), pooled
 * as the loss pools them: the mean for L_out, the log-mean-exp for L_in. The loss minus its negative
 * is then, in both forms, the mean log-sum-exp over every other view.
 */
function positiveLogitByLabel(z1: tf.Tensor2D, z2: tf.Tensor2D, labels: tf.Tensor1D, temperature: number, form: SupConForm): tf.Scalar {
  return tf.tidy(() => {
    const features = tf.concat([l2Normalize(z1), l2Normalize(z2)], 0);
    const m = features.shape[0];
    const viewLabels = tf.concat([labels, labels], 0);
    const positives = tf.sub(tf.cast(tf.equal(tf.reshape(viewLabels, [m, 1]), tf.reshape(viewLabels, [1, m])), 'float32'), tf.eye(m));
    const similarity = tf.div(tf.matMul(features, features, false, true), temperature);
    const count = tf.sum(positives, 1);
    const pooled =
      form === 'out'
        ? tf.div(tf.sum(tf.mul(positives, similarity), 1), count)
        : tf.sub(tf.logSumExp(tf.where(tf.cast(positives, 'bool'), similarity, tf.fill([m, m], -1e9)), 1), tf.log(count));
    return tf.mean(pooled) as tf.Scalar;
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
  options: OPTIONS,
  defaults,
  create({ config, rng }) {
    const encoder = createProjectedEncoder(config, rng, 'supcon');
    const form = FORMS[readOptions(OPTIONS, config).form];
    return {
      encoder: encoder.backbone,
      params: encoder.module.params,
      modules: [encoder.module],
      computeLoss({ views, labels }, { temperature }) {
        if (!labels) throw new Error('SupCon is supervised: every image needs a class label, and this batch has none.');
        const { features, embedding: z1 } = encoder.encode(views[0], true);
        const z2 = encoder.project(views[1], true);
        const loss = supConLoss(z1, z2, labels, temperature, form);
        const terms = pullPushTerms(loss, positiveLogitByLabel(z1, z2, labels, temperature, form));
        return { loss, terms, embedding: z1, secondEmbedding: z2, features, carry: [] };
      },
    };
  },
};
