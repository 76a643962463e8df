import { describe, expect, it } from 'vitest';
import { experimentsFor, type CatalogMethod } from '../engine/experiments';
import { METHODS } from '../engine/methods/registry';
import { differingPaths } from '../engine/testing/diff';
import { experimentJobs, meanAndSpread, resultsTables, scaleSteps, UNTRAINED_RUN, type ExperimentResult } from './experiment-runs';
import type { SummaryRecord } from './run';

const catalog: CatalogMethod[] = METHODS.map((m) => ({ id: m.id, label: m.label, defaults: { classroom: m.defaults('classroom'), reference: m.defaults('reference') } }));
const experiments = experimentsFor(catalog);

function summary(finalKnn: number, finalLoss = 1, finalFeatureStd = 0.05, finalRankMe = 20): SummaryRecord {
  return { type: 'summary', method: 'byol', backend: 'cpu', steps: 60, finalLoss, finalFeatureStd, bestKnn: finalKnn, bestKnnStep: 60, finalKnn, finalRankMe, knn: null, imagesPerSecond: 1, trainSeconds: 1, evalSeconds: 1 };
}

describe('the experiments over several seeds', () => {
  it('shortens steps and warm-up by one factor, and refuses a factor outside (0, 1]', () => {
    const config = catalog.find((m) => m.id === 'byol')!.defaults.classroom;
    const short = scaleSteps(config, 0.2);
    expect([short.totalSteps, short.warmupSteps]).toEqual([60, 2]);
    expect(differingPaths(config, short).sort()).toEqual(['totalSteps', 'warmupSteps']);
    expect(scaleSteps({ ...config, totalSteps: 2 }, 0.1).totalSteps).toBe(1);
    expect(() => scaleSteps(config, 0)).toThrow(/step scale/);
    expect(() => scaleSteps(config, 1.5)).toThrow(/step scale/);
  });

  it('lists every run of every experiment once per seed, the seed the only change besides the steps', () => {
    const jobs = experimentJobs(experiments, [1, 2, 3], 0.5);
    expect(jobs).toHaveLength(3 * experiments.reduce((n, e) => n + e.runs.length, 0));
    const batch = experiments.find((e) => e.id === 'batch-size')!;
    const own = jobs.filter((j) => j.experiment === 'batch-size' && j.run === batch.runs[0].name);
    expect(own.map((j) => j.seed)).toEqual([1, 2, 3]);
    for (const job of own) {
      expect(differingPaths(batch.runs[0].config, job.config).sort()).toEqual(job.seed === batch.runs[0].config.seed ? ['totalSteps', 'warmupSteps'] : ['seed', 'totalSteps', 'warmupSteps']);
      expect(job.config.totalSteps).toBe(Math.round(batch.runs[0].config.totalSteps / 2));
    }
  });

  it('mean and sample standard deviation', () => {
    const { mean, spread } = meanAndSpread([0.2, 0.3, 0.4]);
    expect(mean).toBeCloseTo(0.3, 12);
    expect(spread).toBeCloseTo(0.1, 12);
    expect(meanAndSpread([0.25])).toEqual({ mean: 0.25, spread: 0 });
    expect(() => meanAndSpread([])).toThrow();
  });

  it('tabulates each run as mean ± sd over its seeds with the seeds listed, the untrained encoder last, and a missing run as missing', () => {
    const tau = experiments.find((e) => e.id === 'byol-tau')!;
    const results: ExperimentResult[] = [
      ...[0.2, 0.3, 0.4].map((knn, i) => ({ experiment: 'byol-tau', run: tau.runs[0].name, seed: 3 - i, steps: 60, summary: summary(knn) })),
      ...[0.25, 0.27].map((knn, i) => ({ experiment: '', run: UNTRAINED_RUN, seed: i + 1, steps: 0, summary: summary(knn) })),
    ];
    const lines = resultsTables([tau], results).split('\n');
    expect(lines[0]).toBe(`### ${tau.title}`);
    expect(lines).toContain('Steps per run: 60.');
    // Seeds 1, 2, 3 hold 0.4, 0.3, 0.2.
    expect(lines).toContain(`| ${tau.runs[0].name} | 30.0 ± 10.0 | 40.0, 30.0, 20.0 | 1.000 ± 0.000 | 0.0500 ± 0.0000 | 20.0 ± 0.0 |`);
    expect(lines).toContain(`| ${tau.runs[1].name} | missing | | | | |`);
    expect(lines.at(-1)).toBe(`| (${UNTRAINED_RUN}) | 26.0 ± 1.4 | 25.0, 27.0 | 1.000 ± 0.000 | 0.0500 ± 0.0000 | 20.0 ± 0.0 |`);
  });
});
