/**
 * `npm run export -- --method <id> --pytorch <folder>`: writes the run as a PyTorch project (see
 * src/engine/pytorch-export.ts). The starting weights are the method's initial ones for the seed,
 * or those of `--run <file>` (see readRunFile) with the settings stored in it. Returns the exit
 * code: 0 written, 1 refused or failed, 2 a usage mistake.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TrainConfig } from '../engine/config';
import { getMethod } from '../engine/methods/registry';
import { buildPytorchProject, initialWeights, pytorchExportProblem, type PytorchSources } from '../engine/pytorch-export';
import { decodeSafetensors, type NamedArray } from '../engine/safetensors';
import { unzipStored } from '../ui/zip';
import { buildConfig, EXPORT_USAGE, parseCommandLine, parseExportArgs, type CliOutput } from './cli-args';
import { nodeBackend } from './node-backend';

const scriptPath = (relative: string) => fileURLToPath(new URL(`../../scripts/${relative}`, import.meta.url));

/** The project's Python sources and README, as the repository holds them. */
export function readPytorchSources(): PytorchSources {
  return {
    trainPy: readFileSync(scriptPath('pytorch_project/train.py'), 'utf8'),
    siameseTorchPy: readFileSync(scriptPath('siamese_torch.py'), 'utf8'),
    readme: readFileSync(scriptPath('pytorch_project/README.md'), 'utf8'),
  };
}

/**
 * A weights file's tensors, and the run's settings, step and number of training images (the rows of
 * a memory bank) from its metadata; a file without the last is taken to be from one batch of images.
 */
export function readWeightsFile(path: string): SavedRun {
  return savedRunOf(readFileSync(path), path);
}

export interface SavedRun {
  config: TrainConfig;
  step: number;
  datasetSize: number;
  weights: NamedArray[];
}

const WEIGHTS_FILE = 'weights.safetensors';
const ZIP_SIGNATURE = [0x50, 0x4b, 0x03, 0x04];

/**
 * The run a file or folder holds: a weights.safetensors (the app's weights or train.py's output), the
 * zip the app downloads for a run (Export → PyTorch project, of the current run or of a saved run
 * reopened from the Runs panel: the app writes no other file with a run's weights), or a folder
 * with a weights.safetensors in it (that zip unzipped, or train.py's --out folder).
 */
export function readRunFile(path: string): SavedRun {
  if (statSync(path).isDirectory()) return readWeightsFile(join(path, WEIGHTS_FILE));
  const bytes = readFileSync(path);
  if (!ZIP_SIGNATURE.every((byte, i) => bytes[i] === byte)) return savedRunOf(bytes, path);
  // The project's own weights: the shallowest weights.safetensors in the archive.
  const found = unzipStored(bytes)
    .filter((entry) => basename(entry.path) === WEIGHTS_FILE)
    .sort((a, b) => a.path.split('/').length - b.path.split('/').length)[0];
  if (!found) throw new Error(`${path} is a zip archive without a ${WEIGHTS_FILE}; give the PyTorch project the app downloads.`);
  return savedRunOf(found.data, `${path}:${found.path}`);
}

function savedRunOf(bytes: Uint8Array, path: string): SavedRun {
  const { tensors, metadata } = decodeSafetensors(bytes);
  if (!metadata.config) throw new Error(`${path} carries no run settings (metadata "config"); it was not written by the app or train.py.`);
  const config = JSON.parse(metadata.config) as TrainConfig;
  return { config, step: Number(metadata.step ?? 0), datasetSize: Number(metadata.datasetSize ?? config.batchSize), weights: tensors };
}

/** Writes the project into `folder`; returns the paths written. `datasetSize` defaults to one batch, as initialWeights sizes per-image state. */
export async function writePytorchProject(folder: string, config: TrainConfig, weights: NamedArray[], step: number, datasetSize = config.batchSize): Promise<string[]> {
  const files = await buildPytorchProject(config, weights, step, datasetSize, readPytorchSources());
  mkdirSync(folder, { recursive: true });
  return files.map((file) => {
    const path = join(folder, file.path);
    writeFileSync(path, file.data);
    return path;
  });
}

export async function exportCli(argv: string[], io: CliOutput): Promise<number> {
  const args = parseCommandLine(argv, parseExportArgs, EXPORT_USAGE, io);
  if (typeof args === 'number') return args;
  try {
    await nodeBackend('cpu');
    const saved = args.run ? readRunFile(args.run) : null;
    const config = saved ? saved.config : buildConfig(args);
    const problem = pytorchExportProblem(config);
    if (problem) {
      io.err(`Not exported: ${problem}`);
      return 1;
    }
    const weights = saved ? saved.weights : await initialWeights(config);
    const paths = await writePytorchProject(args.pytorch, config, weights, saved?.step ?? 0, saved?.datasetSize);
    io.out(`Wrote the ${getMethod(config.method).label} project to ${args.pytorch}: ${paths.map((p) => p.slice(args.pytorch.length).replace(/^\//, '')).join(', ')}`);
    io.out(`Check it: python3 ${join(args.pytorch, 'train.py')} --check-parity`);
    return 0;
  } catch (error) {
    io.err(`Export failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
