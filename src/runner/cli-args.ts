/**
 * Command-line flags of `npm run train` and `npm run bench`, parsed and checked before anything
 * heavy starts, so a typo costs a one-line message instead of a half-started run.
 */
import { DEFAULT_POOL_SUBSET, SELECTION_STRATEGIES, type ActiveLearningPlan, type SelectionStrategy } from '../engine/active-learning';
import type { PresetName, TrainConfig } from '../engine/config';
import { DEFAULT_EVALUATION } from '../engine/evaluation-settings';
import { getMethod, METHODS } from '../engine/methods/registry';
import { BACKBONE_PRESETS, type BackbonePreset } from '../engine/presets';
import { BACKEND_ORDER, type BackendName } from '../worker/backend-labels';

/** A usage mistake: the CLI prints the message (and where helpful, the usage) and exits with code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

type FlagKind = 'string' | 'int' | 'number' | 'boolean';

function parseFlags(argv: string[], kinds: Record<string, FlagKind>): Map<string, string | number | boolean> {
  const values = new Map<string, string | number | boolean>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new UsageError(`Unexpected argument "${arg}". Flags start with --; see --help.`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq > 0 ? eq : undefined);
    const kind = kinds[name];
    if (!kind) throw new UsageError(`Unknown flag --${name}. Known flags: ${Object.keys(kinds).map((k) => `--${k}`).join(', ')}.`);
    if (kind === 'boolean') {
      if (eq > 0) throw new UsageError(`--${name} takes no value`);
      values.set(name, true);
      continue;
    }
    const text = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (text === undefined || (eq < 0 && text.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
    if (kind === 'string') {
      values.set(name, text);
      continue;
    }
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value)) throw new UsageError(`--${name} must be a number, got "${text}"`);
    if (kind === 'int' && !Number.isInteger(value)) throw new UsageError(`--${name} must be a whole number, got "${text}"`);
    values.set(name, value);
  }
  return values;
}

function positive(values: Map<string, unknown>, name: string, minimum = 1): number | undefined {
  const value = values.get(name) as number | undefined;
  if (value !== undefined && value < minimum) throw new UsageError(`--${name} must be at least ${minimum}, got ${value}`);
  return value;
}


function backendName(text: string): BackendName {
  if (!(BACKEND_ORDER as string[]).includes(text)) throw new UsageError(`Unknown backend "${text}". Choose one of: ${BACKEND_ORDER.join(', ')}.`);
  return text as BackendName;
}

function methodId(text: string): string {
  try {
    return getMethod(text).id;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/** The built-in coloured shapes instead of a folder (handy for demos and the benchmark). */
export const BUILTIN_SHAPES = 'builtin:shapes';
/** The built-in shape silhouettes over a colour mosaic (the ready-made experiments' data). */
export const BUILTIN_SILHOUETTES = 'builtin:silhouettes';
/** The app's built-in MNIST digits (the `mnist` package's 10,000, 20% of each class held out). */
export const BUILTIN_MNIST = 'builtin:mnist';

/** What a run is made of beyond the data: the method preset and the overrides the app also offers. */
export interface RunSetup {
  method: string;
  preset: PresetName;
  encoder?: BackbonePreset;
  imageSize?: number;
  batchSize?: number;
  learningRate?: number;
  tau?: number;
  tauSchedule?: boolean;
  temperature?: number;
  steps?: number;
  seed?: number;
  /** Method options over the preset's (the setup panel's Method settings); the trainer checks them. */
  options?: Record<string, number>;
}

/** The app's recipe: the method's preset defaults, then the user's edits, as the setup panel makes them. */
export function buildConfig(setup: RunSetup): TrainConfig {
  const config = getMethod(setup.method).defaults(setup.preset);
  const edits: Partial<TrainConfig> = {
    backbone: setup.encoder ? BACKBONE_PRESETS[setup.encoder] : undefined,
    imageSize: setup.imageSize,
    batchSize: setup.batchSize,
    learningRate: setup.learningRate,
    tau: setup.tau,
    tauSchedule: setup.tauSchedule,
    temperature: setup.temperature,
    totalSteps: setup.steps,
    seed: setup.seed,
  };
  for (const [key, value] of Object.entries(edits)) if (value !== undefined) Object.assign(config, { [key]: value });
  if (setup.options) config.options = { ...config.options, ...setup.options };
  return config;
}

/** "name=value,name=value" as method options, e.g. "targetBranch=2,lambda=5". */
function methodOptions(text: string | undefined): Record<string, number> | undefined {
  if (text === undefined) return undefined;
  return Object.fromEntries(
    text.split(',').map((pair) => {
      const [name, value, extra] = pair.split('=').map((s) => s.trim());
      const number = Number(value);
      if (!name || value === undefined || value === '' || extra !== undefined || !Number.isFinite(number)) throw new UsageError(`--options takes name=number pairs separated by commas, got "${pair}"`);
      return [name, number];
    }),
  );
}

/** The flags `npm run train` and `npm run export` share: the method and its setup. */
const SETUP_FLAGS = {
  method: 'string',
  preset: 'string',
  encoder: 'string',
  steps: 'int',
  'image-size': 'int',
  batch: 'int',
  lr: 'number',
  tau: 'number',
  'tau-schedule': 'string',
  temperature: 'number',
  seed: 'int',
  options: 'string',
} as const;

/** The run's setup from the flags `npm run train` and `npm run export` share (the method, seed and options aside). */
function setupFlags(values: Map<string, unknown>) {
  return {
    preset: presetName(values.get('preset') as string | undefined),
    encoder: encoderName(values.get('encoder') as string | undefined),
    steps: positive(values, 'steps'),
    imageSize: positive(values, 'image-size', 4),
    batchSize: positive(values, 'batch', 2),
    learningRate: values.get('lr') as number | undefined,
    tau: values.get('tau') as number | undefined,
    tauSchedule: onOff('tau-schedule', values.get('tau-schedule') as string | undefined),
    temperature: values.get('temperature') as number | undefined,
  };
}

function onOff(name: string, text: string | undefined): boolean | undefined {
  if (text === undefined) return undefined;
  if (text === 'on' || text === 'off') return text === 'on';
  throw new UsageError(`--${name} is on or off, got "${text}"`);
}

function presetName(text: string | undefined): PresetName {
  if (text === undefined || text === 'classroom' || text === 'reference') return text ?? 'classroom';
  throw new UsageError(`Unknown preset "${text}". Choose classroom or reference.`);
}

function encoderName(text: string | undefined): BackbonePreset | undefined {
  if (text === undefined) return undefined;
  if (!(text in BACKBONE_PRESETS)) throw new UsageError(`Unknown encoder "${text}". Choose one of: ${Object.keys(BACKBONE_PRESETS).join(', ')}.`);
  return text as BackbonePreset;
}

/** `--active-learning`: a simulated MoBYv2AL experiment on a labelled folder instead of one training run. */
/** The simulation's plan from the flags (its configuration comes from the run's setup). */
export interface ActiveLearningArgs extends Omit<ActiveLearningPlan, 'config' | 'poolSubset'> {
  /** The same classifier trained on the labels alone (MoBY weight 0): the cold-start baseline. */
  labelsOnly: boolean;
  poolSubset: number;
}

export interface TrainArgs extends RunSetup {
  data: string;
  /** null: headless Chromium, on the backend its worker measures fastest, as the app picks. */
  backend: BackendName | null;
  evalEvery: number;
  reportEvery: number;
  randomInit: boolean;
  maxBankImages: number;
  maxHeldOutImages: number;
  gradients: boolean;
  activeLearning: ActiveLearningArgs | null;
  json: boolean;
  help: boolean;
}

export const TRAIN_USAGE = `Usage: npm run train -- --data <folder> [options]

  --data <folder>        image folder (train/ + test/, class sub-folders, or flat); PNG files.
                         ${BUILTIN_SHAPES} uses the app's built-in coloured shapes, ${BUILTIN_SILHOUETTES} its shape
                         silhouettes, ${BUILTIN_MNIST} its MNIST digits
  --method <id>          ${METHODS.map((m) => m.id).join(', ')} (default ${METHODS[0].id})
  --steps <n>            optimisation steps (default: the preset's)
  --preset <name>        classroom (default, as the app) or reference
  --encoder <name>       ${Object.keys(BACKBONE_PRESETS).join(', ')}
  --image-size <px>      --batch <n>  --lr <x>  --tau <x>  --temperature <x>  --seed <n>
  --tau-schedule <on|off>  the cosine τ schedule (τ → 1)
  --options <a=x,b=y>    the method's own settings, e.g. targetBranch=2 (a momentum encoder) for
                         SimCLR, Barlow Twins, VICReg and SimSiam; docs/methods.md lists them
  --eval-every <n>       kNN accuracy after the first step and every n steps (always at the end
                         when the data has labels; 0: only at the end)
  --bank <n>             training images in the kNN bank (default ${DEFAULT_EVALUATION.maxBankImages}, as the app)
  --held-out <n>         held-out images classified (default ${DEFAULT_EVALUATION.maxHeldOutImages}, as the app)
  --random-init          only evaluate kNN for the untrained encoder (the baseline) and exit
  --report-every <n>     steps per progress report (default 10)
  --gradients            measure the gradient anatomy (UniGrad's positive and negative terms of
                         ∂L/∂u₁, docs/metrics.md) at each report's step and add it to the report
  --backend <name>       webgpu | webgl (headless Chromium) | wasm | cpu (Node). Default: headless
                         Chromium on the backend it measures fastest, as the app. An explicit backend
                         never falls back.
  --json                 one JSON object per line: start, reports, summary

Active learning (MoBYv2AL; a labelled folder's labels are hidden and revealed only when asked for):
  --active-learning      train MoBYv2AL in cycles, asking for labels after each (Node: wasm or cpu)
  --strategy <name>      ${SELECTION_STRATEGIES.join(' | ')} (default coreset)
  --initial <n>          labels drawn at random before the first cycle (default 100)
  --budget <n>           labels asked for after each cycle (default 100)
  --cycles <n>           training cycles (default 4)
  --steps-per-cycle <n>  optimisation steps per cycle (default 200)
  --reinit               a new network every cycle (the paper) instead of training on (warm start)
  --labels-only          the same classifier trained on the labels alone (no MoBY): the baseline
  --pool-subset <n>      core-set searches a random subset of this many unlabelled images (default ${DEFAULT_POOL_SUBSET})
  With --json: one {"type":"cycle",…} line per cycle, then {"type":"summary",…}`;

export function parseTrainArgs(argv: string[]): TrainArgs {
  const values = parseFlags(argv, {
    data: 'string',
    ...SETUP_FLAGS,
    'eval-every': 'int',
    'report-every': 'int',
    bank: 'int',
    'held-out': 'int',
    backend: 'string',
    'random-init': 'boolean',
    gradients: 'boolean',
    'active-learning': 'boolean',
    strategy: 'string',
    initial: 'int',
    budget: 'int',
    cycles: 'int',
    'steps-per-cycle': 'int',
    reinit: 'boolean',
    'labels-only': 'boolean',
    'pool-subset': 'int',
    json: 'boolean',
    help: 'boolean',
  });
  const help = values.get('help') === true;
  const activeLearning = activeLearningArgs(values);
  const data = values.get('data') as string | undefined;
  if (!data && !help) throw new UsageError('--data <folder> is required (or --data builtin:shapes for the built-in dataset)');
  const backend = values.get('backend') as string | undefined;
  const seed = values.get('seed') as number | undefined;
  if (seed !== undefined && seed < 0) throw new UsageError(`--seed must be at least 0, got ${seed}`);
  return {
    data: data ?? '',
    method: activeLearning ? 'mobyv2al' : methodId((values.get('method') as string | undefined) ?? METHODS[0].id),
    ...setupFlags(values),
    seed,
    options: methodOptions(values.get('options') as string | undefined),
    evalEvery: positive(values, 'eval-every', 0) ?? 0,
    reportEvery: positive(values, 'report-every') ?? 10,
    maxBankImages: positive(values, 'bank') ?? DEFAULT_EVALUATION.maxBankImages,
    maxHeldOutImages: positive(values, 'held-out') ?? DEFAULT_EVALUATION.maxHeldOutImages,
    backend: backend === undefined ? (activeLearning ? 'wasm' : null) : backendName(backend),
    randomInit: values.get('random-init') === true,
    gradients: values.get('gradients') === true,
    activeLearning,
    json: values.get('json') === true,
    help,
  };
}

const ACTIVE_LEARNING_FLAGS = ['strategy', 'initial', 'budget', 'cycles', 'steps-per-cycle', 'reinit', 'labels-only', 'pool-subset'];

function activeLearningArgs(values: Map<string, string | number | boolean>): ActiveLearningArgs | null {
  if (values.get('active-learning') !== true) {
    const stray = ACTIVE_LEARNING_FLAGS.find((name) => values.has(name));
    if (stray) throw new UsageError(`--${stray} belongs to an active-learning run: add --active-learning.`);
    return null;
  }
  const method = values.get('method') as string | undefined;
  if (method !== undefined && method !== 'mobyv2al') throw new UsageError(`--active-learning trains MoBYv2AL; leave out --method ${method}.`);
  for (const name of ['steps', 'eval-every', 'random-init', 'gradients', 'bank', 'held-out']) {
    if (values.has(name)) throw new UsageError(`--${name} does not apply to --active-learning (use --steps-per-cycle and --cycles).`);
  }
  const backend = values.get('backend');
  if (backend !== undefined && backend !== 'wasm' && backend !== 'cpu') throw new UsageError('--active-learning runs in Node: choose --backend wasm or cpu.');
  const strategy = (values.get('strategy') as string | undefined) ?? 'coreset';
  if (!(SELECTION_STRATEGIES as readonly string[]).includes(strategy)) throw new UsageError(`Unknown strategy "${strategy}". Choose one of: ${SELECTION_STRATEGIES.join(', ')}.`);
  return {
    strategy: strategy as SelectionStrategy,
    initial: positive(values, 'initial') ?? 100,
    budget: positive(values, 'budget') ?? 100,
    cycles: positive(values, 'cycles') ?? 4,
    stepsPerCycle: positive(values, 'steps-per-cycle') ?? 200,
    reinitialise: values.get('reinit') === true,
    labelsOnly: values.get('labels-only') === true,
    poolSubset: positive(values, 'pool-subset') ?? DEFAULT_POOL_SUBSET,
  };
}

export type BenchModeName = 'quick' | 'classroom' | 'resnet8' | 'full';

export interface BenchArgs {
  mode: BenchModeName;
  methods: string[] | null;
  backends: BackendName[] | null;
  data: string;
  timedSteps: number | null;
  /** Batch size instead of the mode's (kernel counts do not depend on it; time and memory do). */
  batchSize: number | null;
  out: string;
  appLoop: boolean;
  pytorch: boolean;
  /** Time k-center greedy (active learning's selection) on each browser backend. */
  kCenter: boolean;
  /** Time each kernel of a few steps (WebAssembly and CPU: where the time goes). */
  kernelTimes: boolean;
  /** Seconds of untimed steps before the timed ones. */
  warmUpSeconds: number;
  help: boolean;
}

/** Long enough for V8 to have optimised the WebAssembly a step runs (see EngineBenchJob.warmUpSeconds). */
export const DEFAULT_BENCH_WARM_UP_SECONDS = 20;

export const BENCH_USAGE = `Usage: npm run bench -- [options]

  --mode <name>          quick: Tiny ConvNet, 16 px, batch 16 (minutes on a 2-core CPU); classroom: each
                         method's classroom preset as the app starts it; resnet8: ResNet-8, 32 px,
                         batch 32, classroom heads; full (default): CIFAR ResNet-18, 32 px, batch 128,
                         the method's reference heads
  --quick                the same as --mode quick
  --methods <a,b>        method ids (default: byol and simclr, every method in full mode)
  --backend <a,b>        webgpu, webgl, wasm (headless Chromium), cpu (Node) (default: all of them)
  --data <folder>        image folder to train on (default ${BUILTIN_SHAPES}, the app's built-in set)
  --steps <n>            timed steps per measurement (default: the mode's)
  --batch <n>            batch size instead of the mode's
  --no-pytorch           skip the same step in PyTorch (/usr/bin/python3 with torch, else skipped)
  --no-app-loop          skip the in-app measurement (worker + charts in the real page)
  --no-kcenter           skip timing k-center greedy (500 picks of 10,000) on the browser backends
  --warm-up <s>          untimed steps for at least this many seconds before the timed ones (default
                         ${DEFAULT_BENCH_WARM_UP_SECONDS}; at most 200 steps): WebAssembly gets faster while V8 optimises it
  --kernel-times         also time every kernel of 2 steps and print the slowest kinds (WebAssembly,
                         CPU; on a GPU backend it times launches, not the work)
  --out <folder>         where the JSON report goes (default bench-results)`;

function benchMode(text: string): BenchModeName {
  const modes: BenchModeName[] = ['quick', 'classroom', 'resnet8', 'full'];
  if (!(modes as string[]).includes(text)) throw new UsageError(`Unknown mode "${text}". Choose one of: ${modes.join(', ')}.`);
  return text as BenchModeName;
}

export function parseBenchArgs(argv: string[]): BenchArgs {
  const values = parseFlags(argv, {
    quick: 'boolean',
    mode: 'string',
    methods: 'string',
    backend: 'string',
    data: 'string',
    steps: 'int',
    batch: 'int',
    'no-app-loop': 'boolean',
    'no-pytorch': 'boolean',
    'no-kcenter': 'boolean',
    'kernel-times': 'boolean',
    'warm-up': 'int',
    out: 'string',
    help: 'boolean',
  });
  const list = (name: string) => (values.get(name) as string | undefined)?.split(',').map((s) => s.trim()).filter(Boolean) ?? null;
  const methods = list('methods');
  const backends = list('backend');
  return {
    mode: benchMode(values.get('quick') === true ? 'quick' : ((values.get('mode') as string | undefined) ?? 'full')),
    methods: methods ? [...new Set(methods.map(methodId))] : null,
    backends: backends ? [...new Set(backends.map(backendName))] : null,
    data: (values.get('data') as string | undefined) ?? BUILTIN_SHAPES,
    timedSteps: positive(values, 'steps') ?? null,
    batchSize: positive(values, 'batch', 2) ?? null,
    out: (values.get('out') as string | undefined) ?? 'bench-results',
    appLoop: values.get('no-app-loop') !== true,
    pytorch: values.get('no-pytorch') !== true,
    kCenter: values.get('no-kcenter') !== true,
    kernelTimes: values.get('kernel-times') === true,
    warmUpSeconds: positive(values, 'warm-up', 0) ?? DEFAULT_BENCH_WARM_UP_SECONDS,
    help: values.get('help') === true,
  };
}

export interface CliOutput {
  /** Records (or JSON lines) and usage text. */
  out(line: string): void;
  /** Notes, warnings and errors, so `--json` output stays parseable. */
  err(line: string): void;
}

/**
 * A command's arguments parsed by `parse`, or its exit code when there is nothing to run: 2 after a
 * usage mistake (said on `io.err`), 0 after printing `usage` for --help.
 */
export function parseCommandLine<Args extends { help: boolean }>(argv: string[], parse: (argv: string[]) => Args, usage: string, io: CliOutput): Args | number {
  try {
    const args = parse(argv);
    if (args.help) io.out(usage);
    return args.help ? 0 : args;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(`${error.message}\nRun with --help for the options.`);
    return 2;
  }
}

export interface ExportArgs extends RunSetup {
  /** The folder the PyTorch project is written to. */
  pytorch: string;
  /** A weights file (safetensors, from the app's export or train.py) to start from; its config is the run's. */
  run: string | null;
  help: boolean;
}

export const EXPORT_USAGE = `Usage: npm run export -- --method <id> --pytorch <folder> [options]

  --pytorch <folder>     where to write the PyTorch project (train.py, siamese_torch.py, config.json,
                         weights.safetensors, the parity batch, README.md); created if missing
  --method <id>          byol, simclr, simsiam, barlow, vicreg, mocov2, supcon, npid, moby, unigrad,
                         rotation, context, jigsaw, exemplar, inpainting or mobyv2al (other
                         methods have no PyTorch port yet)
  --preset <name>        classroom (default, as the app) or reference
  --run <file>           start from a run: a weights.safetensors (the app's or train.py's), the zip the
                         app downloads for a run (Export → PyTorch project), or a folder holding a
                         weights.safetensors (that zip unzipped, train.py's --out); the run's own
                         settings (in the file) replace --method and --preset
  --encoder <name>       ${Object.keys(BACKBONE_PRESETS).join(', ')}
  --image-size <px>      --batch <n>  --lr <x>  --tau <x>  --temperature <x>  --seed <n>  --steps <n>
  --tau-schedule <on|off>  --options <a=x,b=y>   as for npm run train`;

export function parseExportArgs(argv: string[]): ExportArgs {
  const values = parseFlags(argv, {
    pytorch: 'string',
    run: 'string',
    ...SETUP_FLAGS,
    help: 'boolean',
  });
  const help = values.get('help') === true;
  const pytorch = values.get('pytorch') as string | undefined;
  const run = (values.get('run') as string | undefined) ?? null;
  if (!pytorch && !help) throw new UsageError('--pytorch <folder> is required: the folder the project is written to');
  if (!values.has('method') && !run && !help) throw new UsageError('--method <id> is required (or --run <weights.safetensors>)');
  return {
    pytorch: pytorch ?? '',
    run,
    method: methodId((values.get('method') as string | undefined) ?? METHODS[0].id),
    ...setupFlags(values),
    seed: positive(values, 'seed', 0),
    options: methodOptions(values.get('options') as string | undefined),
    help,
  };
}
