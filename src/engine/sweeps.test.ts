import { describe, expect, it } from 'vitest';
import type { TrainConfig } from './config';
import { byol } from './methods/byol';
import { expandSweep, settingAt, sweepNumbers, withSetting } from './sweeps';
import { differingPaths } from './testing/diff';

const base = (): TrainConfig => byol.defaults('classroom');

describe('setting paths', () => {
  it('read and write the settings shared links name, leaving the original untouched', () => {
    const config = base();
    expect(settingAt(config, 'tau')).toBe(0.99);
    expect(settingAt(config, 'augmentations.1.solarizeProbability')).toBe(0.2);
    const changed = withSetting(config, 'augmentations.0.colorJitter', null);
    expect(changed.augmentations[0].colorJitter).toBeNull();
    expect(config.augmentations[0].colorJitter).not.toBeNull();
    expect(differingPaths(config, changed)).toEqual(['augmentations.0.colorJitter']);
  });

  it('refuse unknown paths, parts that are switched off and values of another kind, saying which', () => {
    const config = base();
    expect(() => withSetting(config, 'momentum', 0.9)).toThrow('Unknown setting "momentum": the configuration has no "momentum".');
    expect(() => withSetting(config, 'optimizer.momentum', 0.9)).toThrow('no "momentum" under optimizer');
    expect(() => withSetting(config, 'augmentations.0.blur.probability', 0.5)).toThrow('augmentations.0.blur is switched off');
    expect(() => withSetting(config, 'tau', '0.9')).toThrow('it holds a number, not a string');
    expect(() => withSetting(config, 'tau', Number.NaN)).toThrow('finite number');
    expect(() => withSetting(config, 'tau..x', 1)).toThrow('is not a setting path');
  });
});

describe('expandSweep', () => {
  it('gives one configuration per value, differing from the base only in the swept setting', () => {
    const config = base();
    const points = expandSweep(config, { setting: 'tau', values: sweepNumbers([0.9, 0.99, 0.999]) });
    expect(points.map((p) => p.label)).toEqual(['0.9', '0.99', '0.999']);
    expect(points.map((p) => p.config.tau)).toEqual([0.9, 0.99, 0.999]);
    for (const point of points) expect(differingPaths(config, point.config)).toEqual(point.config.tau === config.tau ? [] : ['tau']);
  });

  it('sweeps a switchable part on and off, and whole parts such as the augmentation recipe', () => {
    const config = base();
    const jitter = config.augmentations[0].colorJitter;
    const onOff = expandSweep(config, { setting: 'augmentations.0.colorJitter', values: [{ label: 'on', value: jitter }, { label: 'off', value: null }] });
    expect(differingPaths(config, onOff[0].config)).toEqual([]);
    expect(differingPaths(config, onOff[1].config)).toEqual(['augmentations.0.colorJitter']);
    const flipsOnly = config.augmentations.map((v) => ({ ...v, crop: null })) as TrainConfig['augmentations'];
    const [recipe] = expandSweep(config, { setting: 'augmentations', values: [{ label: 'no crops', value: flipsOnly }] });
    expect(differingPaths(config, recipe.config)).toEqual(['augmentations.0.crop', 'augmentations.1.crop']);
  });

  it('keeps images seen and the learning rate per image fixed across batch sizes with equal-epochs scaling', () => {
    const config = { ...base(), batchSize: 128, totalSteps: 200, warmupSteps: 10, learningRate: 0.05 };
    const points = expandSweep(config, { setting: 'batchSize', values: sweepNumbers([16, 32, 64, 128]), batchScaling: 'equal-epochs' });
    expect(points.map((p) => [p.config.batchSize, p.config.totalSteps, p.config.warmupSteps])).toEqual([
      [16, 1600, 80],
      [32, 800, 40],
      [64, 400, 20],
      [128, 200, 10],
    ]);
    for (const { config: c } of points) {
      expect(c.learningRate / c.batchSize).toBeCloseTo(0.05 / 128, 12);
      expect(differingPaths(config, c).filter((p) => !['batchSize', 'totalSteps', 'warmupSteps', 'learningRate'].includes(p))).toEqual([]);
    }
    // Without scaling, only the batch size changes.
    const plain = expandSweep(config, { setting: 'batchSize', values: sweepNumbers([16]) });
    expect(differingPaths(config, plain[0].config)).toEqual(['batchSize']);
  });

  it('refuses empty sweeps, repeated labels and batch scaling of another setting', () => {
    expect(() => expandSweep(base(), { setting: 'tau', values: [] })).toThrow('has no values');
    expect(() => expandSweep(base(), { setting: 'tau', values: sweepNumbers([0.9, 0.9]) })).toThrow('repeats a value label');
    expect(() => expandSweep(base(), { setting: 'tau', values: sweepNumbers([0.9]), batchScaling: 'equal-epochs' })).toThrow('Batch scaling applies to batch-size sweeps');
  });
});
