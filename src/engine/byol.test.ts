import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { copyWeights, cosineTau, emaUpdate } from './ema';
import { byolLoss } from './losses';
import { createProjectedEncoder } from './methods/shared';
import { Rng } from './random';
import { tinyConfig, tinyData } from './testing/tiny';
import { Trainer } from './trainer';

function snapshot(vars: tf.Variable[]): Float32Array[] {
  return vars.map((v) => v.dataSync().slice() as Float32Array);
}

describe('EMA target', () => {
  it('is a separate copy: same values, different variables, unaffected by online updates', () => {
    const config = tinyConfig('byol');
    const online = createProjectedEncoder(config, new Rng(1), 'online');
    const target = createProjectedEncoder(config, new Rng(2), 'target');
    copyWeights(online.module, target.module);
    online.module.params.forEach((p, i) => {
      const t = target.module.params[i];
      expect(t.variable).not.toBe(p.variable);
      expect(t.variable.name).not.toBe(p.variable.name);
      expect(Array.from(t.variable.dataSync())).toEqual(Array.from(p.variable.dataSync()));
    });
    const before = snapshot(target.module.params.map((p) => p.variable));
    online.module.params[0].variable.assign(tf.add(online.module.params[0].variable, 1));
    expect(Array.from(target.module.params[0].variable.dataSync())).toEqual(Array.from(before[0]));
  });

  it('moves every target weight to τ·old + (1 − τ)·online', () => {
    const config = tinyConfig('byol');
    const online = createProjectedEncoder(config, new Rng(1), 'online');
    const target = createProjectedEncoder(config, new Rng(2), 'target');
    const tau = 0.9;
    const oldTarget = snapshot(target.module.params.map((p) => p.variable));
    const onlineValues = snapshot(online.module.params.map((p) => p.variable));
    emaUpdate(target.module.params, online.module.params, tau);
    target.module.params.forEach((p, i) => {
      const updated = p.variable.dataSync();
      for (let j = 0; j < updated.length; j++) {
        expect(updated[j]).toBeCloseTo(tau * oldTarget[i][j] + (1 - tau) * onlineValues[i][j], 6);
      }
    });
  });
});

describe('cosine τ schedule', () => {
  it('starts at τ_base, is halfway at K/2 and reaches 1 at K', () => {
    expect(cosineTau(0.99, 0, 1000)).toBeCloseTo(0.99, 12);
    expect(cosineTau(0.99, 500, 1000)).toBeCloseTo(0.995, 12);
    expect(cosineTau(0.99, 1000, 1000)).toBeCloseTo(1, 12);
    // 1 − 0.01·(cos(π/4) + 1)/2 at a quarter of the way.
    expect(cosineTau(0.99, 250, 1000)).toBeCloseTo(1 - 0.01 * (Math.SQRT1_2 + 1) / 2, 12);
  });
});

describe('BYOL loss', () => {
  it('matches 2 − 2·cos worked out by hand', () => {
    // Row 1: p=(1,0), z=(1,1): cos = 1/√2 → 2 − √2. Row 2: p=(0,2), z=(0,−3): cos = −1 → 4.
    const loss = byolLoss(tf.tensor2d([[1, 0], [0, 2]]), tf.tensor2d([[1, 1], [0, -3]]));
    expect(loss.dataSync()[0]).toBeCloseTo((2 - Math.SQRT2 + 4) / 2, 5);
  });
});

describe('BYOL training', () => {
  it('trains with finite loss, updates the target by EMA and leaks no tensors over 20 steps', async () => {
    const trainer = new Trainer(tinyConfig('byol'), tinyData());
    trainer.step();
    await trainer.flush();
    const baseline = tf.memory().numTensors;
    const records = [];
    for (let i = 0; i < 20; i++) {
      trainer.step();
      if (i % 5 === 4) records.push(...(await trainer.flush()));
    }
    expect(tf.memory().numTensors).toBe(baseline);
    expect(records).toHaveLength(20);
    expect(records.every((r) => Number.isFinite(r.loss) && r.loss >= 0 && r.loss <= 8)).toBe(true);
    // Steps count from 1, and one step ran before these 20.
    expect(records.map((r) => r.step)).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
    expect(new Set(records.map((r) => r.loss)).size).toBeGreaterThan(1);
    trainer.dispose();
  });
});
