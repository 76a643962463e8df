/**
 * The ready-made experiments run headless, several seeds each, for docs/experiments.md: the list of
 * runs (experiment × run × seed, optionally shortened), and the table of final kNN accuracies as mean
 * ± standard deviation over the seeds. Each run goes through the runner's `runTraining` (one
 * `RunSession`), as `npm run train` does.
 */
import type { TrainConfig } from '../engine/config';
import type { Experiment } from '../engine/experiments';
import type { SummaryRecord } from './run';

export interface ExperimentJob {
  experiment: string;
  run: string;
  seed: number;
  config: TrainConfig;
}

/** One finished job as the results file keeps it (one JSON object per line). */
export interface ExperimentResult {
  experiment: string;
  run: string;
  seed: number;
  /** Steps the run trained for (after shortening). */
  steps: number;
  summary: SummaryRecord;
  /** Set when the run's configuration was already trained in another experiment: that run's key, whose summary this is. */
  sameAs?: string;
}

/** The untrained encoder's evaluation for a seed: the experiments' reference line. */
export const UNTRAINED_RUN = 'untrained encoder';

/**
 * A configuration with its steps multiplied by `scale` (warm-up too, at least 1 step): every run of
 * every experiment shortened by the same factor keeps the experiments' ratios (the batch sweep's
 * equal number of images, the pretext face-off's equal budget).
 */
export function scaleSteps(config: TrainConfig, scale: number): TrainConfig {
  if (!(scale > 0 && scale <= 1)) throw new Error(`The step scale must be in (0, 1], got ${scale}.`);
  return { ...config, totalSteps: Math.max(1, Math.round(config.totalSteps * scale)), warmupSteps: Math.round(config.warmupSteps * scale) };
}

/** Every run of every experiment at every seed, the seed replacing the one the experiment sets. */
export function experimentJobs(experiments: readonly Experiment[], seeds: readonly number[], scale: number): ExperimentJob[] {
  return experiments.flatMap((experiment) =>
    experiment.runs.flatMap((run) => seeds.map((seed) => ({ experiment: experiment.id, run: run.name, seed, config: scaleSteps({ ...run.config, seed }, scale) }))),
  );
}

/** Mean and sample standard deviation (0 for a single value). */
export function meanAndSpread(values: readonly number[]): { mean: number; spread: number } {
  if (values.length === 0) throw new Error('No values to average.');
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.length > 1 ? values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1) : 0;
  return { mean, spread: Math.sqrt(variance) };
}

const percent = (x: number) => (100 * x).toFixed(1);

function resultRow(name: string, results: readonly ExperimentResult[]): string {
  const bySeed = [...results].sort((a, b) => a.seed - b.seed);
  const knn = bySeed.map((r) => r.summary.finalKnn).filter((k): k is number => k !== null);
  const cell = (values: number[], format: (x: number) => string) => {
    if (values.length === 0) return '–';
    const { mean, spread } = meanAndSpread(values);
    return `${format(mean)} ± ${format(spread)}`;
  };
  const std = bySeed.map((r) => r.summary.finalFeatureStd).filter((v): v is number => v !== null);
  const rank = bySeed.map((r) => r.summary.finalRankMe).filter((v): v is number => v !== null);
  const loss = bySeed.map((r) => r.summary.finalLoss).filter((v): v is number => v !== null);
  return `| ${name} | ${cell(knn, percent)} | ${knn.map(percent).join(', ')} | ${cell(loss, (x) => x.toFixed(3))} | ${cell(std, (x) => x.toFixed(4))} | ${cell(rank, (x) => x.toFixed(1))} |`;
}

/**
 * One markdown table per experiment, its runs in the experiment's order and the untrained encoder
 * (results named UNTRAINED_RUN, any experiment) as the last row. A run with no result is listed as
 * missing rather than left out.
 */
export function resultsTables(experiments: readonly Experiment[], results: readonly ExperimentResult[]): string {
  const untrained = results.filter((r) => r.run === UNTRAINED_RUN);
  return experiments
    .map((experiment) => {
      const rows = experiment.runs.map((run) => {
        const own = results.filter((r) => r.experiment === experiment.id && r.run === run.name);
        return own.length > 0 ? resultRow(run.name, own) : `| ${run.name} | missing | | | | |`;
      });
      if (untrained.length > 0) rows.push(resultRow(`(${UNTRAINED_RUN})`, untrained));
      const steps = [...new Set(results.filter((r) => r.experiment === experiment.id).map((r) => r.steps))].sort((a, b) => a - b);
      return [
        `### ${experiment.title}`,
        '',
        `Steps per run: ${steps.join(', ') || '–'}.`,
        '',
        '| run | final kNN % (mean ± sd) | per seed | final loss | collapse std | RankMe |',
        '| --- | --- | --- | --- | --- | --- |',
        ...rows,
      ].join('\n');
    })
    .join('\n\n');
}
