import { describe, expect, it } from 'vitest';
import { DEFAULT_EVALUATION } from '../engine/evaluation';
import { tinyConfig, tinyData } from '../engine/testing/tiny';
import { Trainer } from '../engine/trainer';
import type { FromWorker } from './protocol';
import { ActiveClock, RunMetrics } from './run-metrics';

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

describe('RunMetrics', () => {
  it('evaluates before the first step, every N steps, on request and once at the end, and posts each result', async () => {
    const trainer = new Trainer(tinyConfig('byol', { totalSteps: 5 }), tinyData(24));
    const posted: FromWorker[] = [];
    const metrics = new RunMetrics(trainer, { ...DEFAULT_EVALUATION, everySteps: 2, maxTimeShare: 1 }, (m) => posted.push(m));
    const evaluatedAt: number[] = [];
    metrics.clock.start();
    while (true) {
      if (metrics.due()) {
        await trainer.flush();
        await metrics.evaluate();
        evaluatedAt.push(trainer.steps);
        continue;
      }
      if (trainer.finished) break;
      trainer.step();
      if (trainer.steps === 3) metrics.request();
    }
    metrics.clock.stop();
    // 0 (baseline), 2, 3 (requested), 5 (= 3 + 2, also the end).
    expect(evaluatedAt).toEqual([0, 2, 3, 5]);
    const evaluations = posted.filter((m) => m.type === 'evaluation');
    expect(evaluations.map((m) => m.result.step)).toEqual([0, 2, 3, 5]);
    for (const m of evaluations) {
      expect(m.costShare).toBeGreaterThan(0);
      expect(m.costShare).toBeLessThanOrEqual(1);
      expect(m.result.knnAccuracy).toBeGreaterThanOrEqual(0);
    }
    const elapsed = evaluations.map((m) => m.elapsedSeconds);
    expect(elapsed).toEqual([...elapsed].sort((a, b) => a - b));

    await metrics.neighbours(2);
    await metrics.neighbours(99);
    const replies = posted.filter((m) => m.type === 'neighbours');
    expect(replies[0].result?.neighbours.length).toBe(8);
    expect(replies[1].result).toBeNull();
    expect(replies[1].message).toMatch(/no held-out point 99/);
    metrics.dispose();
    trainer.dispose();
  });

  it('a tiny time budget holds regular evaluations back, but not requested or final ones', async () => {
    const trainer = new Trainer(tinyConfig('byol', { totalSteps: 4 }), tinyData(24));
    const posted: FromWorker[] = [];
    const metrics = new RunMetrics(trainer, { ...DEFAULT_EVALUATION, everySteps: 1, maxTimeShare: 1e-6 }, (m) => posted.push(m));
    const evaluatedAt: number[] = [];
    metrics.clock.start();
    while (true) {
      if (metrics.due()) {
        await trainer.flush();
        await metrics.evaluate();
        evaluatedAt.push(trainer.steps);
        continue;
      }
      if (trainer.finished) break;
      trainer.step();
      if (trainer.steps === 2) metrics.request();
    }
    expect(evaluatedAt).toEqual([0, 2, 4]);
    metrics.dispose();
    trainer.dispose();
  });

  it('a reset during an evaluation ends it quietly', async () => {
    const trainer = new Trainer(tinyConfig('byol'), tinyData(24));
    const posted: FromWorker[] = [];
    const metrics = new RunMetrics(trainer, DEFAULT_EVALUATION, (m) => posted.push(m));
    const pending = metrics.evaluate();
    metrics.dispose();
    await expect(pending).resolves.toBeUndefined();
    expect(posted).toEqual([]);
    trainer.dispose();
  });
});
