import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors } from './safetensors';

/** The header as the file stores it: length, JSON text, where the data starts. */
function header(bytes: Uint8Array): { length: number; json: Record<string, unknown> } {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { length, json: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))) as Record<string, unknown> };
}

describe('safetensors', () => {
  it('writes the format: 8-byte little-endian header length, JSON header with byte ranges, aligned little-endian data', () => {
    const bytes = encodeSafetensors(
      [
        { name: 'a', shape: [2], data: new Float32Array([1, -2]) },
        { name: 'b', shape: [1, 1], data: new Int32Array([258]) },
      ],
      { note: 'x' },
    );
    const { length, json } = header(bytes);
    expect((8 + length) % 8).toBe(0);
    expect(json).toEqual({
      __metadata__: { note: 'x' },
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'I32', shape: [1, 1], data_offsets: [8, 12] },
    });
    const data = bytes.subarray(8 + length);
    // 1.0f is 0x3f800000, −2.0f is 0xc0000000, 258 is 0x00000102: least significant byte first.
    expect([...data]).toEqual([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0, 2, 1, 0, 0]);
  });

  it('reads back what it writes, names, shapes, values, order and metadata', () => {
    const tensors = [
      { name: 'online/backbone/conv0/kernel', shape: [2, 3], data: Float32Array.from({ length: 6 }, (_, i) => i / 3 - 0.7) },
      { name: 'labels', shape: [3], data: new Int32Array([0, 7, -1]) },
      { name: 'mask', shape: [2], data: new Uint8Array([1, 0]) },
      { name: 'empty', shape: [0], data: new Float32Array(0) },
    ];
    const decoded = decodeSafetensors(encodeSafetensors(tensors, { config: '{"seed":1}' }));
    expect(decoded.metadata).toEqual({ config: '{"seed":1}' });
    expect(decoded.tensors).toEqual(tensors);
  });

  it('reads a file that sits inside a larger buffer, as Node\'s pooled Buffers do', () => {
    const file = encodeSafetensors([{ name: 'w', shape: [2], data: new Float32Array([0.5, -3]) }]);
    const pooled = Buffer.concat([Buffer.from([7, 7, 7]), Buffer.from(file)]).subarray(3);
    expect(pooled.byteOffset).toBeGreaterThan(0);
    expect(decodeSafetensors(pooled).tensors[0].data).toEqual(new Float32Array([0.5, -3]));
  });

  it('reads int64 (PyTorch\'s num_batches_tracked) as int32 and refuses values beyond it', () => {
    const make = (value: bigint) => {
      const json = new TextEncoder().encode(JSON.stringify({ n: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }));
      const out = new Uint8Array(8 + json.length + 8);
      const view = new DataView(out.buffer);
      view.setBigUint64(0, BigInt(json.length), true);
      out.set(json, 8);
      view.setBigInt64(8 + json.length, value, true);
      return out;
    };
    expect(decodeSafetensors(make(-5n)).tensors[0]).toEqual({ name: 'n', shape: [1], data: new Int32Array([-5]) });
    expect(() => decodeSafetensors(make(2n ** 40n))).toThrow(/int64 1099511627776, beyond int32/);
  });

  it('refuses broken files with a message saying what is wrong', () => {
    expect(() => decodeSafetensors(new Uint8Array(3))).toThrow(/shorter than its 8-byte header length/);
    const good = encodeSafetensors([{ name: 'w', shape: [2], data: new Float32Array([1, 2]) }]);
    expect(() => decodeSafetensors(good.subarray(0, good.length - 4))).toThrow(/outside the 4 data bytes/);
    const half = new TextEncoder().encode(JSON.stringify({ w: { dtype: 'F16', shape: [1], data_offsets: [0, 2] } }));
    const file = new Uint8Array(8 + half.length + 2);
    new DataView(file.buffer).setBigUint64(0, BigInt(half.length), true);
    file.set(half, 8);
    expect(() => decodeSafetensors(file)).toThrow(/dtype F16.*save float32 weights/);
    expect(() => encodeSafetensors([{ name: 'w', shape: [3], data: new Float32Array(2) }])).toThrow(/shape \[3\] but 2 values/);
    expect(() => encodeSafetensors([{ name: 'w', shape: [1], data: new Float32Array(1) }, { name: 'w', shape: [1], data: new Float32Array(1) }])).toThrow(/Two tensors are named "w"/);
  });
});
