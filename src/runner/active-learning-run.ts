/**
 * `npm run train -- --active-learning`: a simulated MoBYv2AL experiment (src/engine/active-learning.ts)
 * on a labelled folder, one record per cycle and a summary. The experiment drives `RunSession`; this
 * file only turns its cycles into records.
 */
import { activeLearningProblem, simulateActiveLearning, type ActiveLearningPlan, type CycleResult, type SelectionStrategy } from '../engine/active-learning';
import type { TrainConfig } from '../engine/config';
import type { DatasetSplits } from '../engine/dataset';
import { Trainer } from '../engine/trainer';
import type { BackendName } from '../worker/backend-labels';
import type { ActiveLearningArgs } from './cli-args';

/** One cycle as `--json` prints it: the engine's result without the picked indices, with times in seconds. */
export interface CycleRecord extends Pick<CycleResult, 'cycle' | 'strategy' | 'labelled' | 'accuracy' | 'perClassLabels' | 'reveals'> {
  type: 'cycle';
  labelsOnly: boolean;
  trainSeconds: number;
  selectionSeconds: number;
}

export interface ActiveLearningSummary {
  type: 'summary';
  strategy: SelectionStrategy;
  labelsOnly: boolean;
  backend: BackendName;
  dataset: { name: string; train: number; test: number; classes: number };
  cycles: number;
  stepsPerCycle: number;
  reinitialise: boolean;
  seed: number;
  labelled: number[];
  accuracies: number[];
  finalAccuracy: number;
  reveals: number;
  seconds: number;
}

export type ActiveLearningRecord = CycleRecord | ActiveLearningSummary;

/** The experiment the flags describe: MoBYv2AL, or with --labels-only the same classifier without MoBY. */
export function activeLearningPlan(config: TrainConfig, args: ActiveLearningArgs): ActiveLearningPlan {
  const options = args.labelsOnly ? { ...config.options, mobyWeight: 0 } : config.options;
  return {
    config: { ...config, options },
    strategy: args.strategy,
    initial: args.initial,
    budget: args.budget,
    cycles: args.cycles,
    stepsPerCycle: args.stepsPerCycle,
    reinitialise: args.reinitialise,
    poolSubset: args.poolSubset,
  };
}

/** Refuses an experiment that cannot run, before anything is built. */
export function checkActiveLearning(plan: ActiveLearningPlan, data: DatasetSplits): void {
  const problem = activeLearningProblem(plan, data);
  if (problem) throw new Error(problem);
  Trainer.check({ ...plan.config, totalSteps: plan.stepsPerCycle }, { ...data, train: { ...data.train, labels: null } });
}

export async function runActiveLearning(plan: ActiveLearningPlan, data: DatasetSplits, backend: BackendName, emit: (record: ActiveLearningRecord) => void): Promise<ActiveLearningSummary> {
  checkActiveLearning(plan, data);
  const labelsOnly = plan.config.options.mobyWeight === 0;
  const started = performance.now();
  let cycleStart = started;
  const results = await simulateActiveLearning(plan, data, (result) => {
    const now = performance.now();
    emit({
      type: 'cycle',
      cycle: result.cycle,
      strategy: result.strategy,
      labelled: result.labelled,
      accuracy: result.accuracy,
      perClassLabels: result.perClassLabels,
      reveals: result.reveals,
      labelsOnly,
      trainSeconds: (now - cycleStart - result.selectionMilliseconds) / 1000,
      selectionSeconds: result.selectionMilliseconds / 1000,
    });
    cycleStart = now;
  });
  const summary: ActiveLearningSummary = {
    type: 'summary',
    strategy: plan.strategy,
    labelsOnly,
    backend,
    dataset: { name: data.name, train: data.train.count, test: data.test?.count ?? 0, classes: data.classNames.length },
    cycles: plan.cycles,
    stepsPerCycle: plan.stepsPerCycle,
    reinitialise: plan.reinitialise,
    seed: plan.config.seed,
    labelled: results.map((r) => r.labelled),
    accuracies: results.map((r) => r.accuracy),
    finalAccuracy: results.at(-1)!.accuracy,
    reveals: results.at(-1)!.reveals,
    seconds: (performance.now() - started) / 1000,
  };
  emit(summary);
  return summary;
}

const percent = (x: number) => `${(100 * x).toFixed(1)}%`;

/** One readable line per record (without --json). */
export function formatActiveLearningRecord(record: ActiveLearningRecord): string {
  if (record.type === 'cycle') {
    return `cycle ${record.cycle}  ${record.strategy}${record.labelsOnly ? ' (labels only)' : ''}  ${record.labelled} labels  accuracy ${percent(record.accuracy)}  per class [${record.perClassLabels.join(', ')}]`;
  }
  const who = record.labelsOnly ? 'Labels only' : 'MoBYv2AL';
  return `${who}, ${record.strategy}, on ${record.dataset.name}: accuracy ${record.accuracies.map(percent).join(' → ')} at ${record.labelled.join(' / ')} labels; ${record.reveals} labels revealed; ${record.seconds.toFixed(1)} s on ${record.backend}.`;
}
