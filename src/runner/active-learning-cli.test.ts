import { describe, expect, it } from 'vitest';
import { makeFolder, solidPng, twoColourFolder } from '../data/testing/png-folders';
import type { ActiveLearningRecord, ActiveLearningSummary, CycleRecord } from './active-learning-run';
import { runTrainCli, TINY_RUN } from './testing/run-train-cli';

const cycles = ['--active-learning', '--initial', '2', '--budget', '3', '--cycles', '3', '--steps-per-cycle', '2'];

describe('npm run train -- --active-learning (Node, CPU backend)', () => {
  it.each([[[]], [['--labels-only']], [['--strategy', 'uncertainty', '--reinit']]])('with %j prints one cycle line per cycle, then a summary', async (extra) => {
    const { code, out, err } = await runTrainCli(['--data', twoColourFolder(), ...cycles, ...extra, '--json', ...TINY_RUN]);
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
    const { code, out } = await runTrainCli(['--data', twoColourFolder(), ...cycles, ...TINY_RUN]);
    expect(code).toBe(0);
    expect(out[0]).toMatch(/^cycle 1 {2}coreset {2}2 labels {2}accuracy \d+\.\d% {2}per class \[\d, \d\]$/);
    expect(out[3]).toMatch(/^MoBYv2AL, coreset, on colours: accuracy \d+\.\d% → \d+\.\d% → \d+\.\d% at 2 \/ 5 \/ 8 labels; 8 labels revealed; \d+\.\d s on cpu\.$/);
  });

  it('refuses bad plans with a clear message', async () => {
    const strategy = await runTrainCli(['--data', twoColourFolder(), '--active-learning', '--strategy', 'entropy', ...TINY_RUN]);
    expect(strategy.code).toBe(2);
    expect(strategy.err).toMatch(/^Unknown strategy "entropy"\. Choose one of: coreset, random, uncertainty, loss\./);

    const stray = await runTrainCli(['--data', twoColourFolder(), '--budget', '5', ...TINY_RUN]);
    expect(stray.code).toBe(2);
    expect(stray.err).toMatch(/^--budget belongs to an active-learning run: add --active-learning\./);

    const method = await runTrainCli(['--data', twoColourFolder(), '--active-learning', '--method', 'byol', ...TINY_RUN]);
    expect(method.code).toBe(2);
    expect(method.err).toMatch(/^--active-learning trains MoBYv2AL; leave out --method byol\./);

    const tooMany = await runTrainCli(['--data', twoColourFolder(), '--active-learning', '--initial', '4', '--budget', '5', '--cycles', '3', ...TINY_RUN]);
    expect(tooMany).toMatchObject({ code: 1, out: [] });
    expect(tooMany.err).toBe('Run failed: 3 cycles from 4 labels, 5 more per cycle, need 14 labels, but there are only 12 training images: lower the budget or the cycles.');

    const flat = makeFolder('flat', { 'a.png': solidPng(4, 4, [1, 2, 3]), 'b.png': solidPng(4, 4, [3, 2, 1]), 'c.png': solidPng(4, 4, [9, 9, 9]), 'd.png': solidPng(4, 4, [0, 0, 0]) });
    const unlabelled = await runTrainCli(['--data', flat, '--active-learning', '--initial', '1', '--budget', '1', '--cycles', '2', ...TINY_RUN]);
    expect(unlabelled.code).toBe(1);
    expect(unlabelled.err).toMatch(/^Run failed: A simulation needs a labelled dataset \(a folder with one sub-folder per class\), and "flat" has no class labels\.$/m);
  });
});
