/**
 * Recording our own WGSL pipelines on tfjs's WebGPU backend, for kernels that runWebGPUProgram cannot
 * express (several outputs, many tensors at once). It follows the backend's own recordAndSubmit: the
 * dispatches go into the backend's command encoder and compute pass, every buffer they touch is marked
 * as owned by the pending command queue (so that a tensor disposed meanwhile keeps its buffer until
 * the queue is submitted), the parameter block is written by the queue into a buffer released after
 * the submit (as tfjs's uniforms), and the queue is submitted after the backend's batch of dispatches.
 * Buffer-to-buffer copies (gathering tensors into flat scratch, scattering results back) are encoder
 * commands, outside any compute pass.
 */
import * as tf from '@tensorflow/tfjs';

/** The internals of WebGPUBackend (tfjs 4.22) this file uses. */
export interface Backend {
  device: GPUDevice;
  queue: GPUQueue;
  tensorMap: { get(dataId: object): { resource?: unknown; dtype: string } };
  commandEncoder: GPUCommandEncoder | null;
  computePassEncoder: GPUComputePassEncoder | null;
  commandQueueOwnedIds: WeakSet<object>;
  dispatchCountInPass: number;
  uniformPendingDisposal: GPUBuffer[];
  bufferManager: { acquireBuffer(size: number, usage: number): GPUBuffer };
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  uploadToGPU(dataId: object): void;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array): tf.TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}

export function internals(backend: unknown): Backend {
  const b = backend as Backend;
  if (typeof b.ensureCommandEncoderReady !== 'function' || typeof b.endComputePassEncoder !== 'function' || !b.bufferManager) {
    throw new Error('The tfjs WebGPU backend lacks the internals webgpu-recording.ts records on (written for tfjs 4.22).');
  }
  return b;
}

export const WORKGROUP_SIZE = 256;

/** One pipeline per shader text and device. */
const pipelines = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

export function pipeline(backend: Backend, code: string): GPUComputePipeline {
  let cache = pipelines.get(backend.device);
  if (!cache) pipelines.set(backend.device, (cache = new Map()));
  let found = cache.get(code);
  if (!found) {
    found = backend.device.createComputePipeline({ layout: 'auto', compute: { module: backend.device.createShaderModule({ code }), entryPoint: 'main' } });
    cache.set(code, found);
  }
  return found;
}

/** The GPU buffer of a tensor, uploading its values first where they are still on the CPU (counted as an upload, as for tfjs's own programs). */
export function bufferOf(backend: Backend, info: tf.TensorInfo): GPUBuffer {
  backend.uploadToGPU(info.dataId);
  const resource = backend.tensorMap.get(info.dataId).resource;
  if (!(resource instanceof GPUBuffer)) throw new Error('Expected a tensor held in a GPU buffer.');
  backend.commandQueueOwnedIds.add(info.dataId);
  return resource;
}

/** A new float32 tensor on the GPU, its buffer allocated (no values to upload). */
export function newTensor(backend: Backend, shape: number[]): tf.TensorInfo {
  if (tf.util.sizeFromShape(shape) === 0) return backend.makeTensorInfo(shape, 'float32', new Float32Array(0));
  const info = backend.makeTensorInfo(shape, 'float32');
  bufferOf(backend, info);
  return info;
}

/** Releases scratch tensors made by newTensor: their buffers go back to the pool after the pending queue is submitted. */
export function release(backend: Backend, ...infos: tf.TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

/** A parameter block written by the queue, released after the submit as tfjs's uniforms are. */
function parameterBuffer(backend: Backend, data: ArrayBuffer, usage: number): GPUBuffer {
  const size = Math.max(16, Math.ceil(data.byteLength / 16) * 16);
  const buffer = backend.bufferManager.acquireBuffer(size, usage | GPUBufferUsage.COPY_DST);
  backend.queue.writeBuffer(buffer, 0, data, 0, data.byteLength);
  backend.uniformPendingDisposal.push(buffer);
  return buffer;
}

export interface Dispatch {
  code: string;
  /** Binding 0: the parameter block, as a uniform (fixed layout) or a read-only storage buffer (tables of any length). */
  parameters: { data: ArrayBuffer; storage?: boolean };
  /** Bindings 1, 2, …: the buffers the shader reads and writes. */
  buffers: GPUBuffer[];
  workgroups: [number, number] | [number, number, number];
}

/** Records one dispatch on the backend's compute pass, and submits when the backend would. */
export function dispatch(backend: Backend, d: Dispatch): void {
  const compiled = pipeline(backend, d.code);
  const parameters = parameterBuffer(backend, d.parameters.data, d.parameters.storage ? GPUBufferUsage.STORAGE : GPUBufferUsage.UNIFORM);
  const bindGroup = backend.device.createBindGroup({
    layout: compiled.getBindGroupLayout(0),
    entries: [parameters, ...d.buffers].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  backend.ensureCommandEncoderReady();
  if (!backend.computePassEncoder) backend.computePassEncoder = backend.commandEncoder!.beginComputePass({});
  backend.computePassEncoder.setPipeline(compiled);
  backend.computePassEncoder.setBindGroup(0, bindGroup);
  backend.computePassEncoder.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2] ?? 1);
  backend.dispatchCountInPass += 1;
  if (tf.env().getNumber('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') <= backend.dispatchCountInPass) {
    backend.endComputePassEncoder();
    backend.submitQueue();
  }
}

/** Workgroups for `count` invocations of WORKGROUP_SIZE threads, folded into two dimensions within the device's limit. */
export function workgroupsFor(backend: { device: GPUDevice }, count: number): [number, number] {
  const groups = Math.max(1, Math.ceil(count / WORKGROUP_SIZE));
  const limit = backend.device.limits.maxComputeWorkgroupsPerDimension;
  if (groups <= limit) return [groups, 1];
  const width = Math.ceil(Math.sqrt(groups));
  return [width, Math.ceil(groups / width)];
}

/** The flat index of an element in a shader dispatched by workgroupsFor; `params.width` is the first dimension. */
export const FLAT_INDEX = `(wid.y * params.width + wid.x) * ${WORKGROUP_SIZE}u + lid`;

/** Copies `size` floats between buffers as encoder commands (the compute pass is ended first). */
export function copyFloats(backend: Backend, from: GPUBuffer, fromOffset: number, to: GPUBuffer, toOffset: number, size: number): void {
  if (size === 0) return;
  backend.ensureCommandEncoderReady();
  backend.endComputePassEncoder();
  backend.commandEncoder!.copyBufferToBuffer(from, fromOffset * 4, to, toOffset * 4, size * 4);
}

/** A parameter block of 32-bit words: unsigned and signed integers and float32 values in order. */
export class Words {
  private readonly words: number[] = [];
  private readonly kinds: ('u' | 'i' | 'f')[] = [];

  u32(...values: number[]): this {
    values.forEach((v) => (this.words.push(v), this.kinds.push('u')));
    return this;
  }

  i32(...values: number[]): this {
    values.forEach((v) => (this.words.push(v), this.kinds.push('i')));
    return this;
  }

  f32(...values: number[]): this {
    values.forEach((v) => (this.words.push(v), this.kinds.push('f')));
    return this;
  }

  get length(): number {
    return this.words.length;
  }

  buffer(): ArrayBuffer {
    const data = new ArrayBuffer(Math.max(16, Math.ceil(this.words.length / 4) * 16));
    const u = new Uint32Array(data);
    const signed = new Int32Array(data);
    const f = new Float32Array(data);
    this.words.forEach((v, i) => (this.kinds[i] === 'u' ? (u[i] = v) : this.kinds[i] === 'i' ? (signed[i] = v) : (f[i] = v)));
    return data;
  }
}
