import { createRequire } from 'node:module';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { buildMnistAsset } from '../../scripts/mnist-asset';
import { encodeMnistAsset, isGzip, mnistDataset, parseMnistAsset } from './mnist';

describe('MNIST asset', () => {
  it('packs every digit of the mnist package, split 80/20 per class, bytes equal to the package values', () => {
    const asset = parseMnistAsset(buildMnistAsset());
    const digits = createRequire(import.meta.url)('mnist') as { raw: number[]; length: number }[];
    const perClass = digits.map((d) => d.length);
    expect(perClass.reduce((a, b) => a + b)).toBe(10_000);
    expect(asset.train.labels.length + asset.test.labels.length).toBe(10_000);
    for (let label = 0; label < 10; label++) {
      const test = asset.test.labels.filter((l) => l === label).length;
      expect(test).toBe(perClass[label] - Math.round(perClass[label] * 0.8));
    }
    // The first test image of class 3 is digit 3's sample at index round(0.8 · n).
    const first = asset.test.labels.indexOf(3);
    const sample = Math.round(perClass[3] * 0.8);
    const expected = digits[3].raw.slice(sample * 784, (sample + 1) * 784).map((v) => Math.round(v * 255));
    expect(Array.from(asset.test.pixels.subarray(first * 784, (first + 1) * 784))).toEqual(expected);
  });

  it('tells gzipped bytes (as served) from bytes a server already unzipped', () => {
    const raw = encodeMnistAsset({ side: 2, labels: Uint8Array.from([4]), pixels: Uint8Array.from([1, 2, 3, 4]) }, { side: 2, labels: new Uint8Array(0), pixels: new Uint8Array(0) });
    const served = new Uint8Array(gzipSync(raw));
    expect(isGzip(served)).toBe(true);
    expect(isGzip(raw)).toBe(false);
    expect(new Uint8Array(gunzipSync(served))).toEqual(raw);
  });

  it('refuses a damaged asset with a message', () => {
    const bytes = encodeMnistAsset({ side: 2, labels: Uint8Array.from([1]), pixels: new Uint8Array(4) }, { side: 2, labels: new Uint8Array(0), pixels: new Uint8Array(0) });
    expect(parseMnistAsset(bytes).train.labels).toEqual(Uint8Array.from([1]));
    expect(() => parseMnistAsset(bytes.subarray(0, bytes.length - 1))).toThrow(/damaged/);
    expect(() => parseMnistAsset(new Uint8Array(20))).toThrow(/damaged/);
  });

  it('becomes RGB images at the requested size with gray replicated', () => {
    const gray = Uint8Array.from({ length: 16 }, (_, i) => i * 16);
    const data = mnistDataset(parseMnistAsset(encodeMnistAsset({ side: 4, labels: Uint8Array.from([7]), pixels: gray }, { side: 4, labels: Uint8Array.from([2]), pixels: gray })), 2);
    expect(data.train.size).toBe(2);
    expect(data.train.labels).toEqual(Int32Array.from([7]));
    const topLeft = (0 + 16 + 64 + 80) / 4;
    expect(Array.from(data.train.pixels.subarray(0, 3))).toEqual([topLeft, topLeft, topLeft]);
    expect(data.classNames).toHaveLength(10);
  });
});
