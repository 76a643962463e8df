import { describe, expect, it } from 'vitest';
import type { PresetName, TrainConfig } from '../engine/config';
import { getMethod, METHODS } from '../engine/methods/registry';
import { decodeConfigQuery, encodeConfigQuery, type UrlDefaults } from './url-state';

const catalog: UrlDefaults = {
  methods: METHODS.map((m) => m.id),
  defaults: (method, preset) => (METHODS.some((m) => m.id === method) ? getMethod(method).defaults(preset) : undefined),
  options: (method) => (METHODS.some((m) => m.id === method) ? getMethod(method).options : undefined),
  datasets: ['shapes', 'cifar10'],
};

const PRESETS: PresetName[] = ['classroom', 'reference'];

type Path = (string | number)[];

function getAt(value: unknown, path: Path): unknown {
  return path.reduce<unknown>((v, key) => (v as Record<string | number, unknown>)[key], value);
}

function setAt<T>(value: T, path: Path, leaf: unknown): T {
  const copy = structuredClone(value);
  const parent = getAt(copy, path.slice(0, -1)) as Record<string | number, unknown>;
  parent[path[path.length - 1]] = leaf;
  return copy;
}

/**
 * Every leaf of a config: numbers, booleans, strings, number lists, nulls. `kind` tags are
 * switched separately; `method` and `preset` choose the defaults and are always written.
 */
function leaves(value: unknown, path: Path = []): Path[] {
  if (value === null || typeof value !== 'object' || (Array.isArray(value) && value.every((v) => typeof v === 'number'))) return [path];
  const skipped = path.length === 0 ? ['kind', 'method', 'preset'] : ['kind'];
  return Object.entries(value as object).flatMap(([key, v]) => (skipped.includes(key) ? [] : leaves(v, [...path, Array.isArray(value) ? Number(key) : key])));
}

/** A different valid value for a leaf, judged from its current value and name (and for options, the method's spec). */
function changed(value: unknown, path: Path, method: string): unknown {
  const name = String(path[path.length - 1]);
  const option = path[0] === 'options' ? getMethod(method).options[name] : undefined;
  if (option?.kind === 'toggle') return 1 - (value as number);
  if (option?.kind === 'choice') return option.choices!.find((c) => c.value !== value)!.value;
  if (typeof value === 'boolean') return !value;
  if (name === 'lastNorm') {
    const norms = ['none', 'plain', 'affine'];
    return norms[(norms.indexOf(String(value)) + 1) % norms.length];
  }
  if (typeof value === 'number') {
    if (/probability/i.test(name)) return value === 0 ? 0.25 : value / 2;
    // An option at its maximum (the jigsaw's 1000 permutations) can only go down.
    if (Number.isInteger(value) && option?.max !== undefined && value + 1 > option.max) return value - 1;
    return Number.isInteger(value) ? value + 1 : value / 2;
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return [7];
    const [first, ...rest] = value as number[];
    return [Number.isInteger(first) ? first + 1 : first / 2, ...rest];
  }
  throw new Error(`No rule to change ${path.join('.')} = ${JSON.stringify(value)}`);
}

/** Complete values for parts that are switched off (null) in some defaults. */
const SWITCHED_ON: Record<string, unknown> = {
  crop: { scale: [0.2, 1], ratio: [0.5, 2] },
  colorJitter: { probability: 0.5, brightness: 0.3, contrast: 0.2, saturation: 0.1, hue: 0.05 },
  blur: { probability: 0.5, sigma: [0.1, 2] },
  predictor: { hidden: [64], out: 32, lastNorm: 'plain', hiddenNorm: false, lastBias: false },
};

function roundTrip(config: TrainConfig, defaultsCatalog: UrlDefaults = catalog) {
  const query = encodeConfigQuery(config, defaultsCatalog.defaults(config.method, config.preset)!);
  return { query, decoded: decodeConfigQuery(query, defaultsCatalog) };
}

function settingKeys(query: string): string[] {
  return [...new URLSearchParams(query).keys()].filter((k) => k !== 'method' && k !== 'preset');
}

describe.each(METHODS.flatMap((m) => PRESETS.map((p) => [m.id, p] as const)))('URL round trip of every setting of %s (%s)', (method, preset) => {
  const defaults = getMethod(method).defaults(preset);

  it('writes only method and preset for the defaults, and reads them back as the defaults', () => {
    const { query, decoded } = roundTrip(defaults);
    expect(query).toBe(`?method=${method}&preset=${preset}`);
    expect(decoded).toEqual({ config: defaults, dataset: null, messages: [] });
  });

  it.each(leaves(defaults).map((path) => [path.join('.'), path] as const))('%s', (_, path) => {
    const current = getAt(defaults, path);
    const name = String(path[path.length - 1]);
    const value = current === null ? SWITCHED_ON[name] : changed(current, path, method);
    expect(value, `no switched-on example for ${name}`).toBeDefined();
    const config = setAt(defaults, path, value);
    const { query, decoded } = roundTrip(config);
    expect(decoded.messages).toEqual([]);
    expect(decoded.config).toEqual(config);
    // Compact: only the changed setting (or the fields of a part switched on) is written.
    const keys = settingKeys(query);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.every((k) => k === path.join('.') || k.startsWith(`${path.join('.')}.`))).toBe(true);
  });

  it('switches off every part that can be switched off', () => {
    const nullable = leaves(defaults).filter((p) => p.length > 1 && ['crop', 'colorJitter', 'blur'].includes(String(p[p.length - 2])));
    const parts = [...new Set(nullable.map((p) => p.slice(0, -1).join('.')))].map((p) => p.split('.').map((k) => (/^\d+$/.test(k) ? Number(k) : k)));
    if (defaults.predictor) parts.push(['predictor']);
    expect(parts.length).toBeGreaterThan(0);
    for (const part of parts) {
      const config = setAt(defaults, part, null);
      const { query, decoded } = roundTrip(config);
      expect(new URLSearchParams(query).get(part.join('.'))).toBe('none');
      expect(decoded.config).toEqual(config);
    }
  });

  it('changes every setting at once and still round-trips', () => {
    let config = defaults;
    for (const path of leaves(defaults)) {
      const current = getAt(config, path);
      config = setAt(config, path, current === null ? SWITCHED_ON[String(path[path.length - 1])] : changed(current, path, method));
    }
    config = { ...config, backbone: { kind: 'resnet', widths: [8, 16], blocks: [2, 1] } };
    const { decoded } = roundTrip(config);
    expect(decoded.messages).toEqual([]);
    expect(decoded.config).toEqual(config);
  });

  it.each([
    ['sgd', { kind: 'sgd', momentum: 0.8, weightDecay: 0.0005 }],
    ['lars', { kind: 'lars', momentum: 0.9, weightDecay: 1e-6, eta: 0.001, clipLr: false, excludeBiasAndNorm: false }],
    ['adamw', { kind: 'adamw', beta1: 0.85, beta2: 0.995, epsilon: 1e-8, weightDecay: 0.05 }],
  ] as const)('switches the optimizer to %s with all its fields', (_, optimizer) => {
    const config = { ...defaults, optimizer: { ...optimizer } };
    const { query, decoded } = roundTrip(config);
    expect(decoded.config).toEqual(config);
    if (defaults.optimizer.kind !== optimizer.kind) expect(new URLSearchParams(query).get('optimizer.kind')).toBe(optimizer.kind);
  });

  it('switches the encoder between ConvNet and ResNet, and sets and unsets optional head fields', () => {
    for (const backbone of [{ kind: 'resnet', widths: [16, 32, 64], blocks: [1, 2, 1] }, { kind: 'convnet', widths: [8, 8] }] as const) {
      const config = { ...defaults, backbone };
      expect(roundTrip(config).decoded.config).toEqual(config);
    }
    const withHeadOptions = { ...defaults, projector: { ...defaults.projector, lastNorm: 'affine' as const, hiddenNorm: false, lastBias: false } };
    const { query, decoded } = roundTrip(withHeadOptions);
    expect(decoded.config).toEqual(withHeadOptions);
    // Unsetting them again (against defaults that have them) writes empty values and reads back unset.
    const back = decodeConfigQuery(encodeConfigQuery(defaults, withHeadOptions), { ...catalog, defaults: () => withHeadOptions });
    expect(back.config).toEqual(defaults);
    expect(query).toContain('projector.lastNorm=affine');
  });
});

describe('URL format', () => {
  const byol = getMethod('byol').defaults('classroom');

  it('is readable: commas unescaped, numbers as written', () => {
    const config = { ...byol, backbone: { kind: 'convnet' as const, widths: [16, 32, 64, 64] }, imageSize: 24, batchSize: 16, learningRate: 1e-5 };
    expect(encodeConfigQuery(config, byol)).toBe('?method=byol&preset=classroom&imageSize=24&batchSize=16&backbone.widths=16,32,64,64&learningRate=0.00001');
  });

  it('carries a built-in dataset and other parameters (backend) through', () => {
    const query = encodeConfigQuery(byol, byol, { kind: 'builtin', id: 'cifar10' as 'shapes' }, [['backend', 'webgl']]);
    expect(query).toBe('?method=byol&preset=classroom&dataset=cifar10&backend=webgl');
    expect(decodeConfigQuery(query, catalog)).toEqual({ config: byol, dataset: { kind: 'builtin', id: 'cifar10' }, messages: [] });
  });

  it('round-trips method options', () => {
    const moco = getMethod('mocov2').defaults('classroom');
    const config = { ...moco, options: { ...moco.options, queueSize: 1024 } };
    const query = encodeConfigQuery(config, moco);
    expect(query).toBe('?method=mocov2&preset=classroom&options.queueSize=1024');
    expect(decodeConfigQuery(query, catalog)).toEqual({ config, dataset: null, messages: [] });
  });

  it('gives no config for a URL without settings', () => {
    expect(decodeConfigQuery('', catalog)).toEqual({ config: null, dataset: null, messages: [] });
    expect(decodeConfigQuery('?backend=cpu', catalog)).toEqual({ config: null, dataset: null, messages: [] });
    // The diagnostics panel's switch is no setting: no "unknown setting" message, and it stays in the address.
    expect(decodeConfigQuery('?diagnostics&backend=wasm', catalog)).toEqual({ config: null, dataset: null, messages: [] });
  });
});

describe('bad URLs: ignored with a message, never a crash', () => {
  const byol = getMethod('byol').defaults('classroom');
  const decode = (query: string) => decodeConfigQuery(query, catalog);

  it.each([
    ['?method=byol&batchSize=abc', 'Ignored batchSize=abc: must be a whole number, at least 2, at most 8192.'],
    ['?method=byol&batchSize=1', 'Ignored batchSize=1: must be a whole number, at least 2, at most 8192.'],
    ['?method=byol&batchSize=', 'Ignored batchSize=: must be a whole number, at least 2, at most 8192.'],
    ['?method=byol&tau=NaN', 'Ignored tau=NaN: must be a number, at least 0, at most 1.'],
    ['?method=byol&learningRate=Infinity', 'Ignored learningRate=Infinity: must be a number, above 0, at most 100.'],
    ['?method=byol&seed=1e400', 'Ignored seed=1e400: must be a whole number, at least 0, at most 2147483647.'],
    ['?method=byol&tauSchedule=yes', 'Ignored tauSchedule=yes: must be true or false.'],
    ['?method=byol&backbone.widths=16,,32', 'Ignored backbone.widths=16,,32: must be a list of numbers, each a whole number, at least 1, at most 2048.'],
    ['?method=byol&augmentations.0.crop.scale=0.9,0.1', 'Ignored augmentations.0.crop.scale=0.9,0.1: must be a low, high pair with low ≤ high.'],
    ['?method=byol&augmentations.0.crop.scale=0.5', 'Ignored augmentations.0.crop.scale=0.5: must be a list of 2 numbers separated by commas.'],
    ['?method=byol&augmentations.0.crop=off', 'Ignored augmentations.0.crop=off: write augmentations.0.crop=none to switch it off, or give its settings.'],
    ['?method=byol&projector.lastNorm=batch', 'Ignored projector.lastNorm=batch: must be one of none, plain, affine.'],
    ['?method=byol&optimizer.kind=rmsprop', 'Ignored optimizer.kind=rmsprop: must be one of sgd, lars, adamw.'],
    ['?method=byol&optimizer.kind=lars&optimizer.momentum=0.9', 'Ignored optimizer.kind=lars: the link must also give optimizer.weightDecay, optimizer.eta, optimizer.clipLr, optimizer.excludeBiasAndNorm.'],
    ['?method=byol&augmentations.0.blur.probability=0.5', 'Ignored the augmentations.0.blur settings: the link must also give augmentations.0.blur.sigma.'],
    ['?method=byol&backbone.kind=resnet&backbone.widths=16,32&backbone.blocks=1', 'Ignored backbone.kind=resnet: the link must also give backbone (a ResNet needs one block count per stage width).'],
    ['?method=byol&options.queueSize=10', 'Ignored options.queueSize: this method has no option "queueSize".'],
    ['?method=byol&foo=1', 'Ignored unknown setting "foo".'],
    ['?method=byol&augmentations.2.flipProbability=1', 'Ignored unknown setting "augmentations.2.flipProbability".'],
    ['?method=byol&seed=3&seed=4', 'Ignored the second seed=4: the link gives seed twice.'],
    ['?method=byol&dataset=imagenet', 'Unknown dataset "imagenet" in the link; choose the data yourself.'],
    ['?method=nope', 'Unknown method "nope" in the link; using byol instead.'],
    ['?method=byol&preset=huge', 'Unknown preset "huge" in the link; using classroom.'],
  ])('%s', (query, message) => {
    const decoded = decode(query);
    expect(decoded.messages).toEqual([message]);
    // Everything else is the defaults (the one good setting in the duplicate case aside).
    const expected = query.includes('seed=3') ? { ...byol, seed: 3 } : byol;
    expect(decoded.config).toEqual(expected);
  });

  it.each([
    ['mocov2', 'options.queueSize=0', 'Ignored options.queueSize=0: Queue size must be a whole number, at least 1.'],
    ['mocov2', 'options.queueSize=100.5', 'Ignored options.queueSize=100.5: Queue size must be a whole number, at least 1.'],
    ['mocov2', 'options.symmetric=2', 'Ignored options.symmetric=2: Symmetric loss must be 0 (off) or 1 (on).'],
    ['mocov2', 'options.symmetric=', 'Ignored options.symmetric=: Symmetric loss must be 0 (off) or 1 (on).'],
    ['npid', 'options.bankMomentum=1', 'Ignored options.bankMomentum=1: Memory-bank momentum must be a number, at least 0, at most 0.999.'],
    ['unigrad', 'options.lambda=-1', 'Ignored options.lambda=-1: λ must be a number, at least 0.'],
    [
      'supcon',
      'options.form=2',
      "Ignored options.form=2: Loss form must be one of 0 (L_out: log outside the mean (the paper's choice)), 1 (L_in: log inside the mean (solo-learn's loss)).",
    ],
    ['mocov2', 'options.lambda=1', 'Ignored options.lambda: this method has no option "lambda".'],
    ['mocov2', 'options.constructor=1', 'Ignored options.constructor: this method has no option "constructor".'],
  ])('%s: %s is checked against the method\'s declared option and the preset\'s value kept', (method, parameter, message) => {
    const decoded = decode(`?method=${method}&${parameter}`);
    expect(decoded.messages).toEqual([message]);
    expect(decoded.config).toEqual(getMethod(method).defaults('classroom'));
  });

  it('accepts an option at the edge of its range, and every value of a toggle and a choice', () => {
    const moco = getMethod('mocov2').defaults('classroom');
    expect(decode('?method=mocov2&options.queueSize=1&options.symmetric=0')).toEqual({ config: { ...moco, options: { queueSize: 1, symmetric: 0 } }, dataset: null, messages: [] });
    const supcon = getMethod('supcon').defaults('reference');
    expect(decode('?method=supcon&preset=reference&options.form=1').config).toEqual({ ...supcon, options: { form: 1 } });
  });

  it('keeps the good settings of a link that also has bad ones', () => {
    const decoded = decode('?method=byol&batchSize=32&tau=2&imageSize=16&augmentations.1.solarizeProbability=0');
    expect(decoded.messages).toEqual(['Ignored tau=2: must be a number, at least 0, at most 1.']);
    expect(decoded.config).toEqual({ ...byol, batchSize: 32, imageSize: 16, augmentations: [byol.augmentations[0], { ...byol.augmentations[1], solarizeProbability: 0 }] });
  });

  it('survives malformed percent-encoding and odd characters', () => {
    const decoded = decode('?method=byol&batchSize=%E0%A4%A&%ZZ=1&tau=0.5');
    expect(decoded.config?.tau).toBe(0.5);
    expect(decoded.config?.batchSize).toBe(byol.batchSize);
    expect(decoded.messages).toHaveLength(2);
  });
});
