import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TrainConfig } from '../engine/config';
import { disposeInstance } from '../engine/methods/instance';
import { getMethod } from '../engine/methods/registry';
import { BACKBONE_PRESETS } from '../engine/presets';
import { Rng } from '../engine/random';
import { tinyConfig } from '../engine/testing/tiny';
import { measurePytorchStep, PYTORCH_METHODS, pytorchParameterShapes, type PytorchShapes } from './pytorch-reference';

const tinyByol = getMethod('byol').defaults('classroom');
const resnet8Byol: TrainConfig = { ...tinyByol, backbone: BACKBONE_PRESETS['resnet-8'], imageSize: 32 };
const tinySimclr = getMethod('simclr').defaults('classroom');
const resnet18Byol: TrainConfig = { ...getMethod('byol').defaults('reference'), batchSize: 128 };

/** The app's trainable parameters for `config`: name, role and shape, in order. */
function appParameters(config: TrainConfig, numClasses = 1, datasetSize = 1): { name: string; role: string; shape: number[] }[] {
  const method = getMethod(config.method).create({ config, rng: new Rng(config.seed), datasetSize, numClasses });
  try {
    return method.params.map((p) => ({ name: p.name, role: p.role, shape: p.variable.shape }));
  } finally {
    disposeInstance(method);
  }
}

const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

// Decided once, before the tests are collected: a machine without PyTorch reports the block as skipped, with the reason.
const probe = await pytorchParameterShapes(tinyByol);
const skipReason = 'skipped' in probe ? probe.skipped : null;
if (skipReason) console.warn(`PyTorch reference tests skipped: ${skipReason}`);

async function shapesOf(config: TrainConfig): Promise<PytorchShapes> {
  const shapes = config === tinyByol ? probe : await pytorchParameterShapes(config);
  if ('skipped' in shapes) throw new Error(`unexpectedly skipped: ${shapes.skipped}`);
  return shapes;
}

describe('PyTorch reference without PyTorch', () => {
  const savedPython = process.env.PYTHON;
  const savedPythonPath = process.env.PYTHONPATH;
  afterEach(() => {
    for (const [key, value] of [['PYTHON', savedPython], ['PYTHONPATH', savedPythonPath]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  it('reports a missing interpreter as skipped instead of throwing', async () => {
    process.env.PYTHON = join(tmpdir(), 'no-such-python-here');
    const result = await measurePytorchStep(tinyByol, { method: 'byol', steps: 1, warmupSteps: 0 });
    expect(result).toEqual({ skipped: expect.stringContaining('no Python interpreter') });
  });

  it.skipIf(!existsSync(process.env.PYTHON || '/usr/bin/python3'))('reports a torch that fails to import as skipped', async () => {
    // A module named torch first on the path that refuses to load stands in for a machine without PyTorch.
    const dir = mkdtempSync(join(tmpdir(), 'no-torch-'));
    try {
      writeFileSync(join(dir, 'torch.py'), 'raise ImportError("torch withheld by the test")\n');
      process.env.PYTHONPATH = dir;
      const result = await measurePytorchStep(tinyByol, { method: 'byol', steps: 1, warmupSteps: 0 });
      expect(result).toEqual({ skipped: expect.stringMatching(/cannot import torch .*torch withheld by the test/) });
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('refuses bad options with a message before starting Python', async () => {
    process.env.PYTHON = join(tmpdir(), 'no-such-python-here');
    await expect(measurePytorchStep(tinyByol, { method: 'byol', steps: 0, warmupSteps: 0 })).rejects.toThrow(/steps must be a whole number/);
    await expect(measurePytorchStep(tinyByol, { method: 'simclr', steps: 1, warmupSteps: 0 })).rejects.toThrow(/config is for "byol"/);
    await expect(pytorchParameterShapes({ ...tinyByol, method: 'transformer-dino' })).rejects.toThrow(/rebuilds byol, simclr, .* only, not "transformer-dino"/);
  });
});

describe.skipIf(skipReason !== null)(`PyTorch reference${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  const cases: [string, TrainConfig][] = [
    ['BYOL, Tiny ConvNet (classroom)', tinyByol],
    ['BYOL, ResNet-8', resnet8Byol],
    ['SimCLR, Tiny ConvNet (classroom: hidden layer with bias, no BN)', tinySimclr],
    ['BYOL, ResNet-18 with 4096-wide heads (reference)', resnet18Byol],
  ];
  it.each(cases)('builds the app\'s parameters, name by name and shape by shape: %s', async (_label, config) => {
    const shapes = await shapesOf(config);
    const app = appParameters(config);
    expect(shapes.parameters.map(({ name, role, shape }) => ({ name, role, shape }))).toEqual(app);
    const total = app.reduce((n, p) => n + count(p.shape), 0);
    expect(shapes.params).toBe(total);
    expect(Object.values(shapes.paramsPerModule).reduce((a, b) => a + b, 0)).toBe(total);
  });

  it('gives BYOL\'s target its own BatchNorm statistics: one mean and variance per online BN, twice', async () => {
    const shapes = await shapesOf(tinyByol);
    const gammas = shapes.parameters.filter((p) => p.name.endsWith('/gamma') && !p.name.startsWith('predictor/'));
    const predictorGammas = shapes.parameters.filter((p) => p.name.startsWith('predictor/') && p.name.endsWith('/gamma'));
    // Online and target each have these BNs; the predictor has its own, once.
    expect(shapes.buffers).toHaveLength(2 * (2 * gammas.length + predictorGammas.length));
    expect(shapes.buffers.filter((b) => b.name.startsWith('target/'))).toHaveLength(2 * gammas.length);
  });

  it('times two steps of the classroom BYOL run and reports consistent numbers', async () => {
    const result = await measurePytorchStep(tinyByol, { method: 'byol', steps: 2, warmupSteps: 1, threads: 1, ompWaitPolicy: 'active' });
    if ('skipped' in result) throw new Error(`unexpectedly skipped: ${result.skipped}`);
    expect(result.msPerStep).toBeGreaterThan(0);
    expect(result.threads).toBe(1);
    expect(result.ompWaitPolicy).toBe('ACTIVE');
    expect(result.steps).toBe(2);
    expect(result.params).toBe(appParameters(tinyByol).reduce((n, p) => n + count(p.shape), 0));
    expect(result.imagesPerSecond).toBeCloseTo((tinyByol.batchSize * 1000) / result.msPerStep, 6);
    // The phases split the same timed steps, so they add up to the mean step.
    const phaseSum = Object.values(result.phases).reduce((a, b) => a + b, 0);
    expect(phaseSum).toBeCloseTo(result.msPerStep, 6);
    expect(result.msPerStepMin).toBeLessThanOrEqual(result.msPerStepMedian);
    expect(result.msPerStepMedian).toBeLessThanOrEqual(result.msPerStepMax);
  });

  it('times SimCLR with PyTorch\'s usual layout and plain BLAS matrix products too', async () => {
    const result = await measurePytorchStep({ ...tinySimclr, batchSize: 8 }, { method: 'simclr', steps: 1, warmupSteps: 0, threads: 1, matmul: 'blas', memoryFormat: 'contiguous' });
    if ('skipped' in result) throw new Error(`unexpectedly skipped: ${result.skipped}`);
    expect(result).toMatchObject({ matmul: 'blas', memoryFormat: 'contiguous' });
    expect(result.msPerStep).toBeGreaterThan(0);
    expect(Object.keys(result.paramsPerModule)).toEqual(['backbone', 'projector']);
    expect(result.params).toBe(appParameters(tinySimclr).reduce((n, p) => n + count(p.shape), 0));
  });

  // Key queues shorter than the script's pool, and NPID with sampled negatives: each method gets the per-image inputs it reads.
  it.each(PYTORCH_METHODS.map((id) => [id, tinyConfig(id, { options: { ...tinyConfig(id).options, ...(id === 'npid' ? { negatives: 16 } : {}), ...(id.startsWith('mo') ? { queueSize: 64 } : {}) } })] as const))(
    'times a step of %s, with the per-image inputs the method reads',
    async (id, config) => {
      const result = await measurePytorchStep(config, { method: id, steps: 1, warmupSteps: 0, threads: 1 });
      if ('skipped' in result) throw new Error(`unexpectedly skipped: ${result.skipped}`);
      expect(result.msPerStep).toBeGreaterThan(0);
      // The script's random labels have 10 classes, which size MoBYv2AL's classifier; its pool of random
      // images (5,000 without an images file) sizes Exemplar CNN's, a row per image.
      expect(result.params).toBe(appParameters(config, 10, 5000).reduce((n, p) => n + count(p.shape), 0));
    },
  );

  it('rejects with the script\'s message when the script fails', async () => {
    const broken = { ...tinyByol, backbone: { kind: 'transformer' } } as unknown as TrainConfig;
    await expect(measurePytorchStep(broken, { method: 'byol', steps: 1, warmupSteps: 0 })).rejects.toThrow(/exited with status 2:\n.*Unknown backbone kind "transformer"/);
  });
});
