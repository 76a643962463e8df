/**
 * The safetensors format (huggingface/safetensors), written and read without a package: an 8-byte
 * little-endian header length, a JSON header naming each tensor's dtype, shape and byte range, then
 * the raw little-endian tensor bytes. PyTorch reads it with a few lines of the standard library
 * (the exported project's siamese_torch.py), and the app reads what PyTorch writes back.
 *
 * Pure data, no tfjs: the page and the worker both use it.
 */

export type SafetensorsDtype = 'F32' | 'I32' | 'I64' | 'U8' | 'BOOL';

export interface NamedArray {
  name: string;
  shape: number[];
  /** F32 as Float32Array, I32 as Int32Array, U8/BOOL as Uint8Array. I64 is read into an Int32Array (see decode). */
  data: Float32Array | Int32Array | Uint8Array;
}

export interface SafetensorsFile {
  tensors: NamedArray[];
  /** The header's "__metadata__": string keys to string values, as the format allows. */
  metadata: Record<string, string>;
}

const BYTES: Record<SafetensorsDtype, number> = { F32: 4, I32: 4, I64: 8, U8: 1, BOOL: 1 };

function dtypeOf(data: NamedArray['data']): SafetensorsDtype {
  if (data instanceof Float32Array) return 'F32';
  if (data instanceof Int32Array) return 'I32';
  return 'U8';
}

const count = (shape: number[]) => shape.reduce((n, d) => n * d, 1);

/** Little-endian bytes of a typed array (the platform's own order when it is little-endian). */
function littleEndianBytes(data: NamedArray['data']): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data.BYTES_PER_ELEMENT === 1 || new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) return bytes;
  const out = new Uint8Array(bytes.length);
  const width = data.BYTES_PER_ELEMENT;
  for (let i = 0; i < bytes.length; i += width) for (let k = 0; k < width; k++) out[i + k] = bytes[i + width - 1 - k];
  return out;
}

/** Serialises named arrays (in the given order) and string metadata as one safetensors file. */
export function encodeSafetensors(tensors: NamedArray[], metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  const names = new Set<string>();
  for (const t of tensors) {
    if (names.has(t.name)) throw new Error(`Two tensors are named "${t.name}"`);
    if (t.name === '__metadata__') throw new Error('"__metadata__" cannot name a tensor');
    names.add(t.name);
    if (count(t.shape) !== t.data.length) throw new Error(`Tensor "${t.name}" has shape [${t.shape.join(', ')}] but ${t.data.length} values`);
    header[t.name] = { dtype: dtypeOf(t.data), shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  // The format pads the header with spaces so the data starts 8-byte aligned.
  json += ' '.repeat((8 - ((8 + new TextEncoder().encode(json).length) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const t of tensors) {
    out.set(littleEndianBytes(t.data), at);
    at += t.data.byteLength;
  }
  return out;
}

function bad(message: string): Error {
  return new Error(`Not a readable safetensors file: ${message}`);
}

/**
 * Reads a safetensors file. F32, I32, U8 and BOOL come back as they are; I64 (PyTorch's
 * `num_batches_tracked`, integer labels) is narrowed to Int32 and refused if a value does not fit.
 * Other dtypes (half precision, F64) are refused with their name: convert them to float32 first.
 */
export function decodeSafetensors(input: ArrayBuffer | Uint8Array): SafetensorsFile {
  // A plain Uint8Array view: Node's Buffer is a Uint8Array whose slice() shares memory instead of copying.
  const bytes = input instanceof Uint8Array ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength) : new Uint8Array(input);
  if (bytes.length < 8) throw bad('shorter than its 8-byte header length');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > bytes.length - 8) throw bad(`the header claims ${headerLength} bytes but the file has ${bytes.length - 8} after the length`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<string, unknown>;
  } catch (error) {
    throw bad(`the header is not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw bad('the header is not a JSON object');
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const tensors: NamedArray[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      for (const [key, value] of Object.entries((entry ?? {}) as Record<string, unknown>)) metadata[key] = String(value);
      continue;
    }
    const { dtype, shape, data_offsets: offsets } = (entry ?? {}) as { dtype?: string; shape?: number[]; data_offsets?: [number, number] };
    if (!dtype || !(dtype in BYTES)) throw bad(`tensor "${name}" has dtype ${String(dtype)}; the app reads ${Object.keys(BYTES).join(', ')} (save float32 weights)`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw bad(`tensor "${name}" has no valid shape`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !(offsets[0] >= 0 && offsets[1] <= dataLength && offsets[0] <= offsets[1])) {
      throw bad(`tensor "${name}" has data offsets ${JSON.stringify(offsets)} outside the ${dataLength} data bytes`);
    }
    const width = BYTES[dtype as SafetensorsDtype];
    if (offsets[1] - offsets[0] !== count(shape) * width) throw bad(`tensor "${name}" [${shape.join(', ')}] ${dtype} needs ${count(shape) * width} bytes, not ${offsets[1] - offsets[0]}`);
    // A copy, aligned for the typed array whatever the header's padding was.
    const raw = bytes.slice(dataStart + offsets[0], dataStart + offsets[1]);
    const rawView = new DataView(raw.buffer);
    const n = count(shape);
    let data: NamedArray['data'];
    if (dtype === 'F32') data = Float32Array.from({ length: n }, (_, i) => rawView.getFloat32(4 * i, true));
    else if (dtype === 'I32') data = Int32Array.from({ length: n }, (_, i) => rawView.getInt32(4 * i, true));
    else if (dtype === 'I64') {
      data = Int32Array.from({ length: n }, (_, i) => {
        const value = rawView.getBigInt64(8 * i, true);
        if (value > 2147483647n || value < -2147483648n) throw bad(`tensor "${name}" holds the int64 ${value}, beyond int32`);
        return Number(value);
      });
    } else data = raw;
    tensors.push({ name, shape, data });
  }
  // The header's order is JSON's; the data order is the file's. Sort by where the data lies so a round trip keeps the order.
  const start = (t: NamedArray) => ((header[t.name] as { data_offsets: [number, number] }).data_offsets[0]);
  tensors.sort((a, b) => start(a) - start(b));
  return { tensors, metadata };
}
