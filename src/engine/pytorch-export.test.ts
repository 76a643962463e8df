import { describe, expect, it } from 'vitest';
import { disposeInstance } from './methods/instance';
import { getMethod } from './methods/registry';
import { initialWeights, loadRunWeights, parityBatch } from './pytorch-export';
import { Rng } from './random';
import { tinyConfig } from './testing/tiny';
import { moduleTensors, torchStateOf } from './torch-weights';

const byolConfig = tinyConfig('byol');
const simclrConfig = tinyConfig('simclr');
const build = (config: typeof byolConfig, seed: number) => getMethod(config.method).create({ config: { ...config, seed }, rng: new Rng(seed), datasetSize: 1, numClasses: 1 });

describe('weights into a run', () => {
  it('replaces every tensor of the same method, so the run continues from them', async () => {
    const weights = await initialWeights({ ...byolConfig, seed: 3 });
    const run = build(byolConfig, 4);
    expect(loadRunWeights(run, weights)).toMatch(/Loaded all \d+ tensors/);
    const loaded = await torchStateOf(moduleTensors(run.modules));
    expect(loaded).toEqual(weights);
    disposeInstance(run);
  });

  it('takes the encoder alone from another method\'s weights, and leaves the heads', async () => {
    const weights = await initialWeights({ ...byolConfig, seed: 3 });
    const run = build(simclrConfig, 4);
    const projectorBefore = await torchStateOf(run.params.filter((p) => p.name.includes('/projector/')));
    expect(loadRunWeights(run, weights)).toMatch(/Loaded the encoder \(\d+ tensors\)/);
    const encoder = await torchStateOf([...run.encoder.params, ...run.encoder.buffers]);
    // BYOL's online encoder (the first backbone in the file), renamed into SimCLR's.
    const online = weights.filter((t) => t.name.startsWith('online/backbone/'));
    expect(encoder.map((t) => t.data)).toEqual(online.map((t) => t.data));
    expect(encoder.map((t) => t.name)).toEqual(online.map((t) => t.name.replace('online/', 'simclr/')));
    expect(await torchStateOf(run.params.filter((p) => p.name.includes('/projector/')))).toEqual(projectorBefore);
    disposeInstance(run);
  });

  it('refuses weights of another backbone, changing nothing', async () => {
    const weights = await initialWeights({ ...byolConfig, backbone: { kind: 'convnet', widths: [4, 8, 8, 16] } });
    const run = build(byolConfig, 4);
    const before = await torchStateOf(moduleTensors(run.modules));
    expect(() => loadRunWeights(run, weights)).toThrow(/do not fit this network.*Nor do they hold this run's encoder/);
    expect(await torchStateOf(moduleTensors(run.modules))).toEqual(before);
    disposeInstance(run);
  });
});

describe('the parity batch', () => {
  it('holds two standardised NCHW views and a gradient norm for every trainable parameter, and leaves the weights alone', async () => {
    const config = { ...byolConfig, batchSize: 6 };
    const weights = await initialWeights(config);
    const { views, reference } = await parityBatch(config, weights);
    expect(views.map((v) => [v.name, v.shape])).toEqual([
      ['view1', [6, 3, 16, 16]],
      ['view2', [6, 3, 16, 16]],
    ]);
    const run = build(config, config.seed);
    expect(Object.keys(reference.gradientNorms)).toEqual(run.params.map((p) => p.name));
    disposeInstance(run);
    expect(Object.values(reference.gradientNorms).every((n) => Number.isFinite(n) && n >= 0)).toBe(true);
    // BYOL's loss is 2 − 2·cos per view pair, twice: between 0 and 8.
    expect(reference.loss).toBeGreaterThan(0);
    expect(reference.loss).toBeLessThan(8);
    // The same weights give the same numbers: nothing of the first call (BatchNorm statistics) leaked into them.
    expect((await parityBatch(config, weights)).reference).toEqual(reference);
  });
});
