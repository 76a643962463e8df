/**
 * fused-metrics.ts's EMBEDDING_STATISTICS for tfjs's WebGPU backend: three dispatches, no read-back.
 *
 * 1. Rows, a workgroup per row i: the norms of z1_i and z2_i (√max(‖z‖², 1e-24), as l2Normalize), the
 *    matched cosine ẑ1_i·ẑ2_i and ‖ẑ1_i − ẑ2_i‖².
 * 2. Pairs and columns. A workgroup per 16×16 tile of pairs (i, j) multiplies normalised rows staged in
 *    workgroup memory, for both ẑ1_i·ẑ1_j (uniformity's pairs i < j) and ẑ1_i·ẑ2_j (the other pairs'
 *    cosine, i ≠ j), and leaves its partial sums: the tile's log-sum-exp as (max, Σ exp(l − max)) and
 *    its sum of cosines. Further workgroups take a column of ẑ1 per invocation: its unbiased std.
 * 3. One workgroup folds the partials into the five numbers.
 * The composites' operations are kept (division by the norm, relu of 2 − 2g, the mean before the
 * centred squares), so the results differ from theirs only by the order of float32 sums.
 *
 * LINEAR_PROBE_GRADIENTS in two dispatches: an invocation per row (its logits, their log-sum-exp, its
 * loss, whether its first largest logit is its label, its logits' gradient (softmax − one-hot) / n),
 * then an invocation per weight and per bias (a sum over the rows) and one for the two means.
 */
import * as tf from '@tensorflow/tfjs';
import { EMBEDDING_STATISTICS, EMBEDDING_STATISTICS_ORDER, LINEAR_PROBE_GRADIENTS } from '../engine/fused-metrics';
import { FLAT_INDEX, WORKGROUP_SIZE, Words, bufferOf, dispatch, internals, newTensor, release, workgroupsFor, type Backend } from './webgpu-recording';

type KernelFunc = tf.KernelConfig['kernelFunc'];
type KernelArgs = Parameters<KernelFunc>[0];

/** Rows (and columns) of a tile of pairs: TILE × TILE = WORKGROUP_SIZE invocations, one pair each. */
const TILE = 16;
/** Values per row in the rows pass's output: the two norms, the matched cosine and the squared distance. */
const ROW_VALUES = 4;
/** Values per tile in the pairs pass's output: log-sum-exp max and sum, and the cosine sum. */
const TILE_VALUES = 3;
/** Below every logit (they lie in [−8, 0]): the max of a tile without pairs i < j, whose sum is 0. */
const NO_PAIRS = -3.0e38;

const PARAMS = `
struct Params {
  n: u32, d: u32, width: u32, tilesPerSide: u32, tiles: u32, groups: u32,
  rows: f32, rowsMinusOne: f32, otherPairs: f32, logPairs: f32, columns: f32,
}
@group(0) @binding(0) var<uniform> params: Params;`;

/** The flat workgroup index of a dispatch folded by workgroupsFor. */
const GROUP = `let group = wid.y * params.width + wid.x;`;

/** WGSL: folds `red` (one value per invocation) in halves until red[0] holds the workgroup's sum; every invocation runs it. */
function treeSum(red: string): string {
  return `
  for (var k = ${WORKGROUP_SIZE / 2}u; k > 0u; k = k >> 1u) {
    if (lid < k) { ${red}[lid] = ${red}[lid] + ${red}[lid + k]; }
    workgroupBarrier();
  }`;
}

/** WGSL: (m, s) of two log-sum-exp partials, each Σ exp(l − m) over its logits, as one. */
const COMBINE = `
fn combine(a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  let m = max(a.x, b.x);
  return vec2<f32>(m, a.y * exp(a.x - m) + b.y * exp(b.x - m));
}`;

const ROWS_SHADER = `${PARAMS}
@group(0) @binding(1) var<storage, read> z1: array<f32>;
@group(0) @binding(2) var<storage, read> z2: array<f32>;
@group(0) @binding(3) var<storage, read_write> rowStats: array<f32>;
var<workgroup> red: array<vec2<f32>, ${WORKGROUP_SIZE}>;
@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  ${GROUP}
  if (group >= params.groups) { return; }
  let base = group * params.d;
  var squares = vec2<f32>(0.0);
  for (var k = lid; k < params.d; k += ${WORKGROUP_SIZE}u) {
    let a = z1[base + k];
    let b = z2[base + k];
    squares += vec2<f32>(a * a, b * b);
  }
  red[lid] = squares;
  workgroupBarrier();
  ${treeSum('red')}
  let norms = sqrt(max(red[0], vec2<f32>(1e-24)));
  workgroupBarrier();
  var sums = vec2<f32>(0.0);
  for (var k = lid; k < params.d; k += ${WORKGROUP_SIZE}u) {
    let a = z1[base + k] / norms.x;
    let b = z2[base + k] / norms.y;
    let gap = a - b;
    sums += vec2<f32>(a * b, gap * gap);
  }
  red[lid] = sums;
  workgroupBarrier();
  ${treeSum('red')}
  if (lid == 0u) {
    let at = group * ${ROW_VALUES}u;
    rowStats[at] = norms.x;
    rowStats[at + 1u] = norms.y;
    rowStats[at + 2u] = red[0].x;
    rowStats[at + 3u] = red[0].y;
  }
}`;

const PAIRS_SHADER = `${PARAMS}
@group(0) @binding(1) var<storage, read> z1: array<f32>;
@group(0) @binding(2) var<storage, read> z2: array<f32>;
@group(0) @binding(3) var<storage, read> rowStats: array<f32>;
@group(0) @binding(4) var<storage, read_write> tileStats: array<f32>;
@group(0) @binding(5) var<storage, read_write> columnStd: array<f32>;
var<workgroup> left: array<f32, ${TILE * TILE}>;
var<workgroup> right1: array<f32, ${TILE * TILE}>;
var<workgroup> right2: array<f32, ${TILE * TILE}>;
var<workgroup> red: array<f32, ${WORKGROUP_SIZE}>;
var<workgroup> redMax: array<f32, ${WORKGROUP_SIZE}>;

/** ẑ1 and ẑ2 at (row, k): the element over its row's norm; 0 outside the matrix, the padding of the last tiles. */
fn unit1(row: u32, k: u32) -> f32 {
  if (row >= params.n || k >= params.d) { return 0.0; }
  return z1[row * params.d + k] / rowStats[row * ${ROW_VALUES}u];
}
fn unit2(row: u32, k: u32) -> f32 {
  if (row >= params.n || k >= params.d) { return 0.0; }
  return z2[row * params.d + k] / rowStats[row * ${ROW_VALUES}u + 1u];
}

@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  ${GROUP}
  if (group >= params.groups) { return; }
  if (group >= params.tiles) {
    // A column of ẑ1: its mean, then the unbiased variance around it.
    let k = (group - params.tiles) * ${WORKGROUP_SIZE}u + lid;
    if (k < params.d) {
      var total = 0.0;
      for (var i = 0u; i < params.n; i++) { total += unit1(i, k); }
      let mean = total / params.rows;
      var squares = 0.0;
      for (var i = 0u; i < params.n; i++) {
        let centred = unit1(i, k) - mean;
        squares += centred * centred;
      }
      columnStd[k] = sqrt(squares / params.rowsMinusOne);
    }
    return;
  }
  let ty = lid / ${TILE}u;
  let tx = lid % ${TILE}u;
  let rowBase = (group / params.tilesPerSide) * ${TILE}u;
  let columnBase = (group % params.tilesPerSide) * ${TILE}u;
  var gram = 0.0;
  var cross = 0.0;
  for (var k0 = 0u; k0 < params.d; k0 += ${TILE}u) {
    left[lid] = unit1(rowBase + ty, k0 + tx);
    right1[lid] = unit1(columnBase + ty, k0 + tx);
    right2[lid] = unit2(columnBase + ty, k0 + tx);
    workgroupBarrier();
    for (var k = 0u; k < ${TILE}u; k++) {
      let a = left[ty * ${TILE}u + k];
      gram += a * right1[tx * ${TILE}u + k];
      cross += a * right2[tx * ${TILE}u + k];
    }
    workgroupBarrier();
  }
  let i = rowBase + ty;
  let j = columnBase + tx;
  let isPair = i < j && j < params.n;
  // ‖x̂ − ŷ‖² = 2 − 2x̂·ŷ clamped at 0, times −2: uniformity's logit.
  let logit = select(${NO_PAIRS}, -2.0 * max(2.0 - 2.0 * gram, 0.0), isPair);
  redMax[lid] = logit;
  red[lid] = select(0.0, cross, i != j && i < params.n && j < params.n);
  workgroupBarrier();
  for (var k = ${WORKGROUP_SIZE / 2}u; k > 0u; k = k >> 1u) {
    if (lid < k) {
      redMax[lid] = max(redMax[lid], redMax[lid + k]);
      red[lid] = red[lid] + red[lid + k];
    }
    workgroupBarrier();
  }
  let tileMax = redMax[0];
  let crossSum = red[0];
  workgroupBarrier();
  red[lid] = select(0.0, exp(logit - tileMax), isPair);
  workgroupBarrier();
  ${treeSum('red')}
  if (lid == 0u) {
    let at = group * ${TILE_VALUES}u;
    tileStats[at] = tileMax;
    tileStats[at + 1u] = red[0];
    tileStats[at + 2u] = crossSum;
  }
}`;

const FINAL_SHADER = `${PARAMS}
@group(0) @binding(1) var<storage, read> rowStats: array<f32>;
@group(0) @binding(2) var<storage, read> tileStats: array<f32>;
@group(0) @binding(3) var<storage, read> columnStd: array<f32>;
@group(0) @binding(4) var<storage, read_write> statistics: array<f32>;
var<workgroup> redLse: array<vec2<f32>, ${WORKGROUP_SIZE}>;
var<workgroup> red: array<vec4<f32>, ${WORKGROUP_SIZE}>;
${COMBINE}
@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(local_invocation_index) lid: u32) {
  var lse = vec2<f32>(${NO_PAIRS}, 0.0);
  // x: column stds, y: matched cosines, z: squared distances, w: the other pairs' cosines.
  var sums = vec4<f32>(0.0);
  for (var t = lid; t < params.tiles; t += ${WORKGROUP_SIZE}u) {
    lse = combine(lse, vec2<f32>(tileStats[t * ${TILE_VALUES}u], tileStats[t * ${TILE_VALUES}u + 1u]));
    sums.w += tileStats[t * ${TILE_VALUES}u + 2u];
  }
  for (var k = lid; k < params.d; k += ${WORKGROUP_SIZE}u) { sums.x += columnStd[k]; }
  for (var i = lid; i < params.n; i += ${WORKGROUP_SIZE}u) {
    sums.y += rowStats[i * ${ROW_VALUES}u + 2u];
    sums.z += rowStats[i * ${ROW_VALUES}u + 3u];
  }
  redLse[lid] = lse;
  red[lid] = sums;
  workgroupBarrier();
  for (var k = ${WORKGROUP_SIZE / 2}u; k > 0u; k = k >> 1u) {
    if (lid < k) {
      redLse[lid] = combine(redLse[lid], redLse[lid + k]);
      red[lid] = red[lid] + red[lid + k];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let total = red[0];
    statistics[0] = total.x / params.columns;
    statistics[1] = total.z / params.rows;
    statistics[2] = (log(redLse[0].y) + redLse[0].x) - params.logPairs;
    statistics[3] = total.y / params.rows;
    statistics[4] = total.w / params.otherPairs;
  }
}`;

/** Workgroups for `groups` workgroups' worth of invocations, folded as workgroupsFor folds them. */
function groupsFor(backend: Backend, groups: number): [number, number] {
  return workgroupsFor(backend, groups * WORKGROUP_SIZE);
}

function embeddingStatistics(args: KernelArgs): tf.TensorInfo {
  const backend = internals(args.backend);
  const { z1, z2 } = args.inputs as Record<string, tf.TensorInfo>;
  const [n, d] = z1.shape;
  if (z1.shape.length !== 2 || z2.shape.length !== 2 || z2.shape[0] !== n || z2.shape[1] !== d || z1.dtype !== 'float32' || z2.dtype !== 'float32') {
    throw new Error(`${EMBEDDING_STATISTICS}: expected two float32 [n, d] tensors of one shape, got [${z1.shape}] ${z1.dtype} and [${z2.shape}] ${z2.dtype}.`);
  }
  if (n < 2 || d < 1) throw new Error(`${EMBEDDING_STATISTICS}: needs at least two rows of at least one value, got [${n}, ${d}].`);
  const tilesPerSide = Math.ceil(n / TILE);
  const tiles = tilesPerSide * tilesPerSide;
  const columnGroups = Math.ceil(d / WORKGROUP_SIZE);
  const rowStats = newTensor(backend, [n, ROW_VALUES]);
  const tileStats = newTensor(backend, [tiles, TILE_VALUES]);
  const columnStd = newTensor(backend, [d]);
  const statistics = newTensor(backend, [EMBEDDING_STATISTICS_ORDER.length]);
  const parameters = (groups: number) => ({
    data: new Words()
      .u32(n, d, groupsFor(backend, groups)[0], tilesPerSide, tiles, groups)
      .f32(n, n - 1, n * (n - 1), Math.log((n * (n - 1)) / 2), d)
      .buffer(),
  });
  const [input1, input2, rows, pairs, columns, output] = [z1, z2, rowStats, tileStats, columnStd, statistics].map((t) => bufferOf(backend, t));
  dispatch(backend, { code: ROWS_SHADER, parameters: parameters(n), buffers: [input1, input2, rows], workgroups: groupsFor(backend, n) });
  const pairGroups = tiles + columnGroups;
  dispatch(backend, { code: PAIRS_SHADER, parameters: parameters(pairGroups), buffers: [input1, input2, rows, pairs, columns], workgroups: groupsFor(backend, pairGroups) });
  dispatch(backend, { code: FINAL_SHADER, parameters: parameters(1), buffers: [rows, pairs, columns, output], workgroups: [1, 1] });
  release(backend, rowStats, tileStats, columnStd);
  return statistics;
}

const PROBE_PARAMS = `
struct Params { n: u32, d: u32, classes: u32, width: u32, total: u32, rows: f32, inverseRows: f32 }
@group(0) @binding(0) var<uniform> params: Params;`;

const PROBE_ROWS_SHADER = `${PROBE_PARAMS}
@group(0) @binding(1) var<storage, read> features: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<i32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> logits: array<f32>;
@group(0) @binding(6) var<storage, read_write> logitGradient: array<f32>;
@group(0) @binding(7) var<storage, read_write> rowStats: array<f32>;
@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = ${FLAT_INDEX};
  if (i >= params.total) { return; }
  let row = i * params.classes;
  var best = 0.0;
  var predicted = 0u;
  for (var c = 0u; c < params.classes; c++) {
    var product = 0.0;
    for (var k = 0u; k < params.d; k++) { product += features[i * params.d + k] * weight[k * params.classes + c]; }
    let logit = product + bias[c];
    logits[row + c] = logit;
    if (c == 0u || logit > best) {
      best = logit;
      predicted = c;
    }
  }
  var total = 0.0;
  for (var c = 0u; c < params.classes; c++) { total += exp(logits[row + c] - best); }
  let lse = best + log(total);
  // A label outside the classes is an all-zero one-hot row, as tf.oneHot makes it: no loss, no target.
  let label = labels[i];
  let known = label >= 0 && u32(label) < params.classes;
  var loss = 0.0;
  for (var c = 0u; c < params.classes; c++) {
    let logResult = logits[row + c] - lse;
    let oneHot = select(0.0, 1.0, known && u32(label) == c);
    loss -= logResult * oneHot;
    logitGradient[row + c] = (exp(logResult) - oneHot) * params.inverseRows;
  }
  rowStats[2u * i] = loss;
  rowStats[2u * i + 1u] = select(0.0, 1.0, known && predicted == u32(label));
}`;

const PROBE_GRADIENTS_SHADER = `${PROBE_PARAMS}
@group(0) @binding(1) var<storage, read> features: array<f32>;
@group(0) @binding(2) var<storage, read> logitGradient: array<f32>;
@group(0) @binding(3) var<storage, read> rowStats: array<f32>;
@group(0) @binding(4) var<storage, read_write> weightGradient: array<f32>;
@group(0) @binding(5) var<storage, read_write> biasGradient: array<f32>;
@group(0) @binding(6) var<storage, read_write> loss: array<f32>;
@group(0) @binding(7) var<storage, read_write> accuracy: array<f32>;
@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = ${FLAT_INDEX};
  let weights = params.d * params.classes;
  if (t < weights) {
    let k = t / params.classes;
    let c = t % params.classes;
    var sum = 0.0;
    for (var i = 0u; i < params.n; i++) { sum += features[i * params.d + k] * logitGradient[i * params.classes + c]; }
    weightGradient[t] = sum;
  } else if (t < weights + params.classes) {
    let c = t - weights;
    var sum = 0.0;
    for (var i = 0u; i < params.n; i++) { sum += logitGradient[i * params.classes + c]; }
    biasGradient[c] = sum;
  } else if (t == weights + params.classes) {
    var sums = vec2<f32>(0.0);
    for (var i = 0u; i < params.n; i++) { sums += vec2<f32>(rowStats[2u * i], rowStats[2u * i + 1u]); }
    loss[0] = sums.x / params.rows;
    accuracy[0] = sums.y / params.rows;
  }
}`;

function linearProbeGradients(args: KernelArgs): tf.TensorInfo[] {
  const backend = internals(args.backend);
  const { features, labels, weight, bias } = args.inputs as Record<string, tf.TensorInfo>;
  const [n, d] = features.shape;
  const classes = weight.shape[1];
  if (features.shape.length !== 2 || labels.shape.length !== 1 || labels.shape[0] !== n || labels.dtype !== 'int32' || weight.shape[0] !== d || bias.shape.length !== 1 || bias.shape[0] !== classes
    || [features, weight, bias].some((t) => t.dtype !== 'float32')) {
    throw new Error(`${LINEAR_PROBE_GRADIENTS}: expected float32 features [n, D], int32 labels [n], float32 weight [D, C] and bias [C], got [${features.shape}], [${labels.shape}] ${labels.dtype}, [${weight.shape}], [${bias.shape}].`);
  }
  if (n < 1 || classes < 1) throw new Error(`${LINEAR_PROBE_GRADIENTS}: needs at least one row and one class, got ${n} rows and ${classes} classes.`);
  const logits = newTensor(backend, [n, classes]);
  const logitGradient = newTensor(backend, [n, classes]);
  const rowStats = newTensor(backend, [n, 2]);
  const outputs = [newTensor(backend, []), newTensor(backend, []), newTensor(backend, [d, classes]), newTensor(backend, [classes])];
  const parameters = (total: number) => ({
    data: new Words().u32(n, d, classes, workgroupsFor(backend, total)[0], total).f32(n, 1 / n).buffer(),
  });
  dispatch(backend, {
    code: PROBE_ROWS_SHADER,
    parameters: parameters(n),
    buffers: [features, labels, weight, bias, logits, logitGradient, rowStats].map((t) => bufferOf(backend, t)),
    workgroups: workgroupsFor(backend, n),
  });
  const gradientInvocations = d * classes + classes + 1;
  const [loss, accuracy, weightGradient, biasGradient] = outputs;
  dispatch(backend, {
    code: PROBE_GRADIENTS_SHADER,
    parameters: parameters(gradientInvocations),
    buffers: [features, logitGradient, rowStats, weightGradient, biasGradient, loss, accuracy].map((t) => bufferOf(backend, t)),
    workgroups: workgroupsFor(backend, gradientInvocations),
  });
  release(backend, logits, logitGradient, rowStats);
  return outputs;
}

/** The kernels of this file by name, for webgpu-kernels.ts to register. */
export const WEBGPU_METRICS_KERNELS: Record<string, KernelFunc> = {
  [EMBEDDING_STATISTICS]: embeddingStatistics as KernelFunc,
  [LINEAR_PROBE_GRADIENTS]: linearProbeGradients as unknown as KernelFunc,
};
