/**
 * Image files built byte by byte for tests (Node and Playwright): real PNGs via pngjs, and GIF,
 * BMP and header-only files written by hand, so tests need no fixtures on disk.
 */
import { deflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import type { ImageDecoder } from '../folder-loader';
import { resampleToSquare } from '../resample';

/** RGBA pixels → PNG bytes. colorType 0 writes grayscale, 2 RGB, 6 RGBA. */
export function encodePng(width: number, height: number, rgba: Uint8Array, colorType: 0 | 2 | 6 = 6): Uint8Array {
  const png = new PNG({ width, height, colorType, inputColorType: 6, inputHasAlpha: true });
  png.data = Buffer.from(rgba);
  return new Uint8Array(PNG.sync.write(png, { colorType, inputColorType: 6, inputHasAlpha: true }));
}

/** A solid-colour RGBA buffer. */
export function solid(width: number, height: number, rgba: [number, number, number, number]): Uint8Array {
  const out = new Uint8Array(width * height * 4);
  for (let i = 0; i < out.length; i += 4) out.set(rgba, i);
  return out;
}

function crc32(bytes: Uint8Array): number {
  let crc = ~0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}

function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(Array.from(type, (c) => c.charCodeAt(0)), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/**
 * A valid 1-bit grayscale PNG of any size, all black: a 10,000 × 10,000 image in about 15 KB,
 * because its rows deflate to almost nothing.
 */
export function hugeBlankPng(width: number, height: number): Uint8Array {
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr.set([1, 0, 0, 0, 0], 8); // bit depth 1, grayscale, deflate, no filter, no interlace
  const raw = new Uint8Array(height * (1 + Math.ceil(width / 8))); // filter byte 0 + zero bits per row
  const parts = [new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(raw)), pngChunk('IEND', new Uint8Array(0))];
  return concat(parts);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** 24-bit bottom-up BMP from RGB rows. */
export function encodeBmp(width: number, height: number, rgb: Uint8Array): Uint8Array {
  const rowBytes = Math.ceil((width * 3) / 4) * 4;
  const out = new Uint8Array(54 + rowBytes * height);
  const view = new DataView(out.buffer);
  out.set([0x42, 0x4d]);
  view.setUint32(2, out.length, true);
  view.setUint32(10, 54, true);
  view.setUint32(14, 40, true);
  view.setInt32(18, width, true);
  view.setInt32(22, height, true);
  view.setUint16(26, 1, true);
  view.setUint16(28, 24, true);
  view.setUint32(34, rowBytes * height, true);
  for (let y = 0; y < height; y++) {
    const row = 54 + (height - 1 - y) * rowBytes;
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 3;
      out.set([rgb[p + 2], rgb[p + 1], rgb[p]], row + x * 3); // BGR
    }
  }
  return out;
}

/**
 * A GIF whose frames are each filled with one colour (a 2-colour palette per frame would do; a
 * global 128-colour palette keeps the encoder simple). LZW runs "uncompressed": 8-bit codes with a
 * clear code every 100 pixels, so the code width never grows.
 */
export function encodeGif(width: number, height: number, frameColours: [number, number, number][]): Uint8Array {
  const palette = new Uint8Array(128 * 3);
  frameColours.forEach((colour, i) => palette.set(colour, i * 3));
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  header.set(Array.from('GIF89a', (c) => c.charCodeAt(0)));
  view.setUint16(6, width, true);
  view.setUint16(8, height, true);
  header[10] = 0xf6; // global colour table, 7 bits of colour resolution, 2^(6+1) = 128 entries
  const parts: Uint8Array[] = [header, palette];
  frameColours.forEach((_, frame) => {
    const control = new Uint8Array([0x21, 0xf9, 4, 0, 10, 0, 0, 0]); // graphic control: 0.1 s delay
    const descriptor = new Uint8Array(10);
    const d = new DataView(descriptor.buffer);
    descriptor[0] = 0x2c;
    d.setUint16(5, width, true);
    d.setUint16(7, height, true);
    const codes: number[] = [];
    for (let i = 0; i < width * height; i++) {
      if (i % 100 === 0) codes.push(128); // clear
      codes.push(frame);
    }
    codes.push(129); // end of information
    const blocks: number[] = [7]; // minimum code size
    for (let i = 0; i < codes.length; i += 255) {
      const block = codes.slice(i, i + 255);
      blocks.push(block.length, ...block);
    }
    blocks.push(0);
    parts.push(control, descriptor, new Uint8Array(blocks));
  });
  parts.push(new Uint8Array([0x3b]));
  return concat(parts);
}

/** The first bytes of a baseline JPEG up to its frame header: enough for readImageHeader, not a decodable image. */
export function jpegHeaderOnly(width: number, height: number, metadataBytes = 0): Uint8Array {
  const app1 = new Uint8Array(4 + metadataBytes);
  app1.set([0xff, 0xe1, ((metadataBytes + 2) >> 8) & 0xff, (metadataBytes + 2) & 0xff]);
  const sof = new Uint8Array([0xff, 0xc0, 0, 17, 8, height >> 8, height & 0xff, width >> 8, width & 0xff, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
  return concat([new Uint8Array([0xff, 0xd8]), new Uint8Array([0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]), app1, sof]);
}

/** The Node stand-in for the browser's decoder: pngjs, then the same shorter-side centre crop. */
export const decodePng: ImageDecoder = async (file, size) => {
  const png = PNG.sync.read(Buffer.from(await file.arrayBuffer()));
  return { pixels: resampleToSquare(png.data, png.width, png.height, 4, size), width: png.width, height: png.height };
};
