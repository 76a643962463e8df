import { beforeEach, describe, expect, it } from 'vitest';
import type { EvaluationResult } from '../engine/evaluation';
import type { StepRecord } from '../engine/trainer';
import type { FromWorker } from '../worker/protocol';
import { useAppStore, type AppState } from './store';

const DIM = 64; // alarm below 0.2/√64 = 0.025

function progress(records: Partial<StepRecord>[], elapsedSeconds: number): FromWorker {
  const full = records.map((r, i) => ({ step: i + 1, loss: 1, featureStd: 0.1, learningRate: 0.1, tau: 0.99, terms: {}, epoch: 0, views: null, probe: null, gradients: null, ...r }));
  const run = { runId: 'run', records: full, steps: full.at(-1)!.step, epochs: 0, imagesPerSecond: 1, stepMilliseconds: 1, embeddingDim: DIM, status: 'training' as const, problem: null };
  return { type: 'progress', report: { runs: [run], elapsedSeconds, imagesPerSecond: 1 }, memory: { tensors: 1, bytes: 1, gpuBytes: null } };
}

function evaluation(step: number, knnAccuracy: number, elapsedSeconds: number): FromWorker {
  return { type: 'evaluation', runId: 'run', result: { step, epoch: step / 10, knnAccuracy, probeAccuracy: null, effectiveRank: 3 } as unknown as EvaluationResult, elapsedSeconds, costShare: 0.04 };
}

describe('store: metrics from the worker', () => {
  beforeEach(() => useAppStore.getState().clearRun());

  it('raises the collapse alarm from the streamed feature std, and shows it again after a recovery', () => {
    const { receive } = useAppStore.getState();
    receive(progress([0, 1, 2, 3].map((step) => ({ step, featureStd: 0.01 })), 1));
    expect(useAppStore.getState().collapse.active).toBe(false);
    receive(progress([{ step: 4, featureStd: 0.01 }], 2));
    expect(useAppStore.getState().collapse).toMatchObject({ active: true, collapsedSince: 0 });
    useAppStore.getState().dismissCollapse();
    expect(useAppStore.getState().collapseDismissed).toBe(true);

    receive(progress([5, 6, 7, 8, 9].map((step) => ({ step, featureStd: 0.1 })), 3));
    expect(useAppStore.getState().collapse.active).toBe(false);
    receive(progress([10, 11, 12, 13, 14].map((step) => ({ step, featureStd: 0.001 })), 4));
    expect(useAppStore.getState().collapse.active).toBe(true);
    expect(useAppStore.getState().collapseDismissed).toBe(false);
  });

  it('keeps loss terms under their own keys, wall times continuous across evaluations, and the best kNN', () => {
    const { receive } = useAppStore.getState();
    receive(evaluation(0, 0.3, 2));
    receive(progress([{ step: 0, terms: { onDiagonal: 0.2, loss: 9 } }, { step: 1, terms: { offDiagonal: 0.1 } }], 4));
    receive(evaluation(2, 0.5, 5));
    receive(evaluation(4, 0.4, 6));
    const state = useAppStore.getState();
    expect(state.termNames).toEqual(['onDiagonal', 'loss', 'offDiagonal']);
    // A term named like a series does not overwrite it.
    expect(state.history[0].loss).toBe(1);
    expect(state.history[0]['term:loss']).toBe(9);
    // The steps after the baseline evaluation are timed from its end (2 s), not from 0.
    expect(state.history.map((p) => p.time)).toEqual([3, 4]);
    expect(state.evaluations.map((e) => e.bestKnnAccuracy)).toEqual([0.3, 0.5, 0.5]);
    expect(state.evaluationCost).toBe(0.04);

    useAppStore.getState().clearRun();
    const cleared = useAppStore.getState();
    expect([cleared.history.length, cleared.evaluations.length, cleared.termNames.length, cleared.elapsedSeconds]).toEqual([0, 0, 0, 0]);
    expect(cleared.collapse.active).toBe(false);
  });
});

describe('store: a run stopped by a fault', () => {
  beforeEach(() => useAppStore.getState().clearRun());

  const saved = (checkpointStep: number | null) => [{ id: 'r1', checkpointStep } as unknown as AppState['savedRuns'][number]];

  it('counts the steps since the last saved checkpoint as lost when the worker dies, and keeps the charts', () => {
    const { receive } = useAppStore.getState();
    receive(progress(Array.from({ length: 130 }, (_, i) => ({ step: i + 1 })), 5));
    useAppStore.setState({ runState: 'running', currentRunId: 'r1', savedRuns: saved(100) });
    useAppStore.getState().interruptRun('worker');
    const state = useAppStore.getState();
    expect(state.interruption).toMatchObject({ cause: 'worker', runId: 'r1', step: 130, checkpointStep: 100, resuming: false });
    expect(state.runState).toBe('error');
    expect(state.message).toMatch(/stopped at step 130 .*Its last checkpoint is step 100: 30 steps lost\.$/);
    expect(state.history).toHaveLength(130);
  });

  it('says every step is lost when no checkpoint was saved, and nothing is lost between runs', () => {
    const { receive } = useAppStore.getState();
    receive(progress([{ step: 1 }], 1));
    useAppStore.setState({ runState: 'running', currentRunId: 'r1', savedRuns: saved(null) });
    useAppStore.getState().interruptRun('worker');
    expect(useAppStore.getState().message).toMatch(/No checkpoint had been saved yet: 1 step lost\.$/);
    useAppStore.getState().clearRun();
    expect(useAppStore.getState().interruption).toBeNull();
    useAppStore.setState({ runState: 'finished' });
    useAppStore.getState().interruptRun('worker');
    expect(useAppStore.getState().interruption).toBeNull();
    expect(useAppStore.getState().message).toMatch(/^The training worker stopped \(.*\); a new one has started\.$/);
  });

  it('takes the step from the worker when a lost device or a failed allocation stops the run', () => {
    const { receive } = useAppStore.getState();
    // The page has seen 20 steps; the worker had done 27 when its device was lost.
    receive(progress(Array.from({ length: 20 }, (_, i) => ({ step: i + 1 })), 5));
    useAppStore.setState({ runState: 'running', currentRunId: 'r1', savedRuns: saved(12) });
    receive({ type: 'runInterrupted', cause: 'device', step: 27, detail: 'the device was destroyed' });
    expect(useAppStore.getState().interruption).toMatchObject({ cause: 'device', step: 27, checkpointStep: 12 });
    expect(useAppStore.getState().message).toBe(
      'The GPU device was lost at step 27: the device was destroyed. A new worker restarts the backend (WebGPU again if the device comes back, else the next fastest) and resumes from the last checkpoint, step 12: 15 steps lost.',
    );
  });

  it('names the batch size to lower after an allocation failure', () => {
    const config = { batchSize: 48 } as AppState['runConfig'];
    useAppStore.setState({ runState: 'running', currentRunId: 'r1', savedRuns: saved(100), runConfig: config });
    useAppStore.getState().receive({ type: 'runInterrupted', cause: 'memory', step: 101, detail: 'Could not allocate a 48×32×32×3 tensor.' });
    const { interruption, message } = useAppStore.getState();
    expect(interruption).toMatchObject({ cause: 'memory', step: 101, checkpointStep: 100, batchSize: 48 });
    expect(message).toBe(
      'Out of memory at step 101: Could not allocate a 48×32×32×3 tensor. The run stopped and nothing saved is lost. Lower the batch size (now 48) or the image size; the setup panel shows what fits. Then resume from the last checkpoint, step 100: 1 step lost.',
    );
  });
});
