/**
 * Small constants stay on the GPU. tfjs turns every number an op takes (tf.mul(x, 0.5), an epsilon,
 * the 1 of 1 − p) into a new scalar tensor whose value it then uploads to a new GPU buffer, every time
 * the op runs: most of a step's host→GPU uploads on WebGPU. Here the backend's upload of a tensor of at
 * most four values takes a GPU buffer already holding those values (bit for bit, per dtype) where
 * there is one, and otherwise fills a new one that later tensors with the same values share. The
 * buffer is marked external, so disposing a tensor never hands it back to tfjs's pool, where a later
 * program could write into it; no tfjs program writes into its inputs. The least recently used
 * values are forgotten beyond a bound (their buffers are freed once no tensor holds them).
 */
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';

/** Largest constant shared, in values: scalars and the three per-channel constants of an RGB image. */
const MAX_VALUES = 4;
/** Distinct constants kept per device. */
const MAX_CONSTANTS = 512;

interface TensorData {
  dtype: string;
  values?: ArrayLike<number> | null;
  resource?: unknown;
  external?: boolean;
  /** 'shared': the upload took a constant's buffer that was already on the GPU (not a transfer); 'new': it filled one. */
  constant?: 'shared' | 'new';
}

interface BackendInternals {
  device: GPUDevice;
  tensorMap: { get(dataId: object): TensorData };
}

const constants = new WeakMap<GPUDevice, Map<string, GPUBuffer>>();

/** The GPU buffer holding `values` as `dtype` (bool and int32 as int32, as tfjs stores them), and whether it was there already. */
function constantBuffer(device: GPUDevice, dtype: string, values: ArrayLike<number>): { buffer: GPUBuffer; shared: boolean } {
  const typed = dtype === 'float32' ? Float32Array.from(values) : Int32Array.from(values);
  const key = `${dtype === 'float32' ? 'f' : 'i'}${Array.from(new Uint32Array(typed.buffer)).join(',')}`;
  let cache = constants.get(device);
  if (!cache) constants.set(device, (cache = new Map()));
  const found = cache.get(key);
  if (found) {
    cache.delete(key);
    cache.set(key, found);
    return { buffer: found, shared: true };
  }
  const buffer = device.createBuffer({ size: typed.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, mappedAtCreation: true });
  new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(typed.buffer));
  buffer.unmap();
  cache.set(key, buffer);
  if (cache.size > MAX_CONSTANTS) cache.delete(cache.keys().next().value!);
  return { buffer, shared: false };
}

let installed = false;

/** Makes every WebGPU backend share the buffers of small constants (once per process or worker). */
export function keepSmallConstantsOnGpu(): void {
  if (installed) return;
  installed = true;
  const prototype = WebGPUBackend.prototype as unknown as { uploadToGPU(this: BackendInternals, dataId: object): void };
  const upload = prototype.uploadToGPU;
  prototype.uploadToGPU = function (this: BackendInternals, dataId: object) {
    const data = this.tensorMap.get(dataId);
    const { values } = data;
    const small = values != null && values.length > 0 && values.length <= MAX_VALUES && ['float32', 'int32', 'bool'].includes(data.dtype);
    if (data.resource != null || !small) {
      upload.call(this, dataId);
      return;
    }
    const { buffer, shared } = constantBuffer(this.device, data.dtype, values);
    data.resource = buffer;
    data.external = true;
    data.values = null;
    data.constant = shared ? 'shared' : 'new';
  };
}
