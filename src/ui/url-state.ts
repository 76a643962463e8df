/**
 * The whole configuration of a run in the URL, as TensorFlow Playground does it, so a link
 * restores the method and every setting.
 *
 * Format: readable query parameters, one per setting that differs from the defaults of the
 * method's preset, named by the setting's path in TrainConfig:
 *
 *   ?method=byol&preset=classroom&backbone.widths=16,32,32,32&imageSize=16&batchSize=16&augmentations.1.solarizeProbability=0
 *
 * Why not a compressed blob in the hash: these links are short for real use (a few changed
 * settings), a teacher can read and edit them by hand (`&tau=0.9`), and they survive being pasted
 * into documents. `method` and `preset` are always written because the defaults depend on them.
 * Values: numbers as JavaScript writes them (exact round trip), lists comma-separated, booleans
 * true/false, `none` for a switched-off part (e.g. `augmentations.0.blur=none`). When a part is
 * switched on, or the optimizer or encoder changes kind, all of its fields are written.
 *
 * Decoding starts from the preset's defaults and applies each parameter after checking it against
 * a schema of every setting; a bad or unknown parameter is skipped with a message, never a crash.
 */
import type { PresetName, TrainConfig } from '../engine/config';
import { describeOption, isValidOption, type MethodOptionSpecs } from '../engine/methods/options';
import type { BuiltinDatasetId, DatasetSource } from '../worker/protocol';

type NumberNode = { type: 'number'; integer?: boolean; min?: number; max?: number; /** Exclusive lower bound. */ above?: number; below?: number };
type Leaf =
  | NumberNode
  | { type: 'boolean' }
  | { type: 'enum'; values: readonly string[] }
  | { type: 'numbers'; item: NumberNode; minLength: number; maxLength: number; /** Two values, low ≤ high. */ ordered?: boolean };
type ObjectNode = { type: 'object'; fields: Record<string, Node>; optional?: readonly string[]; check?: (value: Record<string, unknown>) => string | null };
type Node =
  | Leaf
  | ObjectNode
  | { type: 'nullable'; inner: Node }
  | { type: 'union'; variants: Record<string, ObjectNode> }
  /** `TrainConfig.options`, checked against the method's declared option specs. */
  | { type: 'options' }
  | { type: 'tuple'; items: Node[] };

const number = (constraints: Omit<NumberNode, 'type'> = {}): NumberNode => ({ type: 'number', ...constraints });
const integer = (min: number, max: number): NumberNode => ({ type: 'number', integer: true, min, max });
const probability = number({ min: 0, max: 1 });
const boolean: Leaf = { type: 'boolean' };
const range = (item: NumberNode): Leaf => ({ type: 'numbers', item, minLength: 2, maxLength: 2, ordered: true });
const object = (fields: Record<string, Node>, extra: Omit<ObjectNode, 'type' | 'fields'> = {}): ObjectNode => ({ type: 'object', fields, ...extra });
const nullable = (inner: Node): Node => ({ type: 'nullable', inner });

const mlp = object(
  {
    hidden: { type: 'numbers', item: integer(1, 16384), minLength: 0, maxLength: 8 },
    out: integer(1, 16384),
    lastNorm: { type: 'enum', values: ['none', 'plain', 'affine'] },
    hiddenNorm: boolean,
    lastBias: boolean,
  },
  { optional: ['lastNorm', 'hiddenNorm', 'lastBias'] },
);

const widths = { type: 'numbers', item: integer(1, 2048), minLength: 1, maxLength: 8 } as const;

const view = object({
  crop: nullable(object({ scale: range(number({ above: 0, max: 1 })), ratio: range(number({ above: 0, max: 10 })) })),
  flipProbability: probability,
  colorJitter: nullable(
    object({ probability, brightness: number({ min: 0, max: 1 }), contrast: number({ min: 0, max: 1 }), saturation: number({ min: 0, max: 1 }), hue: number({ min: 0, max: 0.5 }) }),
  ),
  grayscaleProbability: probability,
  blur: nullable(object({ probability, sigma: range(number({ min: 0, max: 10 })) })),
  solarizeProbability: probability,
});

/** Every TrainConfig setting but `method` and `preset`, which are read first. */
const CONFIG_SCHEMA = object({
  seed: integer(0, 2 ** 31 - 1),
  imageSize: integer(8, 256),
  batchSize: integer(2, 8192),
  totalSteps: integer(1, 100_000_000),
  backbone: {
    type: 'union',
    variants: {
      convnet: object({ widths }),
      resnet: object(
        { widths, blocks: { type: 'numbers', item: integer(1, 16), minLength: 1, maxLength: 8 } },
        { check: (v) => ((v.widths as number[]).length === (v.blocks as number[]).length ? null : 'a ResNet needs one block count per stage width') },
      ),
    },
  },
  projector: mlp,
  predictor: nullable(mlp),
  optimizer: {
    type: 'union',
    variants: {
      sgd: object({ momentum: number({ min: 0, below: 1 }), weightDecay: number({ min: 0, max: 1 }) }),
      lars: object({ momentum: number({ min: 0, below: 1 }), weightDecay: number({ min: 0, max: 1 }), eta: number({ above: 0, max: 10 }), clipLr: boolean, excludeBiasAndNorm: boolean }),
      adamw: object({ beta1: number({ min: 0, below: 1 }), beta2: number({ min: 0, below: 1 }), epsilon: number({ above: 0, max: 1 }), weightDecay: number({ min: 0, max: 1 }) }),
    },
  },
  learningRate: number({ above: 0, max: 100 }),
  warmupSteps: integer(0, 100_000_000),
  tau: number({ min: 0, max: 1 }),
  tauSchedule: boolean,
  temperature: number({ above: 0, max: 100 }),
  augmentations: { type: 'tuple', items: [view, view] },
  options: { type: 'options' },
});

const PRESETS: readonly PresetName[] = ['classroom', 'reference'];
/** Query parameters that are not settings (the backend choice, the diagnostics panel): left alone here, kept in the address. */
export const OTHER_PARAMETERS: readonly string[] = ['backend', 'diagnostics'];
const DEFAULT_DATASET = { kind: 'builtin', id: 'shapes' } as const satisfies DatasetSource;

export interface UrlDefaults {
  /** Method ids in catalog order; the first is used when a link names none or an unknown one. */
  methods: readonly string[];
  defaults(method: string, preset: PresetName): TrainConfig | undefined;
  /** The options a method declares; a link may set these and no other. */
  options(method: string): MethodOptionSpecs | undefined;
  /** Ids of the built-in datasets a link may name. */
  datasets: readonly string[];
}

export interface DecodedUrl {
  /** null when the URL holds no settings at all. */
  config: TrainConfig | null;
  dataset: DatasetSource | null;
  /** One line per ignored or corrected parameter. */
  messages: string[];
}

// ---------------------------------------------------------------------------------------------
// Encoding

function formatLeaf(value: unknown): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) return value.map(String).join(',');
  return String(value);
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Writes `value` where it differs from `base` (undefined base: write everything). */
function encodeNode(node: Node, value: unknown, base: unknown, path: string, out: [string, string][]): void {
  switch (node.type) {
    case 'number':
    case 'boolean':
    case 'enum':
    case 'numbers':
      if (!sameValue(value, base)) out.push([path, formatLeaf(value)]);
      return;
    case 'nullable':
      if (value === null) {
        if (base !== null) out.push([path, 'none']);
      } else encodeNode(node.inner, value, base === null ? undefined : base, path, out);
      return;
    case 'object': {
      const v = value as Record<string, unknown>;
      const b = base as Record<string, unknown> | undefined;
      for (const [key, field] of Object.entries(node.fields)) {
        if (v[key] === undefined && b?.[key] === undefined) continue;
        encodeNode(field, v[key], b?.[key], `${path}.${key}`, out);
      }
      return;
    }
    case 'union': {
      const kind = (value as { kind: string }).kind;
      const sameKind = (base as { kind?: string } | undefined)?.kind === kind;
      if (!sameKind) out.push([`${path}.kind`, kind]);
      encodeNode(node.variants[kind], value, sameKind ? base : undefined, path, out);
      return;
    }
    case 'options': {
      const v = value as Record<string, number>;
      const b = (base ?? {}) as Record<string, number>;
      for (const key of Object.keys(v)) if (!sameValue(v[key], b[key])) out.push([`${path}.${key}`, String(v[key])]);
      return;
    }
    case 'tuple':
      node.items.forEach((item, i) => encodeNode(item, (value as unknown[])[i], (base as unknown[] | undefined)?.[i], `${path}.${i}`, out));
      return;
  }
}

/** Query-string encoding that leaves commas readable. */
function queryPart(text: string): string {
  return encodeURIComponent(text).replace(/%2C/g, ',');
}

/**
 * The query string (with its leading "?") for `config`, given the defaults of its method and
 * preset. `keep` carries other parameters (e.g. backend) through unchanged.
 */
export function encodeConfigQuery(config: TrainConfig, defaults: TrainConfig, dataset: DatasetSource = DEFAULT_DATASET, keep: [string, string][] = []): string {
  const out: [string, string][] = [
    ['method', config.method],
    ['preset', config.preset],
  ];
  // Only built-in data can be named in a link; a user's own files cannot travel with it.
  if (dataset.kind === 'builtin' && dataset.id !== DEFAULT_DATASET.id) out.push(['dataset', dataset.id]);
  const settings: [string, string][] = [];
  encodeNode(CONFIG_SCHEMA, config, defaults, '', settings);
  out.push(...settings.map(([path, value]): [string, string] => [path.slice(1), value]), ...keep);
  return `?${out.map(([key, value]) => `${queryPart(key)}=${queryPart(value)}`).join('&')}`;
}

// ---------------------------------------------------------------------------------------------
// Decoding

interface DecodeContext {
  params: Map<string, string>;
  used: Set<string>;
  messages: string[];
  /** Required settings that neither the link nor a default supplies (switching a part on or a kind). */
  missing: string[];
  /** The options the link's method declares. */
  optionSpecs: MethodOptionSpecs;
}

function describeNumber(node: NumberNode): string {
  const parts: string[] = [node.integer ? 'a whole number' : 'a number'];
  if (node.min !== undefined) parts.push(`at least ${node.min}`);
  if (node.above !== undefined) parts.push(`above ${node.above}`);
  if (node.max !== undefined) parts.push(`at most ${node.max}`);
  if (node.below !== undefined) parts.push(`below ${node.below}`);
  return parts.join(', ');
}

type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

function parseNumber(text: string, node: NumberNode): Parsed<number> {
  const value = Number(text);
  const ok =
    text.trim() !== '' &&
    Number.isFinite(value) &&
    (!node.integer || Number.isInteger(value)) &&
    (node.min === undefined || value >= node.min) &&
    (node.max === undefined || value <= node.max) &&
    (node.above === undefined || value > node.above) &&
    (node.below === undefined || value < node.below);
  return ok ? { ok, value } : { ok, problem: `must be ${describeNumber(node)}` };
}

function parseLeaf(text: string, node: Leaf): Parsed<unknown> {
  switch (node.type) {
    case 'number':
      return parseNumber(text, node);
    case 'boolean':
      return text === 'true' || text === 'false' ? { ok: true, value: text === 'true' } : { ok: false, problem: 'must be true or false' };
    case 'enum':
      return node.values.includes(text) ? { ok: true, value: text } : { ok: false, problem: `must be one of ${node.values.join(', ')}` };
    case 'numbers': {
      const items = text === '' ? [] : text.split(',');
      const count = node.minLength === node.maxLength ? `${node.minLength}` : `${node.minLength} to ${node.maxLength}`;
      if (items.length < node.minLength || items.length > node.maxLength) return { ok: false, problem: `must be a list of ${count} numbers separated by commas` };
      const values: number[] = [];
      for (const item of items) {
        const parsed = parseNumber(item, node.item);
        if (!parsed.ok) return { ok: false, problem: `must be a list of numbers, each ${describeNumber(node.item)}` };
        values.push(parsed.value);
      }
      if (node.ordered && values[0] > values[1]) return { ok: false, problem: 'must be a low, high pair with low ≤ high' };
      return { ok: true, value: values };
    }
  }
}

function hasParamsUnder(ctx: DecodeContext, path: string): boolean {
  for (const key of ctx.params.keys()) if (key.startsWith(`${path}.`)) return true;
  return false;
}

function label(path: string): string {
  return path.slice(1);
}

/** Decodes a part whose defaults are missing (switched on, or a new kind): it must be complete in the link. */
function decodeComplete(node: Node, path: string, ctx: DecodeContext, what: string, fallback: unknown): unknown {
  const inner: DecodeContext = { ...ctx, missing: [] };
  const value = decodeNode(node, undefined, path, inner);
  if (inner.missing.length > 0) {
    ctx.messages.push(`Ignored ${what}: the link must also give ${inner.missing.map(label).join(', ')}.`);
    return fallback;
  }
  return value;
}

function decodeNode(node: Node, base: unknown, path: string, ctx: DecodeContext): unknown {
  switch (node.type) {
    case 'number':
    case 'boolean':
    case 'enum':
    case 'numbers': {
      const text = ctx.params.get(path);
      if (text === undefined) {
        if (base === undefined) ctx.missing.push(path);
        return base;
      }
      ctx.used.add(path);
      const parsed = parseLeaf(text, node);
      if (parsed.ok) return parsed.value;
      ctx.messages.push(`Ignored ${label(path)}=${text}: ${parsed.problem}.`);
      if (base === undefined) ctx.missing.push(path);
      return base;
    }
    case 'nullable': {
      const text = ctx.params.get(path);
      if (text !== undefined) {
        ctx.used.add(path);
        if (text === 'none') return null;
        ctx.messages.push(`Ignored ${label(path)}=${text}: write ${label(path)}=none to switch it off, or give its settings.`);
      }
      if (base !== null && base !== undefined) return decodeNode(node.inner, base, path, ctx);
      if (!hasParamsUnder(ctx, path)) return base === undefined ? (ctx.missing.push(path), undefined) : null;
      return decodeComplete(node.inner, path, ctx, `the ${label(path)} settings`, null);
    }
    case 'object': {
      const b = base as Record<string, unknown> | undefined;
      // Fields the schema does not know are kept from the defaults, never dropped.
      const out: Record<string, unknown> = { ...b };
      for (const [key, field] of Object.entries(node.fields)) {
        const optional = node.optional?.includes(key) ?? false;
        const fieldPath = `${path}.${key}`;
        if (optional && b?.[key] === undefined && !ctx.params.has(fieldPath)) continue;
        if (optional && ctx.params.get(fieldPath) === '') {
          ctx.used.add(fieldPath);
          delete out[key];
          continue;
        }
        const value = decodeNode(field, b?.[key], fieldPath, ctx);
        if (value !== undefined) out[key] = value;
      }
      const problem = node.check?.(out) ?? null;
      if (problem && b !== undefined) {
        ctx.messages.push(`Ignored the ${label(path)} settings from the link: ${problem}.`);
        return b;
      }
      if (problem) {
        ctx.missing.push(`${path} (${problem})`);
        return undefined;
      }
      return out;
    }
    case 'union': {
      const b = base as { kind: string } | undefined;
      const kindPath = `${path}.kind`;
      let kind = ctx.params.get(kindPath);
      if (kind !== undefined) {
        ctx.used.add(kindPath);
        if (!(kind in node.variants)) {
          ctx.messages.push(`Ignored ${label(kindPath)}=${kind}: must be one of ${Object.keys(node.variants).join(', ')}.`);
          kind = undefined;
        }
      }
      kind ??= b?.kind;
      if (kind === undefined) {
        ctx.missing.push(kindPath);
        return undefined;
      }
      if (kind === b?.kind) return { kind, ...(decodeNode(node.variants[kind], b, path, ctx) as object) };
      // The fields in the link belong to the new kind: if it is incomplete, all of them are ignored.
      const value = decodeComplete(node.variants[kind], path, ctx, `${label(kindPath)}=${kind}`, undefined);
      if (value === undefined) {
        if (b === undefined) ctx.missing.push(kindPath);
        return b;
      }
      return { kind, ...(value as object) };
    }
    case 'options': {
      const out = { ...((base ?? {}) as Record<string, number>) };
      for (const [key, text] of ctx.params) {
        if (!key.startsWith(`${path}.`)) continue;
        const name = key.slice(path.length + 1);
        ctx.used.add(key);
        const spec = Object.hasOwn(ctx.optionSpecs, name) ? ctx.optionSpecs[name] : undefined;
        if (!spec) {
          ctx.messages.push(`Ignored ${label(key)}: this method has no option "${name}".`);
          continue;
        }
        const value = Number(text);
        if (text.trim() !== '' && isValidOption(spec, value)) out[name] = value;
        else ctx.messages.push(`Ignored ${label(key)}=${text}: ${spec.label} must be ${describeOption(spec)}.`);
      }
      return out;
    }
    case 'tuple':
      return node.items.map((item, i) => decodeNode(item, (base as unknown[] | undefined)?.[i], `${path}.${i}`, ctx));
  }
}

/**
 * Reads a configuration from a query string. Starts from the defaults of the link's method and
 * preset and applies every valid parameter; everything else is reported in `messages`.
 */
export function decodeConfigQuery(search: string, catalog: UrlDefaults): DecodedUrl {
  const messages: string[] = [];
  const params = new Map<string, string>();
  for (const [key, value] of new URLSearchParams(search)) {
    if (OTHER_PARAMETERS.includes(key)) continue;
    if (params.has(key)) messages.push(`Ignored the second ${key}=${value}: the link gives ${key} twice.`);
    else params.set(key, value);
  }
  if (params.size === 0) return { config: null, dataset: null, messages };

  let method = params.get('method') ?? catalog.methods[0];
  if (!catalog.methods.includes(method)) {
    messages.push(`Unknown method "${method}" in the link; using ${catalog.methods[0]} instead.`);
    method = catalog.methods[0];
  }
  let preset = (params.get('preset') ?? 'classroom') as PresetName;
  if (!PRESETS.includes(preset)) {
    messages.push(`Unknown preset "${preset}" in the link; using classroom.`);
    preset = 'classroom';
  }
  const defaults = catalog.defaults(method, preset);
  if (!defaults) return { config: null, dataset: null, messages: [...messages, `No defaults for ${method} (${preset}); the link was ignored.`] };

  let dataset: DatasetSource | null = null;
  const datasetId = params.get('dataset');
  if (datasetId !== undefined) {
    if (catalog.datasets.includes(datasetId)) dataset = { kind: 'builtin', id: datasetId as BuiltinDatasetId };
    else messages.push(`Unknown dataset "${datasetId}" in the link; choose the data yourself.`);
  }

  // Paths inside the schema start with "." (the root); parameters do not.
  const ctx: DecodeContext = {
    params: new Map([...params].map(([k, v]) => [`.${k}`, v])),
    used: new Set(['.method', '.preset', '.dataset']),
    messages,
    missing: [],
    optionSpecs: catalog.options(method) ?? {},
  };
  const settings = decodeNode(CONFIG_SCHEMA, defaults, '', ctx) as Omit<TrainConfig, 'method' | 'preset'>;
  for (const key of ctx.params.keys()) if (!ctx.used.has(key)) messages.push(`Ignored unknown setting "${label(key)}".`);
  return { config: { ...settings, method, preset } as TrainConfig, dataset, messages };
}
