import { beforeEach, describe, expect, it } from 'vitest';
import type { EvaluationResult } from '../engine/evaluation';
import { experimentsFor } from '../engine/experiments';
import { methodCatalog } from '../engine/methods/catalog';
import type { RunReport } from '../engine/run-session';
import type { StepRecord } from '../engine/trainer';
import type { FromWorker, MethodSummary } from '../worker/protocol';
import { commonValue, summarise, untrainedReference } from './compare-store';
import { useAppStore } from './store';

const catalog: MethodSummary[] = methodCatalog();

const store = () => useAppStore.getState();
const actions = () => store().compareActions;

function record(step: number, loss: number, featureStd = 0.05): StepRecord {
  return { step, loss, featureStd, learningRate: 0.05, tau: 0.99, terms: {}, epoch: step / 100, views: null, probe: null, gradients: null };
}

beforeEach(() => {
  useAppStore.setState(useAppStore.getInitialState(), true);
  useAppStore.setState({ methods: catalog });
});

describe('the Compare slice of the store', () => {
  it('adds runs as copies of the last one with their own id and colour; shared settings apply to all', () => {
    actions().addRun();
    actions().editRun(store().compare.draft[0].id, { tau: 0.9, batchSize: 16 });
    actions().addRun();
    const [first, second] = store().compare.draft;
    expect(second.config).toEqual(first.config);
    expect(second.id).not.toBe(first.id);
    expect(second.color).not.toBe(first.color);
    actions().editAllRuns({ imageSize: 16, seed: 5 });
    expect(store().compare.draft.map((r) => [r.config.imageSize, r.config.seed])).toEqual([
      [16, 5],
      [16, 5],
    ]);
    expect(commonValue(store().compare.draft, (c) => c.imageSize)).toBe(16);
    actions().editRun(second.id, { imageSize: 32 });
    expect(commonValue(store().compare.draft, (c) => c.imageSize)).toBeUndefined();
  });

  it('switching a run to another preset takes its recipe but keeps encoder, image size, seed and length', () => {
    actions().addRun();
    const id = store().compare.draft[0].id;
    actions().editAllRuns({ backbone: { kind: 'convnet', widths: [16, 32, 32, 32] }, imageSize: 16, seed: 3 });
    actions().editRun(id, { totalSteps: 40 });
    actions().chooseRunMethod(id, 'byol', 'reference');
    const { config } = store().compare.draft[0];
    const reference = catalog[0].defaults.reference;
    expect([config.preset, config.optimizer, config.batchSize]).toEqual(['reference', reference.optimizer, reference.batchSize]);
    expect([config.backbone, config.imageSize, config.seed, config.totalSteps]).toEqual([{ kind: 'convnet', widths: [16, 32, 32, 32] }, 16, 3, 40]);
  });

  it('an experiment keeps its summary labels until a run is edited; renaming is not an edit', () => {
    const [experiment] = experimentsFor(catalog);
    actions().loadExperiment(experiment);
    expect(store().compare.experiment?.id).toBe(experiment.id);
    // The brief the page shows: question, the paper's answer, what to look for, what was measured, the reference line.
    const { id, title, question, paper, lookFor, measured, axis, untrainedReference } = experiment;
    expect(store().compare.experiment).toEqual({ id, title, question, paper, lookFor, measured, axis, untrainedReference });
    expect(store().compare.evaluations).toBe(experiment.evaluations);
    const first = store().compare.draft[0];
    actions().renameRun(first.id, 'mine');
    expect(store().compare.draft[0].sweep).not.toBeNull();
    actions().editRun(first.id, { learningRate: 0.01 });
    expect(store().compare.experiment).toBeNull();
    expect(store().compare.draft.every((r) => r.sweep === null)).toBe(true);
  });

  it('collects each run’s reports: steps counted from 1, images seen, kNN points, and the table’s numbers', () => {
    actions().addRun();
    actions().addRun();
    actions().editAllRuns({ batchSize: 16 });
    actions().renameRun(store().compare.draft[1].id, '  ');
    const runs = actions().begin();
    expect(runs[1].name).toBe('Run 2');
    const [a, b] = runs.map((r) => r.id);
    const update = (runId: string, records: StepRecord[]) => ({ runId, records, steps: records.length, epochs: 0, imagesPerSecond: 100, stepMilliseconds: 160, embeddingDim: 8, status: 'training' as const, problem: null });
    const progress = (runs: RunReport[], imagesPerSecond: number): FromWorker => ({ type: 'progress', report: { runs, elapsedSeconds: 1, imagesPerSecond }, memory: { tensors: 10, bytes: 1, gpuBytes: null } });
    const evaluation = (runId: string, step: number, knnAccuracy: number): FromWorker => ({ type: 'evaluation', runId, result: { step, knnAccuracy } as EvaluationResult, elapsedSeconds: 1, costShare: 0.1 });
    const lossesA = Array.from({ length: 12 }, (_, i) => 4 - i * 0.1);
    const gradients = { positive: 1, negative: 2, ratio: 2, unigradCosine: 0.5, implicitNegative: false };
    const recordsA = lossesA.map((loss, i) => ({ ...record(i + 1, loss), gradients: i === 9 ? gradients : null }));
    actions().receive(progress([update(a, recordsA), update(b, [record(1, 3)])], 50));
    actions().receive(evaluation(a, 6, 0.4));
    actions().receive(evaluation(a, 12, 0.3));
    // A report without new steps leaves the speed as it was.
    actions().receive(progress([update(a, []), update(b, [])], 0));

    const { results, imagesPerSecond } = store().compare;
    expect(imagesPerSecond).toBe(50);
    expect(results[a].history[0]).toEqual({ step: 1, images: 16, loss: 4, featureStd: 0.05 });
    expect(results[a].gradients).toEqual([{ step: 10, images: 160, positive: 1, negative: 2, ratio: 2, unigradCosine: 0.5 }]);
    expect(results[b].gradients).toEqual([]);
    expect(results[a].knn).toEqual([
      { step: 6, images: 96, accuracy: 0.4 },
      { step: 12, images: 192, accuracy: 0.3 },
    ]);
    const summary = summarise(results[a]);
    // Mean of the last 10 losses: 3.8 … 2.9.
    expect(summary.loss).toBeCloseTo(lossesA.slice(-10).reduce((s, x) => s + x, 0) / 10, 12);
    expect([summary.knn, summary.bestKnn]).toEqual([0.3, 0.4]);
    expect(summarise(results[b])).toEqual({ loss: 3, featureStd: 0.05, knn: null, bestKnn: null });
  });

  it('the untrained reference is the step-0 evaluation, kept apart from the runs\' kNN points, never a later one, and only for experiments that show it', () => {
    const evaluation = (runId: string, step: number, knnAccuracy: number): FromWorker => ({ type: 'evaluation', runId, result: { step, knnAccuracy } as EvaluationResult, elapsedSeconds: 1, costShare: 0.1 });
    const experiments = experimentsFor(catalog);
    const withLine = experiments.find((e) => e.untrainedReference)!;
    actions().loadExperiment(withLine);
    const [first, second] = actions().begin().map((r) => r.id);
    // Before step 0's evaluation arrives, later ones do not stand in for it.
    actions().receive(evaluation(first, 1, 0.31));
    expect(untrainedReference(store().compare)).toBeNull();
    actions().receive(evaluation(first, 0, 0.25));
    actions().receive(evaluation(second, 1, 0.33));
    expect(untrainedReference(store().compare)).toEqual({ accuracy: 0.25, label: 'untrained (step 0)' });
    expect(store().compare.results[first].knn.map((p) => p.step)).toEqual([1]);
    expect(summarise(store().compare.results[first]).bestKnn).toBe(0.31);
    // A new start clears it.
    actions().begin();
    expect(untrainedReference(store().compare)).toBeNull();

    const withoutLine = experiments.find((e) => !e.untrainedReference)!;
    actions().loadExperiment(withoutLine);
    const [run] = actions().begin().map((r) => r.id);
    actions().receive(evaluation(run, 0, 0.25));
    expect(untrainedReference(store().compare)).toBeNull();
  });

  it('legend toggles hide and show a run', () => {
    actions().addRun();
    const [run] = actions().begin();
    actions().toggleRun(run.id);
    expect(store().compare.hidden).toEqual([run.id]);
    actions().toggleRun(run.id);
    expect(store().compare.hidden).toEqual([]);
  });
});
