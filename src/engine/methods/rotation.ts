/**
 * Rotation prediction, RotNet (Gidaris et al., ICLR 2018): the pretext-task baseline. Each image is
 * rotated by 0°, 90°, 180° or 270° and a classifier on the encoder's features must say which. To do
 * that the encoder has to find the objects' orientation — their "up" — which needs some notion of
 * what the objects are. Here both views are used, each image of each view with its own random
 * rotation (drawn on the CPU from the method's generator), so a step costs two encoder passes like the others.
 * Reference defaults: gidariss/FeatureLearningRotNet config/CIFAR10_RotNet_NIN4blocks.py (batch 128,
 * 200 epochs, SGD lr 0.1, momentum 0.9, wd 5e-4, cross-entropy over 4 classes), here with a
 * ResNet-18 and a linear head instead of the Network-in-Network, random crops (0.5–1) and flips
 * instead of pad-and-crop, all four rotations of an image spread over steps rather than in one batch,
 * and a cosine schedule instead of step decay.
 */
import * as tf from '@tensorflow/tfjs';
import { IDENTITY_VIEW, type ViewAugmentation } from '../augment';
import { createBackbone } from '../backbones';
import { createMlp } from '../heads';
import type { Rng } from '../random';
import { methodPresets, sameForBothViews } from './shared';
import type { MethodDefinition } from './types';

const ROTATIONS = 4;

const ROTATION_VIEW: ViewAugmentation = {
  ...IDENTITY_VIEW,
  crop: { scale: [0.5, 1], ratio: [3 / 4, 4 / 3] },
  flipProbability: 0.5,
};

const defaults = methodPresets('rotation', {}, {
  reference: () => ({
    // RotNet's own run, not solo-learn's shape (it has no RotNet): batch 128, 200 epochs of CIFAR-10
    // (391 steps an epoch), no warm-up, SGD.
    batchSize: 128,
    totalSteps: 78_200,
    warmupSteps: 0,
    projector: { hidden: [], out: ROTATIONS },
    optimizer: { kind: 'sgd', momentum: 0.9, weightDecay: 5e-4 },
    learningRate: 0.1,
    augmentations: sameForBothViews(structuredClone(ROTATION_VIEW)),
  }),
  classroom: () => ({
    projector: { hidden: [], out: ROTATIONS },
    augmentations: sameForBothViews(structuredClone(ROTATION_VIEW)),
  }),
});

/**
 * Rotates each square NHWC image counter-clockwise by rotations[i] quarter turns. All four rotations
 * of the batch are formed (transpose and reverse) and each image keeps its own through a one-hot mask.
 */
export function rotateQuarterTurns(images: tf.Tensor4D, rotations: Int32Array): tf.Tensor4D {
  return tf.tidy(() => {
    const n = images.shape[0];
    const transposed = tf.transpose(images, [0, 2, 1, 3]);
    const turned = [images, tf.reverse(transposed, 1), tf.reverse(images, [1, 2]), tf.reverse(transposed, 2)];
    const mask = tf.oneHot(tf.tensor1d(rotations, 'int32'), ROTATIONS).cast('float32');
    const selected = turned.map((x, k) => tf.mul(x, tf.reshape(tf.slice(mask, [0, k], [n, 1]), [n, 1, 1, 1])));
    return tf.addN(selected) as tf.Tensor4D;
  });
}

/** `count` quarter turns (0–3) drawn from `rng`: view 1's images, then view 2's. */
export function drawRotations(rng: Rng, count: number): Int32Array {
  return Int32Array.from({ length: count }, () => rng.int(ROTATIONS));
}

export const rotation: MethodDefinition = {
  id: 'rotation',
  label: 'Rotation prediction (RotNet)',
  family: 'pretext',
  explanation:
    'Rotation prediction is a pretext task, not a Siamese method: every image is turned by 0°, 90°, 180° or 270° ' +
    'and a small classifier on the encoder\'s features must tell which. Nothing is pulled together or pushed ' +
    'apart; the encoder learns because knowing which way is "up" needs some idea of what is in the picture. ' +
    'Collapse cannot happen — a constant feature cannot tell the four rotations apart — but the features learn ' +
    'only what helps with orientation, which is why the Siamese methods overtook it.',
  uses: { tau: false, temperature: false, labels: false },
  options: {},
  defaults,
  create({ config, rng }) {
    const backbone = createBackbone(config.backbone, rng, 'rotation/backbone');
    const classifier = createMlp(config.projector, backbone.featureDim, rng, 'rotation/classifier');
    if (classifier.outDim !== ROTATIONS) throw new Error(`Rotation prediction needs a head with ${ROTATIONS} outputs, got ${classifier.outDim}`);
    return {
      encoder: backbone,
      params: [...backbone.params, ...classifier.params],
      modules: [backbone, classifier],
      embeddingDim: backbone.featureDim,
      computeLoss({ views }) {
        const n = views[0].shape[0];
        // From the method's generator, whose state checkpoints keep: a resumed run turns the images the same way.
        const rotations = drawRotations(rng, 2 * n);
        const rotated = tf.concat([rotateQuarterTurns(views[0], rotations.subarray(0, n)), rotateQuarterTurns(views[1], rotations.subarray(n))], 0);
        const features = backbone.apply(rotated, true) as tf.Tensor2D;
        const logits = classifier.apply(features, true) as tf.Tensor2D;
        const targets = tf.oneHot(tf.tensor1d(rotations, 'int32'), ROTATIONS);
        const loss = tf.losses.softmaxCrossEntropy(targets, logits) as tf.Scalar;
        return { loss, terms: {}, embedding: tf.slice(features, [0, 0], [n, -1]) as tf.Tensor2D, carry: [] };
      },
    };
  },
};
