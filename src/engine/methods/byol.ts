/**
 * BYOL (Grill et al., 2020). An online network (encoder → projector → predictor) learns to predict
 * the projection a slowly moving target network gives for another view of the same image. No
 * negatives: the predictor plus the EMA target (the target never receives gradients) prevent collapse.
 * Defaults: solo-learn's cifar/byol.yaml.
 */
import { standardView } from '../augment';
import { BACKBONE_PRESETS } from '../presets';
import type { PresetName, TrainConfig } from '../config';
import { emaUpdate } from '../ema';
import { createMlp } from '../heads';
import { byolLoss } from '../losses';
import { disposeModule } from '../nn';
import { scaledLr } from '../schedules';
import * as tf from '@tensorflow/tfjs';
import type { MethodDefinition } from './types';
import { CLASSROOM_RUN, classroomAugmentations, createMomentumCopy, createProjectedEncoder } from './shared';

function defaults(preset: PresetName): TrainConfig {
  const imageSize = 32;
  const augmentations: TrainConfig['augmentations'] = [
    standardView({ blur: 1.0, solarize: 0, imageSize }),
    standardView({ blur: 0.1, solarize: 0.2, imageSize }),
  ];
  if (preset === 'reference') {
    return {
      method: 'byol',
      preset,
      seed: 1,
      imageSize,
      batchSize: 256,
      totalSteps: 195_000, // 1000 epochs of CIFAR-10 at batch 256
      backbone: BACKBONE_PRESETS['resnet-18'],
      projector: { hidden: [4096], out: 256 },
      predictor: { hidden: [4096], out: 256 },
      optimizer: { kind: 'lars', momentum: 0.9, weightDecay: 1e-5, eta: 0.02, clipLr: true, excludeBiasAndNorm: true },
      learningRate: scaledLr(1.0, 256),
      warmupSteps: 1950, // 10 epochs
      tau: 0.99,
      tauSchedule: true,
      temperature: 0.1,
      augmentations,
      options: {},
    };
  }
  return {
    ...CLASSROOM_RUN,
    method: 'byol',
    preset,
    projector: { hidden: [512], out: 128 },
    predictor: { hidden: [512], out: 128 },
    tau: 0.99,
    tauSchedule: true,
    temperature: 0.1,
    augmentations: classroomAugmentations(augmentations),
    options: {},
  };
}

export const byol: MethodDefinition = {
  id: 'byol',
  label: 'BYOL',
  family: 'asymmetric',
  explanation:
    'BYOL pulls together two augmented views of the same image: the online network, through an extra ' +
    'predictor head, learns to predict what a target network outputs for the other view. It pushes ' +
    'nothing apart — there are no negative pairs. Collapse is avoided by the asymmetry: the target gets no ' +
    'gradients and is an exponential moving average (τ) of the online weights, and only the online side has a predictor.',
  uses: { tau: true, temperature: false, labels: false },
  defaults,
  create({ config, rng }) {
    const online = createProjectedEncoder(config, rng, 'online');
    if (!config.predictor) throw new Error('BYOL needs a predictor head');
    const predictor = createMlp(config.predictor, config.projector.out, rng, 'predictor');
    const target = createMomentumCopy(online, config, rng, 'target');
    return {
      encoder: online.backbone,
      params: [...online.module.params, ...predictor.params],
      modules: [online.module, predictor, target.module],
      emaPairs: [{ online: online.module, target: target.module }],
      computeLoss({ views }) {
        const { features, embedding: z1 } = online.encode(views[0], true);
        const z2 = online.project(views[1], true);
        const p1 = predictor.apply(z1, true) as tf.Tensor2D;
        const p2 = predictor.apply(z2, true) as tf.Tensor2D;
        const t1 = target.project(views[0], true);
        const t2 = target.project(views[1], true);
        const loss = tf.add(byolLoss(p1, t2), byolLoss(p2, t1)) as tf.Scalar;
        return { loss, terms: {}, embedding: z1, secondEmbedding: z2, features, carry: [] };
      },
      afterStep(_inputs, { tau }) {
        emaUpdate(target.module.params, online.module.params, tau);
      },
      dispose() {
        [online.module, predictor, target.module].forEach(disposeModule);
      },
    };
  },
};
