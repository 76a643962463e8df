import { describe, expect, it } from 'vitest';
import { readImageHeader, tooLargeToDecode } from './image-header';
import { encodeBmp, encodeGif, encodePng, hugeBlankPng, jpegHeaderOnly, solid } from './testing/image-files';

const bytes = (...values: (number | string)[]) =>
  new Uint8Array(values.flatMap((v) => (typeof v === 'string' ? Array.from(v, (c) => c.charCodeAt(0)) : [v])));

describe('readImageHeader', () => {
  it('reads format and size of PNG, GIF and BMP files', () => {
    expect(readImageHeader(encodePng(7, 3, solid(7, 3, [1, 2, 3, 255])))).toEqual({ format: 'png', width: 7, height: 3 });
    expect(readImageHeader(encodeGif(5, 9, [[255, 0, 0]]))).toEqual({ format: 'gif', width: 5, height: 9 });
    expect(readImageHeader(encodeBmp(4, 6, new Uint8Array(4 * 6 * 3)))).toEqual({ format: 'bmp', width: 4, height: 6 });
  });

  it('finds the JPEG frame size behind metadata segments', () => {
    expect(readImageHeader(jpegHeaderOnly(640, 480))).toEqual({ format: 'jpeg', width: 640, height: 480 });
    expect(readImageHeader(jpegHeaderOnly(4000, 3000, 60_000))).toEqual({ format: 'jpeg', width: 4000, height: 3000 });
    // Cut off inside the metadata: still a JPEG, size unknown.
    expect(readImageHeader(jpegHeaderOnly(4000, 3000, 60_000).subarray(0, 1000))).toEqual({ format: 'jpeg', width: null, height: null });
  });

  it('reads the three WebP variants (lossy VP8, lossless VP8L, extended VP8X)', () => {
    const riff = (chunk: string, body: number[]) => bytes('RIFF', 0, 0, 0, 0, 'WEBP', chunk, 0, 0, 0, 0, ...body);
    // VP8: 3-byte frame tag, start code 9d 01 2a, then 14-bit width and height.
    expect(readImageHeader(riff('VP8 ', [0, 0, 0, 0x9d, 0x01, 0x2a, 300 & 0xff, 300 >> 8, 200 & 0xff, 200 >> 8]))).toEqual({ format: 'webp', width: 300, height: 200 });
    // VP8L: signature 0x2f, then (width − 1) and (height − 1) in 14 bits each.
    const bits = (300 - 1) | ((200 - 1) << 14);
    expect(readImageHeader(riff('VP8L', [0x2f, bits & 0xff, (bits >> 8) & 0xff, (bits >> 16) & 0xff, (bits >> 24) & 0xff, 0, 0, 0, 0]))).toEqual({ format: 'webp', width: 300, height: 200 });
    // VP8X: flags and reserved bytes, then (width − 1) and (height − 1) in 24 bits each.
    expect(readImageHeader(riff('VP8X', [0, 0, 0, 0, 0x0f, 0x27, 0, 0x0f, 0x27, 0]))).toEqual({ format: 'webp', width: 10_000, height: 10_000 });
  });

  it('returns null for files that are no image format, and for empty ones', () => {
    expect(readImageHeader(bytes('hello, this is a text file'))).toBeNull();
    expect(readImageHeader(bytes('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBeNull();
    expect(readImageHeader(new Uint8Array(0))).toBeNull();
  });

  it('recognises a PNG cut off before its size as a PNG of unknown size', () => {
    expect(readImageHeader(encodePng(2, 2, solid(2, 2, [0, 0, 0, 255])).subarray(0, 12))).toEqual({ format: 'png', width: null, height: null });
  });
});

describe('tooLargeToDecode', () => {
  it('refuses more than 50 megapixels or a side beyond 32,767, and accepts the rest', () => {
    expect(tooLargeToDecode(readImageHeader(hugeBlankPng(10_000, 10_000))!)).toBe('10000×10000 pixels');
    expect(tooLargeToDecode({ format: 'png', width: 40_000, height: 10 })).toBe('40000×10 pixels');
    expect(tooLargeToDecode({ format: 'jpeg', width: 7000, height: 7000 })).toBeNull();
    expect(tooLargeToDecode({ format: 'jpeg', width: null, height: null })).toBeNull();
  });
});
