/**
 * Inpainting with a context encoder (Pathak, Krähenbühl, Donahue, Darrell & Efros, CVPR 2016): the
 * centre of the image is blanked out and a decoder must paint it back from what the encoder makes of
 * the rest. To fill the hole in a picture of a car with the rest of the car the encoder has to know
 * what surrounds it. Reference: pathak22/context-encoder train.lua: 128 px images whose centre square of
 * half the side (a quarter of the area) is filled with the mean pixel; a convolutional encoder to a
 * bottleneck, a decoder of transposed convolutions (BatchNorm, ReLU) to the 64 px hole; the squared error
 * of the painted hole (optionally with an overlap border weighted 10×) plus, in the paper's inpainting
 * model, an adversarial term; Adam, learning rate 2e-4, β1 0.5, batch 64. Here: the same centre hole
 * (16 px of a 32 px image), filled with 0, the dataset mean after standardisation; the app's encoder with
 * its global pooling, then the configured projector as the bottleneck (100 wide as train.lua's); a
 * decoder that starts, as there, with BatchNorm and a ReLU on the bottleneck, then goes to a
 * small map as wide as the encoder's features, doubled twice (pixel repetition, then a 3×3 convolution,
 * BatchNorm and ReLU, and a last 3×3 convolution to the three channels) and cut to the hole; the squared
 * error alone: no adversarial term, no overlap border, no tanh (the targets are standardised pixels).
 * Both views are used. The classroom preset keeps the shared run shape and AdamW.
 */
import * as tf from '@tensorflow/tfjs';
import { IDENTITY_VIEW, type ViewAugmentation } from '../augment';
import { createBackbone } from '../backbones';
import { createMlp } from '../heads';
import { batchNorm, conv2d, dense, relu, reshapeToMap, sequential, upsample2 } from '../nn';
import { methodPresets, sameForBothViews } from './shared';
import type { MethodDefinition } from './types';

/** The blanked-out centre square: its top-left corner and side, half the image's side. */
export function centreHole(imageSize: number): { start: number; size: number } {
  const size = Math.floor(imageSize / 2);
  return { start: Math.floor((imageSize - size) / 2), size };
}

/** The images with the centre hole set to 0 (the mean of standardised pixels). */
export function blankCentre(images: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const side = images.shape[1];
    const { start, size } = centreHole(side);
    const keep = new Float32Array(side * side).fill(1);
    for (let y = start; y < start + size; y++) keep.fill(0, y * side + start, y * side + start + size);
    return tf.mul(images, tf.tensor4d(keep, [1, side, side, 1])) as tf.Tensor4D;
  });
}

/** The centre hole of each image: what the decoder must paint. */
export function centreOf(images: tf.Tensor4D): tf.Tensor4D {
  const { start, size } = centreHole(images.shape[1]);
  return tf.slice(images, [0, start, start, 0], [-1, size, size, -1]);
}

/** As the crops of the other pretext tasks: the hole stays over the middle of the picture. */
const INPAINTING_VIEW: ViewAugmentation = {
  ...IDENTITY_VIEW,
  crop: { scale: [0.5, 1], ratio: [3 / 4, 4 / 3] },
  flipProbability: 0.5,
};

const defaults = methodPresets('inpainting', {}, {
  reference: () => ({
    batchSize: 64,
    warmupSteps: 0,
    projector: { hidden: [], out: 100 },
    optimizer: { kind: 'adamw', beta1: 0.5, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 },
    learningRate: 2e-4,
    augmentations: sameForBothViews(structuredClone(INPAINTING_VIEW)),
  }),
  classroom: () => ({
    projector: { hidden: [], out: 100 },
    augmentations: sameForBothViews(structuredClone(INPAINTING_VIEW)),
  }),
});

export const inpainting: MethodDefinition = {
  id: 'inpainting',
  label: 'Inpainting (context encoder)',
  family: 'pretext',
  explanation:
    'Inpainting is a pretext task: the centre of every image is blanked out, the encoder sees the rest, and a ' +
    'decoder must paint the missing square back, pixel by pixel. To fill in the middle of a horse from its head ' +
    'and legs the encoder needs some idea of horses; the easy part — smooth colours continuing from the border — ' +
    'it learns first. It cannot collapse (a constant feature paints the same square for every image, which the ' +
    'squared error punishes), but it spends much of its effort on colours and textures rather than on what the ' +
    'objects are, and it never sees whole images while training.',
  uses: { tau: false, temperature: false, labels: false },
  options: {},
  defaults,
  create({ config, rng }) {
    const hole = centreHole(config.imageSize);
    if (hole.size < 1) throw new Error(`Inpainting needs images of at least 2 px, got ${config.imageSize} px.`);
    const backbone = createBackbone(config.backbone, rng, 'inpainting/backbone');
    const bottleneck = createMlp(config.projector, backbone.featureDim, rng, 'inpainting/bottleneck');
    // Two doublings from a map a quarter of the hole's side (rounded up), cut to the hole afterwards.
    const mapSize = Math.ceil(hole.size / 4);
    const width = backbone.featureDim;
    const decoder = sequential(
      batchNorm('inpainting/decoder/bn_code', bottleneck.outDim),
      relu,
      dense('inpainting/decoder/fc', rng, bottleneck.outDim, mapSize * mapSize * width, false),
      batchNorm('inpainting/decoder/bn0', mapSize * mapSize * width),
      relu,
      reshapeToMap(mapSize, mapSize, width),
      upsample2,
      conv2d('inpainting/decoder/conv1', rng, width, width, 3),
      batchNorm('inpainting/decoder/bn1', width),
      relu,
      upsample2,
      conv2d('inpainting/decoder/conv2', rng, width, 3, 3),
    );
    return {
      encoder: backbone,
      params: [...backbone.params, ...bottleneck.params, ...decoder.params],
      modules: [backbone, bottleneck, decoder],
      embeddingDim: backbone.featureDim,
      computeLoss({ views }) {
        const n = views[0].shape[0];
        const images = tf.concat(views, 0);
        const features = backbone.apply(blankCentre(images), true) as tf.Tensor2D;
        const painted = decoder.apply(bottleneck.apply(features, true), true) as tf.Tensor4D;
        const { size } = centreHole(images.shape[1]);
        const paintedHole = tf.slice(painted, [0, 0, 0, 0], [-1, size, size, -1]);
        const loss = tf.mean(tf.square(tf.sub(paintedHole, centreOf(images)))) as tf.Scalar;
        return { loss, terms: {}, embedding: tf.slice(features, [0, 0], [n, -1]) as tf.Tensor2D, carry: [] };
      },
    };
  },
};
