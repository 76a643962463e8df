/**
 * Training kernels of the convolutional backbones for the tfjs WebGPU backend: the fused BatchNorm
 * forward and backward passes of fused-batchnorm.ts, a convolution filter gradient that spreads its
 * batch × height × width reduction over workgroups, and the tiled (matrix-product) input gradient.
 *
 * tfjs's own Conv2DBackpropFilter gives each weight one thread that loops over every output
 * position serially; here a workgroup computes a 32 × 32 tile of the weight gradient over one slice
 * of the positions (an implicit im2col product through workgroup memory), and the slices' partial
 * tiles are summed by a second dispatch. tfjs's Conv2DBackpropInput takes its naive program unless
 * WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE is off; the replacement always runs its matrix-product program
 * (Conv2DDerInputMMProgram). The BatchNorm kernels reduce each channel over workgroups of rows (each
 * workgroup a two-pass mean and centred sum of squares, combined exactly afterwards), so a layer is
 * one to three dispatches each way rather than about twenty. A tfjs program has one output; these
 * kernels have several, so they record their own WGSL pipelines with webgpu-recording.ts.
 *
 * webgpu-kernels.ts registers WEBGPU_CONV_BN_KERNELS; webgpu-conv-bn-checks.ts checks them in the
 * browser against the stock kernels and the composite BatchNorm.
 */
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { Conv2DDerInputMMProgram } from '@tensorflow/tfjs-backend-webgpu/dist/conv_backprop_mm_webgpu.js';
import { BATCH_NORM_BACKWARD, BATCH_NORM_FORWARD } from '../engine/fused-batchnorm';
import { bufferOf, dispatch, internals, newTensor, release, workgroupsFor, Words, type Backend } from './webgpu-recording';

type KernelFunc = tf.KernelConfig['kernelFunc'];
type Padding = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
type Shape4 = [number, number, number, number];

/** A scalar of a kernel's uniforms, after tfjs's own (NaN, Infinity, each bound tensor's size). */
interface Uniform {
  name: string;
  type: 'i32' | 'u32' | 'f32';
  value: number;
}

/** One kernel's WGSL: binding i is `tensors[i]`, written where `writes[i]`. */
interface Shader {
  key: string;
  /** The storage variable names, in binding order. */
  tensors: string[];
  writes: boolean[];
  uniforms: Omit<Uniform, 'value'>[];
  body: string;
}

/** The kernel's own scalars (binding 0; WGSL wants a struct of at least one member). */
function uniformStruct(shader: Shader): string {
  const fields = shader.uniforms.map((u) => `${u.name}: ${u.type}`);
  return `struct Uniforms { ${fields.length > 0 ? fields.join(', ') : 'unused: u32'} };`;
}

function source(shader: Shader): string {
  const bindings = shader.tensors.map((name, i) => `@group(0) @binding(${i + 1}) var<storage, ${shader.writes[i] ? 'read_write' : 'read'}> ${name}: array<f32>;`);
  return [uniformStruct(shader), '@group(0) @binding(0) var<uniform> u: Uniforms;', ...bindings, shader.body].join('\n');
}

/** WGSL text per shader key: a kernel's shaders are built once, then looked up on every call. */
const sources = new Map<string, string>();

/**
 * Records one dispatch of `shader` over `tensors` (binding order; the first is written, the others
 * are on the GPU after this), with the kernel's uniform `values` in the order of shader.uniforms.
 */
function record(backend: Backend, shader: Shader, tensors: tf.TensorInfo[], values: number[], workgroups: [number, number, number]): void {
  let code = sources.get(shader.key);
  if (code === undefined) sources.set(shader.key, (code = source(shader)));
  const words = new Words();
  shader.uniforms.forEach((u, i) => (u.type === 'f32' ? words.f32(values[i]) : u.type === 'u32' ? words.u32(values[i]) : words.i32(values[i])));
  dispatch(backend, { code, parameters: { data: words.buffer() }, buffers: tensors.map((t) => bufferOf(backend, t)), workgroups });
}

// ---------------------------------------------------------------------------------------------
// BatchNorm

/** Channels per workgroup (x) and row lanes (y) of the BatchNorm reductions. */
const BN_CHANNELS = 16;
const BN_LANES = 16;

/**
 * Rows per workgroup of a reduction over `rows`: at least 256 (a workgroup's worth of loads per
 * lane), and at most 32 workgroups per channel tile. Up to 256 rows is one workgroup, and then the
 * whole layer is a single dispatch.
 */
function rowsPerGroup(rows: number): number {
  return Math.max(256, Math.ceil(rows / 32));
}

/** WGSL: a sum over the workgroup's lanes of `red` (one column per channel), left in row 0. */
const LANE_SUM = `
  for (var k = ${BN_LANES / 2}u; k > 0u; k = k >> 1u) {
    if (lane < k) { red[lane * ${BN_CHANNELS}u + lx] = red[lane * ${BN_CHANNELS}u + lx] + red[(lane + k) * ${BN_CHANNELS}u + lx]; }
    workgroupBarrier();
  }`;

const BN_PRELUDE = `
var<workgroup> red: array<f32, ${BN_CHANNELS * BN_LANES}>;
@compute @workgroup_size(${BN_CHANNELS}, ${BN_LANES}, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let lx = lid.x;
  let lane = lid.y;
  let channels = u32(u.channels);
  let rows = u32(u.rows);
  let c = wg.x * ${BN_CHANNELS}u + lx;
  let live = c < channels;
  let start = wg.y * u32(u.chunk);
  let end = min(start + u32(u.chunk), rows);
  let count = f32(end - start);`;

const BN_UNIFORMS: Omit<Uniform, 'value'>[] = [
  { name: 'rows', type: 'i32' },
  { name: 'channels', type: 'i32' },
  { name: 'chunk', type: 'i32' },
  { name: 'groups', type: 'i32' },
  { name: 'epsilon', type: 'f32' },
];

/**
 * The forward reduction of one workgroup: its rows' mean m and centred sum of squares M2 per
 * channel (two passes over the rows, as the composite computes them). `single`: the workgroup holds
 * every row, and also writes the statistics and y; otherwise it writes (m, M2) to `partial`.
 */
function forwardReduction(single: boolean, affine: boolean): Shader {
  const tensors = single ? ['y', 'mean', 'variance', 'invStd', 'x', ...(affine ? ['scale', 'offset'] : [])] : ['partial', 'x'];
  const finish = single
    ? `
  let variance_c = red[lx] / count;
  let inv = inverseSqrt(variance_c + u.epsilon);
  if (live && lane == 0u) { mean[c] = m; variance[c] = variance_c; invStd[c] = inv; }
  if (live) {
    let gain = ${affine ? 'scale[c] * inv' : 'inv'};
    let shift = ${affine ? 'offset[c]' : '0.0'};
    for (var r = start + lane; r < end; r = r + ${BN_LANES}u) { let i = r * channels + c; y[i] = (x[i] - m) * gain + shift; }
  }`
    : `
  if (live && lane == 0u) { partial[(wg.y * channels + c) * 2u] = m; partial[(wg.y * channels + c) * 2u + 1u] = red[lx]; }`;
  return {
    key: `bn-forward-${single ? 'single' : 'partial'}-${affine}`,
    tensors,
    writes: tensors.map((name) => !['x', 'scale', 'offset'].includes(name)),
    uniforms: BN_UNIFORMS,
    body: `${BN_PRELUDE}
  var s = 0.0;
  if (live) { for (var r = start + lane; r < end; r = r + ${BN_LANES}u) { s = s + x[r * channels + c]; } }
  red[lane * ${BN_CHANNELS}u + lx] = s;
  workgroupBarrier();
  ${LANE_SUM}
  let m = red[lx] / count;
  workgroupBarrier();
  var q = 0.0;
  if (live) { for (var r = start + lane; r < end; r = r + ${BN_LANES}u) { let d = x[r * channels + c] - m; q = q + d * d; } }
  red[lane * ${BN_CHANNELS}u + lx] = q;
  workgroupBarrier();
  ${LANE_SUM}
  ${finish}
}`,
  };
}

/** The batch statistics from the workgroups' (m, M2): the exact combination of Chan et al., one thread per channel. */
function forwardStatistics(): Shader {
  return perChannel('bn-forward-statistics', ['mean', 'variance', 'invStd'], `
  let rows = u32(u.rows);
  let chunk = u32(u.chunk);
  var total = 0.0;
  for (var g = 0u; g < u32(u.groups); g = g + 1u) { total = total + partial[(g * channels + c) * 2u] * f32(min(chunk, rows - g * chunk)); }
  let m = total / f32(rows);
  var m2 = 0.0;
  for (var g = 0u; g < u32(u.groups); g = g + 1u) {
    let d = partial[(g * channels + c) * 2u] - m;
    m2 = m2 + partial[(g * channels + c) * 2u + 1u] + d * d * f32(min(chunk, rows - g * chunk));
  }
  let v = m2 / f32(rows);
  mean[c] = m;
  variance[c] = v;
  invStd[c] = inverseSqrt(v + u.epsilon);`);
}

/** A shader with one thread per channel that combines the workgroups' partial results (`partial`) into `outputs`. */
function perChannel(key: string, outputs: string[], statements: string): Shader {
  return {
    key,
    tensors: [...outputs, 'partial'],
    writes: [...outputs.map(() => true), false],
    uniforms: BN_UNIFORMS,
    body: `
@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  let channels = u32(u.channels);
  if (c >= channels) { return; }${statements}
}`,
  };
}

/**
 * A BatchNorm shader with one thread per element of a [rows, channels] tensor: the first tensor is
 * written, the rest read; `statements` see the element's index `i`, its channel `c` and `inv = invStd[c]`.
 */
function perElement(key: string, tensors: string[], statements: string): Shader {
  return {
    key,
    tensors,
    writes: tensors.map((_, i) => i === 0),
    uniforms: BN_UNIFORMS,
    body: `
@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = gid.y * groups.x * 256u + gid.x;
  let channels = u32(u.channels);
  if (i >= u32(u.rows) * channels) { return; }
  let c = i % channels;
  let inv = invStd[c];
${statements}
}`,
  };
}

function forwardNormalise(affine: boolean): Shader {
  return perElement(
    `bn-forward-normalise-${affine}`,
    ['y', 'x', 'mean', 'invStd', ...(affine ? ['scale', 'offset'] : [])],
    `  y[i] = ${affine ? '(x[i] - mean[c]) * (scale[c] * inv) + offset[c]' : '(x[i] - mean[c]) * inv'};`,
  );
}

/** Workgroups of 256 threads for `size` threads, folded into (x, y) within the device's limit. */
function elementwiseDispatch(backend: Backend, size: number): [number, number, number] {
  return [...workgroupsFor(backend, size), 1];
}

interface Layout {
  rows: number;
  channels: number;
  chunk: number;
  groups: number;
}

function layoutOf(x: tf.TensorInfo): Layout {
  const channels = x.shape[x.shape.length - 1];
  const rows = tf.util.sizeFromShape(x.shape) / channels;
  const chunk = rowsPerGroup(rows);
  return { rows, channels, chunk, groups: Math.ceil(rows / chunk) };
}

function checkFloat(kernel: string, inputs: (tf.TensorInfo | undefined)[]): void {
  for (const t of inputs) if (t && t.dtype !== 'float32') throw new Error(`${kernel} on webgpu supports float32 only, got ${t.dtype}.`);
}

function batchNormForward(args: Parameters<KernelFunc>[0]): tf.TensorInfo[] {
  const backend = internals(args.backend);
  const { x, scale, offset } = args.inputs as { x: tf.TensorInfo; scale?: tf.TensorInfo; offset?: tf.TensorInfo };
  const { epsilon } = args.attrs as unknown as { epsilon: number };
  checkFloat(BATCH_NORM_FORWARD, [x, scale, offset]);
  if (!scale !== !offset) throw new Error(`${BATCH_NORM_FORWARD}: scale and offset go together.`);
  const affine = scale !== undefined;
  const layout = layoutOf(x);
  const values = [layout.rows, layout.channels, layout.chunk, layout.groups, epsilon];
  const y = newTensor(backend, [...x.shape]);
  const [mean, variance, invStd] = [0, 1, 2].map(() => newTensor(backend, [layout.channels]));
  const tiles = Math.ceil(layout.channels / BN_CHANNELS);
  const params = affine ? [scale!, offset!] : [];
  if (layout.groups === 1) {
    record(backend, forwardReduction(true, affine), [y, mean, variance, invStd, x, ...params], values, [tiles, 1, 1]);
    return [y, mean, variance, invStd];
  }
  const partial = newTensor(backend, [layout.groups, layout.channels, 2]);
  record(backend, forwardReduction(false, affine), [partial, x], values, [tiles, layout.groups, 1]);
  record(backend, forwardStatistics(), [mean, variance, invStd, partial], values, [Math.ceil(layout.channels / 64), 1, 1]);
  release(backend, partial);
  record(backend, forwardNormalise(affine), [y, x, mean, invStd, ...params], values, elementwiseDispatch(backend, tf.util.sizeFromShape(x.shape)));
  return [y, mean, variance, invStd];
}

/**
 * The backward reduction of one workgroup: Σ dy and Σ dy · x̂ per channel over its rows. `single`:
 * the workgroup holds every row, and also writes dScale, dOffset and dx.
 */
function backwardReduction(single: boolean, affine: boolean): Shader {
  const tensors = single ? ['dx', 'dScale', 'dOffset', 'dy', 'x', 'mean', 'invStd', ...(affine ? ['scale'] : [])] : ['partial', 'dy', 'x', 'mean', 'invStd'];
  const finish = single
    ? `
  let sumDyXhat = red[lx];
  if (live && lane == 0u) { dScale[c] = sumDyXhat; dOffset[c] = sumDy; }
  if (live) {
    let gain = ${affine ? 'scale[c]' : '1.0'};
    let meanG = gain * sumDy / count;
    let meanGXhat = gain * sumDyXhat / count;
    for (var r = start + lane; r < end; r = r + ${BN_LANES}u) {
      let i = r * channels + c;
      let xhat = (x[i] - mu) * inv;
      dx[i] = (dy[i] * gain - meanG - xhat * meanGXhat) * inv;
    }
  }`
    : `
  if (live && lane == 0u) { partial[(wg.y * channels + c) * 2u] = sumDy; partial[(wg.y * channels + c) * 2u + 1u] = red[lx]; }`;
  return {
    key: `bn-backward-${single ? 'single' : 'partial'}-${affine}`,
    tensors,
    writes: tensors.map((name) => ['dx', 'dScale', 'dOffset', 'partial'].includes(name)),
    uniforms: BN_UNIFORMS,
    body: `${BN_PRELUDE}
  var mu = 0.0;
  var inv = 0.0;
  if (live) { mu = mean[c]; inv = invStd[c]; }
  var s = 0.0;
  var p = 0.0;
  if (live) {
    for (var r = start + lane; r < end; r = r + ${BN_LANES}u) { let i = r * channels + c; s = s + dy[i]; p = p + dy[i] * (x[i] - mu) * inv; }
  }
  red[lane * ${BN_CHANNELS}u + lx] = s;
  workgroupBarrier();
  ${LANE_SUM}
  let sumDy = red[lx];
  workgroupBarrier();
  red[lane * ${BN_CHANNELS}u + lx] = p;
  workgroupBarrier();
  ${LANE_SUM}
  ${finish}
}`,
  };
}

function backwardSums(): Shader {
  return perChannel('bn-backward-sums', ['dScale', 'dOffset'], `
  var s = 0.0;
  var p = 0.0;
  for (var g = 0u; g < u32(u.groups); g = g + 1u) { s = s + partial[(g * channels + c) * 2u]; p = p + partial[(g * channels + c) * 2u + 1u]; }
  dOffset[c] = s;
  dScale[c] = p;`);
}

function backwardInput(affine: boolean): Shader {
  return perElement(
    `bn-backward-input-${affine}`,
    ['dx', 'dy', 'x', 'mean', 'invStd', 'dScale', 'dOffset', ...(affine ? ['scale'] : [])],
    `  let gain = ${affine ? 'scale[c]' : '1.0'};
  let count = f32(u.rows);
  let xhat = (x[i] - mean[c]) * inv;
  dx[i] = (dy[i] * gain - gain * dOffset[c] / count - xhat * (gain * dScale[c] / count)) * inv;`,
  );
}

function batchNormBackward(args: Parameters<KernelFunc>[0]): tf.TensorInfo[] {
  const backend = internals(args.backend);
  const { dy, x, mean, invStd, scale } = args.inputs as { dy: tf.TensorInfo; x: tf.TensorInfo; mean: tf.TensorInfo; invStd: tf.TensorInfo; scale?: tf.TensorInfo };
  checkFloat(BATCH_NORM_BACKWARD, [dy, x, mean, invStd, scale]);
  const affine = scale !== undefined;
  const layout = layoutOf(x);
  const values = [layout.rows, layout.channels, layout.chunk, layout.groups, 0];
  const dx = newTensor(backend, [...dy.shape]);
  const [dScale, dOffset] = [0, 1].map(() => newTensor(backend, [layout.channels]));
  const tiles = Math.ceil(layout.channels / BN_CHANNELS);
  const gain = affine ? [scale!] : [];
  if (layout.groups === 1) {
    record(backend, backwardReduction(true, affine), [dx, dScale, dOffset, dy, x, mean, invStd, ...gain], values, [tiles, 1, 1]);
    return [dx, dScale, dOffset];
  }
  const partial = newTensor(backend, [layout.groups, layout.channels, 2]);
  record(backend, backwardReduction(false, affine), [partial, dy, x, mean, invStd], values, [tiles, layout.groups, 1]);
  record(backend, backwardSums(), [dScale, dOffset, partial], values, [Math.ceil(layout.channels / 64), 1, 1]);
  release(backend, partial);
  record(backend, backwardInput(affine), [dx, dy, x, mean, invStd, dScale, dOffset, ...gain], values, elementwiseDispatch(backend, tf.util.sizeFromShape(x.shape)));
  return [dx, dScale, dOffset];
}

// ---------------------------------------------------------------------------------------------
// Convolution filter gradient

/** The weight-gradient tile of a workgroup (taps × output channels) and the positions per step. */
const TILE = 32;
const TILE_M = 16;

/** Positions per slice of the reduction: at least 256, and enough slices for about 128 workgroups. */
function positionsPerSlice(positions: number, tiles: number): number {
  const slices = Math.max(1, Math.min(Math.ceil(128 / tiles), Math.floor(positions / 256)));
  return Math.ceil(positions / slices / TILE_M) * TILE_M;
}

const FILTER_UNIFORMS: Omit<Uniform, 'value'>[] = [
  'batch', 'inHeight', 'inWidth', 'inChannels', 'outHeight', 'outWidth', 'outChannels', 'filterWidth',
  'strideHeight', 'strideWidth', 'padTop', 'padLeft', 'taps', 'positions', 'slicePositions', 'slices',
].map((name) => ({ name, type: 'i32' as const }));

/**
 * dW[tap, co] = Σ over positions m of cols[m, tap] · dy[m, co], cols read straight from x (implicit
 * im2col). Workgroup (x: output-channel tile, y: tap tile, z: slice of positions); 16 × 16 threads,
 * each 2 × 2 outputs. With one slice it writes dW, otherwise its slice's partial tile.
 */
function filterTiles(): Shader {
  return {
    key: 'conv2d-filter-tiles',
    tensors: ['result', 'x', 'dy'],
    writes: [true, false, false],
    uniforms: FILTER_UNIFORMS,
    body: `
var<workgroup> tileA: array<f32, ${TILE_M * TILE}>;
var<workgroup> tileB: array<f32, ${TILE_M * TILE}>;
@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tx = i32(lid.x);
  let ty = i32(lid.y);
  let lin = ty * 16 + tx;
  let coBase = i32(wg.x) * ${TILE};
  let tapBase = i32(wg.y) * ${TILE};
  let first = i32(wg.z) * u.slicePositions;
  let last = min(first + u.slicePositions, u.positions);
  var acc = vec4<f32>(0.0);
  for (var m0 = first; m0 < last; m0 = m0 + ${TILE_M}) {
    for (var e = 0; e < 2; e = e + 1) {
      let k = lin + e * 256;
      let col = k % ${TILE};
      let row = k / ${TILE};
      let m = m0 + row;
      let tap = tapBase + col;
      var a = 0.0;
      if (m < last && tap < u.taps) {
        let ci = tap % u.inChannels;
        let kk = tap / u.inChannels;
        let kw = kk % u.filterWidth;
        let kh = kk / u.filterWidth;
        let ow = m % u.outWidth;
        let rest = m / u.outWidth;
        let oh = rest % u.outHeight;
        let n = rest / u.outHeight;
        let ih = oh * u.strideHeight - u.padTop + kh;
        let iw = ow * u.strideWidth - u.padLeft + kw;
        if (ih >= 0 && ih < u.inHeight && iw >= 0 && iw < u.inWidth) { a = x[((n * u.inHeight + ih) * u.inWidth + iw) * u.inChannels + ci]; }
      }
      tileA[row * ${TILE} + col] = a;
      let co = coBase + col;
      var b = 0.0;
      if (m < last && co < u.outChannels) { b = dy[m * u.outChannels + co]; }
      tileB[row * ${TILE} + col] = b;
    }
    workgroupBarrier();
    for (var j = 0; j < ${TILE_M}; j = j + 1) {
      let a0 = tileA[j * ${TILE} + ty];
      let a1 = tileA[j * ${TILE} + ty + 16];
      let b0 = tileB[j * ${TILE} + tx];
      let b1 = tileB[j * ${TILE} + tx + 16];
      acc = acc + vec4<f32>(a0 * b0, a0 * b1, a1 * b0, a1 * b1);
    }
    workgroupBarrier();
  }
  let base = i32(wg.z) * u.taps * u.outChannels;
  let t0 = tapBase + ty;
  let t1 = t0 + 16;
  let c0 = coBase + tx;
  let c1 = c0 + 16;
  if (t0 < u.taps && c0 < u.outChannels) { result[base + t0 * u.outChannels + c0] = acc.x; }
  if (t0 < u.taps && c1 < u.outChannels) { result[base + t0 * u.outChannels + c1] = acc.y; }
  if (t1 < u.taps && c0 < u.outChannels) { result[base + t1 * u.outChannels + c0] = acc.z; }
  if (t1 < u.taps && c1 < u.outChannels) { result[base + t1 * u.outChannels + c1] = acc.w; }
}`,
  };
}

function filterSlicesSum(): Shader {
  return {
    key: 'conv2d-filter-slices',
    tensors: ['dw', 'partial'],
    writes: [true, false],
    uniforms: FILTER_UNIFORMS,
    body: `
@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = i32(gid.y * groups.x * 256u + gid.x);
  let size = u.taps * u.outChannels;
  if (i >= size) { return; }
  var s = 0.0;
  for (var z = 0; z < u.slices; z = z + 1) { s = s + partial[z * size + i]; }
  dw[i] = s;
}`,
  };
}

interface ConvGradAttrs {
  strides: [number, number] | number;
  pad: Padding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: Shape4;
}

function conv2dBackpropFilter(args: Parameters<KernelFunc>[0]): tf.TensorInfo {
  const backend = internals(args.backend);
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const attrs = args.attrs as unknown as ConvGradAttrs;
  if (attrs.dataFormat !== 'NHWC') throw new Error(`Conv2DBackpropFilter on webgpu supports NHWC only, got ${attrs.dataFormat}.`);
  checkFloat(tf.Conv2DBackpropFilter, [x, dy]);
  const info = tf.backend_util.computeConv2DInfo(x.shape as Shape4, attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
  const taps = info.filterHeight * info.filterWidth * info.inChannels;
  const positions = info.batchSize * info.outHeight * info.outWidth;
  const tiles = Math.ceil(info.outChannels / TILE) * Math.ceil(taps / TILE);
  const slicePositions = positionsPerSlice(positions, tiles);
  const slices = Math.ceil(positions / slicePositions);
  const values = [
    info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.outChannels, info.filterWidth,
    info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left, taps, positions, slicePositions, slices,
  ];
  const dispatch: [number, number, number] = [Math.ceil(info.outChannels / TILE), Math.ceil(taps / TILE), slices];
  const dw = newTensor(backend, [...attrs.filterShape]);
  if (slices === 1) {
    record(backend, filterTiles(), [dw, x, dy], values, dispatch);
    return dw;
  }
  const partial = newTensor(backend, [slices, taps, info.outChannels]);
  record(backend, filterTiles(), [partial, x, dy], values, dispatch);
  record(backend, filterSlicesSum(), [dw, partial], values, elementwiseDispatch(backend, taps * info.outChannels));
  release(backend, partial);
  return dw;
}

/** tfjs's own input gradient with its matrix-product program (tfjs 4.22's kernels/Conv2DBackpropInput.js, the naive branch left out). */
function conv2dBackpropInput(args: Parameters<KernelFunc>[0]): tf.TensorInfo {
  const backend = args.backend as unknown as WebGPUBackend;
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const attrs = args.attrs as unknown as Omit<ConvGradAttrs, 'filterShape'> & { inputShape: Shape4 };
  if (attrs.dataFormat !== 'NHWC') throw new Error(`Conv2DBackpropInput on webgpu supports NHWC only, got ${attrs.dataFormat}.`);
  const info = tf.backend_util.computeConv2DInfo(attrs.inputShape, filter.shape as Shape4, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
  const dimensions = [
    { type: 'int32', data: [info.filterHeight, info.filterWidth] },
    { type: 'int32', data: [info.filterHeight - 1 - info.padInfo.top, info.filterWidth - 1 - info.padInfo.left] },
    { type: 'int32', data: [info.strideHeight, info.strideWidth] },
    { type: 'int32', data: [info.batchSize, info.outHeight, info.outWidth, info.outChannels] },
    { type: 'uint32', data: [info.inHeight * info.inWidth] },
    { type: 'uint32', data: [info.inChannels] },
    { type: 'uint32', data: [info.filterHeight * info.filterWidth * info.outChannels] },
  ];
  return backend.runWebGPUProgram(new Conv2DDerInputMMProgram(info), [dy, filter], 'float32', dimensions);
}

/** The kernels webgpu-kernels.ts registers for 'webgpu' (the convolution gradients in place of tfjs's). */
export const WEBGPU_CONV_BN_KERNELS: Record<string, KernelFunc> = {
  [tf.Conv2DBackpropFilter]: conv2dBackpropFilter as unknown as KernelFunc,
  [tf.Conv2DBackpropInput]: conv2dBackpropInput as unknown as KernelFunc,
  [BATCH_NORM_FORWARD]: batchNormForward as unknown as KernelFunc,
  [BATCH_NORM_BACKWARD]: batchNormBackward as unknown as KernelFunc,
};
