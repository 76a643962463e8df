import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { tinyConfig, tinyData } from './testing/tiny';
import { Trainer } from './trainer';

const weights = (trainer: Trainer) => trainer.method.modules.flatMap((m) => m.params.map((p) => Array.from(p.variable.dataSync())));

describe('Trainer.profileStep', () => {
  it('updates the weights exactly as step() does, reports the same numbers (views and probe included) and leaks nothing', async () => {
    const data = tinyData();
    const plain = new Trainer(tinyConfig('byol'), data);
    const profiled = new Trainer(tinyConfig('byol'), data);
    plain.step();
    plain.step();
    const plainRecords = await plain.flush();

    const tensors = tf.memory().numTensors;
    const { phases, syncMs } = await profiled.profileStep();
    profiled.step();
    const profiledRecords = await profiled.flush();
    expect(tf.memory().numTensors).toBe(tensors);

    expect(profiledRecords.map((r) => [r.step, r.loss, r.featureStd, r.terms, r.views, r.probe])).toEqual(plainRecords.map((r) => [r.step, r.loss, r.featureStd, r.terms, r.views, r.probe]));
    expect(profiledRecords[0].views).not.toBeNull();
    expect(profiledRecords[0].probe).not.toBeNull();
    expect(weights(profiled)).toEqual(weights(plain));
    expect(Object.keys(phases).sort()).toEqual(['afterStep', 'augment', 'backward', 'forward', 'metrics', 'optimizer']);
    expect([...Object.values(phases), syncMs].every((ms) => Number.isFinite(ms) && ms >= 0)).toBe(true);
    [plain, profiled].forEach((t) => t.dispose());
  });
});
