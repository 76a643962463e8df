/**
 * `npx tsx scripts/wasm-step-bench.ts [--steps N] [--backends wasm,cpu] [--setups tiny16,tiny32,resnet8]`:
 * milliseconds per BYOL training step (classroom preset, AdamW, the full step with its metrics) on
 * the wasm backend with wasm-kernels.ts and on the tfjs CPU backend with cpu-kernels.ts, in Node,
 * after a warm-up; then the wasm convolution kernels' GFLOP/s at a 3×3, 32 → 32 channel,
 * 32 × 32, batch-32 layer, the direct kernels (relaxed SIMD where Node compiles it) and XNNPACK's: a quick check in Node while working on the kernels (`npm run bench` measures
 * the app in Chromium, beside PyTorch).
 */
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { shapesDataset } from '../src/data/shapes';
import '../src/engine/cpu-kernels';
import { getMethod } from '../src/engine/methods/registry';
import { BACKBONE_PRESETS, type BackbonePreset } from '../src/engine/presets';
import { Trainer } from '../src/engine/trainer';
import '../src/runner/relaxed-simd';
import { relaxedSimdSupported, useDirectConvolutions } from '../src/kernels/wasm-kernels';

const WARMUP_STEPS = 3;
const WARMUP_MS = 3000;

const SETUPS: Record<string, { encoder: BackbonePreset; imageSize: number; batchSize: number }> = {
  tiny16: { encoder: 'convnet-tiny', imageSize: 16, batchSize: 16 },
  tiny32: { encoder: 'convnet-tiny', imageSize: 16, batchSize: 32 },
  resnet8: { encoder: 'resnet-8', imageSize: 32, batchSize: 32 },
};

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '5' },
    backends: { type: 'string', default: 'wasm,cpu' },
    setups: { type: 'string', default: Object.keys(SETUPS).join(',') },
  },
});
const steps = Number(args.steps);
if (!Number.isInteger(steps) || steps < 1) throw new Error(`--steps must be a positive integer, got ${args.steps}`);

/** Wall-clock and process CPU milliseconds per step: on a shared machine the CPU time is the steadier of the two. */
async function msPerStep(setupName: string): Promise<{ wall: number; cpu: number }> {
  const setup = SETUPS[setupName];
  if (!setup) throw new Error(`Unknown setup "${setupName}"; known: ${Object.keys(SETUPS).join(', ')}`);
  const config = { ...getMethod('byol').defaults('classroom'), backbone: BACKBONE_PRESETS[setup.encoder], imageSize: setup.imageSize, batchSize: setup.batchSize };
  const trainer = new Trainer(config, shapesDataset({ trainCount: 8 * setup.batchSize, testCount: 12, size: setup.imageSize }));
  // The process warms up too: V8 optimises the engine's JavaScript and the backends' WebAssembly in
  // the background, and the first setup measured would pay for it.
  const warmupStarted = performance.now();
  for (let i = 0; i < WARMUP_STEPS || performance.now() - warmupStarted < WARMUP_MS; i++) {
    trainer.step();
    await trainer.flush();
  }
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  for (let i = 0; i < steps; i++) {
    trainer.step();
    await trainer.flush();
  }
  const cpu = process.cpuUsage(cpuStarted);
  const result = { wall: (performance.now() - started) / steps, cpu: (cpu.user + cpu.system) / 1000 / steps };
  trainer.dispose();
  return result;
}

/** Best of `repeats` timings of one kernel call, in GFLOP/s. */
function gflops(flops: number, run: () => tf.Tensor, repeats = 7): number {
  let best = Infinity;
  for (let r = 0; r < repeats; r++) {
    const started = performance.now();
    const out = run();
    best = Math.min(best, performance.now() - started);
    out.dispose();
  }
  return flops / best / 1e6;
}

function convolutionKernels(): Record<string, number> {
  return tf.tidy(() => {
    const x = tf.randomNormal([32, 32, 32, 32]) as tf.Tensor4D;
    const filter = tf.randomNormal([3, 3, 32, 32]) as tf.Tensor4D;
    const dy = tf.randomNormal([32, 32, 32, 32]) as tf.Tensor4D;
    const flops = 2 * dy.size * 3 * 3 * 32;
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC' };
    return {
      'forward Conv2D': gflops(flops, () => tf.conv2d(x, filter, 1, 'same')),
      Conv2DBackpropFilter: gflops(flops, () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: [3, 3, 32, 32] }) as tf.Tensor),
      Conv2DBackpropInput: gflops(flops, () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, { ...attrs, inputShape: [32, 32, 32, 32] }) as tf.Tensor),
    };
  });
}

const backends = args.backends.split(',');
const setups = args.setups.split(',');
const results: Record<string, Record<string, { wall: number; cpu: number }>> = {};
for (const backend of backends) {
  if (!(await tf.setBackend(backend))) throw new Error(`Backend "${backend}" is not available`);
  for (const setup of setups) {
    const ms = await msPerStep(setup);
    (results[setup] ??= {})[backend] = ms;
    process.stdout.write(`${setup.padEnd(8)} ${backend.padEnd(5)} ${ms.wall.toFixed(1).padStart(9)} ms/step wall, ${ms.cpu.toFixed(1).padStart(9)} ms/step CPU time (BYOL, mean of ${steps} after ≥ ${WARMUP_STEPS} warm-up steps and ${WARMUP_MS / 1000} s)\n`);
  }
}
if (backends.includes('wasm') && backends.includes('cpu')) {
  for (const setup of setups) process.stdout.write(`${setup.padEnd(8)} wasm is ${(results[setup].cpu.wall / results[setup].wasm.wall).toFixed(1)}× the CPU backend (wall clock)\n`);
}
if (backends.includes('wasm')) {
  await tf.setBackend('wasm');
  const direct = `direct${relaxedSimdSupported() ? ', relaxed SIMD' : ''}`;
  for (const [path, choice] of [[direct, true], ['XNNPACK', false]] as const) {
    useDirectConvolutions(choice);
    for (const [kernel, rate] of Object.entries(convolutionKernels())) process.stdout.write(`wasm ${kernel.padEnd(21)} ${path.padEnd(21)} ${rate.toFixed(1).padStart(6)} GFLOP/s (3×3, 32 → 32, 32 × 32, batch 32; best of 7)\n`);
  }
  useDirectConvolutions('auto');
}
