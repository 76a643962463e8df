import { describe, expect, it } from 'vitest';
import { makeFolder, solidPng } from '../data/testing/png-folders';
import type { ActiveLearningRecord, ActiveLearningSummary, CycleRecord } from './active-learning-run';
import { trainCli } from './train-cli';

/** Two colour classes, 6 train and 2 test images each, 8×8 PNG. */
function colourFolder(): string {
  const files: Record<string, Uint8Array> = {};
  for (let i = 0; i < 6; i++) {
    files[`train/red/${i}.png`] = solidPng(8, 8, [200 + i * 5, 10 * i, 0]);
    files[`train/blue/${i}.png`] = solidPng(8, 8, [0, 10 * i, 200 + i * 5]);
  }
  for (let i = 0; i < 2; i++) {
    files[`test/red/${i}.png`] = solidPng(8, 8, [220, 5 * i, 10]);
    files[`test/blue/${i}.png`] = solidPng(8, 8, [10, 5 * i, 220]);
  }
  return makeFolder('colours', files);
}

async function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await trainCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err: err.join('\n') };
}

const tiny = ['--backend', 'cpu', '--encoder', 'convnet-tiny', '--image-size', '8', '--batch', '4'];
const cycles = ['--active-learning', '--initial', '2', '--budget', '3', '--cycles', '3', '--steps-per-cycle', '2'];

describe('npm run train -- --active-learning (Node, CPU backend)', () => {
  it.each([[[]], [['--labels-only']], [['--strategy', 'uncertainty', '--reinit']]])('with %j prints one cycle line per cycle, then a summary', async (extra) => {
    const { code, out, err } = await run(['--data', colourFolder(), ...cycles, ...extra, '--json', ...tiny]);
    expect(err).toBe('');
    expect(code).toBe(0);
    const records = out.map((line) => JSON.parse(line) as ActiveLearningRecord);
    expect(records.map((r) => r.type)).toEqual(['cycle', 'cycle', 'cycle', 'summary']);
    const perCycle = records.slice(0, 3) as CycleRecord[];
    expect(perCycle.map((r) => [r.cycle, r.labelled, r.reveals])).toEqual([
      [1, 2, 5],
      [2, 5, 8],
      [3, 8, 8],
    ]);
    for (const r of perCycle) {
      expect(r.perClassLabels.reduce((a, b) => a + b, 0)).toBe(r.labelled);
      expect(r.perClassLabels).toHaveLength(2);
      // 4 held-out images: the accuracy is a multiple of 1/4.
      expect((r.accuracy * 4) % 1).toBe(0);
      expect(r.labelsOnly).toBe(extra.includes('--labels-only'));
      expect(r.strategy).toBe(extra.includes('uncertainty') ? 'uncertainty' : 'coreset');
    }
    const summary = records[3] as ActiveLearningSummary;
    expect(summary).toMatchObject({ cycles: 3, stepsPerCycle: 2, labelled: [2, 5, 8], accuracies: perCycle.map((r) => r.accuracy), reveals: 8, backend: 'cpu', reinitialise: extra.includes('--reinit') });
  });

  it('prints readable lines without --json', async () => {
    const { code, out } = await run(['--data', colourFolder(), ...cycles, ...tiny]);
    expect(code).toBe(0);
    expect(out[0]).toMatch(/^cycle 1 {2}coreset {2}2 labels {2}accuracy \d+\.\d% {2}per class \[\d, \d\]$/);
    expect(out[3]).toMatch(/^MoBYv2AL, coreset, on colours: accuracy \d+\.\d% → \d+\.\d% → \d+\.\d% at 2 \/ 5 \/ 8 labels; 8 labels revealed; \d+\.\d s on cpu\.$/);
  });

  it('refuses bad plans with a clear message', async () => {
    const strategy = await run(['--data', colourFolder(), '--active-learning', '--strategy', 'entropy', ...tiny]);
    expect(strategy.code).toBe(2);
    expect(strategy.err).toMatch(/^Unknown strategy "entropy"\. Choose one of: coreset, random, uncertainty, loss\./);

    const stray = await run(['--data', colourFolder(), '--budget', '5', ...tiny]);
    expect(stray.code).toBe(2);
    expect(stray.err).toMatch(/^--budget belongs to an active-learning run: add --active-learning\./);

    const method = await run(['--data', colourFolder(), '--active-learning', '--method', 'byol', ...tiny]);
    expect(method.code).toBe(2);
    expect(method.err).toMatch(/^--active-learning trains MoBYv2AL; leave out --method byol\./);

    const tooMany = await run(['--data', colourFolder(), '--active-learning', '--initial', '4', '--budget', '5', '--cycles', '3', ...tiny]);
    expect(tooMany).toMatchObject({ code: 1, out: [] });
    expect(tooMany.err).toBe('Run failed: 3 cycles from 4 labels, 5 more per cycle, need 14 labels, but there are only 12 training images: lower the budget or the cycles.');

    const flat = makeFolder('flat', { 'a.png': solidPng(4, 4, [1, 2, 3]), 'b.png': solidPng(4, 4, [3, 2, 1]), 'c.png': solidPng(4, 4, [9, 9, 9]), 'd.png': solidPng(4, 4, [0, 0, 0]) });
    const unlabelled = await run(['--data', flat, '--active-learning', '--initial', '1', '--budget', '1', '--cycles', '2', ...tiny]);
    expect(unlabelled.code).toBe(1);
    expect(unlabelled.err).toMatch(/^Run failed: A simulation needs a labelled dataset \(a folder with one sub-folder per class\), and "flat" has no class labels\.$/m);
  });
});
