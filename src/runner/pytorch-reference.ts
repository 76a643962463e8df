/**
 * The benchmark's PyTorch reference: the app's training step rebuilt in PyTorch
 * (scripts/pytorch_step.py) and timed on the same CPU in the same run, so the report can give the
 * app's step time as a multiple of PyTorch's. Node only: it spawns Python.
 *
 * A machine without PyTorch is not an error: every call then resolves to `{ skipped: reason }`.
 * A script that fails for any other reason rejects with its stderr.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TrainConfig } from '../engine/config';
import { PYTORCH_PROJECT_METHODS } from '../engine/pytorch-export';

export const PYTORCH_STEP_SCRIPT = fileURLToPath(new URL('../../scripts/pytorch_step.py', import.meta.url));

/** Debian's python3-torch lives here; the first `python3` on PATH may be another interpreter. */
const DEFAULT_PYTHON = '/usr/bin/python3';

/** The methods the script rebuilds: every method siamese_torch.py ports (the exported project's). */
export const PYTORCH_METHODS: readonly string[] = PYTORCH_PROJECT_METHODS;
export type PytorchMethod = string;

export interface PytorchStepOptions {
  method: PytorchMethod;
  /** Timed steps. */
  steps: number;
  /** Untimed steps before them. */
  warmupSteps: number;
  /** torch.set_num_threads; default every core the process may run on. */
  threads?: number;
  /**
   * How dense layers multiply: 'onednn' (default) as 1×1 convolutions through oneDNN, 'blas' with
   * torch's own Linear, which on Debian's build runs on the slow reference BLAS.
   */
  matmul?: 'onednn' | 'blas';
  /** 'keep' (default) stops glibc returning freed activations to the OS between steps; 'default' leaves it. */
  malloc?: 'keep' | 'default';
  /** Activation layout: 'channels_last' (default, NHWC as the app) or 'contiguous' (NCHW, PyTorch's usual). */
  memoryFormat?: 'channels_last' | 'contiguous';
  /** A uint8 .npy of [count, size, size, 3] to draw batches from instead of random pixels. */
  images?: string;
  /**
   * OpenMP's waiting threads: 'passive' (default) sleep, which keeps 2 threads usable when other
   * processes share the cores; 'active' spin, faster on cores nobody else uses.
   */
  ompWaitPolicy?: 'passive' | 'active';
}

/** Mean milliseconds per phase over the timed steps; they add up to `msPerStep`. */
export interface PytorchPhaseTimes {
  augment: number;
  forward: number;
  backward: number;
  optimizer: number;
  ema: number;
}

export interface PytorchStepResult {
  torch: string;
  threads: number;
  method: PytorchMethod;
  msPerStep: number;
  msPerStepMedian: number;
  msPerStepMin: number;
  msPerStepMax: number;
  imagesPerSecond: number;
  /** Process CPU time per timed step: about threads × msPerStep when no other work shared the cores. */
  cpuMsPerStep: number;
  /** Trainable parameters (the online side, as the app's `method.params`). */
  params: number;
  paramsPerModule: Record<string, number>;
  phases: PytorchPhaseTimes;
  steps: number;
  warmupSteps: number;
  batchSize: number;
  imageSize: number;
  matmul: 'onednn' | 'blas';
  malloc: 'keep' | 'default';
  memoryFormat: 'channels_last' | 'contiguous';
  ompWaitPolicy: string;
}

/** One tensor of the PyTorch model under the app's name; `shape` in the app's layout. */
export interface PytorchTensorShape {
  name: string;
  role: 'weight' | 'bias' | 'norm';
  shape: number[];
  torchShape: number[];
}

export interface PytorchShapes {
  torch: string;
  method: PytorchMethod;
  params: number;
  paramsPerModule: Record<string, number>;
  /** Trainable parameters in the app's order. */
  parameters: PytorchTensorShape[];
  /** BatchNorm running statistics of every module, the target's included. */
  buffers: PytorchTensorShape[];
}

export interface PytorchSkipped {
  skipped: string;
}

/** Times `options.steps` PyTorch training steps of `config` after `options.warmupSteps` untimed ones. */
export async function measurePytorchStep(config: TrainConfig, options: PytorchStepOptions): Promise<PytorchStepResult | PytorchSkipped> {
  const { method, steps, warmupSteps, threads, matmul, malloc, memoryFormat, images, ompWaitPolicy } = options;
  checkMethod(config, method);
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`steps must be a whole number of at least 1, got ${steps}`);
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0) throw new Error(`warmupSteps must be a whole number of at least 0, got ${warmupSteps}`);
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) throw new Error(`threads must be a whole number of at least 1, got ${threads}`);
  const environment: Record<string, string> = ompWaitPolicy ? { OMP_WAIT_POLICY: ompWaitPolicy.toUpperCase() } : {};
  return runScript<PytorchStepResult>({ config, method, steps, warmupSteps, threads, matmul, malloc, memoryFormat, images }, [], environment);
}

/** The parameter and buffer shapes of the model the script builds for `config`, without training it. */
export async function pytorchParameterShapes(config: TrainConfig): Promise<PytorchShapes | PytorchSkipped> {
  checkMethod(config, config.method);
  return runScript<PytorchShapes>({ config }, ['--check-shapes'], {});
}

function checkMethod(config: TrainConfig, method: string): void {
  if (!(PYTORCH_METHODS as readonly string[]).includes(method)) {
    throw new Error(`The PyTorch reference rebuilds ${PYTORCH_METHODS.join(', ')} only, not "${method}".`);
  }
  if (config.method !== method) throw new Error(`The config is for "${config.method}" but "${method}" was asked for.`);
}

/** The interpreter: $PYTHON where set, else Debian's. */
function pythonPath(): string {
  return process.env.PYTHON || DEFAULT_PYTHON;
}

function runScript<T>(request: object, flags: string[], environment: Record<string, string>): Promise<T | PytorchSkipped> {
  const python = pythonPath();
  return new Promise((resolve, reject) => {
    const child = spawn(python, [PYTORCH_STEP_SCRIPT, '-', ...flags], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...environment } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') resolve({ skipped: `no Python interpreter at ${python} (set PYTHON to one with torch)` });
      else reject(new Error(`Could not start ${python}: ${error.message}`));
    });
    child.on('close', (code, signal) => {
      if (code !== 0) {
        const status = signal ? `was killed by ${signal}` : `exited with status ${code}`;
        reject(new Error(`pytorch_step.py ${status}:\n${stderr.trim() || '(no stderr)'}`));
        return;
      }
      const lastLine = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(lastLine) as T | PytorchSkipped);
      } catch {
        reject(new Error(`pytorch_step.py printed no JSON result:\n${stdout.trim() || '(no output)'}\n${stderr.trim()}`));
      }
    });
    // A script that dies before reading its input closes the pipe; its exit status tells why.
    child.stdin.on('error', () => {});
    child.stdin.end(JSON.stringify(request));
  });
}
