/**
 * k-center greedy timed as active learning runs it: `picks` images chosen from a pool of `pool`
 * feature rows, with `centres` labelled rows already chosen, on whatever backend tfjs is running. The
 * features are Gaussian: the selection's cost depends on the sizes, not on the values. Pure TS over
 * the engine, so Node and the headless page's worker measure the same way.
 */
import * as tf from '@tensorflow/tfjs';
import { kCenterGreedy } from '../engine/active-learning';
import { Rng } from '../engine/random';

export interface KCenterBenchJob {
  pool: number;
  picks: number;
  centres: number;
  /** Features per image: the encoder's. */
  width: number;
}

export interface KCenterBenchResult extends KCenterBenchJob {
  backend: string;
  seconds: number;
}

/** The sizes: 500 picks from 10,000, with 1,000 labelled. */
export const KCENTER_SIZES = { pool: 10_000, picks: 500, centres: 1_000 } as const;

function gaussianRows(rng: Rng, rows: number, width: number): tf.Tensor2D {
  const values = new Float32Array(rows * width);
  for (let i = 0; i < values.length; i++) values[i] = rng.normal();
  return tf.tensor2d(values, [rows, width]);
}

export async function benchKCenter(job: KCenterBenchJob): Promise<KCenterBenchResult> {
  const rng = new Rng(1);
  const pool = gaussianRows(rng, job.pool, job.width);
  const centres = gaussianRows(rng, job.centres, job.width);
  try {
    // A small selection first, so that one-off set-up (kernels compiled, operators made) is not timed.
    const warm = tf.slice(pool, [0, 0], [Math.min(100, job.pool), -1]) as tf.Tensor2D;
    await kCenterGreedy(warm, centres, Math.min(5, warm.shape[0]));
    warm.dispose();
    const start = performance.now();
    const chosen = await kCenterGreedy(pool, centres, job.picks);
    const seconds = (performance.now() - start) / 1000;
    if (chosen.length !== job.picks) throw new Error(`k-center greedy picked ${chosen.length} of ${job.picks}.`);
    return { ...job, backend: tf.getBackend(), seconds };
  } finally {
    pool.dispose();
    centres.dispose();
  }
}
