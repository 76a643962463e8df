import { describe, expect, it } from 'vitest';
import { getMethod } from '../engine/methods/registry';
import { BACKBONE_PRESETS } from '../engine/presets';
import { buildConfig, parseBenchArgs, parseTrainArgs, UsageError } from './cli-args';

describe('parseTrainArgs', () => {
  it('reads every flag, in both --flag value and --flag=value forms', () => {
    const args = parseTrainArgs(['--data', 'pets', '--method=byol', '--steps', '50', '--image-size', '16', '--batch=32', '--lr', '0.1', '--tau', '0.996', '--temperature', '0.2', '--eval-every', '10', '--backend', 'webgl', '--seed', '3', '--json', '--encoder', 'resnet-8', '--preset', 'reference']);
    expect(args).toMatchObject({ data: 'pets', method: 'byol', steps: 50, imageSize: 16, batchSize: 32, learningRate: 0.1, tau: 0.996, temperature: 0.2, evalEvery: 10, backend: 'webgl', seed: 3, json: true, encoder: 'resnet-8', preset: 'reference', randomInit: false, reportEvery: 10 });
  });

  it('sets method options and the τ schedule over the preset; the trainer checks the options', () => {
    const args = parseTrainArgs(['--data', 'x', '--method', 'simclr', '--options', 'targetBranch=2', '--tau-schedule', 'on', '--gradients']);
    expect(args).toMatchObject({ options: { targetBranch: 2 }, tauSchedule: true, gradients: true });
    const config = buildConfig(args);
    expect([config.options.targetBranch, config.tauSchedule]).toEqual([2, true]);
    expect(buildConfig(parseTrainArgs(['--data', 'x', '--method', 'barlow', '--options', 'targetBranch=1'])).options).toEqual({ ...getMethod('barlow').defaults('classroom').options, targetBranch: 1 });
    expect(() => parseTrainArgs(['--data', 'x', '--options', 'targetBranch'])).toThrow(/--options takes name=number pairs separated by commas, got "targetBranch"/);
    expect(() => parseTrainArgs(['--data', 'x', '--tau-schedule', 'yes'])).toThrow(/--tau-schedule is on or off, got "yes"/);
  });

  it('defaults to the app: first method, classroom preset, automatic backend', () => {
    expect(parseTrainArgs(['--data', 'x'])).toMatchObject({ method: 'byol', preset: 'classroom', backend: null, evalEvery: 0, json: false });
  });

  it('refuses unknown methods with the list of known ones, and other mistakes with a clear message', () => {
    const mistakes: [string[], RegExp][] = [
      [['--data', 'x', '--method', 'simclrr'], /Unknown method "simclrr"\. Known methods: byol/],
      [['--method', 'byol'], /--data <folder> is required/],
      [['--data', 'x', '--steps', 'ten'], /--steps must be a number, got "ten"/],
      [['--data', 'x', '--steps', '2.5'], /--steps must be a whole number/],
      [['--data', 'x', '--steps', '0'], /--steps must be at least 1/],
      [['--data', 'x', '--batch', '1'], /--batch must be at least 2/],
      [['--data', 'x', '--backend', 'metal'], /Unknown backend "metal"\. Choose one of: webgpu, webgl, wasm, cpu/],
      [['--data', 'x', '--encoder', 'vit'], /Unknown encoder "vit"\. Choose one of: convnet-tiny/],
      [['--data', 'x', '--stpes', '5'], /Unknown flag --stpes\. Known flags: --data, --method/],
      [['--data'], /--data needs a value/],
      [['--data', '--json'], /--data needs a value/],
      [['pets'], /Unexpected argument "pets"/],
      [['--data', 'x', '--json=yes'], /--json takes no value/],
    ];
    for (const [argv, message] of mistakes) expect(() => parseTrainArgs(argv), argv.join(' ')).toThrow(message);
    expect(() => parseTrainArgs(['--data', 'x', '--method', 'nope'])).toThrow(UsageError);
  });
});

describe('buildConfig', () => {
  it("applies the user's edits on top of the method's preset, as the app's setup panel does", () => {
    const base = getMethod('byol').defaults('classroom');
    const config = buildConfig({ method: 'byol', preset: 'classroom', encoder: 'convnet-tiny', imageSize: 16, batchSize: 8, steps: 40, learningRate: 0.3, seed: 9 });
    expect(config).toEqual({ ...base, backbone: BACKBONE_PRESETS['convnet-tiny'], imageSize: 16, batchSize: 8, totalSteps: 40, learningRate: 0.3, seed: 9 });
    expect(buildConfig({ method: 'byol', preset: 'reference' })).toEqual(getMethod('byol').defaults('reference'));
  });
});

describe('parseBenchArgs', () => {
  it('reads lists of methods and backends and validates them', () => {
    expect(parseBenchArgs(['--quick', '--methods', 'byol,byol', '--backend', 'cpu,webgl', '--steps', '4', '--batch', '8'])).toMatchObject({ mode: 'quick', methods: ['byol'], backends: ['cpu', 'webgl'], timedSteps: 4, batchSize: 8, appLoop: true, pytorch: true, data: 'builtin:shapes', out: 'bench-results' });
    expect(parseBenchArgs(['--no-app-loop', '--no-pytorch'])).toMatchObject({ mode: 'full', methods: null, backends: null, timedSteps: null, batchSize: null, appLoop: false, pytorch: false, kCenter: true });
    expect(parseBenchArgs(['--no-kcenter']).kCenter).toBe(false);
    expect(parseBenchArgs(['--mode', 'resnet8', '--backend', 'wasm'])).toMatchObject({ mode: 'resnet8', backends: ['wasm'] });
    expect(() => parseBenchArgs(['--mode', 'huge'])).toThrow(/Unknown mode "huge"\. Choose one of: quick, classroom, resnet8, full\./);
    expect(() => parseBenchArgs(['--methods', 'byol,moco9'])).toThrow(/Unknown method "moco9"/);
    expect(() => parseBenchArgs(['--backend', 'cuda'])).toThrow(/Unknown backend "cuda"/);
  });
});
