/**
 * MoBY (Xie et al., 2021, "Self-Supervised Learning with Swin Transformers"): BYOL's asymmetric
 * online/target networks — online encoder → projector → predictor, target = EMA of encoder and
 * projector — trained with MoCo's InfoNCE against two queues of target keys, one per view.
 * Reference defaults: SwinTransformer/Transformer-SSL models/moby.py and configs/moby_swin_tiny.yaml
 * (projector and predictor 4096 hidden → 256, queue 4096 per view, T = 0.2, momentum 0.99 rising by a
 * cosine, AdamW lr 1e-3 · bs/512, wd 0.05, the loss is the sum of both directions, BYOL augmentations),
 * here on the common CIFAR run shape with a ResNet-18 instead of a Swin Transformer.
 */
import * as tf from '@tensorflow/tfjs';
import { createMlp } from '../heads';
import type { TrainConfig } from '../config';
import { infoNCELoss, infoNCEPerImage, l2Normalize } from '../losses';
import type { Module, Param } from '../nn';
import type { Rng } from '../random';
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
  type ProjectedEncoder,
} from './shared';
import type { MethodDefinition, MethodInstance, StepInputs } from './types';

/** MoBY's option, which MoBYv2AL shares. */
export const QUEUE_SIZE_OPTION = {
  queueSize: { label: 'Queue size', hint: 'Target keys of earlier batches kept as negatives, per view.', kind: 'number', default: 4096, min: 1, integer: true, step: 256 },
} satisfies MethodOptionSpecs;
const OPTIONS = QUEUE_SIZE_OPTION;

/** MoBY's preset recipes, which MoBYv2AL shares. */
export const MOBY_RECIPES = {
  reference: () => ({
    projector: { hidden: [4096], out: 256 },
    predictor: { hidden: [4096], out: 256 },
    optimizer: { kind: 'adamw' as const, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.05 },
    learningRate: (1e-3 * REFERENCE_RUN.batchSize) / 512,
    tau: 0.99,
    tauSchedule: true,
    temperature: 0.2,
    augmentations: soloAugmentations('asymmetric'),
  }),
  classroom: () => ({
    projector: { hidden: [512], out: 128 },
    predictor: { hidden: [512], out: 128 },
    tau: 0.99,
    tauSchedule: true,
    temperature: 0.2,
    augmentations: classroomAugmentations(soloAugmentations('asymmetric')),
  }),
};

const defaults = methodPresets('moby', OPTIONS, MOBY_RECIPES);

/** MoBY's networks, queues and loss, shared with MoBYv2AL (which adds a classifier on the online backbone). */
export interface MobyNetworks {
  readonly online: ProjectedEncoder;
  /** Online encoder and predictor: what the optimizer updates. */
  readonly params: Param[];
  readonly modules: Module[];
  readonly emaPairs: MethodInstance['emaPairs'];
  readonly state: tf.Variable[];
  /** Both directions of InfoNCE (online prediction of one view against the target key of the other and the other view's queue), summed. */
  loss(inputs: StepInputs, temperature: number): { loss: tf.Scalar; positive: tf.Scalar; features: tf.Tensor2D; z1: tf.Tensor2D; z2: tf.Tensor2D; keys: [tf.Tensor2D, tf.Tensor2D] };
  /** The same loss per image, [N], with nothing enqueued. */
  lossPerImage(views: readonly [tf.Tensor4D, tf.Tensor4D], temperature: number): tf.Tensor1D;
  /** Pushes a step's target keys onto their queues (after the optimizer step). */
  enqueue(keys: readonly tf.Tensor[]): void;
}

export function createMobyNetworks(config: TrainConfig, rng: Rng, queueSize: number): MobyNetworks {
  if (!config.predictor) throw new Error('MoBY needs a predictor head');
  const online = createProjectedEncoder(config, rng, 'online');
  const predictor = createMlp(config.predictor, config.projector.out, rng, 'predictor');
  const target = createMomentumCopy(online, config, rng, 'target');
  const queues = [0, 1].map(() => new KeyQueue(queueSize, config.projector.out, rng));
  const predictAndKey = (views: readonly [tf.Tensor4D, tf.Tensor4D], z1: tf.Tensor2D, z2: tf.Tensor2D, training: boolean) => ({
    p1: predictor.apply(z1, training) as tf.Tensor2D,
    p2: predictor.apply(z2, training) as tf.Tensor2D,
    k1: l2Normalize(target.project(views[0], training)),
    k2: l2Normalize(target.project(views[1], training)),
  });
  return {
    online,
    params: [...online.module.params, ...predictor.params],
    modules: [online.module, predictor, target.module],
    emaPairs: [{ online: online.module, target: target.module }],
    state: queues.map((q) => q.keys),
    loss(inputs, temperature) {
      const { views } = inputs;
      const { features, embedding: z1 } = online.encodeFirstView(inputs);
      const z2 = online.project(views[1], true);
      const { p1, p2, k1, k2 } = predictAndKey(views, z1, z2, true);
      const loss = tf.add(infoNCELoss(p1, k2, queues[1].keys, temperature), infoNCELoss(p2, k1, queues[0].keys, temperature)) as tf.Scalar;
      const positive = tf.add(meanPositiveLogit(p1, k2, temperature), meanPositiveLogit(p2, k1, temperature)) as tf.Scalar;
      return { loss, positive, features, z1, z2, keys: [k1, k2] };
    },
    lossPerImage(views, temperature) {
      return tf.tidy(() => {
        const { p1, p2, k1, k2 } = predictAndKey(views, online.project(views[0], false), online.project(views[1], false), false);
        return tf.add(infoNCEPerImage(p1, k2, queues[1].keys, temperature), infoNCEPerImage(p2, k1, queues[0].keys, temperature)) as tf.Tensor1D;
      });
    },
    enqueue(keys) {
      keys.forEach((k, i) => queues[i].enqueue(k as tf.Tensor2D));
    },
  };
}

export const moby: MethodDefinition = {
  id: 'moby',
  label: 'MoBY',
  family: 'hybrid',
  explanation:
    'MoBY combines BYOL and MoCo. As in BYOL, an online network with an extra predictor head looks at one view and ' +
    'a momentum copy (τ) looks at the other; as in MoCo, the online prediction is pulled towards the target\'s key ' +
    'for the same image and pushed away from a queue of keys of earlier images, one queue per view. The ' +
    'negatives in the queues stop collapse; the asymmetry (predictor, momentum target) adds BYOL\'s stability.',
  uses: { tau: true, temperature: true, labels: false },
  options: OPTIONS,
  defaults,
  create({ config, rng }) {
    const networks = createMobyNetworks(config, rng, readOptions(OPTIONS, config).queueSize);
    return {
      encoder: networks.online.backbone,
      params: networks.params,
      modules: networks.modules,
      emaPairs: networks.emaPairs,
      state: networks.state,
      computeLoss(inputs, { temperature }) {
        const { loss, positive, features, z1, z2, keys } = networks.loss(inputs, temperature);
        return { loss, terms: pullPushTerms(loss, positive), embedding: z1, secondEmbedding: z2, features, carry: keys, anatomy: { target: keys[1], coefficient: 1 / temperature, implicitNegative: false } };
      },
      afterStep(_inputs, _schedule, keys) {
        networks.enqueue(keys);
      },
    };
  },
};
