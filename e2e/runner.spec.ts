import { expect, test } from '@playwright/test';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { makeFolder, solidPng } from '../src/data/testing/png-folders';
import type { ReportRecord, RunRecord, SummaryRecord } from '../src/runner/run';

const run = promisify(execFile);

/** Two colour classes, 8 train and 2 test images each: kNN at the end costs next to nothing. */
function colourFolder(): string {
  const files: Record<string, Uint8Array> = {};
  for (let i = 0; i < 8; i++) {
    files[`train/red/${i}.png`] = solidPng(12, 10, [180 + i * 8, 20 * i, 10]);
    files[`train/blue/${i}.png`] = solidPng(10, 12, [10, 20 * i, 180 + i * 8]);
  }
  for (let i = 0; i < 2; i++) {
    files[`test/red/${i}.png`] = solidPng(8, 8, [230, 10 * i, 0]);
    files[`test/blue/${i}.png`] = solidPng(8, 8, [0, 10 * i, 230]);
  }
  return makeFolder('colours', files);
}

async function train(folder: string, backend: string): Promise<RunRecord[]> {
  const args = ['scripts/train.ts', '--data', folder, '--backend', backend, '--steps', '3', '--report-every', '1', '--encoder', 'convnet-tiny', '--image-size', '8', '--batch', '4', '--json'];
  const { stdout } = await run('node_modules/.bin/tsx', args, { timeout: 150_000 });
  return stdout.trim().split('\n').map((line) => JSON.parse(line) as RunRecord);
}

test('npm run train prints the same records from headless Chromium (WebGL) as from Node (CPU)', async () => {
  test.setTimeout(170_000);
  const folder = colourFolder();
  const [gpu, cpu] = [await train(folder, 'webgl'), await train(folder, 'cpu')];
  expect(gpu.map((r) => r.type)).toEqual(['start', 'report', 'report', 'report', 'summary']);
  expect(gpu[0]).toMatchObject({ type: 'start', backend: 'webgl', dataset: { train: 16, test: 4, classes: 2, imageSize: 8 } });
  const reports = (records: RunRecord[]) => records.filter((r): r is ReportRecord => r.type === 'report');
  expect(reports(gpu).every((r) => r.backend === 'webgl' && r.imagesPerSecond > 0)).toBe(true);
  // Same engine, same seed, same decoded pixels: the losses agree up to float32 differences between backends.
  reports(gpu).forEach((r, i) => expect(Math.abs((r.loss ?? NaN) - (reports(cpu)[i].loss ?? NaN))).toBeLessThan(1e-2 * Math.abs(reports(cpu)[i].loss ?? 1)));
  const summary = gpu[gpu.length - 1] as SummaryRecord;
  expect(summary).toMatchObject({ steps: 3, backend: 'webgl', knn: { k: 16, bank: 16, heldOut: 4 } });
  expect([0, 0.25, 0.5, 0.75, 1]).toContain(summary.finalKnn);
});
