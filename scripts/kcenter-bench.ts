/**
 * Times k-center greedy (src/engine/active-learning.ts) as active learning runs it: 500 picks from a
 * pool of 10,000 feature rows, with the labelled images as centres, on the Node backends (wasm, cpu).
 * `npm run bench` times it on the browser backends.
 * Usage: npx tsx scripts/kcenter-bench.ts [feature width, default 512 (ResNet-18)] [centres, default 1000] [backends, default wasm,cpu]
 * Prints one JSON line per backend.
 */
import { benchKCenter, KCENTER_SIZES } from '../src/runner/kcenter-bench';
import { nodeBackend } from '../src/runner/node-backend';

const width = Number(process.argv[2] ?? 512);
const centres = Number(process.argv[3] ?? KCENTER_SIZES.centres);
const backends = (process.argv[4] ?? 'wasm,cpu').split(',') as ('wasm' | 'cpu')[];
for (const backend of backends) {
  await nodeBackend(backend);
  const result = await benchKCenter({ ...KCENTER_SIZES, centres, width });
  console.log(JSON.stringify({ ...result, seconds: Number(result.seconds.toFixed(2)) }));
}
