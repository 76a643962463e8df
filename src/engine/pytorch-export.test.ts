import { describe, expect, it } from 'vitest';
import { shapesDataset } from '../data/shapes';
import { disposeInstance } from './methods/instance';
import { getMethod } from './methods/registry';
import { initialWeights, loadRunWeights, methodWeights, parityBatch } from './pytorch-export';
import { Rng } from './random';
import { tinyConfig } from './testing/tiny';
import { moduleTensors, torchStateOf } from './torch-weights';

const byolConfig = tinyConfig('byol');
const simclrConfig = tinyConfig('simclr');
const build = (config: typeof byolConfig, seed: number, datasetSize = 1) => getMethod(config.method).create({ config: { ...config, seed }, rng: new Rng(seed), datasetSize, numClasses: 1 });
const stateOf = (method: ReturnType<typeof build>) => Promise.all((method.state ?? []).map(async (v) => Array.from((await v.data()) as Float32Array)));

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

describe('method state in the weights', () => {
  it('carries MoCo v2\'s key queues as state/0 and state/1, and a run takes them back', async () => {
    const config = { ...tinyConfig('mocov2'), options: { queueSize: 5, symmetric: 1 } };
    const source = build(config, 3);
    const weights = await methodWeights(source);
    expect(weights.filter((t) => t.name.startsWith('state/')).map((t) => [t.name, t.shape])).toEqual([
      ['state/0', [5, config.projector.out]],
      ['state/1', [5, config.projector.out]],
    ]);
    const run = build(config, 4);
    expect(await stateOf(run)).not.toEqual(await stateOf(source));
    expect(loadRunWeights(run, weights)).toMatch(/Loaded all \d+ tensors of the run's networks and the method's state/);
    expect(await stateOf(run)).toEqual(await stateOf(source));
    disposeInstance(source);
    disposeInstance(run);
  });

  it('keeps the run\'s own memory bank when the file\'s was built for another number of images', async () => {
    const config = tinyConfig('npid');
    const weights = await initialWeights({ ...config, seed: 3 }, 12);
    expect(weights.find((t) => t.name === 'state/0')?.shape).toEqual([12, config.projector.out]);
    const run = build(config, 4, 20);
    const bank = await stateOf(run);
    expect(loadRunWeights(run, weights)).toMatch(/Loaded all \d+ tensors of the run's networks \(the method's state is the run's own/);
    expect(await stateOf(run)).toEqual(bank);
    disposeInstance(run);
  });
});

describe('the parity batch', () => {
  it('holds two standardised NCHW views and a gradient norm for every trainable parameter, and leaves the weights alone', async () => {
    const config = { ...byolConfig, batchSize: 6 };
    const weights = await initialWeights(config);
    const { views, reference } = await parityBatch(config, weights, config.batchSize);
    expect(views.map((v) => [v.name, v.shape])).toEqual([
      ['view1', [6, 3, 16, 16]],
      ['view2', [6, 3, 16, 16]],
      ['indices', [6]],
      ['labels', [6]],
    ]);
    // Dataset indices 0…5; the built-in shapes' classes go round (SupCon's positives).
    expect(Array.from(views[2].data)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(Array.from(views[3].data)).toEqual(Array.from(shapesDataset({ trainCount: 6, testCount: 0, size: 16, seed: config.seed }).train.labels ?? []));
    expect(reference.datasetSize).toBe(config.batchSize);
    const run = build(config, config.seed);
    expect(Object.keys(reference.gradientNorms)).toEqual(run.params.map((p) => p.name));
    disposeInstance(run);
    expect(Object.values(reference.gradientNorms).every((n) => Number.isFinite(n) && n >= 0)).toBe(true);
    // BYOL's loss is 2 − 2·cos per view pair, twice: between 0 and 8.
    expect(reference.loss).toBeGreaterThan(0);
    expect(reference.loss).toBeLessThan(8);
    // The same weights give the same numbers: nothing of the first call (BatchNorm statistics) leaked into them.
    expect((await parityBatch(config, weights, config.batchSize)).reference).toEqual(reference);
  });

  it('holds the quarter turns RotNet drew for each image of both views', async () => {
    const config = { ...tinyConfig('rotation'), batchSize: 6 };
    const { views } = await parityBatch(config, await initialWeights(config), config.batchSize);
    const rotations = views.find((v) => v.name === 'rotations');
    expect(rotations?.shape).toEqual([12]);
    expect(Array.from(rotations?.data ?? []).every((r) => Number.isInteger(r) && r >= 0 && r < 4)).toBe(true);
    expect(new Set(rotations?.data).size).toBeGreaterThan(1);
  });
});
