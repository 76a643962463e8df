/**
 * MoBYv2AL (Caramalau et al., BMVC 2022, "MoBYv2AL: Self-supervised Active Learning for Image
 * Classification"): MoBY's networks plus a linear task classifier on the online backbone features,
 * trained jointly. A labelled batch's loss is the cross-entropy of the classifier on the batch's
 * weakly augmented view (crop and flip) plus 0.5 × MoBY's loss on its two strong views; an unlabelled
 * batch's loss is 0.5 × MoBY's loss alone; the trainer alternates the two (train_test.py,
 * train_epoch_ssl2, c_loss_gain 0.5). Two defects of that code are not copied: its cross-entropy also
 * fires on unlabelled batches with their ground-truth labels for the first iterations of each epoch
 * (`idx <= last_inter`), and its classifier's `zero_grad()` runs before its `step()`, so the classifier
 * never learns from its own optimizer. Here the classifier's weights are updated with the network's,
 * and a batch without revealed labels never gets a cross-entropy term.
 *
 * With "MoBY weight" 0 it is the labels-only baseline: the same backbone and classifier trained by
 * cross-entropy on the labelled images alone (the cold-start comparison).
 */
import * as tf from '@tensorflow/tfjs';
import { IDENTITY_VIEW } from '../augment';
import { crossEntropy } from '../losses';
import { dense } from '../nn';
import { MOBY_RECIPES, QUEUE_SIZE_OPTION, createMobyNetworks } from './moby';
import { readOptions, type MethodOptionSpecs } from './options';
import { methodPresets, pullPushTerms } from './shared';
import type { MethodDefinition } from './types';

const OPTIONS = {
  ...QUEUE_SIZE_OPTION,
  mobyWeight: {
    label: 'MoBY weight',
    hint: 'Weight of the self-supervised MoBY loss next to the classifier\'s cross-entropy (the paper: 0.5). 0 trains the classifier on the labels alone.',
    kind: 'number',
    default: 0.5,
    min: 0,
    step: 0.1,
  },
} satisfies MethodOptionSpecs;

/** The paper's weak augmentation for the classifier's view: a random crop and a horizontal flip, nothing else. */
const WEAK_VIEW = { ...IDENTITY_VIEW, crop: { scale: [0.5, 1] as [number, number], ratio: [3 / 4, 4 / 3] as [number, number] }, flipProbability: 0.5 };

export const mobyv2al: MethodDefinition = {
  id: 'mobyv2al',
  label: 'MoBYv2AL',
  family: 'hybrid',
  explanation:
    'MoBYv2AL trains a task classifier and MoBY together, for active learning. The classifier learns from the few ' +
    'labelled images (cross-entropy on a lightly cropped and flipped view) while MoBY learns from every image, ' +
    'labelled or not, so the features are not shaped by a handful of labels alone (the cold start). The images worth ' +
    'labelling next are the ones farthest from everything already labelled in those features (core-set). MoBY\'s ' +
    'negatives from its key queues are what prevents collapse. Labels come from the Active learning tab: ' +
    'trained here, no image is labelled, so it learns as MoBY alone (at half weight).',
  uses: { tau: true, temperature: true, labels: false },
  options: OPTIONS,
  semiSupervised: { weakView: WEAK_VIEW },
  defaults: methodPresets('mobyv2al', OPTIONS, MOBY_RECIPES),
  create({ config, rng, numClasses }) {
    const { queueSize, mobyWeight } = readOptions(OPTIONS, config);
    const networks = createMobyNetworks(config, rng, queueSize);
    const backbone = networks.online.backbone;
    const classifier = dense('classifier', rng, backbone.featureDim, Math.max(numClasses, 1));
    const labelsOnly = mobyWeight === 0;
    return {
      encoder: backbone,
      params: [...networks.params, ...classifier.params],
      modules: [...networks.modules, classifier],
      emaPairs: networks.emaPairs,
      state: networks.state,
      classifier,
      labelledBatchesOnly: labelsOnly,
      embeddingDim: labelsOnly ? backbone.featureDim : undefined,
      lossPerImage: (views, temperature) => networks.lossPerImage(views, temperature),
      computeLoss(inputs, { temperature }) {
        const weakFeatures = inputs.labels !== null && inputs.weakView !== undefined ? (backbone.apply(inputs.weakView, true) as tf.Tensor2D) : null;
        const classification = weakFeatures ? crossEntropy(classifier.apply(weakFeatures, true) as tf.Tensor2D, inputs.labels!) : null;
        if (labelsOnly) {
          if (!classification) throw new Error('MoBYv2AL with MoBY weight 0 trains on labelled batches only, and this batch has no labels.');
          return { loss: classification, terms: { classification }, embedding: weakFeatures!, features: weakFeatures!, carry: [] };
        }
        const moby = networks.loss(inputs, temperature);
        const selfSupervised = tf.mul(mobyWeight, moby.loss) as tf.Scalar;
        const [pull, push] = Object.values(pullPushTerms(selfSupervised, tf.mul(mobyWeight, moby.positive) as tf.Scalar));
        const loss = classification ? (tf.add(classification, selfSupervised) as tf.Scalar) : selfSupervised;
        return {
          loss,
          terms: { ...(classification ? { classification } : {}), pull, push },
          embedding: moby.z1,
          secondEmbedding: moby.z2,
          features: moby.features,
          carry: moby.keys,
          anatomy: { target: moby.keys[1], coefficient: mobyWeight / temperature, implicitNegative: false },
        };
      },
      afterStep(_inputs, _schedule, keys) {
        if (!labelsOnly) networks.enqueue(keys);
      },
    };
  },
};
