/**
 * Encoders. The CIFAR-stem ResNet follows solo-learn / lightly for small images: a 3×3 stride-1
 * first convolution and no max-pool, so a 32 px image keeps its resolution into the first stage.
 * The tiny ConvNet exists for fast demos and tests.
 */
import type { Rng } from './random';
import { batchNorm, conv2d, globalAveragePool, maxPool2, relu, sequential, type Module, type Param } from './nn';
import * as tf from '@tensorflow/tfjs';

import type { BackboneConfig } from './presets';

export type { BackboneConfig };

export interface Backbone extends Module {
  readonly featureDim: number;
  readonly config: BackboneConfig;
}


export function createBackbone(config: BackboneConfig, rng: Rng, name = 'backbone'): Backbone {
  const module = config.kind === 'convnet' ? convNet(config.widths, rng, name) : cifarResNet(config.widths, config.blocks, rng, name);
  return { ...module, featureDim: config.widths[config.widths.length - 1], config };
}

/**
 * The smallest square input a backbone keeps at least one pixel of to its last layer: the ConvNet
 * halves it with a 'valid' max-pool between stages, the ResNet's strided convolutions pad ('same').
 */
export function smallestInputSize(config: BackboneConfig): number {
  return config.kind === 'convnet' ? 2 ** (config.widths.length - 1) : 1;
}

/** conv-BN-ReLU stages, max-pooling between them, global average pool at the end. */
function convNet(widths: readonly number[], rng: Rng, name: string): Module {
  const layers: Module[] = [];
  let channels = 3;
  widths.forEach((width, i) => {
    layers.push(conv2d(`${name}/conv${i}`, rng, channels, width, 3), batchNorm(`${name}/bn${i}`, width), relu);
    if (i < widths.length - 1) layers.push(maxPool2);
    channels = width;
  });
  layers.push(globalAveragePool);
  return sequential(...layers);
}

function basicBlock(name: string, rng: Rng, inChannels: number, outChannels: number, stride: number): Module {
  const main = sequential(
    conv2d(`${name}/conv1`, rng, inChannels, outChannels, 3, stride),
    batchNorm(`${name}/bn1`, outChannels),
    relu,
    conv2d(`${name}/conv2`, rng, outChannels, outChannels, 3),
    batchNorm(`${name}/bn2`, outChannels),
  );
  const shortcut =
    stride !== 1 || inChannels !== outChannels
      ? sequential(conv2d(`${name}/shortcut`, rng, inChannels, outChannels, 1, stride), batchNorm(`${name}/shortcut_bn`, outChannels))
      : null;
  const params: Param[] = [...main.params, ...(shortcut?.params ?? [])];
  const buffers: Param[] = [...main.buffers, ...(shortcut?.buffers ?? [])];
  return {
    params,
    buffers,
    apply: (x, training) => tf.relu(tf.add(main.apply(x, training), shortcut ? shortcut.apply(x, training) : x)),
  };
}

function cifarResNet(widths: readonly number[], blocks: readonly number[], rng: Rng, name: string): Module {
  if (widths.length !== blocks.length) throw new Error('ResNet widths and blocks must have the same length');
  const layers: Module[] = [conv2d(`${name}/stem`, rng, 3, widths[0], 3), batchNorm(`${name}/stem_bn`, widths[0]), relu];
  let channels = widths[0];
  widths.forEach((width, stage) => {
    for (let b = 0; b < blocks[stage]; b++) {
      const stride = stage > 0 && b === 0 ? 2 : 1;
      layers.push(basicBlock(`${name}/stage${stage}/block${b}`, rng, channels, width, stride));
      channels = width;
    }
  });
  layers.push(globalAveragePool);
  return sequential(...layers);
}
