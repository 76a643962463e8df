/**
 * Reads an image's format and size from its first bytes, without decoding it. This tells a
 * non-image apart from a corrupt image, and refuses images too large to decode before a browser
 * tries to allocate them (a 10,000 × 10,000 image is 400 MB of RGBA).
 */

export type ImageFormat = 'png' | 'jpeg' | 'gif' | 'bmp' | 'webp';

export interface ImageHeader {
  format: ImageFormat;
  /** Stored size; null when the header was cut off before it (a JPEG with large metadata). */
  width: number | null;
  height: number | null;
}

/** Bytes to read for the header: JPEG metadata segments before the frame header can be long. */
export const HEADER_BYTES = 256 * 1024;
/** Largest image decoded: about 200 MB of RGBA while decoding. */
export const MAX_DECODE_PIXELS = 50_000_000;
/** Canvas and ImageBitmap sides beyond this fail in browsers (Chromium's limit). */
export const MAX_DECODE_SIDE = 32_767;

const startsWith = (bytes: Uint8Array, signature: number[], at = 0) => signature.every((b, i) => bytes[at + i] === b);
const ascii = (text: string) => Array.from(text, (c) => c.charCodeAt(0));

function jpegSize(bytes: Uint8Array, view: DataView): { width: number; height: number } | null {
  let offset = 2;
  while (offset + 9 < bytes.length) {
    if (bytes[offset] !== 0xff) return null;
    const marker = bytes[offset + 1];
    if (marker === 0xff) {
      offset += 1; // fill byte
      continue;
    }
    // SOF0…SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but do not.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: view.getUint16(offset + 5), width: view.getUint16(offset + 7) };
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      offset += 2; // markers without a length
      continue;
    }
    offset += 2 + view.getUint16(offset + 2);
  }
  return null;
}

function webpSize(bytes: Uint8Array, view: DataView): { width: number; height: number } | null {
  if (startsWith(bytes, ascii('VP8 '), 12) && bytes.length >= 30) return { width: view.getUint16(26, true) & 0x3fff, height: view.getUint16(28, true) & 0x3fff };
  if (startsWith(bytes, ascii('VP8L'), 12) && bytes.length >= 25) {
    const bits = view.getUint32(21, true);
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (startsWith(bytes, ascii('VP8X'), 12) && bytes.length >= 30) {
    const read24 = (at: number) => bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16);
    return { width: read24(24) + 1, height: read24(27) + 1 };
  }
  return null;
}

/** The format and stored size of an image from its first bytes, or null when it is no image format we decode. */
export function readImageHeader(bytes: Uint8Array): ImageHeader | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sized = (format: ImageFormat, size: { width: number; height: number } | null): ImageHeader => ({ format, width: size?.width ?? null, height: size?.height ?? null });
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) {
    return sized('png', bytes.length >= 24 && startsWith(bytes, ascii('IHDR'), 12) ? { width: view.getUint32(16), height: view.getUint32(20) } : null);
  }
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return sized('jpeg', jpegSize(bytes, view));
  if (startsWith(bytes, ascii('GIF87a')) || startsWith(bytes, ascii('GIF89a'))) {
    return sized('gif', bytes.length >= 10 ? { width: view.getUint16(6, true), height: view.getUint16(8, true) } : null);
  }
  if (startsWith(bytes, ascii('BM')) && bytes.length >= 26) {
    // BITMAPCOREHEADER (12 bytes) stores 16-bit sizes; later headers 32-bit, height negative when top-down.
    const core = view.getUint32(14, true) === 12;
    return sized('bmp', core ? { width: view.getUint16(18, true), height: view.getUint16(20, true) } : { width: Math.abs(view.getInt32(18, true)), height: Math.abs(view.getInt32(22, true)) });
  }
  if (startsWith(bytes, ascii('RIFF')) && startsWith(bytes, ascii('WEBP'), 8)) return sized('webp', webpSize(bytes, view));
  return null;
}

/** Why an image with this header must not be decoded, or null when it may be. */
export function tooLargeToDecode(header: ImageHeader): string | null {
  const { width, height } = header;
  if (width === null || height === null) return null;
  if (width * height > MAX_DECODE_PIXELS || Math.max(width, height) > MAX_DECODE_SIDE) return `${width}×${height} pixels`;
  return null;
}
