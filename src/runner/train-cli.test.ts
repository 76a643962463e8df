import { describe, expect, it } from 'vitest';
import { makeFolder, solidPng, twoColourFolder } from '../data/testing/png-folders';
import type { ReportRecord, RunRecord, StartRecord, SummaryRecord } from './run';
import { runTrainCli, TINY_RUN } from './testing/run-train-cli';


describe('npm run train (Node, CPU backend)', () => {
  it('trains on a folder and prints one JSON object per report and a summary with kNN accuracy', async () => {
    const { code, out, err } = await runTrainCli(['--data', twoColourFolder(), '--steps', '3', '--report-every', '2', '--json', ...TINY_RUN]);
    expect(err).toBe('');
    expect(code).toBe(0);
    const records = out.map((line) => JSON.parse(line) as RunRecord);
    expect(records.map((r) => r.type)).toEqual(['start', 'report', 'report', 'summary']);
    const start = records[0] as StartRecord;
    const protocol = { k: 12, sigma: 0.1, bank: 12, bankAvailable: 12, heldOut: 4, heldOutAvailable: 4 };
    expect(start).toMatchObject({ method: 'byol', backend: 'cpu', steps: 3, batchSize: 4, dataset: { name: 'colours', train: 12, test: 4, classes: 2, imageSize: 8 }, knn: protocol });
    const reports = records.slice(1, 3) as ReportRecord[];
    expect(reports.map((r) => r.step)).toEqual([2, 3]);
    expect(reports.every((r) => r.backend === 'cpu' && Number.isFinite(r.loss) && r.imagesPerSecond > 0)).toBe(true);
    expect(reports[0].knn).toBeUndefined();
    // kNN runs at the end: 4 test images, so the accuracy is a multiple of 1/4.
    expect(((reports[1].knn ?? -1) * 4) % 1).toBe(0);
    const summary = records[3] as SummaryRecord;
    expect(summary).toMatchObject({ steps: 3, finalKnn: reports[1].knn, bestKnn: reports[1].knn, bestKnnStep: 3, finalLoss: reports[1].loss, knn: protocol });
  });

  it('with --gradients, adds the gradient anatomy to every report, and leaves it out without', async () => {
    const reportsOf = async (extra: string[]) => {
      const { code, out } = await runTrainCli(['--data', twoColourFolder(), '--method', 'simclr', '--steps', '3', '--report-every', '2', '--json', ...extra, ...TINY_RUN]);
      expect(code).toBe(0);
      return out.map((line) => JSON.parse(line) as RunRecord).filter((r): r is ReportRecord => r.type === 'report');
    };
    const measured = await reportsOf(['--gradients']);
    expect(measured.map((r) => r.step)).toEqual([2, 3]);
    for (const { gradients } of measured) {
      expect(Object.keys(gradients ?? {})).toEqual(['positive', 'negative', 'ratio', 'unigradCosine']);
      expect(gradients!.ratio).toBeCloseTo(gradients!.negative / gradients!.positive, 5);
      expect(Math.abs(gradients!.unigradCosine)).toBeLessThanOrEqual(1 + 1e-5);
    }
    expect((await reportsOf([])).every((r) => r.gradients === undefined)).toBe(true);
  });

  it('with --eval-every, evaluates after the first step, at each multiple and at the end, with a smaller bank on request', async () => {
    const { code, out } = await runTrainCli(['--data', twoColourFolder(), '--steps', '5', '--report-every', '1', '--eval-every', '2', '--bank', '8', '--json', ...TINY_RUN]);
    expect(code).toBe(0);
    const records = out.map((line) => JSON.parse(line) as RunRecord);
    const reports = records.filter((r): r is ReportRecord => r.type === 'report');
    expect(reports.map((r) => r.step)).toEqual([1, 2, 3, 4, 5]);
    expect(reports.filter((r) => r.knn !== undefined).map((r) => r.step)).toEqual([1, 2, 4, 5]);
    expect((records.at(-1) as SummaryRecord).knn).toEqual({ k: 8, sigma: 0.1, bank: 8, bankAvailable: 12, heldOut: 4, heldOutAvailable: 4 });
  });

  it('evaluates the untrained encoder with --random-init and prints readable lines without --json', async () => {
    const { code, out } = await runTrainCli(['--data', twoColourFolder(), '--random-init', ...TINY_RUN]);
    expect(code).toBe(0);
    expect(out[0]).toMatch(/^byol on CPU\n {2}colours: 12 train \/ 4 held out, 2 classes, 8 px; convnet\[16,32,32,32\], batch 4, 0 steps/);
    expect(out[1]).toMatch(/^step {6}0  kNN \d+\.\d%$/);
    expect(out[2]).toMatch(/^Untrained byol encoder\. kNN accuracy: final \d+\.\d%, best \d+\.\d% \(step 0; k 12, σ 0\.1, bank 12 of 12, held-out 4 of 4\)\.$/);
  });

  it('exits non-zero with a clear message on a bad folder, an unknown method, an impossible plan or a diverged run', async () => {
    const missing = await runTrainCli(['--data', '/no/such/dir', ...TINY_RUN]);
    expect(missing).toMatchObject({ code: 1, out: [] });
    expect(missing.err).toBe('Data folder not found: /no/such/dir');

    const method = await runTrainCli(['--data', twoColourFolder(), '--method', 'dino', ...TINY_RUN]);
    expect(method.code).toBe(2);
    expect(method.err).toMatch(/^Unknown method "dino"\. Known methods: byol/);

    const flat = makeFolder('flat', { 'a.png': solidPng(4, 4, [1, 2, 3]), 'b.png': solidPng(4, 4, [3, 2, 1]), 'c.png': solidPng(4, 4, [9, 9, 9]), 'd.png': solidPng(4, 4, [0, 0, 0]) });
    const unlabeled = await runTrainCli(['--data', flat, '--eval-every', '2', ...TINY_RUN]);
    expect(unlabeled.code).toBe(1);
    expect(unlabeled.err).toMatch(/--eval-every: kNN accuracy needs class labels, and "flat" has no class labels. Use a folder with one sub-folder per class/);

    const diverged = await runTrainCli(['--data', twoColourFolder(), '--steps', '4', '--lr', '1e30', ...TINY_RUN]);
    expect(diverged.code).toBe(1);
    expect(diverged.err).toBe(
      'Run failed: The loss became NaN at step 2, so the run stopped. This usually means the learning rate is too high for this batch size or method: ' +
        'lower it (or raise the batch size) and train again. The flags: --lr, --batch.',
    );

    const tooBig = await runTrainCli(['--data', twoColourFolder(), ...TINY_RUN, '--batch', '64']);
    expect(tooBig.code).toBe(1);
    expect(tooBig.err).toMatch(/batch size 64 is larger than the dataset \(12 images\)/);
  });
});
