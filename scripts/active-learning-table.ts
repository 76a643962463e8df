/**
 * Turns the JSON-lines files of scripts/active-learning-experiment.sh into the Markdown table of
 * docs/active-learning.md: per run kind and cycle, the held-out accuracy's mean ± sample standard
 * deviation over seeds, then core-set minus random per cycle (paired by seed).
 * Usage: npx tsx scripts/active-learning-table.ts <folder>
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const folder = process.argv[2];
const RUNS = ['coreset', 'random', 'uncertainty', 'loss', 'labels-only'];
const accuracies = new Map<string, Map<number, number[]>>();
let labels: number[] = [];
for (const file of readdirSync(folder).filter((f) => f.endsWith('.jsonl'))) {
  const match = /^(.*)-seed(\d+)\.jsonl$/.exec(file);
  if (!match) continue;
  const summary = readFileSync(join(folder, file), 'utf8').trim().split('\n').map((line) => JSON.parse(line)).find((r) => r.type === 'summary');
  if (!summary) continue;
  labels = summary.labelled;
  const bySeed = accuracies.get(match[1]) ?? new Map<number, number[]>();
  bySeed.set(Number(match[2]), summary.accuracies);
  accuracies.set(match[1], bySeed);
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs: number[]) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
const cell = (xs: number[]) => `${(100 * mean(xs)).toFixed(1)} ± ${(100 * std(xs)).toFixed(1)}`;

console.log(`| run | seeds | ${labels.map((n) => `${n} labels`).join(' | ')} |`);
console.log(`| --- | --- | ${labels.map(() => '---').join(' | ')} |`);
for (const run of RUNS) {
  const bySeed = accuracies.get(run);
  if (!bySeed) continue;
  const runs = [...bySeed.values()];
  console.log(`| ${run} | ${bySeed.size} | ${labels.map((_, c) => cell(runs.map((r) => r[c]))).join(' | ')} |`);
}
const coreset = accuracies.get('coreset');
const random = accuracies.get('random');
if (coreset && random) {
  const seeds = [...coreset.keys()].filter((s) => random.has(s));
  const differences = labels.map((_, c) => seeds.map((s) => coreset.get(s)![c] - random.get(s)![c]));
  console.log(`| core-set − random (paired, ${seeds.length} seeds) | | ${differences.map((d) => cell(d)).join(' | ')} |`);
}
