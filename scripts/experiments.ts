/**
 * Runs the app's ready-made experiments headless, several seeds each, and prints their table for
 * docs/experiments.md. Results go to <out>/results-<shard>.jsonl, one line per finished run; a run
 * already there is skipped, so a stopped job picks up where it was.
 *
 *   npx tsx scripts/experiments.ts --data builtin:silhouettes --seeds 1,2,3 [--scale 0.5] [--only id,id (in this order)]
 *                                  [--backend wasm|cpu] [--shard i/n] [--out folder]
 *   npx tsx scripts/experiments.ts --table [--out folder]
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { experimentsFor, type CatalogMethod } from '../src/engine/experiments';
import { METHODS } from '../src/engine/methods/registry';
import { loadData } from '../src/runner/data-source';
import { experimentJobs, resultsTables, UNTRAINED_RUN, type ExperimentResult } from '../src/runner/experiment-runs';
import { nodeBackend } from '../src/runner/node-backend';
import { runTraining, type RunPlan } from '../src/runner/run';
import { DEFAULT_EVALUATION } from '../src/engine/evaluation-settings';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: 'builtin:silhouettes' },
    seeds: { type: 'string', default: '1,2,3' },
    scale: { type: 'string', default: '1' },
    only: { type: 'string' },
    backend: { type: 'string', default: 'wasm' },
    shard: { type: 'string', default: '0/1' },
    out: { type: 'string', default: 'experiment-results' },
    table: { type: 'boolean', default: false },
  },
});

const catalog: CatalogMethod[] = METHODS.map((m) => ({ id: m.id, label: m.label, defaults: { classroom: m.defaults('classroom'), reference: m.defaults('reference') } }));
const only = values.only?.split(',');
const experiments = experimentsFor(catalog)
  .filter((e) => !only || only.includes(e.id))
  .sort((a, b) => (only ? only.indexOf(a.id) - only.indexOf(b.id) : 0));
const out = values.out!;

function readResults(): ExperimentResult[] {
  if (!existsSync(out)) return [];
  return readdirSync(out)
    .filter((f) => f.endsWith('.jsonl'))
    .flatMap((f) => readFileSync(join(out, f), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as ExperimentResult));
}

if (values.table) {
  process.stdout.write(`${resultsTables(experiments, readResults())}\n`);
} else {
  const seeds = values.seeds!.split(',').map(Number);
  const scale = Number(values.scale);
  const [shard, shards] = values.shard!.split('/').map(Number);
  const backendName = values.backend === 'cpu' ? 'cpu' : 'wasm';
  mkdirSync(out, { recursive: true });
  const file = join(out, `results-${shard}.jsonl`);
  const first = experiments[0].runs[0].config;
  // The untrained encoder per seed (its kNN does not depend on the method's heads), then every run,
  // one seed after the other: a job stopped early still has whole seeds.
  // The first seed of everything first, then the other seeds experiment by experiment in the order
  // --only names them (the gallery's order without it): a job stopped early has whole experiments.
  const order = (job: { experiment: string; seed: number }) => [job.seed === seeds[0] ? 0 : 1, experiments.findIndex((e) => e.id === job.experiment), job.seed];
  const byOrder = (a: { experiment: string; seed: number }, b: { experiment: string; seed: number }) => {
    const [x, y] = [order(a), order(b)];
    return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
  };
  const allJobs = [...seeds.map((seed) => ({ experiment: '', run: UNTRAINED_RUN, seed, config: { ...first, seed } })), ...experimentJobs(experiments, seeds, scale)].sort(byOrder);
  const jobs = allJobs.filter((_, i) => i % shards === shard);
  // Experiments share runs (BYOL's preset is in five of them): a run is deterministic given its
  // configuration, so a configuration trained once, by either shard, is not trained again.
  const jobKey = (job: { experiment: string; run: string; seed: number }) => `${job.experiment}/${job.run}/${job.seed}`;
  const configKey = (job: (typeof allJobs)[number]) => `${job.run === UNTRAINED_RUN}/${JSON.stringify(job.config)}`;
  const keyOfJob = new Map(allJobs.map((job) => [jobKey(job), configKey(job)]));
  const { data } = loadData(values.data!, first.imageSize);
  const backend = await nodeBackend(backendName);
  for (const job of jobs) {
    const results = readResults();
    if (results.some((r) => jobKey(r) === jobKey(job))) continue;
    const randomInit = job.run === UNTRAINED_RUN;
    const same = results.find((r) => keyOfJob.get(jobKey(r)) === configKey(job));
    if (same) {
      appendFileSync(file, `${JSON.stringify({ ...same, experiment: job.experiment, run: job.run, sameAs: jobKey(same) })}\n`);
      process.stdout.write(`${job.experiment} | ${job.run} | seed ${job.seed}: the same run as ${jobKey(same)}\n`);
      continue;
    }
    const plan: RunPlan = {
      config: job.config,
      evalEvery: 0,
      reportEvery: job.config.totalSteps,
      randomInit,
      maxBankImages: DEFAULT_EVALUATION.maxBankImages,
      maxHeldOutImages: DEFAULT_EVALUATION.maxHeldOutImages,
      gradients: false,
    };
    const started = Date.now();
    const summary = await runTraining(plan, data, backend, () => {});
    const result: ExperimentResult = { experiment: job.experiment, run: job.run, seed: job.seed, steps: randomInit ? 0 : job.config.totalSteps, summary };
    appendFileSync(file, `${JSON.stringify(result)}\n`);
    process.stdout.write(`${job.experiment || '-'} | ${job.run} | seed ${job.seed}: kNN ${summary.finalKnn === null ? '–' : (100 * summary.finalKnn).toFixed(1)}% (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
  }
}
