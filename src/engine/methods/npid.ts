/**
 * NPID / Instance Discrimination (Wu et al., 2018). Every training image is its own class. A memory
 * bank holds one unit-length feature per image; the loss is a softmax over the whole bank (the
 * "non-parametric" classifier) whose target is the image's own row. After each step the image's row
 * moves towards its new feature with momentum 0.5 and is re-normalised.
 * Reference defaults: zhirongw/lemniscate.pytorch, cifar.py with the full softmax (--nce-k 0; the
 * default there is NCE with 4096 noise samples): ResNet-18 with a linear 128-d embedding, T = 0.1,
 * bank momentum 0.5, SGD lr 0.1 (constant there, warm-up + cosine here), momentum 0.9, wd 5e-4,
 * batch 128, 200 epochs; one augmented view per image (crop 0.2–1, grayscale 0.2, colour jitter 0.4
 * in all four, no flip). Deviation: the bank starts as random unit vectors (the original draws
 * uniform values without normalising), so its rows are unit length from the first step.
 * `options.negatives = K` scores each image against its own row and K rows drawn at random each step
 * (shared by the batch, as lemniscate's NCE draws its noise rows) instead of the whole bank: the
 * memory bank at a given number of negatives, for MoCo's comparison of the three sources of negatives.
 */
import * as tf from '@tensorflow/tfjs';
import { standardView, type ViewAugmentation } from '../augment';
import { infoNCELoss, l2Normalize, npidLoss } from '../losses';
import { variableFrom } from '../nn';
import type { Rng } from '../random';
import { readOptions, type MethodOptionSpecs } from './options';
import { classroomAugmentations, createProjectedEncoder, meanPositiveLogit, methodPresets, pullPushTerms, randomUnitRows } from './shared';
import type { MethodDefinition } from './types';

const OPTIONS = {
  bankMomentum: { label: 'Memory-bank momentum', hint: 'How much of its old entry an image keeps at each update.', kind: 'number', default: 0.5, min: 0, max: 0.999, step: 0.05 },
  negatives: { label: 'Negatives per step', hint: 'Bank rows drawn at random as negatives each step; 0 uses the whole bank.', kind: 'number', default: 0, min: 0, integer: true, step: 64 },
} satisfies MethodOptionSpecs;

/** lemniscate.pytorch's CIFAR transform. */
function npidView(): ViewAugmentation {
  return {
    ...standardView(),
    crop: { scale: [0.2, 1], ratio: [3 / 4, 4 / 3] },
    flipProbability: 0,
    colorJitter: { probability: 1, brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.4 },
  };
}

const defaults = methodPresets('npid', OPTIONS, {
  reference: () => ({
    // lemniscate.pytorch's run, not solo-learn's: batch 128, 200 epochs of CIFAR-10 (391 steps an epoch), no warm-up.
    batchSize: 128,
    totalSteps: 78_200,
    warmupSteps: 0,
    projector: { hidden: [], out: 128 },
    optimizer: { kind: 'sgd', momentum: 0.9, weightDecay: 5e-4 },
    learningRate: 0.1,
    temperature: 0.1,
    // NPID trains on one view; the second is augmented the same way and left unused.
    augmentations: [npidView(), npidView()],
  }),
  classroom: () => ({
    projector: { hidden: [], out: 128 },
    temperature: 0.1,
    augmentations: classroomAugmentations([npidView(), npidView()]),
  }),
});

/** The `count` bank rows scored as negatives in one step, drawn uniformly from `rng` (an image's own row may come up too). */
export function drawNegatives(rng: Rng, count: number, datasetSize: number): Int32Array {
  return Int32Array.from({ length: count }, () => rng.int(datasetSize));
}

export const npid: MethodDefinition = {
  id: 'npid',
  label: 'NPID (memory bank)',
  family: 'contrastive',
  explanation:
    'NPID treats every training image as its own class. A memory bank keeps one feature per image; each step ' +
    'pulls an image\'s new feature towards its own bank entry and pushes it away from the entries of all other ' +
    'images (a softmax over the whole bank). The bank entry then moves halfway to the new feature. The other ' +
    'images\' entries are the negatives, and they stop collapse; they are slightly stale, which is what MoCo later fixed.',
  uses: { tau: false, temperature: true, labels: false },
  options: OPTIONS,
  defaults,
  create({ config, rng, datasetSize }) {
    const encoder = createProjectedEncoder(config, rng, 'npid');
    const bank = variableFrom(randomUnitRows(rng, datasetSize, config.projector.out), false);
    const { bankMomentum: momentum, negatives } = readOptions(OPTIONS, config);
    return {
      encoder: encoder.backbone,
      params: encoder.module.params,
      modules: [encoder.module],
      state: [bank],
      computeLoss(inputs, { temperature }) {
        const { indices } = inputs;
        const { features, embedding: z } = encoder.encodeFirstView(inputs);
        const normalised = l2Normalize(z);
        const ownEntries = tf.gather(bank, indices) as tf.Tensor2D;
        const loss = negatives > 0 ? infoNCELoss(normalised, ownEntries, tf.gather(bank, tf.tensor1d(drawNegatives(rng, negatives, datasetSize), 'int32')), temperature) : npidLoss(normalised, bank, indices, temperature);
        const positive = meanPositiveLogit(normalised, ownEntries, temperature);
        return { loss, terms: pullPushTerms(loss, positive), embedding: z, features, carry: [normalised], anatomy: { target: ownEntries, coefficient: 1 / temperature, implicitNegative: false } };
      },
      afterStep({ indices }, _schedule, [features]) {
        const n = indices.shape[0];
        // A batch that straddles two epochs can hold an image twice. Every duplicate writes the row of its
        // last occurrence, so the scatter gives the same result on every backend.
        const sameImage = tf.equal(tf.reshape(indices, [n, 1]), tf.reshape(indices, [1, n]));
        const lastOccurrence = tf.argMax(tf.mul(tf.cast(sameImage, 'int32'), tf.range(1, n + 1, 1, 'int32')), 1);
        const rowIndices = tf.gather(indices, lastOccurrence);
        const rows = tf.gather(features, lastOccurrence);
        const updated = l2Normalize(tf.add(tf.mul(tf.gather(bank, rowIndices), momentum), tf.mul(rows, 1 - momentum)));
        bank.assign(tf.tensorScatterUpdate(bank, tf.reshape(rowIndices, [n, 1]), updated));
      },
    };
  },
};
