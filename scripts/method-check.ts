/**
 * Tuning and measurement tool for the methods' classroom presets (not part of the app or the tests).
 * Trains each method on a subset of CIFAR-10 (../shared/data/cifar10-mini) on the tfjs CPU backend and
 * reports the loss at the first step and after N steps, and the kNN accuracy of the backbone features
 * (eval mode, un-augmented) before and after training.
 *
 *   npx tsx scripts/method-check.ts --methods simclr,byol --steps 200 --batch 64 --size 16 \
 *     --widths 16,32,32,32 --train-per-class 500 --test-per-class 100 [--set learningRate=0.05] [--json out.json]
 *
 * Everything else comes from the method's classroom preset; `--set path=value` overrides any field
 * (dotted paths, JSON values: --set options.queueSize=1024 --set optimizer='{"kind":"sgd",...}').
 */
import * as tf from '@tensorflow/tfjs';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { IDENTITY_VIEW, augmentBatch, standardize } from '../src/engine/augment';
import type { TrainConfig } from '../src/engine/config';
import type { DatasetSplits, ImageSet } from '../src/engine/dataset';
import { knnAccuracy } from '../src/engine/metrics';
import { METHODS, getMethod } from '../src/engine/methods/registry';
import type { Backbone } from '../src/engine/backbones';
import { Rng } from '../src/engine/random';
import '../src/engine/cpu-kernels';
import { Trainer, type StepRecord } from '../src/engine/trainer';

const DATA_ROOT = join(import.meta.dirname, '..', '..', 'shared', 'data', 'cifar10-mini');
const KNN_K = 20;
const KNN_SIGMA = 0.1;
const EVAL_CHUNK = 250;

interface Args {
  methods: string[];
  steps: number;
  batch: number;
  size: number;
  widths: number[];
  trainPerClass: number;
  testPerClass: number;
  sets: [string, unknown][];
  json: string | null;
  verbose: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { methods: METHODS.map((m) => m.id), steps: 200, batch: 32, size: 16, widths: [16, 32, 32, 32], trainPerClass: 100, testPerClass: 100, sets: [], json: null, verbose: false };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    switch (flag) {
      case '--methods': args.methods = value.split(','); break;
      case '--steps': args.steps = Number(value); break;
      case '--batch': args.batch = Number(value); break;
      case '--size': args.size = Number(value); break;
      case '--widths': args.widths = value.split(',').map(Number); break;
      case '--train-per-class': args.trainPerClass = Number(value); break;
      case '--test-per-class': args.testPerClass = Number(value); break;
      case '--json': args.json = value; break;
      case '--verbose': args.verbose = value === '1'; break;
      case '--set': {
        const at = value.indexOf('=');
        const raw = value.slice(at + 1);
        let parsed: unknown;
        try { parsed = JSON.parse(raw); } catch { parsed = raw; }
        args.sets.push([value.slice(0, at), parsed]);
        break;
      }
      default: throw new Error(`Unknown flag ${flag}`);
    }
  }
  return args;
}

function loadSplit(split: 'train' | 'test', perClass: number, classNames: string[]): ImageSet {
  const size = 32;
  const pixels = new Uint8Array(perClass * classNames.length * size * size * 3);
  const labels = new Int32Array(perClass * classNames.length);
  let count = 0;
  classNames.forEach((name, label) => {
    const dir = join(DATA_ROOT, split, name);
    const files = readdirSync(dir).filter((f) => f.endsWith('.png')).sort((a, b) => parseInt(a) - parseInt(b)).slice(0, perClass);
    for (const file of files) {
      const png = PNG.sync.read(readFileSync(join(dir, file)));
      if (png.width !== size || png.height !== size) throw new Error(`${file}: expected ${size}×${size}, got ${png.width}×${png.height}`);
      for (let p = 0; p < size * size; p++) pixels.set(png.data.subarray(p * 4, p * 4 + 3), (count * size * size + p) * 3);
      labels[count++] = label;
    }
  });
  return { count, size, pixels: pixels.subarray(0, count * size * size * 3), labels: labels.subarray(0, count) };
}

function setPath(config: TrainConfig, path: string, value: unknown): void {
  const keys = path.split('.');
  let target = config as unknown as Record<string, unknown>;
  for (const key of keys.slice(0, -1)) target = target[key] as Record<string, unknown>;
  target[keys[keys.length - 1]] = value;
}

/** Backbone features (eval mode) of every image, resized to `size` without augmentation. */
function features(encoder: Backbone, set: ImageSet, size: number): tf.Tensor2D {
  const chunks: tf.Tensor2D[] = [];
  for (let start = 0; start < set.count; start += EVAL_CHUNK) {
    const rows = Math.min(EVAL_CHUNK, set.count - start);
    chunks.push(
      tf.tidy(() => {
        const bytes = set.pixels.subarray(start * set.size * set.size * 3, (start + rows) * set.size * set.size * 3);
        const images = tf.div(tf.tensor4d(bytes, [rows, set.size, set.size, 3], 'int32'), 255) as tf.Tensor4D;
        const input = standardize(augmentBatch(images, IDENTITY_VIEW, size, new Rng(0)));
        return encoder.apply(input, false) as tf.Tensor2D;
      }),
    );
  }
  const all = tf.concat(chunks, 0);
  chunks.forEach((c) => c.dispose());
  return all;
}

async function knn(encoder: Backbone, data: DatasetSplits, size: number): Promise<number> {
  const train = features(encoder, data.train, size);
  const test = features(encoder, data.test!, size);
  const accuracy = tf.tidy(() =>
    knnAccuracy(train, tf.tensor1d(data.train.labels!, 'int32'), test, tf.tensor1d(data.test!.labels!, 'int32'), KNN_K, KNN_SIGMA, data.classNames.length),
  );
  const value = (await accuracy.data())[0];
  [train, test, accuracy].forEach((t) => t.dispose());
  return value;
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  await tf.setBackend('cpu');
  const classNames = readdirSync(join(DATA_ROOT, 'train')).sort();
  const data: DatasetSplits = {
    name: 'cifar10-mini subset',
    classNames,
    train: loadSplit('train', args.trainPerClass, classNames),
    test: loadSplit('test', args.testPerClass, classNames),
  };
  console.log(
    `data: ${data.train.count} train / ${data.test!.count} test images; ${args.steps} steps, batch ${args.batch}, ${args.size} px, ` +
      `convnet [${args.widths}], kNN k=${KNN_K} σ=${KNN_SIGMA}; overrides ${JSON.stringify(args.sets)}`,
  );
  const results = [];
  for (const id of args.methods) {
    const config: TrainConfig = {
      ...structuredClone(getMethod(id).defaults('classroom')),
      imageSize: args.size,
      batchSize: args.batch,
      totalSteps: args.steps,
      backbone: { kind: 'convnet', widths: args.widths },
    };
    for (const [path, value] of args.sets) setPath(config, path, value);
    const started = Date.now();
    const trainer = new Trainer(config, data);
    const knnBefore = await knn(trainer.method.encoder, data, args.size);
    const records: StepRecord[] = [];
    while (!trainer.finished) {
      trainer.step();
      if (trainer.steps % 10 === 0 || trainer.finished) {
        const flushed = await trainer.flush();
        records.push(...flushed);
        if (args.verbose) console.log(`  step ${trainer.steps}: loss ${flushed.map((r) => r.loss.toFixed(3)).join(' ')}`);
      }
    }
    const knnAfter = await knn(trainer.method.encoder, data, args.size);
    const last = records.slice(-10);
    const result = {
      method: id,
      lossFirst: records[0].loss,
      lossLast10: mean(last.map((r) => r.loss)),
      knnBefore,
      knnAfter,
      featureStdTimesSqrtD: mean(last.map((r) => r.featureStd)) * Math.sqrt(trainer.embeddingDim),
      seconds: (Date.now() - started) / 1000,
      lossEvery20: records.filter((r) => r.step % 20 === 0).map((r) => Number(r.loss.toFixed(3))),
      config: { learningRate: config.learningRate, optimizer: config.optimizer, temperature: config.temperature, tau: config.tau, options: config.options, projector: config.projector, predictor: config.predictor },
    };
    trainer.dispose();
    results.push(result);
    console.log(
      `${id.padEnd(9)} loss ${result.lossFirst.toFixed(3)} → ${result.lossLast10.toFixed(3)} (mean of last 10)  ` +
        `kNN ${(100 * knnBefore).toFixed(1)}% → ${(100 * knnAfter).toFixed(1)}%  std·√d ${result.featureStdTimesSqrtD.toFixed(2)}  ${result.seconds.toFixed(0)} s`,
    );
    console.log(`          loss every 20 steps: ${result.lossEvery20.join(' ')}`);
  }
  if (args.json) writeFileSync(args.json, JSON.stringify({ args, results }, null, 2));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
