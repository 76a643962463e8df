/**
 * Browser checks (kernel-checks.ts) of the embedding statistics webgpu-metrics.ts registers: the
 * engine's embeddingStatistics with the fused kernel against its composites (metrics.ts), each
 * statistic compared on its own scale. Uniformity is compared as the log-sum-exp it is computed from
 * (uniformity + log #pairs, added here in float64, which keeps the difference): both compute that
 * log-sum-exp in float32 and then subtract the same constant, so their rounding is on the scale of
 * log #pairs, which a nearly collapsed batch's uniformity (near 0) is far below. The batches cover one tile and many (more tiles than the last
 * pass's workgroup has invocations), sizes that are no multiple of a tile, a dimension over several
 * column workgroups, a nearly collapsed batch (every logit near 0, the tiles' log-sum-exp partials
 * all weighing in) and identical views (alignment exactly 0, every positive cosine 1).
 * The online probe's fused gradients are checked through LinearProbe.trainStep: three steps' losses and
 * accuracies, then its weights and momentum buffers, on the bench's probe shape and larger ones.
 */
import * as tf from '@tensorflow/tfjs';
import { EMBEDDING_STATISTICS, EMBEDDING_STATISTICS_ORDER, LINEAR_PROBE_GRADIENTS } from '../engine/fused-metrics';
import { embeddingStatistics } from '../engine/metrics';
import { LinearProbe } from '../engine/probe';
import { Rng } from '../engine/random';
import type { KernelCheck } from './kernel-checks';
import { validated } from './webgpu-conv-bn-checks';

/** Float32 rounding of sums over up to n² terms in another order, relative to each statistic. */
const TOLERANCE = 1e-5;

type Values = Record<string, ArrayLike<number>>;

interface StatisticsCase {
  name: string;
  n: number;
  d: number;
  /** How the views are drawn: independent, one shared direction with a little noise, or the same tensor. */
  views: 'independent' | 'nearly collapsed' | 'identical';
}

const CASES: StatisticsCase[] = [
  { name: 'batch 16, d 64 (one tile)', n: 16, d: 64, views: 'independent' },
  { name: 'batch 64, d 256', n: 64, d: 256, views: 'independent' },
  { name: 'batch 130, d 48 (no multiple of a tile)', n: 130, d: 48, views: 'independent' },
  { name: 'batch 300, d 40 (361 tiles)', n: 300, d: 40, views: 'independent' },
  { name: 'batch 24, d 600 (three column workgroups)', n: 24, d: 600, views: 'independent' },
  { name: 'nearly collapsed batch 40, d 96', n: 40, d: 96, views: 'nearly collapsed' },
  { name: 'identical views, batch 32, d 128', n: 32, d: 128, views: 'identical' },
];

/** The two views of a case, from fixed seeds; a mean far from 0 so the rows' norms are not all alike. */
function views(c: StatisticsCase, seed: number): [tf.Tensor2D, tf.Tensor2D] {
  return tf.tidy(() => {
    if (c.views === 'nearly collapsed') {
      const direction = tf.randomNormal([1, c.d], 0, 1, 'float32', seed);
      const spread = (s: number) => tf.add(direction, tf.randomNormal([c.n, c.d], 0, 0.05, 'float32', s)) as tf.Tensor2D;
      return [spread(seed + 1), spread(seed + 2)];
    }
    const z1 = tf.randomNormal([c.n, c.d], 0.3, 1, 'float32', seed) as tf.Tensor2D;
    return [z1, c.views === 'identical' ? z1.clone() : (tf.randomNormal([c.n, c.d], 0.3, 1, 'float32', seed + 1) as tf.Tensor2D)];
  });
}

async function statistics(c: StatisticsCase): Promise<Values> {
  const [z1, z2] = views(c, c.n * 1000 + c.d);
  try {
    const values = await validated(async () => {
      const result = embeddingStatistics(z1, z2);
      const read = await result.data();
      result.dispose();
      return { all: read };
    });
    const named: Values = Object.fromEntries(EMBEDDING_STATISTICS_ORDER.map((label, i) => [label, [values.all[i]]]));
    const { uniformity, ...others } = named;
    return { ...others, 'log-sum-exp over pairs (uniformity + log #pairs)': [uniformity[0] + Math.log((c.n * (c.n - 1)) / 2)] };
  } finally {
    tf.dispose([z1, z2]);
  }
}

interface ProbeCase {
  name: string;
  rows: number;
  features: number;
  classes: number;
}

const PROBE_CASES: ProbeCase[] = [
  { name: 'the quick bench\'s (batch 16, 32 features, 6 classes)', rows: 16, features: 32, classes: 6 },
  { name: 'batch 64, 128 features, 10 classes', rows: 64, features: 128, classes: 10 },
  { name: 'batch 130, 48 features, 7 classes', rows: 130, features: 48, classes: 7 },
  { name: 'batch 128, 512 features, 100 classes', rows: 128, features: 512, classes: 100 },
];

/** Three probe steps on fixed non-negative features (as after a ReLU) and labels: each step's loss and accuracy, then the probe's variables. */
async function probeSteps(c: ProbeCase): Promise<Values> {
  const probe = new LinearProbe(c.features, c.classes, new Rng(c.rows + c.features));
  const values: Values = {};
  try {
    return await validated(async () => {
      for (let step = 0; step < 3; step++) {
        const features = tf.tidy(() => tf.relu(tf.randomNormal([c.rows, c.features], 0, 1, 'float32', 10 * c.rows + step)) as tf.Tensor2D);
        const labels = tf.tensor1d(Int32Array.from({ length: c.rows }, (_, i) => (i * 7 + step) % c.classes), 'int32');
        const { loss, accuracy } = tf.tidy(() => probe.trainStep(features, labels));
        values[`step ${step} loss`] = await loss.data();
        values[`step ${step} accuracy`] = await accuracy.data();
        tf.dispose([features, labels, loss, accuracy]);
      }
      for (const [i, variable] of probe.variables.entries()) values[`variable ${i} (${variable.shape})`] = await variable.data();
      return values;
    });
  } finally {
    probe.dispose();
  }
}

export const METRICS_CHECKS: KernelCheck[] = [
  ...CASES.map((c): KernelCheck => ({
    name: `Embedding statistics: ${c.name}`,
    backends: ['webgpu'],
    kernels: [EMBEDDING_STATISTICS],
    tolerance: TOLERANCE,
    run: () => statistics(c),
  })),
  ...PROBE_CASES.map((c): KernelCheck => ({
    name: `Linear probe step: ${c.name}`,
    backends: ['webgpu'],
    kernels: [LINEAR_PROBE_GRADIENTS],
    tolerance: TOLERANCE,
    run: () => probeSteps(c),
  })),
];
