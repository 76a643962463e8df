/**
 * Exemplar CNN (Dosovitskiy, Springenberg, Riedmiller & Brox, NIPS 2014): every seed image is a class
 * of its own, a "surrogate class" whose members are the seed under heavy random transformations, and a
 * classifier over all the seeds must tell which seed an augmented view came from. The encoder has to
 * become invariant to the transformations while keeping what tells one image from every other. It is
 * the parametric ancestor of instance discrimination (NPID keeps a memory bank where this keeps a
 * classifier row per image) and of the contrastive methods.
 * Reference: the paper takes seed patches of 32 px from STL-10's unlabelled images and transforms them by
 * translation, scaling, rotation, contrast and colour changes, with a small ConvNet, a fully connected
 * layer and a softmax over the surrogate classes. Here every training image is a seed (the dataset index is
 * its class), the transformations are the app's strongest recipe (solo-learn's "symmetric": crops,
 * flips, strong colour jitter, grayscale; blur in the reference preset) without rotation, which the app's
 * augmentations do not have; the configured projector plays the fully connected layer and a linear layer
 * with one output per training image the softmax classifier. Both views are classified. The paper's
 * schedule does not carry over to a dataset of images rather than of patches, so the reference preset
 * keeps the shared CIFAR run shape with RotNet's SGD settings; the classroom preset lowers AdamW's
 * learning rate, the one classroom preset that does.
 */
import * as tf from '@tensorflow/tfjs';
import { createMlp } from '../heads';
import { classroomAugmentations, createProjectedEncoder, methodPresets, soloAugmentations } from './shared';
import type { MethodDefinition } from './types';

const defaults = methodPresets('exemplar', {}, {
  reference: () => ({
    projector: { hidden: [512], out: 128 },
    optimizer: { kind: 'sgd', momentum: 0.9, weightDecay: 5e-4 },
    learningRate: 0.1,
    augmentations: soloAugmentations('symmetric'),
  }),
  classroom: () => ({
    projector: { hidden: [512], out: 128 },
    // A quarter of the shared rate: each classifier row is trained only when its image comes round, about
    // twice in a classroom run, and at the shared rate the random rows scatter the features (docs/methods.md).
    learningRate: 5e-4,
    augmentations: classroomAugmentations(soloAugmentations('symmetric')),
  }),
});

export const exemplar: MethodDefinition = {
  id: 'exemplar',
  label: 'Exemplar CNN (every image its own class)',
  family: 'pretext',
  explanation:
    'Exemplar CNN turns every training image into a class of its own — a "surrogate class" of one image seen under ' +
    'heavy random crops and colour changes — and trains a classifier over all of them: from an augmented view, ' +
    'which image was it? The encoder must ignore the changes the augmentations make and keep what makes each image ' +
    'unlike the others. One classifier row per image is what later methods replaced with a memory bank (NPID) and ' +
    'then with the other images of the batch (SimCLR). It cannot collapse — a constant feature cannot tell the images ' +
    'apart — but with thousands of classes each row is trained only when its image comes round again.',
  uses: { tau: false, temperature: false, labels: false },
  options: {},
  defaults,
  create({ config, rng, datasetSize }) {
    const online = createProjectedEncoder(config, rng, 'exemplar');
    const classifier = createMlp({ hidden: [], out: datasetSize }, config.projector.out, rng, 'exemplar/classifier');
    return {
      encoder: online.backbone,
      params: [...online.module.params, ...classifier.params],
      modules: [online.module, classifier],
      computeLoss({ views, indices }) {
        const { features, embedding: z1 } = online.encode(views[0], true);
        const z2 = online.project(views[1], true);
        const logits = classifier.apply(tf.concat([z1, z2], 0), true) as tf.Tensor2D;
        const seeds = tf.oneHot(tf.concat([indices, indices], 0) as tf.Tensor1D, datasetSize);
        const loss = tf.losses.softmaxCrossEntropy(seeds, logits) as tf.Scalar;
        return { loss, terms: {}, embedding: z1, secondEmbedding: z2, features, carry: [] };
      },
    };
  },
};
