/**
 * A zip archive of stored (uncompressed) files: the PyTorch project download. The stored method is a
 * few headers around the bytes, every unzip tool and Python's zipfile read it, and the project's bulk
 * (float32 weights) would hardly compress anyway, so no compression library is needed. Entries carry
 * a fixed date (1980-01-01) so the same project gives the same archive; no ZIP64 (under 4 GiB).
 */
export interface ZipEntry {
  path: string;
  data: Uint8Array | string;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE 802.3), as zip stores it. */
export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = CRC_TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const LOCAL_HEADER = 30;
const CENTRAL_HEADER = 46;
const END_RECORD = 22;
/** General-purpose flag bit 11: names are UTF-8. */
const UTF8_NAMES = 0x0800;
/** MS-DOS date of 1980-01-01 (day 1, month 1, year 0), time 00:00. */
const DOS_DATE = (1 << 5) | 1;

export function zipStored(entries: ZipEntry[]): Uint8Array {
  const encoder = new TextEncoder();
  const files = entries.map((entry) => {
    const data = typeof entry.data === 'string' ? encoder.encode(entry.data) : entry.data;
    return { name: encoder.encode(entry.path), data, crc: crc32(data) };
  });
  const dataBytes = files.reduce((n, f) => n + LOCAL_HEADER + f.name.length + f.data.length, 0);
  const centralBytes = files.reduce((n, f) => n + CENTRAL_HEADER + f.name.length, 0);
  if (dataBytes + centralBytes + END_RECORD > 0xffffffff || files.length > 0xffff) throw new Error('The archive would need ZIP64 (over 4 GiB or 65,535 files).');
  const out = new Uint8Array(dataBytes + centralBytes + END_RECORD);
  const view = new DataView(out.buffer);
  let at = 0;
  const u16 = (value: number) => {
    view.setUint16(at, value, true);
    at += 2;
  };
  const u32 = (value: number) => {
    view.setUint32(at, value, true);
    at += 4;
  };
  const bytes = (value: Uint8Array) => {
    out.set(value, at);
    at += value.length;
  };
  // version needed 2.0, flags, method 0 (stored), time, date, crc, compressed and plain size, name length, no extra field.
  const common = (f: (typeof files)[number]) => {
    u16(20);
    u16(UTF8_NAMES);
    u16(0);
    u16(0);
    u16(DOS_DATE);
    u32(f.crc);
    u32(f.data.length);
    u32(f.data.length);
    u16(f.name.length);
    u16(0);
  };
  const offsets: number[] = [];
  for (const f of files) {
    offsets.push(at);
    u32(0x04034b50);
    common(f);
    bytes(f.name);
    bytes(f.data);
  }
  const centralStart = at;
  files.forEach((f, i) => {
    u32(0x02014b50);
    u16(20); // made by: version 2.0, MS-DOS attributes
    common(f);
    u16(0); // comment length
    u16(0); // disk number
    u16(0); // internal attributes
    u32(0); // external attributes
    u32(offsets[i]);
    bytes(f.name);
  });
  u32(0x06054b50);
  u16(0);
  u16(0);
  u16(files.length);
  u16(files.length);
  u32(centralBytes);
  u32(centralStart);
  u16(0);
  return out;
}

/** The app's PyTorch project download: the project's files in one folder named after the run, stored. */
export function pytorchProjectZip(baseName: string, files: readonly ZipEntry[]): { fileName: string; data: Uint8Array } {
  const folder = `${baseName}-pytorch`;
  return { fileName: `${folder}.zip`, data: zipStored(files.map((f) => ({ path: `${folder}/${f.path}`, data: f.data }))) };
}

/**
 * The files of a zip archive of stored entries, such as zipStored writes, read through its central
 * directory. A compressed entry (an archive made again by another tool) is refused with the reason.
 */
export function unzipStored(archive: Uint8Array): { path: string; data: Uint8Array }[] {
  const view = new DataView(archive.buffer, archive.byteOffset, archive.byteLength);
  let end = archive.length - END_RECORD;
  // The end record sits before an archive comment of up to 65,535 bytes.
  while (end >= 0 && view.getUint32(end, true) !== 0x06054b50) end -= 1;
  if (end < 0 || archive.length - end - END_RECORD > 0xffff) throw new Error('It is not a zip archive (no end of central directory).');
  const count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  const decoder = new TextDecoder();
  const entries: { path: string; data: Uint8Array }[] = [];
  for (let i = 0; i < count; i++) {
    if (view.getUint32(at, true) !== 0x02014b50) throw new Error('The zip archive\'s central directory is damaged.');
    const method = view.getUint16(at + 10, true);
    const size = view.getUint32(at + 20, true);
    const nameLength = view.getUint16(at + 28, true);
    const skip = nameLength + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
    const local = view.getUint32(at + 42, true);
    const path = decoder.decode(archive.subarray(at + CENTRAL_HEADER, at + CENTRAL_HEADER + nameLength));
    at += CENTRAL_HEADER + skip;
    if (path.endsWith('/')) continue;
    if (method !== 0) throw new Error(`${path} is compressed in the archive (method ${method}); unzip it and give the folder instead.`);
    const start = local + LOCAL_HEADER + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    entries.push({ path, data: archive.subarray(start, start + size) });
  }
  return entries;
}
