/**
 * MoCo v2 (He et al., 2020; Chen et al., 2020). A query encoder learns to match the key that a
 * momentum (EMA) copy of itself gives for the other view, against a FIFO queue of keys from earlier
 * batches as negatives (InfoNCE). The symmetric variant (solo-learn's "mocov2plus") scores both
 * directions, each against the queue of the view its keys come from; keys are enqueued after the loss.
 * Reference defaults: solo-learn scripts/pretrain/cifar/mocov2plus.yaml and solo/methods/mocov2plus.py
 * (projector 2048 → 256 as Linear–ReLU–Linear, queue 32 768 per view, T = 0.2, τ 0.99 rising by a
 * cosine, SGD lr 0.3 · bs/256, wd 1e-4, "symmetric-weak" augmentations). Deviation: solo-learn's τ
 * schedule ends at 0.999, the common schedule here ends at 1. `options.symmetric = 0` gives the
 * original MoCo v2 loss: one direction, one queue.
 */
import * as tf from '@tensorflow/tfjs';
import { infoNCELoss, l2Normalize } from '../losses';
import { scaledLr } from '../schedules';
import { readOptions, type MethodOptionSpecs } from './options';
import {
  KeyQueue,
  REFERENCE_RUN,
  classroomAugmentations,
  createMomentumCopy,
  createProjectedEncoder,
  meanPositiveLogit,
  methodPresets,
  pullPushTerms,
  soloAugmentations,
} from './shared';
import type { MethodDefinition } from './types';

const OPTIONS = {
  queueSize: { label: 'Queue size', hint: 'Keys of earlier batches kept as negatives, per queue.', kind: 'number', default: 32_768, min: 1, integer: true, step: 256 },
  symmetric: { label: 'Symmetric loss', hint: 'Score both directions, one key queue per view (MoCo v2+).', kind: 'toggle', default: 1 },
} satisfies MethodOptionSpecs;

const defaults = methodPresets('mocov2', OPTIONS, {
  reference: () => ({
    projector: { hidden: [2048], out: 256, hiddenNorm: false },
    optimizer: { kind: 'sgd', momentum: 0.9, weightDecay: 1e-4 },
    learningRate: scaledLr(0.3, REFERENCE_RUN.batchSize),
    tau: 0.99,
    tauSchedule: true,
    temperature: 0.2,
    augmentations: soloAugmentations('symmetric-weak'),
  }),
  classroom: () => ({
    projector: { hidden: [512], out: 128, hiddenNorm: false },
    tau: 0.99,
    tauSchedule: true,
    temperature: 0.2,
    augmentations: classroomAugmentations(soloAugmentations('symmetric-weak')),
    // A 300-step run produces 9,600 keys: a 32,768-key queue would hold mostly its random initial vectors.
    options: { queueSize: 4096 },
  }),
});

export const mocov2: MethodDefinition = {
  id: 'mocov2',
  label: 'MoCo v2',
  family: 'contrastive',
  explanation:
    'MoCo pulls the query (one view through the online encoder) towards its key (the other view through a ' +
    'slowly moving momentum copy of the encoder) and pushes it away from thousands of keys of earlier batches ' +
    'kept in a first-in-first-out queue. The queue gives many negatives without a huge batch, and the momentum ' +
    'encoder (τ) keeps the queued keys consistent with each other. As in SimCLR, the negatives stop collapse.',
  uses: { tau: true, temperature: true, labels: false },
  options: OPTIONS,
  defaults,
  create({ config, rng }) {
    const options = readOptions(OPTIONS, config);
    const symmetric = options.symmetric === 1;
    const online = createProjectedEncoder(config, rng, 'query');
    const target = createMomentumCopy(online, config, rng, 'key');
    // One queue per view in the symmetric variant; a single queue of second-view keys otherwise.
    const queues = (symmetric ? [0, 1] : [1]).map(() => new KeyQueue(options.queueSize, config.projector.out, rng));
    const queueOfView = (view: 0 | 1) => (symmetric ? queues[view] : queues[0]);
    return {
      encoder: online.backbone,
      params: online.module.params,
      modules: [online.module, target.module],
      emaPairs: [{ online: online.module, target: target.module }],
      state: queues.map((q) => q.keys),
      computeLoss(inputs, { temperature }) {
        const { views } = inputs;
        const { features, embedding: q1 } = online.encodeFirstView(inputs);
        const k2 = l2Normalize(target.project(views[1], true));
        let loss = infoNCELoss(q1, k2, queueOfView(1).keys, temperature);
        let positive = meanPositiveLogit(q1, k2, temperature);
        let keys = [k2];
        let q2: tf.Tensor2D | undefined;
        if (symmetric) {
          q2 = online.project(views[1], true);
          const k1 = l2Normalize(target.project(views[0], true));
          loss = tf.div(tf.add(loss, infoNCELoss(q2, k1, queueOfView(0).keys, temperature)), 2) as tf.Scalar;
          positive = tf.div(tf.add(positive, meanPositiveLogit(q2, k1, temperature)), 2) as tf.Scalar;
          keys = [k1, k2];
        }
        return { loss, terms: pullPushTerms(loss, positive), embedding: q1, secondEmbedding: q2, features, carry: keys, anatomy: { target: k2, coefficient: (symmetric ? 0.5 : 1) / temperature, implicitNegative: false } };
      },
      afterStep(_inputs, _schedule, keys) {
        // Enqueue after the loss: the current batch's keys are negatives only from the next step on.
        keys.forEach((k, i) => queues[i].enqueue(k as tf.Tensor2D));
      },
    };
  },
};
