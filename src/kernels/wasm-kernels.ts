/**
 * Training kernels for the tfjs WebAssembly backend (XNNPACK, SIMD), the CPU path without a GPU.
 * The stock backend has no convolution filter gradient, computes the input gradient with a scalar
 * loop, multiplies transposed matrices in scalar C, reduces over leading axes by transposing first,
 * copies on every Identity and same-dtype Cast, reads a whole tensor out for every Slice, and gets the max-pool gradient of negative or tied
 * windows wrong. Here, where XNNPACK has one thread, a convolution and both its gradients are direct
 * convolutions of our own (multiply-adds in registers over a zero-padded copy, fused where relaxed
 * SIMD compiles), faster there than XNNPACK's; with more threads each convolution gradient is XNNPACK
 * work (matrix products on the backend's threads: per filter tap on shifted views of one grid for a
 * stride-1 filter gradient, per chunk of images otherwise; or a convolution), and the data rearranged
 * around it (the grid, im2col, col2im). The reductions, the max-pool gradient, a fused training-mode
 * BatchNorm (see fused-batchnorm.ts), the fused updates of a step (optimizers, EMA, BatchNorm running
 * statistics, the ReLU gradient; see fused-updates.ts) and a view's whole augmentation (AUGMENT_VIEW,
 * augment.ts) are loops of our own in WebAssembly (wasm-helpers.c), run on the backend's own memory.
 * Registered when this module is imported, once per process or worker; wasm-kernels.test.ts checks
 * each against the CPU backend or the stock kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, type BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { AUGMENT_VIEW, blurKernels, type AugmentViewAttrs } from '../engine/augment';
import { BATCH_NORM_BACKWARD, BATCH_NORM_FORWARD } from '../engine/fused-batchnorm';
import { ADAMW_UPDATE, EMA_UPDATE, MOMENTUM_UPDATE, RELU_BACKWARD, RUNNING_STATISTICS_UPDATE, type AdamWUpdateAttrs, type MomentumUpdateAttrs } from '../engine/fused-updates';
import { updateGroups as checkedGroups } from './update-groups';
import { PLAIN_MEMORY_MODULE, PLAIN_MEMORY_RELAXED_MODULE, SHARED_MEMORY_MODULE, SHARED_MEMORY_RELAXED_MODULE } from './wasm-helpers.generated';

type KernelFunc = tf.KernelConfig['kernelFunc'];
type Inputs = Record<string, tf.TensorInfo>;
type Padding = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
type Shape4 = [number, number, number, number];

interface ConvGradAttrs {
  strides: [number, number] | number;
  pad: Padding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** The functions of wasm-helpers.c; pointers are byte offsets into the backend's memory. */
export interface Helpers {
  pad_images(x: number, out: number, nb: number, h: number, w: number, c: number, top: number, bottom: number, left: number, right: number): void;
  pack_filter(w: number, out: number, kh: number, kw: number, ci: number, co: number, transpose: number): void;
  conv_packed(xp: number, wp: number, y: number, nb: number, ph: number, pw: number, c: number, oh: number, ow: number, kh: number, kw: number, sh: number, sw: number, co: number): void;
  conv_input_grad(dyp: number, wp: number, dx: number, nb: number, ph: number, pw: number, co: number, h: number, w: number, ci: number, kh: number, kw: number, sh: number, sw: number, top: number, left: number, pt: number, pl: number): void;
  conv_filter_grad(xp: number, dy: number, dw: number, nb: number, ph: number, pw: number, c: number, oh: number, ow: number, kh: number, kw: number, sh: number, sw: number, co: number): void;
  filter_columns(x: number, planes: number, cols: number, nb: number, h: number, w: number, c: number, oh: number, ow: number, kh: number, kw: number, sh: number, sw: number, top: number, left: number): void;
  grid_planes(x: number, out: number, nb: number, h: number, w: number, c: number, p: number, margin: number): void;
  grid_rows(dy: number, out: number, nb: number, oh: number, ow: number, c: number, h: number, w: number, p: number, margin: number): void;
  add_columns(cols: number, dx: number, nb: number, h: number, w: number, c: number, oh: number, ow: number, kh: number, kw: number, sh: number, sw: number, top: number, left: number): void;
  sum_rows(x: number, out: number, totals: number, outer: number, inner: number, scale: number): void;
  batch_norm_forward(x: number, scale: number, offset: number, y: number, mean: number, variance: number, invstd: number, totals: number, coefficients: number, rows: number, c: number, epsilon: number): void;
  batch_norm_backward(dy: number, x: number, mean: number, invstd: number, scale: number, dx: number, dscale: number, doffset: number, totals: number, coefficients: number, rows: number, c: number): void;
  max_pool_grad(x: number, dy: number, dx: number, n: number, h: number, w: number, c: number, oh: number, ow: number, kh: number, kw: number, sh: number, sw: number, top: number, left: number): void;
  adamw_update(w: number, g: number, m: number, v: number, wOut: number, mOut: number, vOut: number, n: number, beta1: number, oneMinusBeta1: number, beta2: number, oneMinusBeta2: number, correction1: number, correction2: number, epsilon: number, lr: number, decayFactor: number, decayed: number): void;
  momentum_update(w: number, g: number, buffer: number, wOut: number, bufferOut: number, n: number, lr: number, momentum: number, decay: number, scale: number, decayed: number): void;
  sum_squares(x: number, n: number): number;
  ema_update(target: number, online: number, out: number, n: number, rate: number): void;
  running_average(running: number, batch: number, out: number, n: number, keep: number, rate: number): void;
  relu_backward(dy: number, x: number, dx: number, n: number): void;
  augment_view(
    images: number, params: number, kernels: number, out: number, scratch: number, n: number, h: number, w: number, size: number,
    exactSize: number, flip: number, jitter: number, hue: number, grayscale: number, blur: number, solarize: number,
  ): void;
}

/** The backend's module: its memory is `wasmMemory` in the threaded build, the instance's export otherwise. */
interface WasmModule {
  wasmMemory?: WebAssembly.Memory;
  asm?: { memory?: WebAssembly.Memory };
}

/**
 * Upper bound on the floats of one chunk's im2col columns (unless one image needs more): small
 * enough that the columns are still in cache when XNNPACK reads them back and that the scratch
 * memory does not grow with the batch; large enough that each product has rows to work on.
 */
const CHUNK_FLOATS = 1 << 19;

function decode(base64: string): Uint8Array<ArrayBuffer> {
  const text = atob(base64);
  return Uint8Array.from(text, (ch) => ch.charCodeAt(0));
}

type MemoryKind = 'plain' | 'shared';

const BUILDS: Record<MemoryKind, { simd: string; relaxed: string }> = {
  plain: { simd: PLAIN_MEMORY_MODULE, relaxed: PLAIN_MEMORY_RELAXED_MODULE },
  shared: { simd: SHARED_MEMORY_MODULE, relaxed: SHARED_MEMORY_RELAXED_MODULE },
};

let relaxedSupported: boolean | undefined;

/** Whether this engine compiles relaxed SIMD (Chrome 114 on; Node 20 behind a flag, set by src/runner/relaxed-simd.ts). */
export function relaxedSimdSupported(): boolean {
  return (relaxedSupported ??= WebAssembly.validate(decode(PLAIN_MEMORY_RELAXED_MODULE)));
}

/**
 * Each build compiled once, when first needed, synchronously: the kernels run in a worker or in Node,
 * where that is allowed at any size. Not by a top-level await: a module worker whose imports are still
 * awaiting drops the messages that arrive meanwhile (the page's first one among them).
 */
const compiled = new Map<string, WebAssembly.Module>();

function helperModule(kind: MemoryKind, relaxed: boolean): WebAssembly.Module {
  const key = `${kind}/${relaxed}`;
  let module = compiled.get(key);
  if (!module) {
    module = new WebAssembly.Module(decode(relaxed ? BUILDS[kind].relaxed : BUILDS[kind].simd));
    compiled.set(key, module);
  }
  return module;
}

const instances = new WeakMap<BackendWasm, { helpers: Helpers; memory: WebAssembly.Memory }>();

function memoryOf(backend: BackendWasm): WebAssembly.Memory {
  const module = backend.wasm as unknown as WasmModule;
  const memory = module.wasmMemory ?? module.asm?.memory;
  if (!memory) throw new Error('The tfjs wasm backend does not expose its WebAssembly memory; wasm-kernels.ts needs it.');
  return memory;
}

/**
 * The helper functions working in `memory`: the build for shared memory where it is shared (the
 * threaded backend's), with relaxed SIMD (fused multiply-adds) where the engine compiles it.
 */
export function instantiateHelpers(memory: WebAssembly.Memory, relaxed = relaxedSimdSupported()): Helpers {
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  return new WebAssembly.Instance(helperModule(shared ? 'shared' : 'plain', relaxed), { env: { memory } }).exports as unknown as Helpers;
}

/** The helper module, instantiated on this backend's memory the first time a kernel needs it. */
function runtime(backend: BackendWasm): { helpers: Helpers; memory: WebAssembly.Memory } {
  let found = instances.get(backend);
  if (!found) {
    const memory = memoryOf(backend);
    found = { helpers: instantiateHelpers(memory), memory };
    instances.set(backend, found);
  }
  return found;
}

function helpers(backend: BackendWasm): Helpers {
  return runtime(backend).helpers;
}

/** The backend's own kernel, also where this module replaced it. */
function stockKernel(name: string): KernelFunc {
  const config = replacedWasmKernels.has(name) ? replacedWasmKernels.get(name) : tf.getKernel(name, 'wasm');
  if (!config) throw new Error(`The wasm backend has no ${name} kernel to build on.`);
  return config.kernelFunc;
}

function pointer(backend: BackendWasm, info: tf.TensorInfo): number {
  return backend.dataIdMap.get(info.dataId)!.memoryOffset;
}

/** A float32 view of a tensor in the backend's memory. Take it after the last allocation: a growth of the memory detaches older views. */
function heap(backend: BackendWasm, info: tf.TensorInfo): Float32Array {
  return new Float32Array(runtime(backend).memory.buffer, pointer(backend, info), tf.util.sizeFromShape(info.shape));
}

function matMul(backend: BackendWasm, a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo {
  return stockKernel('BatchMatMul')({ inputs: { a, b }, backend, attrs: { transposeA: false, transposeB: false } }) as tf.TensorInfo;
}

function release(backend: BackendWasm, ...infos: tf.TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

function convInfo(xShape: Shape4, filterShape: Shape4, attrs: ConvGradAttrs): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(xShape, filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
}

/** Images per chunk: as many as keep the chunk's columns within CHUNK_FLOATS, at least one. */
function imagesPerChunk(info: tf.backend_util.Conv2DInfo): number {
  const columnsPerImage = info.filterHeight * info.filterWidth * info.inChannels * info.outHeight * info.outWidth;
  return Math.max(1, Math.min(info.batchSize, Math.floor(CHUNK_FLOATS / columnsPerImage)));
}

/**
 * Images [first, first + count) of a batch tensor, copied as a [1, rows, channels] matrix. Always a
 * copy: XNNPACK keeps its packed copy of a product's second operand until that tensor is disposed,
 * which for dy itself would be the end of the whole backward pass.
 */
function copyImages(backend: BackendWasm, t: tf.TensorInfo, first: number, count: number): tf.TensorInfo {
  const [, height, width, channels] = t.shape;
  const rows = backend.makeOutput([1, count * height * width, channels], 'float32');
  const perImage = height * width * channels;
  heap(backend, rows).set(heap(backend, t).subarray(first * perImage, (first + count) * perImage));
  return rows;
}

/**
 * A [1, rows, columns] tensor over memory another tensor owns, from `byteOffset` on: a view XNNPACK
 * can read as a product's first operand. Release it with releaseView, which frees nothing.
 */
function viewAt(backend: BackendWasm, byteOffset: number, rows: number, columns: number): tf.TensorInfo {
  return backend.makeOutput([1, rows, columns], 'float32', byteOffset);
}

function releaseView(backend: BackendWasm, view: tf.TensorInfo): void {
  const { id } = backend.dataIdMap.get(view.dataId) as unknown as { id: number };
  (backend.wasm as unknown as { tfjs: { disposeData(id: number): void } }).tfjs.disposeData(id);
  backend.dataIdMap.delete(view.dataId);
}

let shiftedFilterGradients: boolean | 'auto' = 'auto';

/**
 * Which stride-1 filter gradient runs: the grid's shifted products where XNNPACK has more than one
 * thread (they are all XNNPACK work, while im2col's columns are written on one thread), im2col on one
 * thread, where its fewer, larger products are the faster (measured: README, Benchmark). Tests force each.
 */
export function useShiftedFilterGradients(choice: boolean | 'auto'): void {
  shiftedFilterGradients = choice;
}

function shiftedPays(): boolean {
  return shiftedFilterGradients === 'auto' ? getThreadsCount() > 1 : shiftedFilterGradients;
}

/** Upper bound on the floats of one chunk's planes in shiftedFilterGradient (unless one image needs more). */
const GRID_CHUNK_FLOATS = 1 << 19;

/**
 * The filter gradient of a stride-1 convolution whose output is no larger than its input, without
 * im2col: on a grid where every image row is followed by p zeros and every image by p zero rows
 * (p the largest padding), the input each filter tap reads for every output position is the grid
 * shifted by one offset. So each tap's [Cin, Cout] block of dW is one XNNPACK product of a shifted
 * view of the channel-major grid (grid_planes) with dy laid on the same grid (grid_rows, zero off the
 * image): no columns are written, the products run on the backend's threads, and all taps share the
 * one packing of dy. The grid's zeros (padding, and positions with no output) add at most
 * (1 + p / W)(1 + p / H) times the work.
 */
function shiftedFilterGradient(backend: BackendWasm, x: tf.TensorInfo, dy: tf.TensorInfo, info: tf.backend_util.Conv2DInfo, filterShape: Shape4): tf.TensorInfo {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth, padInfo } = info;
  const p = Math.max(padInfo.top, padInfo.bottom, padInfo.left, padInfo.right);
  const rowLength = inWidth + p;
  const margin = p * rowLength + p;
  const perImage = (inHeight + p) * rowLength;
  const chunk = Math.max(1, Math.min(batchSize, Math.floor(GRID_CHUNK_FLOATS / (inChannels * perImage))));
  const dw = backend.makeOutput([...filterShape], 'float32');
  const block = inChannels * outChannels;
  for (let first = 0; first < batchSize; first += chunk) {
    const count = Math.min(chunk, batchSize - first);
    const positions = margin + count * perImage + margin;
    const planes = backend.makeOutput([inChannels * positions + 2 * margin], 'float32');
    const rows = backend.makeOutput([1, positions, outChannels], 'float32');
    const run = helpers(backend);
    run.grid_planes(pointer(backend, x) + first * inHeight * inWidth * inChannels * 4, pointer(backend, planes), count, inHeight, inWidth, inChannels, p, margin);
    run.grid_rows(pointer(backend, dy) + first * outHeight * outWidth * outChannels * 4, pointer(backend, rows), count, outHeight, outWidth, outChannels, inHeight, inWidth, p, margin);
    for (let kh = 0; kh < filterHeight; kh++) {
      for (let kw = 0; kw < filterWidth; kw++) {
        const offset = (kh - padInfo.top) * rowLength + (kw - padInfo.left);
        const shifted = viewAt(backend, pointer(backend, planes) + (margin + offset) * 4, inChannels, positions);
        const product = matMul(backend, shifted, rows);
        releaseView(backend, shifted);
        const into = heap(backend, dw).subarray((kh * filterWidth + kw) * block, (kh * filterWidth + kw + 1) * block);
        const values = heap(backend, product);
        if (first === 0) into.set(values);
        else for (let i = 0; i < block; i++) into[i] += values[i];
        release(backend, product);
      }
    }
    release(backend, planes, rows);
  }
  return dw;
}

let directConvolutions: boolean | 'auto' = 'auto';

/**
 * Whether convolutions and their gradients run as direct convolutions of our own (wasm-helpers.c:
 * conv_packed, conv_filter_grad, conv_input_grad) rather than on XNNPACK: where XNNPACK has one
 * thread (auto), as they are the faster there, with fused multiply-adds where relaxed SIMD is
 * compiled and also without (measured: README, Benchmark); they run on the calling thread, so
 * XNNPACK's pool wins from two threads on. Tests force each.
 */
export function useDirectConvolutions(choice: boolean | 'auto'): void {
  directConvolutions = choice;
}

function directPays(): boolean {
  return directConvolutions === 'auto' ? getThreadsCount() <= 1 : directConvolutions;
}

/** The direct kernels write eight output channels at a time. */
const DIRECT_CHANNEL_BLOCK = 8;

/** NHWC images with a zero border, [top, bottom, left, right]. */
function paddedImages(backend: BackendWasm, x: tf.TensorInfo, [top, bottom, left, right]: [number, number, number, number]): tf.TensorInfo {
  const [n, h, w, c] = x.shape;
  const out = backend.makeOutput([n, h + top + bottom, w + left + right, c], 'float32');
  helpers(backend).pad_images(pointer(backend, x), pointer(backend, out), n, h, w, c, top, bottom, left, right);
  return out;
}

/** y = the convolution of x [n, H, W, C] with filter [KH, KW, C, CO] that `info` describes, by the direct kernel. */
function directConvolution(backend: BackendWasm, x: tf.TensorInfo, filter: tf.TensorInfo, info: tf.backend_util.Conv2DInfo): tf.TensorInfo {
  const { batchSize, inChannels, outChannels, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const xp = paddedImages(backend, x, padding(info));
  const packed = backend.makeOutput([filterHeight * filterWidth * inChannels * outChannels], 'float32');
  const y = backend.makeOutput([...info.outShape], 'float32');
  const run = helpers(backend);
  run.pack_filter(pointer(backend, filter), pointer(backend, packed), filterHeight, filterWidth, inChannels, outChannels, 0);
  const [, ph, pw] = xp.shape;
  run.conv_packed(
    pointer(backend, xp), pointer(backend, packed), pointer(backend, y),
    batchSize, ph, pw, inChannels, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth, outChannels,
  );
  release(backend, xp, packed);
  return y;
}

function padding(info: tf.backend_util.Conv2DInfo): [number, number, number, number] {
  const { top, bottom, left, right } = info.padInfo;
  return [top, bottom, left, right];
}

/** The forward convolution: the direct kernel where it pays and applies (NHWC, float32, no dilation, output channels a multiple of 8), XNNPACK otherwise. */
function conv2d(stock: KernelFunc): KernelFunc {
  return (args) => {
    const backend = args.backend as BackendWasm;
    const { x, filter } = args.inputs as Inputs;
    const attrs = args.attrs as unknown as ConvGradAttrs & { dilations: [number, number] | number };
    const undilated = attrs.dilations === undefined || [attrs.dilations].flat().every((d) => d === 1);
    const outChannels = filter.shape[3];
    if (!directPays() || attrs.dataFormat !== 'NHWC' || !undilated || x.dtype !== 'float32' || filter.dtype !== 'float32' || outChannels % DIRECT_CHANNEL_BLOCK !== 0) return stock(args);
    return directConvolution(backend, x, filter, convInfo(x.shape as Shape4, filter.shape as Shape4, attrs));
  };
}

/**
 * dx gathered by the direct kernel, any stride: each input pixel sums dy at the output positions whose
 * taps read it, times those taps of the filter with its channel axes swapped. dy gets the zero border that keeps every such
 * position inside it (rows above and below, columns left and right, in output positions).
 */
function directInputGradient(backend: BackendWasm, dy: tf.TensorInfo, filter: tf.TensorInfo, info: tf.backend_util.Conv2DInfo): tf.TensorInfo {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth, strideHeight, strideWidth, padInfo } = info;
  const before = (taps: number, pad: number, stride: number) => Math.max(0, Math.floor((taps - 1 - pad) / stride));
  const after = (size: number, pad: number, stride: number, out: number) => Math.max(0, Math.floor((size - 1 + pad) / stride) - out + 1);
  const border: [number, number, number, number] = [
    before(filterHeight, padInfo.top, strideHeight), after(inHeight, padInfo.top, strideHeight, outHeight),
    before(filterWidth, padInfo.left, strideWidth), after(inWidth, padInfo.left, strideWidth, outWidth),
  ];
  const dyp = paddedImages(backend, dy, border);
  const packed = backend.makeOutput([filterHeight * filterWidth * inChannels * outChannels], 'float32');
  const dx = backend.makeOutput([...info.inShape], 'float32');
  const run = helpers(backend);
  run.pack_filter(pointer(backend, filter), pointer(backend, packed), filterHeight, filterWidth, inChannels, outChannels, 1);
  const [, ph, pw] = dyp.shape;
  run.conv_input_grad(
    pointer(backend, dyp), pointer(backend, packed), pointer(backend, dx), batchSize, ph, pw, outChannels, inHeight, inWidth, inChannels,
    filterHeight, filterWidth, strideHeight, strideWidth, padInfo.top, padInfo.left, border[0], border[2],
  );
  release(backend, dyp, packed);
  return dx;
}

/** dW summed over every output position by the direct kernel (image by image, in registers). */
function directFilterGradient(backend: BackendWasm, x: tf.TensorInfo, dy: tf.TensorInfo, info: tf.backend_util.Conv2DInfo, filterShape: Shape4): tf.TensorInfo {
  const xp = paddedImages(backend, x, padding(info));
  const [, ph, pw] = xp.shape;
  const dw = backend.makeOutput([...filterShape], 'float32');
  helpers(backend).conv_filter_grad(
    pointer(backend, xp), pointer(backend, dy), pointer(backend, dw),
    info.batchSize, ph, pw, info.inChannels, info.outHeight, info.outWidth, info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.outChannels,
  );
  release(backend, xp);
  return dw;
}

/**
 * dW = colsᵀ · dy summed over every output position, one XNNPACK product per chunk of images, the
 * chunks' products summed. The columns are built transposed, [taps × channels, positions], so that
 * the product is untransposed and its packed operand is the (small) dy chunk.
 */
function conv2dBackpropFilter(args: Parameters<KernelFunc>[0]): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x, dy } = args.inputs as Inputs;
  const attrs = args.attrs as unknown as ConvGradAttrs & { filterShape: Shape4 };
  if (attrs.dataFormat !== 'NHWC') throw new Error(`Conv2DBackpropFilter on wasm supports NHWC only, got ${attrs.dataFormat}.`);
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') throw new Error('Conv2DBackpropFilter on wasm supports float32 only.');
  const info = convInfo(x.shape as Shape4, attrs.filterShape, attrs);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth, padInfo } = info;
  if (directPays() && info.outChannels % DIRECT_CHANNEL_BLOCK === 0) return directFilterGradient(backend, x, dy, info, attrs.filterShape);
  if (shiftedPays() && strideHeight === 1 && strideWidth === 1 && outHeight <= inHeight && outWidth <= inWidth) return shiftedFilterGradient(backend, x, dy, info, attrs.filterShape);
  const taps = filterHeight * filterWidth * inChannels;
  const chunk = imagesPerChunk(info);
  const pixelBytes = inHeight * inWidth * inChannels * 4;
  const planes = backend.makeOutput([chunk * inHeight * inWidth * inChannels], 'float32');
  const add = stockKernel('Add');
  let sum: tf.TensorInfo | null = null;
  for (let first = 0; first < batchSize; first += chunk) {
    const count = Math.min(chunk, batchSize - first);
    const columns = backend.makeOutput([1, taps, count * outHeight * outWidth], 'float32');
    helpers(backend).filter_columns(
      pointer(backend, x) + first * pixelBytes, pointer(backend, planes), pointer(backend, columns),
      count, inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth, padInfo.top, padInfo.left,
    );
    const rows = copyImages(backend, dy, first, count);
    const partial = matMul(backend, columns, rows);
    release(backend, columns, rows);
    if (sum === null) sum = partial;
    else {
      const next = add({ inputs: { a: sum, b: partial }, backend, attrs: {} }) as tf.TensorInfo;
      release(backend, sum, partial);
      sum = next;
    }
  }
  release(backend, planes);
  return { ...(sum as tf.TensorInfo), shape: [...attrs.filterShape] };
}

/**
 * The input gradient: gathered by the direct kernel where it pays (one thread, input channels a
 * multiple of 8). On XNNPACK, stride 1: a convolution of dy with the filter rotated by 180° and its channel
 * axes swapped, on XNNPACK. Other strides: cols = dy · Wᵀ, one XNNPACK product per chunk of images,
 * each column then added onto the input value it was read from (col2im).
 */
function conv2dBackpropInput(stock: KernelFunc): KernelFunc {
  return (args) => {
    const backend = args.backend as BackendWasm;
    const { dy, filter } = args.inputs as Inputs;
    const attrs = args.attrs as unknown as ConvGradAttrs & { inputShape: Shape4 };
    if (attrs.dataFormat !== 'NHWC' || dy.dtype !== 'float32' || filter.dtype !== 'float32') return stock(args);
    const info = convInfo(attrs.inputShape, filter.shape as Shape4, attrs);
    if (directPays() && info.inChannels % DIRECT_CHANNEL_BLOCK === 0) return directInputGradient(backend, dy, filter, info);
    const { filterHeight, filterWidth, strideHeight, strideWidth, padInfo } = info;
    // The rotated convolution pads by filter − 1 − pad, which must not be negative.
    const fitsRotated = padInfo.top < filterHeight && padInfo.bottom < filterHeight && padInfo.left < filterWidth && padInfo.right < filterWidth;
    return strideHeight === 1 && strideWidth === 1 && fitsRotated ? rotatedConvolution(backend, dy, filter, info) : columnsBackpropInput(backend, dy, filter, info);
  };
}

function rotatedConvolution(backend: BackendWasm, dy: tf.TensorInfo, filter: tf.TensorInfo, info: tf.backend_util.Conv2DInfo): tf.TensorInfo {
  const { filterHeight, filterWidth, inChannels, outChannels, padInfo } = info;
  const rotated = backend.makeOutput([filterHeight, filterWidth, outChannels, inChannels], 'float32');
  const w = heap(backend, filter);
  const r = heap(backend, rotated);
  for (let kh = 0; kh < filterHeight; kh++) {
    for (let kw = 0; kw < filterWidth; kw++) {
      const from = (kh * filterWidth + kw) * inChannels * outChannels;
      const to = ((filterHeight - 1 - kh) * filterWidth + (filterWidth - 1 - kw)) * outChannels * inChannels;
      for (let ci = 0; ci < inChannels; ci++) for (let co = 0; co < outChannels; co++) r[to + co * inChannels + ci] = w[from + ci * outChannels + co];
    }
  }
  const pad: tf.backend_util.ExplicitPadding = [
    [0, 0],
    [filterHeight - 1 - padInfo.top, filterHeight - 1 - padInfo.bottom],
    [filterWidth - 1 - padInfo.left, filterWidth - 1 - padInfo.right],
    [0, 0],
  ];
  const dx = stockKernel('Conv2D')({ inputs: { x: dy, filter: rotated }, backend, attrs: { strides: 1, pad, dataFormat: 'NHWC', dilations: 1 } }) as tf.TensorInfo;
  release(backend, rotated);
  return dx;
}

function columnsBackpropInput(backend: BackendWasm, dy: tf.TensorInfo, filter: tf.TensorInfo, info: tf.backend_util.Conv2DInfo): tf.TensorInfo {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth, strideHeight, strideWidth, padInfo } = info;
  const taps = filterHeight * filterWidth * inChannels;
  const transposed = stockKernel('Transpose')({ inputs: { x: { ...filter, shape: [taps, outChannels] } }, backend, attrs: { perm: [1, 0] } }) as tf.TensorInfo;
  const weights = { ...transposed, shape: [1, outChannels, taps] };
  const dx = backend.makeOutput(info.inShape, 'float32');
  const chunk = imagesPerChunk(info);
  const pixelBytes = inHeight * inWidth * inChannels * 4;
  for (let first = 0; first < batchSize; first += chunk) {
    const count = Math.min(chunk, batchSize - first);
    const rows = copyImages(backend, dy, first, count);
    const columns = matMul(backend, rows, weights);
    release(backend, rows);
    helpers(backend).add_columns(
      pointer(backend, columns), pointer(backend, dx) + first * pixelBytes,
      count, inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth, padInfo.top, padInfo.left,
    );
    release(backend, columns);
  }
  release(backend, transposed);
  return dx;
}

/** Shares the input's data, as Reshape does; the stock kernel copies it (hundreds of calls per step from the tape). */
function identity(args: Parameters<KernelFunc>[0]): tf.TensorInfo {
  const { x } = args.inputs as Inputs;
  (args.backend as BackendWasm).incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

/** A cast to the dtype the tensor already has (tfjs's gradients of Square, Sqrt, Log and Abs cast float32 to float32) shares the data too. */
function cast(stock: KernelFunc): KernelFunc {
  return (args) => {
    const { x } = args.inputs as Inputs;
    const { dtype } = args.attrs as unknown as { dtype: tf.DataType };
    return dtype === x.dtype ? identity(args) : stock(args);
  };
}

/**
 * XNNPACK serves only untransposed products of one matrix pair; with a transposed operand the stock
 * kernel falls back to scalar C. So transposed operands are materialised first (the wasm Transpose
 * kernel): either op(A) and op(B) for A·B directly, or op(B)ᵀ and op(A)ᵀ for (A·B)ᵀ = op(B)ᵀ·op(A)ᵀ
 * and the result transposed back, whichever moves fewer values, counting that XNNPACK also repacks
 * the second factor. (MoCo's logits against its queue, q·Qᵀ, become (Q·qᵀ)ᵀ: the queue is
 * neither transposed nor repacked.)
 */
function batchMatMul(stock: KernelFunc): KernelFunc {
  return (args) => {
    const backend = args.backend as BackendWasm;
    const { a, b } = args.inputs as Inputs;
    const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
    const single = (t: tf.TensorInfo) => t.shape.slice(0, -2).every((d) => d === 1);
    if ((!transposeA && !transposeB) || !single(a) || !single(b) || a.dtype !== 'float32' || b.dtype !== 'float32') return stock(args);
    const matrix = (t: tf.TensorInfo): [number, number] => [t.shape[t.shape.length - 2], t.shape[t.shape.length - 1]];
    const [aRows, aCols] = matrix(a);
    const [bRows, bCols] = matrix(b);
    const [outRows, outCols] = [transposeA ? aCols : aRows, transposeB ? bRows : bCols];
    const [aSize, bSize, outSize] = [aRows * aCols, bRows * bCols, outRows * outCols];
    const direct = (transposeA ? aSize : 0) + (transposeB ? bSize : 0) + bSize;
    const swapped = (transposeB ? 0 : bSize) + (transposeA ? 0 : aSize) + aSize + outSize;
    const flip = (t: tf.TensorInfo) => transposeMatrix(backend, { ...t, shape: matrix(t) });
    const as2d = (t: tf.TensorInfo) => ({ ...t, shape: matrix(t) });
    let out: tf.TensorInfo;
    if (direct <= swapped) {
      const left = transposeA ? flip(a) : as2d(a);
      const right = transposeB ? flip(b) : as2d(b);
      out = matMul(backend, left, right);
      if (transposeA) release(backend, left);
      if (transposeB) release(backend, right);
    } else {
      const left = transposeB ? as2d(b) : flip(b);
      const right = transposeA ? as2d(a) : flip(a);
      const product = matMul(backend, left, right);
      if (!transposeB) release(backend, left);
      if (!transposeA) release(backend, right);
      out = transposeMatrix(backend, { ...product, shape: [outCols, outRows] });
      release(backend, product);
    }
    const rank = Math.max(a.shape.length, b.shape.length);
    return { ...out, shape: [...Array(rank - 2).fill(1), outRows, outCols] };
  };
}

function transposeMatrix(backend: BackendWasm, t: tf.TensorInfo): tf.TensorInfo {
  return stockKernel('Transpose')({ inputs: { x: t }, backend, attrs: { perm: [1, 0] } }) as tf.TensorInfo;
}

/**
 * Sum or mean over leading axes (BatchNorm's statistics and their gradients) or over every axis (a
 * loss), one pass over contiguous rows, accumulated in double; the stock kernel transposes the
 * reduced axes to the end first and accumulates in float.
 */
function reduceLeading(stock: KernelFunc, mean: boolean): KernelFunc {
  return (args) => {
    const backend = args.backend as BackendWasm;
    const { x } = args.inputs as Inputs;
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((p, q) => p - q);
    if (x.dtype !== 'float32' || axes.length === 0 || !axes.every((d, k) => d === k)) return stock(args);
    const outer = tf.util.sizeFromShape(x.shape.slice(0, axes.length));
    const inner = tf.util.sizeFromShape(x.shape.slice(axes.length));
    const out = backend.makeOutput(keepDims ? x.shape.map((d, k) => (k < axes.length ? 1 : d)) : x.shape.slice(axes.length), 'float32');
    const totals = backend.makeOutput([2 * inner], 'float32');
    helpers(backend).sum_rows(pointer(backend, x), pointer(backend, out), pointer(backend, totals), outer, inner, mean ? 1 / outer : 1);
    release(backend, totals);
    return out;
  };
}

/**
 * Max-pool gradient to the first maximum of each window, as the CPU and WebGL backends do. The stock
 * kernel starts each window's maximum at the smallest positive float rather than −∞ and keeps the
 * last of equal values, so it sends the gradient of an all-negative window to its first position and
 * that of tied ReLU zeros to the last.
 */
function maxPoolGrad(args: Parameters<KernelFunc>[0]): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { dy, input } = args.inputs as Inputs;
  const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as {
    filterSize: [number, number] | number; strides: [number, number] | number; pad: 'valid' | 'same' | number; dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  if (input.dtype !== 'float32') throw new Error('MaxPoolGrad on wasm supports float32 only.');
  const info = tf.backend_util.computePool2DInfo(input.shape as Shape4, filterSize, strides, 1, pad, dimRoundingMode);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth, padInfo } = info;
  const dx = backend.makeOutput([...input.shape], 'float32');
  helpers(backend).max_pool_grad(
    pointer(backend, input), pointer(backend, dy), pointer(backend, dx),
    batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth, strideHeight, strideWidth, padInfo.top, padInfo.left,
  );
  return dx;
}

/** A typed view of a numeric tensor in the backend's memory (see heap). */
function view(backend: BackendWasm, info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array {
  const { buffer } = runtime(backend).memory;
  const size = tf.util.sizeFromShape(info.shape);
  const at = pointer(backend, info);
  if (info.dtype === 'float32') return new Float32Array(buffer, at, size);
  if (info.dtype === 'int32') return new Int32Array(buffer, at, size);
  return new Uint8Array(buffer, at, size);
}

/**
 * Slice by copying contiguous runs straight from the backend's memory; the stock kernel first reads
 * the whole input out of it (MoCo's and MoBY's queue updates copy the whole queue twice).
 */
function slice(stock: KernelFunc): KernelFunc {
  return (args) => {
    const backend = args.backend as BackendWasm;
    const { x } = args.inputs as Inputs;
    const { begin, size } = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
    if (x.dtype === 'string' || x.dtype === 'complex64') return stock(args);
    const [start, extent] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
    const out = backend.makeOutput(extent, x.dtype);
    const total = tf.util.sizeFromShape(extent);
    if (total === 0) return out;
    const source = view(backend, x);
    const target = view(backend, out);
    const strides = tf.util.computeStrides(x.shape);
    if (tf.slice_util.isSliceContinous(x.shape, start, extent)) {
      const from = tf.slice_util.computeFlatOffset(start, strides);
      target.set(source.subarray(from, from + total));
      return out;
    }
    // Runs along the last axis, one per index of the leading axes.
    const rank = x.shape.length;
    const run = extent[rank - 1];
    const index = extent.slice(0, -1).map(() => 0);
    for (let written = 0; written < total; written += run) {
      let from = start[rank - 1];
      for (let d = 0; d < rank - 1; d++) from += (start[d] + index[d]) * strides[d];
      target.set(source.subarray(from, from + run), written);
      for (let d = rank - 2; d >= 0 && ++index[d] === extent[d]; d--) index[d] = 0;
    }
    return out;
  };
}

/** Stacking along a new last axis (the image decoder's RGB planes) as one interleaving pass; the stock kernel concatenates through copies. */
function pack(stock: KernelFunc): KernelFunc {
  return (args) => {
    const backend = args.backend as BackendWasm;
    const inputs = args.inputs as unknown as tf.TensorInfo[];
    const { axis } = args.attrs as unknown as { axis: number };
    const rank = inputs[0]?.shape.length ?? 0;
    const lastAxis = axis === -1 || axis === rank;
    if (inputs.length < 2 || !lastAxis || inputs.some((t) => t.dtype !== 'float32' || !tf.util.arraysEqual(t.shape, inputs[0].shape))) return stock(args);
    const count = inputs.length;
    const out = backend.makeOutput([...inputs[0].shape, count], 'float32');
    const values = heap(backend, out);
    inputs.forEach((t, k) => {
      const plane = heap(backend, t);
      for (let i = 0, at = k; i < plane.length; i++, at += count) values[at] = plane[i];
    });
    return out;
  };
}

/** Scratch for the BatchNorm helpers: 2·C doubles, then 3·C floats; returns it and the floats' address. */
function batchNormScratch(backend: BackendWasm, channels: number): { scratch: tf.TensorInfo; coefficients: number } {
  const scratch = backend.makeOutput([7 * channels], 'float32');
  return { scratch, coefficients: pointer(backend, scratch) + 16 * channels };
}

/** Fused training-mode BatchNorm (contract in fused-batchnorm.ts): one pass for the statistics, one for the output. */
function batchNormForward(args: Parameters<KernelFunc>[0]): tf.TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const { x, scale, offset } = args.inputs as Partial<Inputs> & { x: tf.TensorInfo };
  const { epsilon } = args.attrs as unknown as { epsilon: number };
  if ([x, scale, offset].some((t) => t && t.dtype !== 'float32')) throw new Error('BatchNorm on wasm supports float32 only.');
  if (!scale !== !offset) throw new Error('BatchNorm on wasm takes both scale and offset, or neither.');
  const channels = x.shape[x.shape.length - 1];
  const y = backend.makeOutput([...x.shape], 'float32');
  const [mean, variance, invStd] = [0, 1, 2].map(() => backend.makeOutput([channels], 'float32'));
  const { scratch, coefficients } = batchNormScratch(backend, channels);
  const at = (t: tf.TensorInfo | undefined) => (t ? pointer(backend, t) : 0);
  helpers(backend).batch_norm_forward(
    at(x), at(scale), at(offset), at(y), at(mean), at(variance), at(invStd), at(scratch), coefficients, tf.util.sizeFromShape(x.shape) / channels, channels, epsilon,
  );
  release(backend, scratch);
  return [y, mean, variance, invStd];
}

/** Its gradient: one pass for the two per-channel sums, one for dx. */
function batchNormBackward(args: Parameters<KernelFunc>[0]): tf.TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const { dy, x, mean, invStd, scale } = args.inputs as Partial<Inputs> & { dy: tf.TensorInfo; x: tf.TensorInfo; mean: tf.TensorInfo; invStd: tf.TensorInfo };
  const channels = dy.shape[dy.shape.length - 1];
  const dx = backend.makeOutput([...dy.shape], 'float32');
  const [dScale, dOffset] = [0, 1].map(() => backend.makeOutput([channels], 'float32'));
  const { scratch, coefficients } = batchNormScratch(backend, channels);
  const at = (t: tf.TensorInfo | undefined) => (t ? pointer(backend, t) : 0);
  helpers(backend).batch_norm_backward(
    at(dy), at(x), at(mean), at(invStd), at(scale), at(dx), at(dScale), at(dOffset), at(scratch), coefficients, tf.util.sizeFromShape(dy.shape) / channels, channels,
  );
  release(backend, scratch);
  return [dx, dScale, dOffset];
}

/** The inputs of a fused update as `groups` matching lists (see update-groups.ts). */
function updateGroups(kernel: string, inputs: tf.TensorInfo[], groups: number): tf.TensorInfo[][] {
  return checkedGroups(kernel, inputs, groups, 'wasm');
}

/** A new float32 buffer shaped as `like`: fused updates never write into their inputs (see fused-updates.ts). */
function outputLike(backend: BackendWasm, like: tf.TensorInfo): tf.TensorInfo {
  return backend.makeOutput([...like.shape], 'float32');
}

/** AdamW over every parameter: one pass per tensor, new buffers for the weights and both moments. */
function adamWUpdate(args: Parameters<KernelFunc>[0]): tf.TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const [weights, grads, first, second] = updateGroups(ADAMW_UPDATE, args.inputs as unknown as tf.TensorInfo[], 4);
  const { beta1, beta2, epsilon, lr, correction1, correction2, decayFactor, decayed } = args.attrs as unknown as AdamWUpdateAttrs;
  const outputs = [weights, first, second].map((list) => list.map((t) => outputLike(backend, t)));
  const [newWeights, newFirst, newSecond] = outputs;
  const at = (t: tf.TensorInfo) => pointer(backend, t);
  weights.forEach((w, i) => {
    helpers(backend).adamw_update(
      at(w), at(grads[i]), at(first[i]), at(second[i]), at(newWeights[i]), at(newFirst[i]), at(newSecond[i]), tf.util.sizeFromShape(w.shape),
      beta1, 1 - beta1, beta2, 1 - beta2, correction1, correction2, epsilon, lr, decayFactor, decayed[i] ? 1 : 0,
    );
  });
  return outputs.flat();
}

/**
 * LARS's trust ratio η‖w‖ / (‖g‖ + wd‖w‖ + 1e-8), 1 where either norm is 0, clipped to lr·ratio ≤ lr,
 * each operation rounded to float32 (Math.fround) as optimizers.ts's composite of tensor ops rounds it.
 */
function trustRatio(backend: BackendWasm, w: tf.TensorInfo, g: tf.TensorInfo, attrs: MomentumUpdateAttrs): number {
  const f = Math.fround;
  const norm = (t: tf.TensorInfo) => f(Math.sqrt(f(helpers(backend).sum_squares(pointer(backend, t), tf.util.sizeFromShape(t.shape)))));
  const [wNorm, gNorm] = [norm(w), norm(g)];
  if (!(wNorm > 0 && gNorm > 0)) return 1;
  const trust = f(f(wNorm * f(attrs.eta)) / f(f(gNorm + f(wNorm * f(attrs.weightDecay))) + f(1e-8)));
  return attrs.clipLr ? Math.min(f(trust / f(attrs.lr)), 1) : trust;
}

/** SGD with momentum or LARS over every parameter: one pass per tensor (two more for LARS's norms), new buffers for the weights and momenta. */
function momentumUpdate(args: Parameters<KernelFunc>[0]): tf.TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const [weights, grads, buffers] = updateGroups(MOMENTUM_UPDATE, args.inputs as unknown as tf.TensorInfo[], 3);
  const attrs = args.attrs as unknown as MomentumUpdateAttrs;
  const outputs = [weights, buffers].map((list) => list.map((t) => outputLike(backend, t)));
  const [newWeights, newBuffers] = outputs;
  const at = (t: tf.TensorInfo) => pointer(backend, t);
  weights.forEach((w, i) => {
    const scale = attrs.trusted[i] ? trustRatio(backend, w, grads[i], attrs) : 1;
    helpers(backend).momentum_update(
      at(w), at(grads[i]), at(buffers[i]), at(newWeights[i]), at(newBuffers[i]), tf.util.sizeFromShape(w.shape),
      attrs.lr, attrs.momentum, attrs.weightDecay, scale, attrs.decayed[i] ? 1 : 0,
    );
  });
  return outputs.flat();
}

/** Every EMA target moved towards its online tensor, into new buffers. */
function emaUpdate(args: Parameters<KernelFunc>[0]): tf.TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const [targets, onlines] = updateGroups(EMA_UPDATE, args.inputs as unknown as tf.TensorInfo[], 2);
  const { rate } = args.attrs as unknown as { rate: number };
  return targets.map((t, i) => {
    const out = outputLike(backend, t);
    helpers(backend).ema_update(pointer(backend, t), pointer(backend, onlines[i]), pointer(backend, out), tf.util.sizeFromShape(t.shape), rate);
    return out;
  });
}

/** Both BatchNorm running statistics, into new buffers. */
function runningStatisticsUpdate(args: Parameters<KernelFunc>[0]): tf.TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const { runningMean, runningVariance, mean, variance } = args.inputs as Inputs;
  const [[running0, running1], [batch0, batch1]] = updateGroups(RUNNING_STATISTICS_UPDATE, [runningMean, runningVariance, mean, variance], 2);
  const { keep, rate, varianceRate } = args.attrs as unknown as { keep: number; rate: number; varianceRate: number };
  return ([[running0, batch0, rate], [running1, batch1, varianceRate]] as const).map(([running, batch, batchRate]) => {
    const out = outputLike(backend, running);
    helpers(backend).running_average(pointer(backend, running), pointer(backend, batch), pointer(backend, out), tf.util.sizeFromShape(running.shape), keep, batchRate);
    return out;
  });
}

function reluBackward(args: Parameters<KernelFunc>[0]): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { dy, x } = args.inputs as Inputs;
  updateGroups(RELU_BACKWARD, [dy, x], 2);
  const dx = outputLike(backend, dy);
  helpers(backend).relu_backward(pointer(backend, dy), pointer(backend, x), pointer(backend, dx), tf.util.sizeFromShape(dy.shape));
  return dx;
}

/** A view's whole augmentation (AUGMENT_VIEW, augment.ts) in one pass per image; the blur's Gaussians built here as the composite builds them. */
function augmentView(args: Parameters<KernelFunc>[0]): tf.TensorInfo {
  const backend = args.backend as BackendWasm;
  const { images, parameters } = args.inputs as Inputs;
  const { outSize, switches } = args.attrs as unknown as AugmentViewAttrs;
  if (images.dtype !== 'float32' || parameters.dtype !== 'float32') throw new Error('The augmentation on wasm takes float32 images and parameters.');
  const [count, height, width] = images.shape;
  const out = backend.makeOutput([count, outSize, outSize, 3], 'float32');
  const scratch = backend.makeOutput([outSize * outSize * 3], 'float32');
  const kernels = switches.blur ? backend.makeOutput([count, outSize, outSize], 'float32') : null;
  if (kernels) heap(backend, kernels).set(blurKernels(heap(backend, parameters), count, outSize));
  const on = (flag: boolean) => (flag ? 1 : 0);
  helpers(backend).augment_view(
    pointer(backend, images), pointer(backend, parameters), kernels ? pointer(backend, kernels) : 0, pointer(backend, out), pointer(backend, scratch), count, height, width, outSize,
    on(switches.exactSize), on(switches.flip), on(switches.jitter), on(switches.hue), on(switches.grayscale), on(switches.blur), on(switches.solarize),
  );
  release(backend, scratch, ...(kernels ? [kernels] : []));
  return out;
}

const REPLACEMENTS: Record<string, (stock: KernelFunc | null) => KernelFunc> = {
  Conv2D: (stock) => conv2d(stock as KernelFunc),
  Conv2DBackpropFilter: () => conv2dBackpropFilter as KernelFunc,
  Conv2DBackpropInput: (stock) => conv2dBackpropInput(stock as KernelFunc),
  BatchMatMul: (stock) => batchMatMul(stock as KernelFunc),
  Identity: () => identity as KernelFunc,
  Cast: (stock) => cast(stock as KernelFunc),
  Sum: (stock) => reduceLeading(stock as KernelFunc, false),
  Mean: (stock) => reduceLeading(stock as KernelFunc, true),
  MaxPoolGrad: () => maxPoolGrad as KernelFunc,
  Pack: (stock) => pack(stock as KernelFunc),
  Slice: (stock) => slice(stock as KernelFunc),
  [BATCH_NORM_FORWARD]: () => batchNormForward as unknown as KernelFunc,
  [BATCH_NORM_BACKWARD]: () => batchNormBackward as unknown as KernelFunc,
  [ADAMW_UPDATE]: () => adamWUpdate as unknown as KernelFunc,
  [MOMENTUM_UPDATE]: () => momentumUpdate as unknown as KernelFunc,
  [EMA_UPDATE]: () => emaUpdate as unknown as KernelFunc,
  [RUNNING_STATISTICS_UPDATE]: () => runningStatisticsUpdate as unknown as KernelFunc,
  [RELU_BACKWARD]: () => reluBackward as KernelFunc,
  [AUGMENT_VIEW]: () => augmentView as KernelFunc,
};

/** The stock kernels replaced here by name, null for the fused ones tfjs lacks (the tests run them to compare). */
export const replacedWasmKernels = new Map<string, tf.KernelConfig | null>();

/** Registers the replacements once (kernels are global: once per process or worker), each keeping the stock kernel's setup so that the backend initialises it as before. */
function install(): void {
  if (replacedWasmKernels.size > 0) return;
  for (const name of Object.keys(REPLACEMENTS)) {
    const stock = tf.getKernel(name, 'wasm') ?? null;
    replacedWasmKernels.set(name, stock);
    if (stock) tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ kernelName: name, backendName: 'wasm', setupFunc: stock?.setupFunc, kernelFunc: REPLACEMENTS[name](stock?.kernelFunc ?? null) });
  }
}

install();
