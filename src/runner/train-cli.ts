/**
 * `npm run train`: parses the flags, loads the data in Node, then runs the headless loop in Node
 * (--backend wasm or cpu) or in headless Chromium (WebGPU, WebGL, or the fastest), printing one line per record. Returns
 * the exit code: 0 done, 1 the data or the run failed, 2 a usage mistake.
 */
import { FolderError } from '../data/node-folder';
import { activeLearningPlan, checkActiveLearning, formatActiveLearningRecord, runActiveLearning } from './active-learning-run';
import { buildConfig, parseCommandLine, parseTrainArgs, TRAIN_USAGE, type CliOutput } from './cli-args';
import { loadData } from './data-source';
import { formatRecord } from './format';
import { nodeBackend } from './node-backend';
import { checkPlan, runTraining, type RunPlan, type RunRecord } from './run';

export async function trainCli(argv: string[], io: CliOutput): Promise<number> {
  const args = parseCommandLine(argv, parseTrainArgs, TRAIN_USAGE, io);
  if (typeof args === 'number') return args;
  try {
    const config = buildConfig(args);
    const { data, notes } = loadData(args.data, config.imageSize);
    notes.forEach((note) => io.err(`note: ${note}`));
    if (args.activeLearning) {
      const plan = activeLearningPlan(config, args.activeLearning);
      checkActiveLearning(plan, data);
      const backend = args.backend === 'cpu' ? 'cpu' : 'wasm';
      await nodeBackend(backend);
      await runActiveLearning(plan, data, backend, (record) => io.out(args.json ? JSON.stringify(record) : formatActiveLearningRecord(record)));
      return 0;
    }
    const { evalEvery, reportEvery, randomInit, maxBankImages, maxHeldOutImages, gradients } = args;
    const plan: RunPlan = { config, evalEvery, reportEvery, randomInit, maxBankImages, maxHeldOutImages, gradients };
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
