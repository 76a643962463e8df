import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { standardize } from './augment';
import { createBackbone, type Backbone } from './backbones';
import { buildEncoderModel, exportEncoder } from './export';
import { disposeModule } from './testing/reference';
import type { BackboneConfig } from './presets';
import { Rng } from './random';

const SIZE = 8;

/**
 * A backbone whose every weight, BatchNorm scale/shift and running statistic holds random
 * values, so a layer missed or mis-ordered in the export cannot go unnoticed.
 */
function scrambledBackbone(config: BackboneConfig): Backbone {
  const backbone = createBackbone(config, new Rng(3), 'online/backbone');
  const rng = new Rng(11);
  for (const p of [...backbone.params, ...backbone.buffers]) {
    const values = Float32Array.from({ length: p.variable.size }, () =>
      p.name.endsWith('moving_variance') ? rng.uniform(0.5, 2) : p.role === 'weight' ? rng.normal() * 0.3 : rng.uniform(-0.5, 1.5),
    );
    p.variable.assign(tf.tensor(values, p.variable.shape));
  }
  return backbone;
}

function randomImages(n: number): tf.Tensor4D {
  const rng = new Rng(5);
  return tf.tensor4d(Float32Array.from({ length: n * SIZE * SIZE * 3 }, () => rng.next()), [n, SIZE, SIZE, 3]);
}

function maxAbsDifference(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

/** The functional backbone's evaluation-mode output on standardised images: what export must reproduce. */
function reference(backbone: Backbone, images: tf.Tensor4D): tf.Tensor {
  return tf.tidy(() => backbone.apply(standardize(images), false));
}

const backbones: [string, BackboneConfig][] = [
  ['ConvNet', { kind: 'convnet', widths: [4, 8, 8] }],
  // Stage 0 has two identity blocks; stage 1 starts with a strided block with a projection shortcut.
  ['CIFAR ResNet', { kind: 'resnet', widths: [4, 8], blocks: [2, 1] }],
];

const created: Backbone[] = [];
afterAll(() => created.forEach(disposeModule));

describe.each(backbones)('LayersModel export of the %s backbone', (_, config) => {
  it('gives the same output as the functional backbone in evaluation mode', () => {
    const backbone = scrambledBackbone(config);
    created.push(backbone);
    const images = randomImages(6);
    const model = buildEncoderModel(backbone, SIZE);
    const expected = reference(backbone, images);
    const actual = model.predict(images) as tf.Tensor;
    expect(actual.shape).toEqual([6, backbone.featureDim]);
    // Typical magnitudes are O(1); 1e-4 allows float32 rounding of reordered arithmetic only.
    expect(tf.max(tf.abs(expected)).dataSync()[0]).toBeGreaterThan(0.1);
    expect(maxAbsDifference(actual, expected)).toBeLessThan(1e-4);
    // Holds its own copy: training the backbone afterwards does not change the model.
    backbone.params[0].variable.assign(tf.zerosLike(backbone.params[0].variable));
    expect(maxAbsDifference(model.predict(images) as tf.Tensor, expected)).toBeLessThan(1e-4);
    model.dispose();
  });

  it('serialises to model.json + weights that tf.loadLayersModel reads back from memory', async () => {
    const backbone = scrambledBackbone(config);
    created.push(backbone);
    const exported = await exportEncoder(backbone, SIZE, 'byol-test-step3', { method: 'byol', step: 3 });
    expect(exported.weightsFileName).toBe('byol-test-step3.weights.bin');

    const json = JSON.parse(exported.modelJson) as tf.io.ModelJSON;
    expect(json.format).toBe('layers-model');
    expect(json.weightsManifest).toHaveLength(1);
    expect(json.weightsManifest[0].paths).toEqual(['byol-test-step3.weights.bin']);
    // Every backbone value is in the file (float32), plus the 3 + 3 standardisation numbers.
    const backboneValues = [...backbone.params, ...backbone.buffers].reduce((n, p) => n + p.variable.size, 0);
    expect(exported.weights.byteLength).toBe((backboneValues + 6) * 4);
    const meta = json.userDefinedMetadata as Record<string, unknown>;
    expect(meta.method).toBe('byol');
    expect(meta.inputMean).toEqual([0.4914, 0.4822, 0.4465]);
    expect(String(meta.input)).toMatch(/\[0, 1\]/);

    const loaded = await tf.loadLayersModel(
      tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: exported.weights }),
    );
    const images = randomImages(5);
    const embedding = loaded.predict(images) as tf.Tensor;
    expect(embedding.shape).toEqual([5, backbone.featureDim]);
    expect(maxAbsDifference(embedding, reference(backbone, images))).toBeLessThan(1e-4);
    loaded.dispose();
  });
});
