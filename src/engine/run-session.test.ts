import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import type { TrainConfig } from './config';
import { DEFAULT_EVALUATION, type EvaluationSettings } from './evaluation-settings';
import { Evaluator } from './evaluation';
import { METHODS } from './methods/registry';
import { ActiveClock, RunSession, type RunSpec, type SessionEvaluation, type SessionOptions, type SessionReport } from './run-session';
import { tinyConfig, tinyData } from './testing/tiny';
import { Trainer, type StepRecord } from './trainer';

/** 8 px, 16 images, batch 4: 4 steps per epoch, about a second per test. */
function smallConfig(overrides: Partial<TrainConfig> = {}, method = 'byol'): TrainConfig {
  return tinyConfig(method, { imageSize: 8, batchSize: 4, totalSteps: 6, ...overrides });
}
const smallData = () => tinyData(16, 8);

function specs(...configs: TrainConfig[]): RunSpec[] {
  return configs.map((config, i) => ({ id: `run${i}`, name: `Run ${i}`, config }));
}

interface SeenBatch {
  indices: number[];
  views: number[][];
}

/** Every batch a trainer draws in `steps` steps: indices and the pixels of both views. */
function watchBatches(trainer: Trainer, steps: number): SeenBatch[] {
  const seen: SeenBatch[] = [];
  trainer.onBatch = (indices, views) => seen.push({ indices: Array.from(indices), views: views.map((v) => Array.from(v.dataSync())) });
  for (let i = 0; i < steps; i++) trainer.step();
  trainer.onBatch = null;
  return seen;
}

describe('same seed, same data stream', () => {
  it('two BYOL runs with different τ, learning rate, optimizer and heads draw identical batches and identical augmented views', async () => {
    const data = smallData();
    const a = new Trainer(smallConfig({ tau: 0.99, learningRate: 0.05 }), data);
    const base = smallConfig();
    const b = new Trainer(
      smallConfig({
        tau: 0.9,
        tauSchedule: false,
        learningRate: 0.01,
        optimizer: { kind: 'adamw', beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01 },
        projector: { ...base.projector, out: 12 },
        predictor: base.predictor && { ...base.predictor, hidden: [20], out: 12 },
        backbone: { kind: 'convnet', widths: [6, 6, 6, 6] },
      }),
      data,
    );
    // 6 steps at 4 steps per epoch: the stream crosses into a second permutation.
    const seenA = watchBatches(a, 6);
    const seenB = watchBatches(b, 6);
    expect(seenA).toHaveLength(6);
    expect(seenB).toEqual(seenA);
    // A whole epoch covers every image once.
    expect(seenA.slice(0, 4).flatMap((s) => s.indices).sort((x, y) => x - y)).toEqual(Array.from({ length: 16 }, (_, i) => i));
    await Promise.all([a.flush(), b.flush()]);
    a.dispose();
    b.dispose();
  });

  it('every registered method draws the same batches and views as BYOL when seed, batch size and recipe match', async () => {
    const data = smallData();
    const byol = new Trainer(smallConfig(), data);
    const reference = watchBatches(byol, 5);
    for (const method of METHODS) {
      const trainer = new Trainer(smallConfig({ augmentations: smallConfig().augmentations }, method.id), data);
      expect(watchBatches(trainer, 5), method.id).toEqual(reference);
      await trainer.flush();
      trainer.dispose();
    }
    await byol.flush();
    byol.dispose();
  });

  it('a different seed gives a different stream (the check above can fail)', async () => {
    const data = smallData();
    const a = new Trainer(smallConfig({ seed: 1 }), data);
    const b = new Trainer(smallConfig({ seed: 2 }), data);
    const [first] = watchBatches(a, 1);
    const [second] = watchBatches(b, 1);
    expect(second.indices).not.toEqual(first.indices);
    expect(second.views[0]).not.toEqual(first.views[0]);
    await Promise.all([a.flush(), b.flush()]);
    a.dispose();
    b.dispose();
  });
});

/** A session with a listener that keeps everything it is told. */
function recordedSession(runs: RunSpec[], options: Partial<SessionOptions> = {}, data = smallData()) {
  const reports: SessionReport[] = [];
  const evaluations: SessionEvaluation[] = [];
  const session = new RunSession(runs, data, { evaluation: null, reportEverySteps: 1000, ...options }, { report: (r) => reports.push(r), evaluation: (e) => evaluations.push(e) });
  const records = (runId: string): StepRecord[] => reports.flatMap((r) => r.runs.find((u) => u.runId === runId)?.records ?? []);
  return { session, reports, evaluations, records };
}

const noBudget = (everySteps: number): EvaluationSettings => ({ ...DEFAULT_EVALUATION, everySteps, maxTimeShare: 1 });

describe('RunSession', () => {
  it('steps round-robin: one step each in turn, every run advancing equally, steps counted from 1', async () => {
    const { session, records } = recordedSession(specs(smallConfig(), smallConfig({ tau: 0.9 }), smallConfig({ learningRate: 0.01 })));
    const order: string[] = [];
    session.runs.forEach((run) => (run.trainer.onBatch = () => order.push(run.id)));
    await session.train(3);
    expect(order).toEqual(['run0', 'run1', 'run2', 'run0', 'run1', 'run2', 'run0', 'run1', 'run2']);
    for (const run of session.runs) expect(records(run.id).map((r) => r.step)).toEqual([1, 2, 3]);
    await session.dispose();
  });

  it('keeps going with the longer runs once a shorter one is done, and stops when all are', async () => {
    const { session } = recordedSession(specs(smallConfig({ totalSteps: 2 }), smallConfig({ totalSteps: 4 })));
    const order: string[] = [];
    session.runs.forEach((run) => (run.trainer.onBatch = () => order.push(run.id)));
    expect(await session.train()).toBe('finished');
    expect(order).toEqual(['run0', 'run1', 'run0', 'run1', 'run1', 'run1']);
    expect(session.runs.map((r) => r.status)).toEqual(['finished', 'finished']);
    await session.dispose();
  });

  it('a run trains exactly as it would alone: interleaving changes no number', async () => {
    const data = smallData();
    const configs = [smallConfig({ tau: 0.99 }), smallConfig({ tau: 0.9, learningRate: 0.02 })];
    const { session, records } = recordedSession(specs(...configs), { reportEverySteps: 2, timeEvery: 2 }, data);
    await session.train();
    await session.dispose();
    for (const [i, config] of configs.entries()) {
      const alone = new Trainer(config, data);
      for (let s = 0; s < config.totalSteps; s++) alone.step();
      expect(records(`run${i}`).map((r) => r.loss)).toEqual((await alone.flush()).map((r) => r.loss));
      alone.dispose();
    }
  });

  it('reports on the step cadence, every step exactly once, and a lone run its own speed', async () => {
    const { session, reports } = recordedSession(specs(smallConfig({ totalSteps: 7 })), { reportEverySteps: 3 });
    await session.train();
    // After steps 3 and 6 by the cadence, then step 7 when the run ends.
    expect(reports.map((r) => r.runs[0].steps)).toEqual([3, 6, 7]);
    expect(reports.flatMap((r) => r.runs[0].records.map((x) => x.step))).toEqual([1, 2, 3, 4, 5, 6, 7]);
    for (const report of reports) expect(report.runs[0].imagesPerSecond).toBeGreaterThan(0);
    const elapsed = reports.map((r) => r.elapsedSeconds);
    expect(elapsed).toEqual([...elapsed].sort((a, b) => a - b));
    await session.dispose();
  });

  it('evaluates after the first step, at each multiple of the interval and at the end, on request too', async () => {
    const { session, evaluations } = recordedSession(specs(smallConfig({ totalSteps: 7 })), { evaluation: noBudget(3), reportEverySteps: 1 });
    await session.train(4);
    await session.requestEvaluation();
    await session.train();
    expect(evaluations.map((e) => e.result.step)).toEqual([1, 3, 4, 6, 7]);
    for (const e of evaluations) {
      expect(e.result.knnAccuracy).toBeGreaterThanOrEqual(0);
      expect(e.costShare).toBeGreaterThan(0);
      expect(e.costShare).toBeLessThanOrEqual(1);
    }
    await session.dispose();
  });

  it('an interval of 0 evaluates only at the end; evaluations per run spread each run over its own length', async () => {
    const onlyAtEnd = recordedSession(specs(smallConfig({ totalSteps: 5 })), { evaluation: noBudget(0) });
    await onlyAtEnd.session.train();
    expect(onlyAtEnd.evaluations.map((e) => e.result.step)).toEqual([5]);
    await onlyAtEnd.session.dispose();

    const spread = recordedSession(specs(smallConfig({ totalSteps: 6 }), smallConfig({ totalSteps: 12 })), { evaluation: noBudget(50), evaluationsPerRun: 2 });
    await spread.session.train();
    const at = (runId: string) => spread.evaluations.filter((e) => e.runId === runId).map((e) => e.result.step);
    expect(at('run0')).toEqual([1, 3, 6]);
    expect(at('run1')).toEqual([1, 6, 12]);
    await spread.session.dispose();

    const none = recordedSession(specs(smallConfig()), { evaluation: noBudget(1), evaluationsPerRun: 0 });
    await none.session.train();
    expect(none.evaluations).toEqual([]);
    await none.session.dispose();
  });

  it('untrainedReference: the first run\'s untrained encoder is evaluated at step 0, before any step, as a fresh trainer of its config scores', async () => {
    const data = smallData();
    const configs = [smallConfig({ totalSteps: 4, tau: 0.9 }), smallConfig({ totalSteps: 4, learningRate: 0.02 })];
    const events: string[] = [];
    const evaluations: SessionEvaluation[] = [];
    const session = new RunSession(specs(...configs), data, { evaluation: noBudget(2), reportEverySteps: 1, untrainedReference: true }, {
      report: (r) => events.push(...r.runs.flatMap((u) => u.records.map((x) => `${u.runId} step ${x.step}`))),
      evaluation: (e) => {
        evaluations.push(e);
        events.push(`${e.runId} evaluation at ${e.result.step}`);
      },
    });
    await session.train();
    await session.dispose();
    expect(events[0]).toBe('run0 evaluation at 0');
    expect(events.filter((e) => e.endsWith('evaluation at 0'))).toEqual(['run0 evaluation at 0']);
    // The runs' own cadence is untouched: the first after step 1, every 2 steps, and the last.
    for (const runId of ['run0', 'run1']) expect(evaluations.filter((e) => e.runId === runId && e.result.step > 0).map((e) => e.result.step)).toEqual([1, 2, 4]);

    const fresh = new Trainer(configs[0], data);
    const independent = new Evaluator(fresh, noBudget(2));
    const expected = await independent.evaluate();
    independent.dispose();
    fresh.dispose();
    expect(expected.step).toBe(0);
    expect(expected.knnAccuracy).not.toBeNull();
    expect(evaluations[0].result.knnAccuracy).toBe(expected.knnAccuracy);
    expect(evaluations[0].result.effectiveRank).toBeCloseTo(expected.effectiveRank, 4);
    expect(evaluations[0].result.perClassAccuracy).toEqual(expected.perClassAccuracy);
    // Trained weights score otherwise, so the equality above tells the untrained encoder apart.
    const trained = new Trainer(configs[0], data);
    for (let s = 0; s < 4; s++) trained.step();
    await trained.flush();
    const afterTraining = new Evaluator(trained, noBudget(2));
    expect((await afterTraining.evaluate()).effectiveRank).not.toBeCloseTo(expected.effectiveRank, 4);
    afterTraining.dispose();
    trained.dispose();
  });

  it('without untrainedReference no evaluation comes at step 0; with it, none when there is no evaluation', async () => {
    const plain = recordedSession(specs(smallConfig({ totalSteps: 3 })), { evaluation: noBudget(2) });
    await plain.session.train();
    expect(plain.evaluations.map((e) => e.result.step)).toEqual([1, 2, 3]);
    await plain.session.dispose();

    const unevaluated = recordedSession(specs(smallConfig({ totalSteps: 3 })), { evaluation: null, untrainedReference: true });
    await unevaluated.session.train();
    expect(unevaluated.evaluations).toEqual([]);
    await unevaluated.session.dispose();
  });

  it('untrainedReference: stepping once also evaluates step 0 first, and only once', async () => {
    const { session, evaluations } = recordedSession(specs(smallConfig({ totalSteps: 4 })), { evaluation: noBudget(3), reportEverySteps: 1, untrainedReference: true });
    await session.stepOnce();
    await session.stepOnce();
    await session.train();
    expect(evaluations.map((e) => e.result.step)).toEqual([0, 1, 3, 4]);
    await session.dispose();
  });

  it('a tiny time budget holds regular evaluations back, but not requested or final ones', async () => {
    const { session, evaluations } = recordedSession(specs(smallConfig({ totalSteps: 4 })), { evaluation: { ...DEFAULT_EVALUATION, everySteps: 1, maxTimeShare: 1e-6 } });
    await session.train(2);
    await session.requestEvaluation();
    await session.train();
    expect(evaluations.map((e) => e.result.step)).toEqual([1, 2, 4]);
    await session.dispose();
  });

  it('pause stops after the step in progress; stepOnce takes one step and reports it', async () => {
    const { session, reports } = recordedSession(specs(smallConfig({ totalSteps: 6 })), {
      reportEverySteps: 1,
      betweenSteps: async () => {
        if (session.run().trainer.steps === 2) session.pause();
      },
    });
    expect(await session.train()).toBe('paused');
    expect(session.run().trainer.steps).toBe(2);
    await session.stepOnce();
    expect(session.run().trainer.steps).toBe(3);
    expect(reports.at(-1)!.runs[0].records.map((r) => r.step)).toEqual([3]);
    await session.dispose();
  });

  it('times one step of each run when several share the device', async () => {
    const { session, reports } = recordedSession(specs(smallConfig(), smallConfig({ tau: 0.9 })), { timeEvery: 2 });
    await session.train();
    for (const run of reports.at(-1)!.runs) {
      expect(run.imagesPerSecond).toBeGreaterThan(0);
      expect(run.status).toBe('finished');
    }
    await session.dispose();
  });

  it('shares one upload of the training images and one evaluation sample between runs, and frees everything', async () => {
    const data = smallData();
    const before = tf.memory().numTensors;
    const { session } = recordedSession(specs(smallConfig(), smallConfig({ tau: 0.9 }), smallConfig({ learningRate: 0.01 })), { evaluation: noBudget(2) }, data);
    const [first, ...others] = session.runs.map((r) => r.trainer.trainImages);
    others.forEach((images) => expect(images).toBe(first));
    expect(first.set).toBe(data.train);
    const samples = session.runs.map((r) => r.evaluator!.sample);
    samples.forEach((sample) => expect(sample).toBe(samples[0]));
    expect(samples[0].trainImages).toBe(first);
    await session.train();
    await session.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('stops only the run whose loss is not finite, with the step it happened at; the others finish', async () => {
    const { session, evaluations, records } = recordedSession(specs(smallConfig({ learningRate: 1e30, warmupSteps: 0 }), smallConfig()), { evaluation: noBudget(0) });
    expect(await session.train()).toBe('finished');
    const [bad, good] = session.runs;
    expect(bad.status).toBe('diverged');
    const firstBad = records('run0').find((r) => !Number.isFinite(r.loss))!;
    expect(bad.problem).toContain(`The loss became ${firstBad.loss} at step ${firstBad.step}, so the run stopped`);
    expect(bad.trainer.steps).toBeLessThan(6);
    expect(good.status).toBe('finished');
    expect(good.trainer.steps).toBe(6);
    expect(evaluations.map((e) => e.runId)).toEqual(['run1']);
    await session.dispose();
  });

  it('refuses an impossible run with its name, and builds nothing', () => {
    const before = tf.memory().numTensors;
    expect(() => recordedSession(specs(smallConfig(), smallConfig({ batchSize: 64 })))).toThrow(/Run "Run 1": Invalid settings: batch size 64 is larger than the dataset \(16 images\)/);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => recordedSession([])).toThrow(/at least one run/);
  });

  it('holds no more tensors after many steps, reports and evaluations than after the first round', async () => {
    const { session } = recordedSession(specs(smallConfig({ totalSteps: 24 }), smallConfig({ totalSteps: 24, tau: 0.9 })), { evaluation: noBudget(6), reportEverySteps: 6, timeEvery: 3 });
    await session.train(6);
    const settled = tf.memory().numTensors;
    for (const until of [12, 18, 24]) {
      await session.train(until);
      expect(tf.memory().numTensors).toBe(settled);
    }
    expect(session.finished).toBe(true);
    await session.dispose();
  });

  it('dispose during an evaluation waits for it and ends quietly', async () => {
    const before = tf.memory().numTensors;
    const { session, evaluations } = recordedSession(specs(smallConfig()), { evaluation: noBudget(1) });
    const pending = session.requestEvaluation();
    await session.dispose();
    await expect(pending).resolves.toBeUndefined();
    expect(evaluations).toHaveLength(1);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('ActiveClock', () => {
  it('counts only the time between start and stop', () => {
    let time = 1000;
    const clock = new ActiveClock(() => time);
    clock.start();
    time += 20;
    expect(clock.milliseconds()).toBe(20);
    clock.stop();
    time += 30; // paused
    expect(clock.milliseconds()).toBe(20);
    clock.start();
    time += 5;
    clock.start(); // idempotent: does not restart the interval
    time += 5;
    clock.stop();
    clock.stop();
    expect(clock.milliseconds()).toBe(30);
  });
});
