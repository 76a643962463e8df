import { execFile, spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shapesDataset } from '../data/shapes';
import { standardize } from '../engine/augment';
import type { TrainConfig } from '../engine/config';
import { disposeInstance } from '../engine/methods/instance';
import { permutationSet } from '../engine/methods/jigsaw';
import { getMethod, METHODS } from '../engine/methods/registry';
import { buildPytorchProject, initialWeights, methodWithWeights, PYTORCH_PROJECT_METHODS, pytorchExportProblem } from '../engine/pytorch-export';
import { runFileBaseName } from '../engine/run-names';
import { decodeSafetensors, encodeSafetensors, type NamedArray } from '../engine/safetensors';
import { tinyConfig } from '../engine/testing/tiny';
import { pytorchProjectZip, unzipStored } from '../ui/zip';
import { exportCli, readPytorchSources, readWeightsFile, writePytorchProject } from './export-cli';

const PYTHON = process.env.PYTHON || '/usr/bin/python3';
const SCRIPTS = fileURLToPath(new URL('../../scripts', import.meta.url));
const CIFAR_MINI = fileURLToPath(new URL('../../../shared/data/cifar10-mini', import.meta.url));
/** One thread per process: the DDP runs start three Pythons on a shared machine. */
/** Each Python start imports torch (seconds on a busy machine); torchrun starts three. */
const PYTHON_TEST_MS = 300_000;
const TORCHRUN_TEST_MS = 600_000;
const PYTHON_ENV = { ...process.env, OMP_NUM_THREADS: '1' };

function probe(args: string[]): string | null {
  const result = spawnSync(PYTHON, args, { encoding: 'utf8', env: PYTHON_ENV });
  if (result.error) return `cannot start ${PYTHON}: ${result.error.message}`;
  return result.status === 0 ? null : `${PYTHON} ${args.join(' ')} failed: ${(result.stderr || '').trim().split('\n').pop()}`;
}

// Decided before the tests are collected: without torch the Python tests are reported as skipped, with the reason.
const noTorch = probe(['-c', 'import torch, torchvision']);
const noTorchrun = noTorch ?? probe(['-m', 'torch.distributed.run', '--help']);
const noImages = existsSync(CIFAR_MINI) ? null : `no ${CIFAR_MINI}`;
if (noTorch) console.warn(`PyTorch export tests skipped: ${noTorch}`);
else if (noTorchrun) console.warn(`torchrun tests skipped: ${noTorchrun}`);

/**
 * torchrun as Debian's torch 1.13 needs it on Python 3.11: its default `--redirects 0` trips over a
 * Python 3.11 enum change, so stdout is redirected and teed instead (`--tee 1`).
 */
const TORCHRUN = ['-m', 'torch.distributed.run', '--standalone', '--redirects', '1', '--tee', '1', '--nproc_per_node=2'];

interface PythonRun {
  code: number;
  stdout: string;
  stderr: string;
}

function python(args: string[], cwd: string): Promise<PythonRun> {
  return new Promise((resolve) => {
    execFile(PYTHON, args, { cwd, env: PYTHON_ENV, maxBuffer: 1 << 24 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** The JSON lines a run printed (torchrun's tee prefixes each with "[default0]:"). */
function records(run: PythonRun): Record<string, unknown>[] {
  if (run.code !== 0) throw new Error(`Python exited with ${run.code}:\n${run.stderr.slice(-3000)}`);
  return run.stdout
    .split('\n')
    .map((line) => line.replace(/^\[default\d+\]:/, '').trim())
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const stepLosses = (run: PythonRun) => records(run).filter((r) => typeof r.step === 'number').map((r) => r.loss as number);
const relative = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-12);

/** A tiny labelled image folder: a few cifar10-mini images of three classes, hard-linked. */
function tinyImageFolder(root: string, split: 'train' | 'test', perClass: number): string {
  const out = join(root, split);
  for (const name of ['airplane', 'cat', 'ship']) {
    mkdirSync(join(out, name), { recursive: true });
    const files = readdirSync(join(CIFAR_MINI, split, name)).sort().slice(0, perClass);
    for (const file of files) linkSync(join(CIFAR_MINI, split, name, file), join(out, name, file));
  }
  return out;
}

/**
 * Options of the tiny runs beyond tinyConfig's: key queues shorter than two batches, so the second
 * step's loss depends on which keys the first step enqueued (gathered from both processes in rank order).
 */
const TINY_OPTIONS: Readonly<Record<string, Record<string, number>>> = { mocov2: { queueSize: 12 }, moby: { queueSize: 12 }, mobyv2al: { queueSize: 12 }, jigsaw: { permutations: 100 } };

/** Each ported method in its tiny form, and the forms an option switches to a different loss. */
const CASES = [
  ...PYTORCH_PROJECT_METHODS.map((id) => ({ key: id, id, label: getMethod(id).label, options: TINY_OPTIONS[id] ?? {} })),
  // Fewer negatives than the bank has rows, so the draw decides the loss.
  { key: 'npid-negatives', id: 'npid', label: 'NPID (sampled negatives)', options: { negatives: 5 } },
];

/**
 * The patch tasks on 32 px images: their grid then moves each patch by up to a pixel (none at 16 px),
 * so parity checks the replayed offsets too. Their per-patch cost is that of 16 px images (8 px patches
 * either way, the tiny ConvNet's smallest input).
 */
const TINY_OVERRIDES: Readonly<Record<string, Partial<TrainConfig>>> = { context: { imageSize: 32 }, jigsaw: { imageSize: 32 } };

/**
 * How far the second fixed-batch step may differ between one process and two, where not 1e-5. MoBY's
 * (and MoBYv2AL's, the same networks) projector bias sits before the predictor's BatchNorm, so its gradient is float32 noise whose sign
 * differs between the two runs, and AdamW turns that noise into a full-size step of that bias.
 */
const SECOND_STEP_TOLERANCE: Readonly<Record<string, number>> = { moby: 1e-4, mobyv2al: 1e-4 };

const TINY_FOLDER_IMAGES = 3 * 6;

/** Raw images in [0, 1]: NHWC for the app, NCHW for PyTorch. */
function fixedImages(config: TrainConfig, count: number): { nhwc: tf.Tensor4D; nchw: NamedArray } {
  const set = shapesDataset({ trainCount: count, testCount: 0, size: config.imageSize, seed: 99 }).train;
  const nhwc = tf.tidy(() => tf.tensor4d(set.pixels, [count, config.imageSize, config.imageSize, 3]).div(255) as tf.Tensor4D);
  const nchw = tf.tidy(() => tf.transpose(nhwc, [0, 3, 1, 2]));
  const data = nchw.dataSync() as Float32Array;
  const shape = nchw.shape.slice();
  nchw.dispose();
  return { nhwc, nchw: { name: 'images', shape, data: data.slice() } };
}

/** The app's embedding of `images` (evaluation mode) with `weights` (state for `datasetSize` images) in the method's networks. */
async function appEmbedding(config: TrainConfig, weights: NamedArray[], datasetSize: number, images: tf.Tensor4D): Promise<Float32Array> {
  const method = methodWithWeights(config, weights, datasetSize);
  try {
    const features = tf.tidy(() => method.encoder.apply(standardize(images), false));
    const values = (await features.data()) as Float32Array;
    features.dispose();
    return values;
  } finally {
    disposeInstance(method);
  }
}

/** Largest absolute difference relative to the largest absolute value. */
function maxRelativeError(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(a[i]));
  }
  return diff / scale;
}

describe('PyTorch export refuses what it cannot reproduce', () => {
  it('every method has a port; an option form the port does not implement is named', () => {
    expect([...PYTORCH_PROJECT_METHODS].sort()).toEqual(METHODS.map((m) => m.id).sort());
    const momentumBranch = { ...getMethod('simclr').defaults('classroom'), options: { targetBranch: 2 } };
    expect(pytorchExportProblem(momentumBranch)).toMatch(/default form only; reset targetBranch/);
    // NPID's sampled negatives are replayed into the parity batch and drawn by train.py.
    expect(pytorchExportProblem({ ...getMethod('npid').defaults('classroom'), options: { bankMomentum: 0.5, negatives: 64 } })).toBeNull();
    for (const id of PYTORCH_PROJECT_METHODS) expect(pytorchExportProblem(getMethod(id).defaults('reference'))).toBeNull();
    // Options the port reads are free to change.
    expect(pytorchExportProblem({ ...getMethod('barlow').defaults('classroom'), options: { lambda: 0.01, scale: 1, targetBranch: 0 } })).toBeNull();
  });

  it('npm run export says why and writes nothing', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'export-refused-')), 'project');
    const err: string[] = [];
    const code = await exportCli(['--method', 'simclr', '--options', 'targetBranch=2', '--pytorch', dir], { out: () => {}, err: (line) => err.push(line) });
    expect(code).toBe(1);
    expect(err.join('\n')).toMatch(/Not exported: The PyTorch port of SimCLR implements its default form only; reset targetBranch to export\./);
    expect(existsSync(dir)).toBe(false);
    expect(await exportCli(['--pytorch', dir], { out: () => {}, err: (line) => err.push(line) })).toBe(2);
    expect(err.at(-1)).toMatch(/--method <id> is required/);
  });
});

describe('npm run export --run takes a run saved in the browser', () => {
  // A run the app trained for 7 steps on 20 images: NPID's bank has a row per image, and the weights are not the seed's initial ones.
  const tiny = tinyConfig('npid');
  const config: TrainConfig = { ...tiny, batchSize: 8, options: { ...tiny.options, negatives: 3 } };
  const step = 7;
  const datasetSize = 20;

  it('from the PyTorch project zip the app downloads, from that zip unzipped, and from its weights file', async () => {
    const root = mkdtempSync(join(tmpdir(), 'export-run-'));
    const weights = await initialWeights({ ...config, seed: config.seed + 1 }, datasetSize);
    // What the worker's exportPytorch builds and the Export panel downloads.
    const archive = pytorchProjectZip(runFileBaseName(config, step), await buildPytorchProject(config, weights, step, datasetSize, readPytorchSources()));
    const zipPath = join(root, archive.fileName);
    writeFileSync(zipPath, archive.data);
    const unzipped = join(root, 'unzipped');
    for (const entry of unzipStored(archive.data)) {
      mkdirSync(join(unzipped, entry.path, '..'), { recursive: true });
      writeFileSync(join(unzipped, entry.path), entry.data);
    }
    const projectFolder = join(unzipped, `${runFileBaseName(config, step)}-pytorch`);
    const saved = readWeightsFile(join(projectFolder, 'weights.safetensors'));
    expect(saved).toMatchObject({ step, datasetSize, config: { method: 'npid', options: { negatives: 3 } } });
    for (const [i, source] of [zipPath, projectFolder, join(projectFolder, 'weights.safetensors')].entries()) {
      const out = join(root, `again-${i}`);
      const err: string[] = [];
      expect(await exportCli(['--run', source, '--pytorch', out], { out: () => {}, err: (line) => err.push(line) }), err.join('\n')).toBe(0);
      const again = readWeightsFile(join(out, 'weights.safetensors'));
      expect(again.config).toEqual(saved.config);
      expect(again.step).toBe(step);
      expect(again.datasetSize).toBe(datasetSize);
      expect(again.weights.map((w) => [w.name, w.shape, Array.from(w.data)])).toEqual(weights.map((w) => [w.name, w.shape, Array.from(w.data)]));
      expect(JSON.parse(readFileSync(join(out, 'parity.json'), 'utf8'))).toMatchObject({ datasetSize });
    }
    rmSync(root, { recursive: true, force: true });
  });

  it('says why a file holds no run', async () => {
    const root = mkdtempSync(join(tmpdir(), 'export-run-'));
    const zipPath = join(root, 'other.zip');
    writeFileSync(zipPath, pytorchProjectZip('other', [{ path: 'notes.txt', data: 'no weights here' }]).data);
    const err: string[] = [];
    expect(await exportCli(['--run', zipPath, '--pytorch', join(root, 'out')], { out: () => {}, err: (line) => err.push(line) })).toBe(1);
    expect(err.at(-1)).toMatch(/other\.zip is a zip archive without a weights\.safetensors/);
    expect(existsSync(join(root, 'out'))).toBe(false);
    rmSync(root, { recursive: true, force: true });
  });
});

describe.skipIf(noTorch !== null)(`PyTorch project${noTorch ? ` (skipped: ${noTorch})` : ''}`, { timeout: PYTHON_TEST_MS }, () => {
  let root = '';
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'pytorch-project-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('npm run export writes the project, and its weights file carries the run\'s settings', async () => {
    const dir = join(root, 'cli');
    const out: string[] = [];
    const code = await exportCli(['--method', 'simclr', '--encoder', 'convnet-tiny', '--image-size', '16', '--batch', '8', '--seed', '5', '--pytorch', dir], { out: (line) => out.push(line), err: () => {} });
    expect(code).toBe(0);
    expect(out[0]).toMatch(/Wrote the SimCLR project/);
    for (const file of ['train.py', 'siamese_torch.py', 'README.md', 'config.json', 'weights.safetensors', 'parity.safetensors', 'parity.json']) expect(existsSync(join(dir, file))).toBe(true);
    const saved = readWeightsFile(join(dir, 'weights.safetensors'));
    expect(saved.config).toEqual(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
    expect(saved.config).toMatchObject({ method: 'simclr', seed: 5, imageSize: 16, batchSize: 8 });
    const parity = records(await python([join(dir, 'train.py'), '--check-parity'], dir))[0];
    expect(parity).toMatchObject({ passed: true, failures: [] });
  });

  it('the jigsaw\'s permutation set in PyTorch is the app\'s: the same 1000 permutations from the same seed', async () => {
    const code = `import json, sys; sys.path.insert(0, ${JSON.stringify(SCRIPTS)}); import siamese_torch; print(json.dumps(siamese_torch.maximal_hamming_permutations(1000, 11).tolist()))`;
    const run = await python(['-c', code], root);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(permutationSet(1000, 11).map((permutation) => Array.from(permutation)));
  });

  describe.each(CASES)('$label', ({ key, id, options }) => {
    const tiny = tinyConfig(id);
    const config: TrainConfig = { ...tiny, batchSize: 8, totalSteps: 20, ...TINY_OVERRIDES[id], options: { ...tiny.options, ...options } };
    let dir = '';
    let weights: NamedArray[] = [];
    beforeAll(async () => {
      dir = join(root, key);
      weights = await initialWeights(config);
      await writePytorchProject(dir, config, weights, 0);
    });

    it('--check-parity recomputes the app\'s loss and every gradient norm within 1e-4', async () => {
      const report = records(await python(['train.py', '--check-parity'], dir))[0] as { passed: boolean; loss: { relative: number }; gradientNorms: number; worst: { relative: number } };
      expect(report.passed).toBe(true);
      expect(report.loss.relative).toBeLessThan(1e-4);
      expect(report.worst.relative).toBeLessThan(1e-4);
      const method = methodWithWeights(config, weights, config.batchSize);
      // Every trainable parameter of the app's method was compared.
      expect(report.gradientNorms).toBe(method.params.length);
      disposeInstance(method);
    });

    it('--check-parity fails when the app\'s numbers and the port disagree', async () => {
      const broken = join(root, `${key}-broken`);
      await writePytorchProject(broken, config, weights, 0);
      const parity = JSON.parse(readFileSync(join(broken, 'parity.json'), 'utf8')) as { loss: number };
      writeFileSync(join(broken, 'parity.json'), JSON.stringify({ ...parity, loss: parity.loss * (1 + 1e-3) }));
      const run = await python(['train.py', '--check-parity'], broken);
      expect(run.code).toBe(1);
      expect(JSON.parse(run.stdout.trim())).toMatchObject({ passed: false, failures: [{ name: 'loss' }] });
    });

    it('the app\'s exported weights give the app\'s embedding of a fixed image in PyTorch', async () => {
      const { nhwc, nchw } = fixedImages(config, 4);
      writeFileSync(join(dir, 'images.safetensors'), encodeSafetensors([nchw]));
      const run = await python(['train.py', '--embed', 'images.safetensors', '--embed-out', 'features.safetensors'], dir);
      expect(run.code, run.stderr).toBe(0);
      const torchFeatures = decodeSafetensors(readFileSync(join(dir, 'features.safetensors'))).tensors[0];
      expect(torchFeatures.shape).toEqual([4, config.backbone.widths.at(-1)]);
      expect(maxRelativeError(await appEmbedding(config, weights, config.batchSize, nhwc), torchFeatures.data as Float32Array)).toBeLessThan(1e-4);
      nhwc.dispose();
    });

    it.skipIf(noTorchrun !== null)(`two processes (torchrun, gloo) take the same steps as one process with the global batch${noTorchrun ? ` (skipped: ${noTorchrun})` : ''}`, async () => {
      const single = stepLosses(await python(['train.py', '--fixed-batch', '--steps', '2', '--out', 'runs/fixed-single'], dir));
      const ddp = stepLosses(await python([...TORCHRUN, 'train.py', '--fixed-batch', '--steps', '2', '--out', 'runs/fixed-ddp'], dir));
      expect(single).toHaveLength(2);
      expect(ddp).toHaveLength(2);
      // Step 1: the same loss from the same weights. Step 2: the same update was applied (gradients averaged correctly).
      expect(relative(ddp[0], single[0])).toBeLessThan(1e-5);
      expect(relative(ddp[1], single[1])).toBeLessThan(SECOND_STEP_TOLERANCE[id] ?? 1e-5);
      expect(single[1]).not.toBe(single[0]);
    }, TORCHRUN_TEST_MS);

    it.skipIf(noImages !== null || noTorchrun !== null)(`trains two steps on an image folder, on one process and on two, and the app reads its weights back${noImages ? ` (skipped: ${noImages})` : ''}`, async () => {
      const images = join(root, `${key}-images`);
      const train = tinyImageFolder(images, 'train', TINY_FOLDER_IMAGES / 3);
      const val = tinyImageFolder(images, 'test', 3);
      const single = records(await python(['train.py', '--data', train, '--val', val, '--steps', '2', '--workers', '0', '--out', 'runs/single'], dir));
      const steps = single.filter((r) => typeof r.step === 'number');
      expect(steps.map((r) => r.step)).toEqual([1, 2]);
      expect(steps.every((r) => Number.isFinite(r.loss))).toBe(true);
      expect(steps[1].knnAccuracy).toBeGreaterThanOrEqual(0);
      expect(steps[1].knnAccuracy).toBeLessThanOrEqual(1);
      const ddp = records(await python([...TORCHRUN, 'train.py', '--data', train, '--steps', '2', '--workers', '0', '--out', 'runs/ddp'], dir));
      expect(ddp.find((r) => r.start)).toMatchObject({ processes: 2, batchPerProcess: 4 });
      expect(ddp.filter((r) => typeof r.step === 'number').map((r) => Number.isFinite(r.loss))).toEqual([true, true]);

      // Resuming continues from the checkpoint's step.
      const resumed = records(await python(['train.py', '--data', train, '--steps', '3', '--workers', '0', '--out', 'runs/single', '--resume', 'runs/single/checkpoint.pt'], dir));
      expect(resumed.filter((r) => typeof r.step === 'number').map((r) => r.step)).toEqual([3]);

      // train.py's weights, imported into the app, give PyTorch's embedding.
      const trained = readWeightsFile(join(dir, 'runs/single/weights.safetensors'));
      expect(trained.step).toBe(3);
      expect(trained.config).toEqual(config);
      // The method's state travels too; per-image state (NPID's bank) is sized by the image folder.
      expect(trained.datasetSize).toBe(TINY_FOLDER_IMAGES);
      const method = methodWithWeights(config, trained.weights, trained.datasetSize);
      expect(trained.weights.filter((t) => t.name.startsWith('state/')).map((t) => t.shape)).toEqual((method.state ?? []).map((v) => v.shape));
      disposeInstance(method);
      const { nhwc, nchw } = fixedImages(config, 4);
      writeFileSync(join(dir, 'images.safetensors'), encodeSafetensors([nchw]));
      const run = await python(['train.py', '--weights', 'runs/single/weights.safetensors', '--embed', 'images.safetensors', '--embed-out', 'trained.safetensors'], dir);
      expect(run.code, run.stderr).toBe(0);
      const torchFeatures = decodeSafetensors(readFileSync(join(dir, 'trained.safetensors'))).tensors[0].data as Float32Array;
      const appFeatures = await appEmbedding(config, trained.weights, trained.datasetSize, nhwc);
      expect(maxRelativeError(appFeatures, torchFeatures)).toBeLessThan(1e-4);
      // Training moved the weights: the exported starting weights embed differently.
      expect(maxRelativeError(await appEmbedding(config, weights, config.batchSize, nhwc), torchFeatures)).toBeGreaterThan(1e-3);
      nhwc.dispose();
    }, TORCHRUN_TEST_MS);

    if (key !== 'mobyv2al') return;
    it.skipIf(noImages !== null || noTorchrun !== null)(`--labelled names the labelled images; the others are the unlabelled pool, trained in turn${noImages ? ` (skipped: ${noImages})` : ''}`, async () => {
      const train = tinyImageFolder(join(root, 'partly-labelled'), 'train', TINY_FOLDER_IMAGES / 3);
      const [cats, ships] = ['cat', 'ship'].map((name) => readdirSync(join(train, name)).sort());
      const list = join(root, 'labelled.txt');
      writeFileSync(list, `cat/${cats[0]}\ncat/${cats[1]}\nship/${ships[0]}\n`);
      for (const processes of [[], TORCHRUN]) {
        const run = records(await python([...processes, 'train.py', '--data', train, '--labelled', list, '--steps', '3', '--workers', '0', '--out', 'runs/partly'], dir));
        expect(run.find((r) => r.start)).toMatchObject({ labelledImages: 3, unlabelledImages: TINY_FOLDER_IMAGES - 3 });
        const steps = run.filter((r) => typeof r.step === 'number');
        // As the app's trainer: a labelled batch first, then the pool's, in turn.
        expect(steps.map((r) => r.labelledBatch)).toEqual([true, false, true]);
        expect(steps.every((r) => Number.isFinite(r.loss))).toBe(true);
      }
      // A resumed run keeps the turn of the step it resumes at.
      const resumed = records(await python(['train.py', '--data', train, '--labelled', list, '--steps', '4', '--workers', '0', '--out', 'runs/partly', '--resume', 'runs/partly/checkpoint.pt'], dir));
      expect(resumed.filter((r) => typeof r.step === 'number').map((r) => [r.step, r.labelledBatch])).toEqual([[4, false]]);
      writeFileSync(list, 'cat/missing.png\n');
      const bad = await python(['train.py', '--data', train, '--labelled', list, '--steps', '1', '--workers', '0'], dir);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/names 1 images not in .*, e\.g\. cat\/missing\.png/);
    }, TORCHRUN_TEST_MS);
  });
});
