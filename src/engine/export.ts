/**
 * Export of a trained encoder as a TensorFlow.js LayersModel (model.json + one weights file), the
 * format `tf.loadLayersModel` reads anywhere. The functional backbone is rebuilt layer for layer
 * with tf.layers (conv without bias, BatchNorm with ε = 1e-5 and the running statistics, ReLU,
 * max-pooling, residual adds, global average pooling) and the trained values are copied in.
 *
 * The model takes raw RGB images in [0, 1] (NHWC): its first layer, "standardize", is a frozen 1×1
 * depthwise convolution that applies the per-channel input standardisation the encoder was trained
 * with, so users need no preprocessing of their own. model.json's userDefinedMetadata says so too.
 *
 * Saving goes through `tf.io.withSaveHandler`, which works in a worker (`downloads://` does not):
 * the caller gets the files' contents and decides how to deliver them.
 */
import * as tf from '@tensorflow/tfjs';
import { INPUT_MEAN, INPUT_STD } from './augment';
import type { Backbone } from './backbones';

export interface ExportedEncoder {
  /** The text of model.json; its weightsManifest names `weightsFileName`. */
  modelJson: string;
  weightsFileName: string;
  weights: ArrayBuffer;
}

/** Anything useful to a user of the file: method, run, dataset. Stored under userDefinedMetadata. */
export type ExportMetadata = Record<string, unknown>;

const BN_EPSILON = 1e-5;

/** Looks up the backbone's variables by their name below the backbone's own prefix ("conv0/kernel"). */
function backboneWeights(backbone: Backbone): (local: string) => tf.Tensor {
  const firstLocal = backbone.config.kind === 'convnet' ? 'conv0/kernel' : 'stem/kernel';
  const firstName = backbone.params[0]?.name ?? '';
  if (!firstName.endsWith(firstLocal)) throw new Error(`Unexpected first backbone parameter "${firstName}"`);
  const prefix = firstName.slice(0, firstName.length - firstLocal.length);
  const byName = new Map([...backbone.params, ...backbone.buffers].map((p) => [p.name, p.variable]));
  return (local) => {
    const variable = byName.get(prefix + local);
    if (!variable) throw new Error(`The backbone has no parameter "${prefix + local}"`);
    return variable;
  };
}

/** Builds the LayersModel and copies the current weights in. Its output equals the backbone's in evaluation mode. */
export function buildEncoderModel(backbone: Backbone, imageSize: number): tf.LayersModel {
  const weight = backboneWeights(backbone);
  const assignments: [tf.layers.Layer, tf.Tensor[]][] = [];

  const conv = (x: tf.SymbolicTensor, local: string, filters: number, kernelSize: number, strides = 1) => {
    const layer = tf.layers.conv2d({ filters, kernelSize, strides, padding: 'same', useBias: false, name: local.replace(/\//g, '_') });
    assignments.push([layer, [weight(`${local}/kernel`)]]);
    return layer.apply(x) as tf.SymbolicTensor;
  };
  const batchNorm = (x: tf.SymbolicTensor, local: string) => {
    // Keras' momentum is the weight of the old statistics; it only matters if someone fine-tunes.
    const layer = tf.layers.batchNormalization({ axis: -1, epsilon: BN_EPSILON, momentum: 0.9, name: local.replace(/\//g, '_') });
    assignments.push([layer, ['gamma', 'beta', 'moving_mean', 'moving_variance'].map((w) => weight(`${local}/${w}`))]);
    return layer.apply(x) as tf.SymbolicTensor;
  };
  const relu = (x: tf.SymbolicTensor, name: string) => tf.layers.reLU({ name }).apply(x) as tf.SymbolicTensor;

  const input = tf.input({ shape: [imageSize, imageSize, 3], name: 'image' });
  const standardizeLayer = tf.layers.depthwiseConv2d({ kernelSize: 1, depthMultiplier: 1, useBias: true, trainable: false, name: 'standardize' });
  let x = standardizeLayer.apply(input) as tf.SymbolicTensor;

  const config = backbone.config;
  if (config.kind === 'convnet') {
    config.widths.forEach((width, i) => {
      x = relu(batchNorm(conv(x, `conv${i}`, width, 3), `bn${i}`), `relu${i}`);
      if (i < config.widths.length - 1) x = tf.layers.maxPooling2d({ poolSize: 2, strides: 2, padding: 'valid', name: `maxpool${i}` }).apply(x) as tf.SymbolicTensor;
    });
  } else {
    x = relu(batchNorm(conv(x, 'stem', config.widths[0], 3), 'stem_bn'), 'stem_relu');
    let channels = config.widths[0];
    config.widths.forEach((width, stage) => {
      for (let b = 0; b < config.blocks[stage]; b++) {
        const block = `stage${stage}/block${b}`;
        const stride = stage > 0 && b === 0 ? 2 : 1;
        let main = relu(batchNorm(conv(x, `${block}/conv1`, width, 3, stride), `${block}/bn1`), `stage${stage}_block${b}_relu1`);
        main = batchNorm(conv(main, `${block}/conv2`, width, 3), `${block}/bn2`);
        const shortcut = stride !== 1 || channels !== width ? batchNorm(conv(x, `${block}/shortcut`, width, 1, stride), `${block}/shortcut_bn`) : x;
        const sum = tf.layers.add({ name: `stage${stage}_block${b}_add` }).apply([main, shortcut]) as tf.SymbolicTensor;
        x = relu(sum, `stage${stage}_block${b}_relu2`);
        channels = width;
      }
    });
  }
  const output = tf.layers.globalAveragePooling2d({ name: 'global_average_pool' }).apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: output, name: 'encoder' });

  // x·(1/σ) + (−μ/σ) per channel: the standardisation the encoder saw in training.
  tf.tidy(() => {
    standardizeLayer.setWeights([
      tf.tensor4d(INPUT_STD.map((s) => 1 / s), [1, 1, 3, 1]),
      tf.tensor1d(INPUT_MEAN.map((m, c) => -m / INPUT_STD[c])),
    ]);
    // setWeights copies values, so later training does not change the exported model.
    for (const [layer, values] of assignments) layer.setWeights(values);
  });
  return model;
}

/**
 * Serialises the encoder as model.json + weights. `baseName` names the weights file
 * (`<baseName>.weights.bin`), which model.json references by that relative path.
 */
export async function exportEncoder(backbone: Backbone, imageSize: number, baseName: string, metadata: ExportMetadata = {}): Promise<ExportedEncoder> {
  const model = buildEncoderModel(backbone, imageSize);
  try {
    model.setUserDefinedMetadata({
      ...metadata,
      input: `RGB images, NHWC float32 in [0, 1], ${imageSize}×${imageSize}. The first layer ("standardize") subtracts the per-channel mean and divides by the per-channel std below; do not standardise again.`,
      inputMean: INPUT_MEAN,
      inputStd: INPUT_STD,
      output: `${backbone.featureDim}-dimensional representation (global average pool of the last stage), the features the app's kNN evaluation uses.`,
      backbone: backbone.config,
    });
    let saved: tf.io.ModelArtifacts | null = null;
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        saved = artifacts;
        return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
      }),
    );
    const artifacts = saved as tf.io.ModelArtifacts | null;
    if (!artifacts?.weightData || !artifacts.weightSpecs) throw new Error('The model produced no weights to save');
    const weightsFileName = `${baseName}.weights.bin`;
    const modelJson: tf.io.ModelJSON = {
      modelTopology: artifacts.modelTopology as object,
      format: artifacts.format,
      generatedBy: artifacts.generatedBy,
      convertedBy: artifacts.convertedBy ?? null,
      weightsManifest: [{ paths: [weightsFileName], weights: artifacts.weightSpecs }],
      userDefinedMetadata: artifacts.userDefinedMetadata,
    };
    return { modelJson: JSON.stringify(modelJson), weightsFileName, weights: tf.io.CompositeArrayBuffer.join(artifacts.weightData) };
  } finally {
    model.dispose();
  }
}
