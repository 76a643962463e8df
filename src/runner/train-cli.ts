/**
 * `npm run train`: parses the flags, loads the data in Node, then runs the headless loop in Node
 * (--backend wasm or cpu) or in headless Chromium (WebGPU, WebGL, or the fastest), printing one line per record. Returns
 * the exit code: 0 done, 1 the data or the run failed, 2 a usage mistake.
 */
import { FolderError } from '../data/node-folder';
import { buildConfig, parseTrainArgs, TRAIN_USAGE, UsageError } from './cli-args';
import { loadData } from './data-source';
import { formatRecord } from './format';
import { nodeBackend } from './node-backend';
import { checkPlan, runTraining, type RunPlan, type RunRecord } from './run';

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

export async function trainCli(argv: string[], io: CliOutput): Promise<number> {
  const args = parseCommandLine(argv, parseTrainArgs, TRAIN_USAGE, io);
  if (typeof args === 'number') return args;
  try {
    const config = buildConfig(args);
    const { data, notes } = loadData(args.data, config.imageSize);
    notes.forEach((note) => io.err(`note: ${note}`));
    const { evalEvery, reportEvery, randomInit, maxBankImages, maxHeldOutImages } = args;
    const plan: RunPlan = { config, evalEvery, reportEvery, randomInit, maxBankImages, maxHeldOutImages };
    checkPlan(plan, data);
    const emit = (record: RunRecord) => io.out(args.json ? JSON.stringify(record) : formatRecord(record));
    if (args.backend === 'cpu' || args.backend === 'wasm') {
      await runTraining(plan, data, await nodeBackend(args.backend), emit);
    } else {
      // Loaded only when needed: the CPU path must not require Playwright or a browser.
      const { trainInChromium } = await import('./chromium');
      await trainInChromium({ plan, data, backend: args.backend, log: io.err }, emit);
    }
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    io.err(error instanceof FolderError ? message : `Run failed: ${message}`);
    return 1;
  }
}
