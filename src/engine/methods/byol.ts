/**
 * BYOL (Grill et al., 2020). An online network (encoder → projector → predictor) learns to predict
 * the projection a slowly moving target network gives for another view of the same image. No
 * negatives: the predictor plus the EMA target (the target never receives gradients) prevent collapse.
 * Reference defaults: solo-learn scripts/pretrain/cifar/byol.yaml (projector and predictor 4096 hidden
 * → 256, τ 0.99 rising to 1 by a cosine, LARS lr 1.0 · bs/256, wd 1e-5, η = 0.02, "asymmetric"
 * augmentations).
 * `options.predictor = 0` removes the predictor (the online projection is compared with the target's
 * directly), the paper's ablation: with it BYOL collapses.
 */
import * as tf from '@tensorflow/tfjs';
import { createMlp } from '../heads';
import { byolLoss } from '../losses';
import { scaledLr } from '../schedules';
import { readOptions, type MethodOptionSpecs } from './options';
import { REFERENCE_RUN, classroomAugmentations, createMomentumCopy, createProjectedEncoder, methodPresets, soloAugmentations } from './shared';
import type { MethodDefinition } from './types';

const OPTIONS = {
  predictor: { label: 'Predictor', hint: 'Turn it off to watch BYOL collapse: without the predictor the online side can simply copy the target.', kind: 'toggle', default: 1 },
} satisfies MethodOptionSpecs;

const defaults = methodPresets('byol', OPTIONS, {
  reference: () => ({
    projector: { hidden: [4096], out: 256 },
    predictor: { hidden: [4096], out: 256 },
    optimizer: { kind: 'lars', momentum: 0.9, weightDecay: 1e-5, eta: 0.02, clipLr: true, excludeBiasAndNorm: true },
    learningRate: scaledLr(1.0, REFERENCE_RUN.batchSize),
    tau: 0.99,
    tauSchedule: true,
    augmentations: soloAugmentations('asymmetric'),
  }),
  classroom: () => ({
    projector: { hidden: [512], out: 128 },
    predictor: { hidden: [512], out: 128 },
    tau: 0.99,
    tauSchedule: true,
    augmentations: classroomAugmentations(soloAugmentations('asymmetric')),
  }),
});

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
  options: OPTIONS,
  defaults,
  create({ config, rng }) {
    const online = createProjectedEncoder(config, rng, 'online');
    if (!config.predictor) throw new Error('BYOL needs a predictor head');
    const predictor = readOptions(OPTIONS, config).predictor === 1 ? createMlp(config.predictor, config.projector.out, rng, 'predictor') : null;
    const predict = (z: tf.Tensor2D) => (predictor ? (predictor.apply(z, true) as tf.Tensor2D) : z);
    const target = createMomentumCopy(online, config, rng, 'target');
    return {
      encoder: online.backbone,
      params: [...online.module.params, ...(predictor?.params ?? [])],
      modules: [online.module, ...(predictor ? [predictor] : []), target.module],
      emaPairs: [{ online: online.module, target: target.module }],
      computeLoss(inputs) {
        const { views } = inputs;
        const { features, embedding: z1 } = online.encodeFirstView(inputs);
        const z2 = online.project(views[1], true);
        const p1 = predict(z1);
        const p2 = predict(z2);
        const t1 = target.project(views[0], true);
        const t2 = target.project(views[1], true);
        const loss = tf.add(byolLoss(p1, t2), byolLoss(p2, t1)) as tf.Scalar;
        return { loss, terms: {}, embedding: z1, secondEmbedding: z2, features, carry: [], anatomy: { target: t2, coefficient: 2, implicitNegative: true } };
      },
    };
  },
};
