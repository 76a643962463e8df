/**
 * Times k-center greedy (src/engine/active-learning.ts) as active learning runs it: 500 picks from a
 * pool of 10,000 feature rows, with the labelled images as centres, on the Node backends (wasm, cpu).
 * Usage: npx tsx scripts/kcenter-bench.ts [feature width, default 512 (ResNet-18)] [centres, default 1000] [backends, default wasm,cpu]
 * Prints one JSON line per backend.
 */
import * as tf from '@tensorflow/tfjs';
import { kCenterGreedy } from '../src/engine/active-learning';
import { Rng } from '../src/engine/random';
import { nodeBackend } from '../src/runner/node-backend';

const POOL = 10_000;
const PICKS = 500;
const width = Number(process.argv[2] ?? 512);
const centreCount = Number(process.argv[3] ?? 1000);

function randomRows(rng: Rng, rows: number): tf.Tensor2D {
  const values = new Float32Array(rows * width);
  for (let i = 0; i < values.length; i++) values[i] = rng.normal();
  return tf.tensor2d(values, [rows, width]);
}

const backends = (process.argv[4] ?? 'wasm,cpu').split(',') as ('wasm' | 'cpu')[];
for (const backend of backends) {
  await nodeBackend(backend);
  const rng = new Rng(1);
  const pool = randomRows(rng, POOL);
  const centres = randomRows(rng, centreCount);
  // A small run first, so one-off set-up is not timed.
  const warm = tf.slice(pool, [0, 0], [100, -1]) as tf.Tensor2D;
  await kCenterGreedy(warm, centres, 5);
  warm.dispose();
  const start = performance.now();
  const picks = await kCenterGreedy(pool, centres, PICKS);
  const seconds = (performance.now() - start) / 1000;
  console.log(JSON.stringify({ backend, pool: POOL, picks: picks.length, centres: centreCount, width, seconds: Number(seconds.toFixed(2)) }));
  pool.dispose();
  centres.dispose();
}
