/**
 * The fused updates of fused-updates.ts for tfjs's WebGPU backend, each operation in float32 as its
 * composite computes it. The multi-tensor ones (AdamW, SGD with momentum and LARS, the EMA) work on
 * flat buffers: every tensor of a list is copied into one flat scratch buffer (encoder copies, not
 * dispatches), one dispatch updates every element, and the results are copied out into new buffers,
 * one per output tensor (never into an input's buffer: a clone or an EMA target may share it). Lists
 * longer than one storage binding allows are split into chunks of whole tensors. LARS's per-tensor norms
 * are one reduction dispatch over the flat buffers, a workgroup per tensor, read by the update on the
 * GPU. Scalars travel in each dispatch's parameter block, as tfjs's uniforms do.
 */
import * as tf from '@tensorflow/tfjs';
import { ADAMW_UPDATE, EMA_UPDATE, MOMENTUM_UPDATE, RELU_BACKWARD, RUNNING_STATISTICS_UPDATE, type AdamWUpdateAttrs, type MomentumUpdateAttrs } from '../engine/fused-updates';
import { updateGroups as checkedGroups } from './update-groups';
import { FLAT_INDEX, WORKGROUP_SIZE, Words, bufferOf, copyFloats, dispatch, internals, newTensor, release, workgroupsFor, type Backend } from './webgpu-recording';

type KernelFunc = tf.KernelConfig['kernelFunc'];
type KernelArgs = Parameters<KernelFunc>[0];

function updateGroups(kernel: string, inputs: tf.TensorInfo[], groups: number): tf.TensorInfo[][] {
  return checkedGroups(kernel, inputs, groups, 'webgpu');
}

const size = (t: tf.TensorInfo) => tf.util.sizeFromShape(t.shape);

/** Tensors (by index) laid out one after another in a flat buffer. */
interface Chunk {
  tensors: number[];
  /** Where each tensor of `tensors` starts, and the total at the end. */
  offsets: number[];
  total: number;
}

/** `order` split into runs of whole tensors that each fit one storage binding. */
function chunks(backend: Backend, sizes: number[], order: number[]): Chunk[] {
  const limit = Math.floor(backend.device.limits.maxStorageBufferBindingSize / 4);
  const found: Chunk[] = [];
  let current: Chunk = { tensors: [], offsets: [0], total: 0 };
  for (const i of order) {
    if (sizes[i] > limit) throw new Error(`A tensor of ${sizes[i]} values exceeds the largest storage binding (${limit} floats).`);
    if (current.total + sizes[i] > limit) {
      found.push(current);
      current = { tensors: [], offsets: [0], total: 0 };
    }
    current.tensors.push(i);
    current.total += sizes[i];
    current.offsets.push(current.total);
  }
  if (current.tensors.length > 0) found.push(current);
  return found.filter((c) => c.total > 0);
}

/** Each list's tensors of `chunk` copied into one new flat buffer. */
function gather(backend: Backend, lists: tf.TensorInfo[][], chunk: Chunk): tf.TensorInfo[] {
  return lists.map((list) => {
    const flat = newTensor(backend, [chunk.total]);
    const to = bufferOf(backend, flat);
    chunk.tensors.forEach((i, k) => copyFloats(backend, bufferOf(backend, list[i]), 0, to, chunk.offsets[k], size(list[i])));
    return flat;
  });
}

/** Each flat buffer's segments copied into the matching output tensors. */
function scatter(backend: Backend, flats: tf.TensorInfo[], outputs: tf.TensorInfo[][], chunk: Chunk): void {
  flats.forEach((flat, j) => {
    const from = bufferOf(backend, flat);
    chunk.tensors.forEach((i, k) => copyFloats(backend, from, chunk.offsets[k], bufferOf(backend, outputs[j][i]), 0, size(outputs[j][i])));
  });
}

/** New output tensors shaped as each tensor of each list. */
function outputsLike(backend: Backend, lists: tf.TensorInfo[][]): tf.TensorInfo[][] {
  return lists.map((list) => list.map((t) => newTensor(backend, [...t.shape])));
}

/** One elementwise dispatch over `chunk`: the flats of `inputs` in, new flats out, scattered into `outputs`. */
function flatUpdate(backend: Backend, code: string, parameters: Words, inputs: tf.TensorInfo[][], outputs: tf.TensorInfo[][], chunk: Chunk, extra: tf.TensorInfo[] = []): void {
  const flats = gather(backend, inputs, chunk);
  const results = outputs.map(() => newTensor(backend, [chunk.total]));
  const workgroups = workgroupsFor(backend, chunk.total);
  dispatch(backend, {
    code,
    parameters: { data: parameters.buffer() },
    buffers: [...flats, ...extra, ...results].map((t) => bufferOf(backend, t)),
    workgroups,
  });
  scatter(backend, results, outputs, chunk);
  release(backend, ...flats, ...results);
}

/** A shader over flat buffers: `params` (a uniform struct beginning with total and width), read-only inputs, then outputs. */
function elementwiseShader(fields: string[], inputs: string[], outputs: string[], body: string): string {
  const bindings = [
    ...inputs.map((name, i) => `@group(0) @binding(${i + 1}) var<storage, read> ${name}: array<f32>;`),
    ...outputs.map((name, i) => `@group(0) @binding(${inputs.length + i + 1}) var<storage, read_write> ${name}: array<f32>;`),
  ];
  return `
struct Params { total: u32, width: u32, ${fields.join(', ')} }
@group(0) @binding(0) var<uniform> params: Params;
${bindings.join('\n')}
@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = ${FLAT_INDEX};
  if (i >= params.total) { return; }
${body}
}`;
}

const ADAMW_SHADER = elementwiseShader(
  ['decayedEnd: u32', 'beta1: f32', 'oneMinusBeta1: f32', 'beta2: f32', 'oneMinusBeta2: f32', 'correction1: f32', 'correction2: f32', 'epsilon: f32', 'lr: f32', 'decayFactor: f32'],
  ['w', 'g', 'm', 'v'],
  ['wOut', 'mOut', 'vOut'],
  `  let gi = g[i];
  let moment1 = m[i] * params.beta1 + gi * params.oneMinusBeta1;
  let moment2 = v[i] * params.beta2 + (gi * gi) * params.oneMinusBeta2;
  let stepDir = (moment1 / params.correction1) / (sqrt(moment2 / params.correction2) + params.epsilon);
  var decayedW = w[i];
  if (i < params.decayedEnd) { decayedW = decayedW * params.decayFactor; }
  mOut[i] = moment1;
  vOut[i] = moment2;
  wOut[i] = decayedW - stepDir * params.lr;`,
);

/** AdamW over every parameter: the decayed tensors first in the flat layout, so that one bound says which elements decay. */
function adamWUpdate(args: KernelArgs): tf.TensorInfo[] {
  const backend = internals(args.backend);
  const [weights, grads, first, second] = updateGroups(ADAMW_UPDATE, args.inputs as unknown as tf.TensorInfo[], 4);
  const attrs = args.attrs as unknown as AdamWUpdateAttrs;
  const outputs = outputsLike(backend, [weights, first, second]);
  const indices = weights.map((_, i) => i);
  const order = [...indices.filter((i) => attrs.decayed[i]), ...indices.filter((i) => !attrs.decayed[i])];
  for (const chunk of chunks(backend, weights.map(size), order)) {
    const decayedEnd = chunk.tensors.reduce((end, i, k) => (attrs.decayed[i] ? chunk.offsets[k + 1] : end), 0);
    const parameters = new Words()
      .u32(chunk.total, workgroupsFor(backend, chunk.total)[0], decayedEnd)
      .f32(attrs.beta1, 1 - attrs.beta1, attrs.beta2, 1 - attrs.beta2, attrs.correction1, attrs.correction2, attrs.epsilon, attrs.lr, attrs.decayFactor);
    flatUpdate(backend, ADAMW_SHADER, parameters, [weights, grads, first, second], outputs, chunk);
  }
  return outputs.flat();
}

/** Flags per tensor in the momentum kernels' tables. */
const DECAYED = 1;
const TRUSTED = 2;

/**
 * The momentum kernels' parameter block: a header of eight words, then the chunk's tensor offsets
 * (count + 1) and flags (count), read as a storage buffer.
 */
const MOMENTUM_PARAMS = `
struct Params { total: u32, width: u32, count: u32, clipLr: u32, lr: f32, momentum: f32, decay: f32, eta: f32, table: array<u32> }
@group(0) @binding(0) var<storage, read> params: Params;
fn flagsOf(t: u32) -> u32 { return params.table[params.count + 1u + t]; }`;

/**
 * LARS's trust ratio per tensor, one workgroup each: ‖w‖ and ‖g‖ from float32 sums of squares, then
 * η‖w‖ / (‖g‖ + wd‖w‖ + 1e-8), clipped to ratio / lr ≤ 1 where asked, 1 where either norm is not
 * positive or the tensor is not trusted.
 */
const TRUST_SHADER = `${MOMENTUM_PARAMS}
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> scales: array<f32>;
var<workgroup> wSums: array<f32, ${WORKGROUP_SIZE}>;
var<workgroup> gSums: array<f32, ${WORKGROUP_SIZE}>;
@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wid.x;
  var wSum = 0.0;
  var gSum = 0.0;
  for (var j = params.table[t] + lid; j < params.table[t + 1u]; j += ${WORKGROUP_SIZE}u) {
    let a = w[j];
    let b = g[j];
    wSum += a * a;
    gSum += b * b;
  }
  wSums[lid] = wSum;
  gSums[lid] = gSum;
  workgroupBarrier();
  for (var stride = ${WORKGROUP_SIZE / 2}u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) {
      wSums[lid] += wSums[lid + stride];
      gSums[lid] += gSums[lid + stride];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    var scale = 1.0;
    if ((flagsOf(t) & ${TRUSTED}u) != 0u) {
      let wNorm = sqrt(wSums[0]);
      let gNorm = sqrt(gSums[0]);
      var trust = (wNorm * params.eta) / ((gNorm + wNorm * params.decay) + 1e-8);
      if (params.clipLr != 0u) { trust = min(trust / params.lr, 1.0); }
      if (wNorm > 0.0 && gNorm > 0.0) { scale = trust; }
    }
    scales[t] = scale;
  }
}`;

/** u = g (+ w·wd where decayed) (· the trust ratio where trusted); buffer' = buffer·μ + u; w' = w − buffer'·lr. */
function momentumShader(trusted: boolean): string {
  return `${MOMENTUM_PARAMS}
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read> momenta: array<f32>;
${trusted ? '@group(0) @binding(4) var<storage, read> scales: array<f32>;' : ''}
@group(0) @binding(${trusted ? 5 : 4}) var<storage, read_write> wOut: array<f32>;
@group(0) @binding(${trusted ? 6 : 5}) var<storage, read_write> momentaOut: array<f32>;
@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = ${FLAT_INDEX};
  if (i >= params.total) { return; }
  var low = 0u;
  var high = params.count;
  while (high - low > 1u) {
    let middle = (low + high) / 2u;
    if (params.table[middle] <= i) { low = middle; } else { high = middle; }
  }
  let flags = flagsOf(low);
  let wi = w[i];
  var u = g[i];
  if ((flags & ${DECAYED}u) != 0u) { u = u + wi * params.decay; }
${trusted ? `  if ((flags & ${TRUSTED}u) != 0u) { u = u * scales[low]; }` : ''}
  let nextMomentum = momenta[i] * params.momentum + u;
  momentaOut[i] = nextMomentum;
  wOut[i] = wi - nextMomentum * params.lr;
}`;
}

/** SGD with momentum or LARS over every parameter: a reduction dispatch for LARS's norms, one for the update, per chunk. */
function momentumUpdate(args: KernelArgs): tf.TensorInfo[] {
  const backend = internals(args.backend);
  const [weights, grads, buffers] = updateGroups(MOMENTUM_UPDATE, args.inputs as unknown as tf.TensorInfo[], 3);
  const attrs = args.attrs as unknown as MomentumUpdateAttrs;
  const outputs = outputsLike(backend, [weights, buffers]);
  for (const chunk of chunks(backend, weights.map(size), weights.map((_, i) => i))) {
    const count = chunk.tensors.length;
    const flags = chunk.tensors.map((i) => (attrs.decayed[i] ? DECAYED : 0) | (attrs.trusted[i] ? TRUSTED : 0));
    const trusted = flags.some((f) => (f & TRUSTED) !== 0);
    const width = workgroupsFor(backend, chunk.total)[0];
    const parameters = new Words()
      .u32(chunk.total, width, count, attrs.clipLr ? 1 : 0)
      .f32(attrs.lr, attrs.momentum, attrs.weightDecay, attrs.eta)
      .u32(...chunk.offsets, ...flags);
    const [w, g, buffer] = gather(backend, [weights, grads, buffers], chunk);
    const results = [newTensor(backend, [chunk.total]), newTensor(backend, [chunk.total])];
    const scales = trusted ? [newTensor(backend, [count])] : [];
    if (trusted) {
      if (count > backend.device.limits.maxComputeWorkgroupsPerDimension) throw new Error(`LARS on webgpu: ${count} tensors exceed one dispatch's workgroups.`);
      dispatch(backend, { code: TRUST_SHADER, parameters: { data: parameters.buffer(), storage: true }, buffers: [w, g, scales[0]].map((t) => bufferOf(backend, t)), workgroups: [count, 1] });
    }
    dispatch(backend, {
      code: momentumShader(trusted),
      parameters: { data: parameters.buffer(), storage: true },
      buffers: [w, g, buffer, ...scales, ...results].map((t) => bufferOf(backend, t)),
      workgroups: workgroupsFor(backend, chunk.total),
    });
    scatter(backend, results, outputs, chunk);
    release(backend, w, g, buffer, ...scales, ...results);
  }
  return outputs.flat();
}

const EMA_SHADER = elementwiseShader(['rate: f32'], ['targets', 'onlines'], ['targetsOut'], '  let t = targets[i];\n  targetsOut[i] = t + (onlines[i] - t) * params.rate;');

/** Every EMA target moved towards its online tensor: one dispatch per chunk. */
function emaUpdate(args: KernelArgs): tf.TensorInfo[] {
  const backend = internals(args.backend);
  const [targets, onlines] = updateGroups(EMA_UPDATE, args.inputs as unknown as tf.TensorInfo[], 2);
  const { rate } = args.attrs as unknown as { rate: number };
  const outputs = outputsLike(backend, [targets]);
  for (const chunk of chunks(backend, targets.map(size), targets.map((_, i) => i))) {
    const parameters = new Words().u32(chunk.total, workgroupsFor(backend, chunk.total)[0]).f32(rate);
    flatUpdate(backend, EMA_SHADER, parameters, [targets, onlines], outputs, chunk);
  }
  return outputs[0];
}

const RUNNING_STATISTICS_SHADER = elementwiseShader(
  ['keep: f32', 'rate: f32', 'varianceRate: f32'],
  ['runningMean', 'runningVariance', 'mean', 'variance'],
  ['meanOut', 'varianceOut'],
  `  meanOut[i] = runningMean[i] * params.keep + mean[i] * params.rate;
  varianceOut[i] = runningVariance[i] * params.keep + variance[i] * params.varianceRate;`,
);

/** Both BatchNorm running statistics in one dispatch, into new buffers. */
function runningStatisticsUpdate(args: KernelArgs): tf.TensorInfo[] {
  const backend = internals(args.backend);
  const { runningMean, runningVariance, mean, variance } = args.inputs as Record<string, tf.TensorInfo>;
  updateGroups(RUNNING_STATISTICS_UPDATE, [runningMean, runningVariance, mean, variance], 4);
  const { keep, rate, varianceRate } = args.attrs as unknown as { keep: number; rate: number; varianceRate: number };
  const [outputs] = outputsLike(backend, [[runningMean, runningVariance]]);
  const total = size(runningMean);
  if (total > 0) {
    dispatch(backend, {
      code: RUNNING_STATISTICS_SHADER,
      parameters: { data: new Words().u32(total, workgroupsFor(backend, total)[0]).f32(keep, rate, varianceRate).buffer() },
      buffers: [runningMean, runningVariance, mean, variance, ...outputs].map((t) => bufferOf(backend, t)),
      workgroups: workgroupsFor(backend, total),
    });
  }
  return outputs;
}

/** dy · step(x): step is 1 where x > 0, x itself where x is NaN, 0 elsewhere, as tfjs's Step on WebGPU. */
const RELU_BACKWARD_SHADER = elementwiseShader([], ['dy', 'x'], ['dx'], `  let v = x[i];
  var gate = select(0.0, 1.0, v > 0.0);
  if ((bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u) { gate = v; }
  dx[i] = dy[i] * gate;`);

function reluBackward(args: KernelArgs): tf.TensorInfo {
  const backend = internals(args.backend);
  const { dy, x } = args.inputs as Record<string, tf.TensorInfo>;
  updateGroups(RELU_BACKWARD, [dy, x], 2);
  const dx = newTensor(backend, [...dy.shape]);
  const total = size(dy);
  if (total > 0) {
    dispatch(backend, {
      code: RELU_BACKWARD_SHADER,
      parameters: { data: new Words().u32(total, workgroupsFor(backend, total)[0]).buffer() },
      buffers: [dy, x, dx].map((t) => bufferOf(backend, t)),
      workgroups: workgroupsFor(backend, total),
    });
  }
  return dx;
}

/** The kernels of this file by name, for webgpu-kernels.ts to register. */
export const WEBGPU_UPDATE_KERNELS: Record<string, KernelFunc> = {
  [ADAMW_UPDATE]: adamWUpdate as unknown as KernelFunc,
  [MOMENTUM_UPDATE]: momentumUpdate as unknown as KernelFunc,
  [EMA_UPDATE]: emaUpdate as unknown as KernelFunc,
  [RUNNING_STATISTICS_UPDATE]: runningStatisticsUpdate as unknown as KernelFunc,
  [RELU_BACKWARD]: reluBackward as KernelFunc,
};
