/**
 * Checkpoints: everything a run needs to continue exactly where it stopped. That is every
 * variable of the method (online and target networks with their BatchNorm statistics, plus
 * queues and memory banks), the optimizer's buffers and step count, the online linear probe, and
 * the data stream: the epoch's permutation, the cursor in it and the states of the random
 * generators, so that the resumed run sees the same batches and augmentations as the
 * uninterrupted one would have.
 *
 * A checkpoint is plain data (numbers, strings, ArrayBuffers): it can be stored in IndexedDB or
 * posted between threads as it is. Taking one never stalls the device: values are snapshotted at
 * once (tf.clone shares the data, so later updates do not change the snapshot) and read back
 * with `await data()`.
 */
import * as tf from '@tensorflow/tfjs';
import { CHECKPOINT_FORMAT, CHECKPOINT_VERSION, type Checkpoint, type DataStreamState, type SavedTensor } from './checkpoint-format';
import type { LiveSettings, TrainConfig } from './config';
import type { MethodInstance } from './methods/types';
import type { Optimizer } from './optimizers';
import type { LinearProbe } from './probe';
import { moduleTensors } from './torch-weights';

/** Whether each TrainConfig key may differ between a checkpoint and the trainer it is restored into. */
const LIVE_KEYS: Record<keyof LiveSettings, true> = {
  tau: true,
  tauSchedule: true,
  batchSize: true,
  learningRate: true,
  temperature: true,
  augmentations: true,
  totalSteps: true,
};

interface NamedVariable {
  name: string;
  variable: tf.Variable;
}

/** Every variable of the method's modules, each once even if two modules share it. */
function moduleVariables(method: MethodInstance): NamedVariable[] {
  return moduleTensors(method.modules).map((p) => ({ name: p.name, variable: p.variable }));
}

function indexedVariables(prefix: string, variables: readonly tf.Variable[]): NamedVariable[] {
  return variables.map((variable, i) => ({ name: `${prefix}/${i}`, variable }));
}

function checkpointVariables(method: MethodInstance, optimizer: Optimizer, probe: LinearProbe | null) {
  return {
    modules: moduleVariables(method),
    optimizer: indexedVariables('optimizer', optimizer.state),
    methodState: indexedVariables('state', method.state ?? []),
    probe: probe ? indexedVariables('probe', probe.variables) : null,
  };
}

function savedDtype(dtype: tf.DataType): SavedTensor['dtype'] {
  if (dtype === 'float32' || dtype === 'int32' || dtype === 'bool') return dtype;
  throw new Error(`Cannot checkpoint a ${dtype} variable`);
}

/** Snapshots the variables now; the returned promise reads them back without blocking. */
function snapshot(variables: NamedVariable[]): Promise<SavedTensor[]> {
  const clones = variables.map((v) => tf.clone(v.variable));
  return Promise.all(
    clones.map(async (clone, i) => {
      const values = await clone.data();
      const { shape, dtype } = clone;
      clone.dispose();
      // A copy: some backends hand out their own storage. bool reads as Uint8Array, int32 as Int32Array.
      const copy = values.slice() as Float32Array | Int32Array | Uint8Array;
      return { name: variables[i].name, shape: shape.slice(), dtype: savedDtype(dtype), data: copy.buffer as ArrayBuffer };
    }),
  );
}

/** Captures a checkpoint of a run. Everything is snapshotted synchronously, before the first await. */
export function captureCheckpoint(
  config: TrainConfig,
  method: MethodInstance,
  optimizer: Optimizer,
  probe: LinearProbe | null,
  stream: DataStreamState,
): Promise<Checkpoint> {
  const variables = checkpointVariables(method, optimizer, probe);
  const reads = [snapshot(variables.modules), snapshot(variables.optimizer), snapshot(variables.methodState), snapshot(variables.probe ?? [])] as const;
  const frozen = {
    config: structuredClone(config),
    optimizer: { kind: optimizer.config.kind, iterations: optimizer.iterations },
    probeIterations: probe?.iterations ?? 0,
    stream: { ...stream, rng: { ...stream.rng }, order: stream.order.slice().buffer as ArrayBuffer },
  };
  return Promise.all(reads).then(([modules, optimizerState, methodState, probeState]) => ({
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    config: frozen.config,
    step: stream.step,
    modules,
    optimizer: { ...frozen.optimizer, state: optimizerState },
    methodState,
    probe: probe ? { iterations: frozen.probeIterations, state: probeState } : null,
    stream: frozen.stream,
  }));
}

/** Names the non-live settings in which `checkpoint` differs from `config` (empty when compatible). */
export function incompatibleSettings(checkpoint: Checkpoint, config: TrainConfig): string[] {
  const keys = new Set([...Object.keys(config), ...Object.keys(checkpoint.config)]) as Set<keyof TrainConfig>;
  return [...keys].filter((key) => !(key in LIVE_KEYS) && JSON.stringify(config[key]) !== JSON.stringify(checkpoint.config[key]));
}

/** The live part of a checkpoint's configuration, to re-apply on the trainer it is restored into. */
export function liveSettingsOf(config: TrainConfig): LiveSettings {
  const out: Partial<Record<keyof LiveSettings, unknown>> = {};
  for (const key of Object.keys(LIVE_KEYS) as (keyof LiveSettings)[]) out[key] = structuredClone(config[key]);
  return out as LiveSettings;
}

function typedArray(saved: SavedTensor): Float32Array | Int32Array | Uint8Array {
  if (saved.dtype === 'float32') return new Float32Array(saved.data);
  if (saved.dtype === 'int32') return new Int32Array(saved.data);
  return new Uint8Array(saved.data);
}

function checkMatches(saved: SavedTensor[], targets: NamedVariable[], what: string): void {
  if (saved.length !== targets.length) {
    throw new Error(`The checkpoint has ${saved.length} ${what} tensors but this run has ${targets.length}; it was saved from a different network.`);
  }
  saved.forEach((s, i) => {
    const target = targets[i];
    const sameShape = s.shape.length === target.variable.shape.length && s.shape.every((d, k) => d === target.variable.shape[k]);
    if (s.name !== target.name || !sameShape || s.dtype !== target.variable.dtype) {
      throw new Error(
        `Checkpoint tensor ${i} of the ${what} is ${s.name} [${s.shape.join(', ')}] ${s.dtype}, ` +
          `but this run expects ${target.name} [${target.variable.shape.join(', ')}] ${target.variable.dtype}.`,
      );
    }
    const size = s.shape.reduce((n, d) => n * d, 1);
    if (typedArray(s).length !== size) throw new Error(`Checkpoint tensor ${s.name} holds ${typedArray(s).length} values, expected ${size}.`);
  });
}

/**
 * Writes a checkpoint's tensors into a freshly built method, optimizer and probe of the same
 * configuration and returns the data stream to continue from. Everything is checked before
 * anything is written, so a mismatched checkpoint leaves the run untouched. A probe the checkpoint
 * does not hold (an older checkpoint, or one from unlabelled data) starts afresh.
 */
export function restoreCheckpointState(
  checkpoint: Checkpoint,
  config: TrainConfig,
  method: MethodInstance,
  optimizer: Optimizer,
  probe: LinearProbe | null,
): DataStreamState {
  if (checkpoint.format !== CHECKPOINT_FORMAT || checkpoint.version !== CHECKPOINT_VERSION) {
    throw new Error(`Not a checkpoint this version of the app can read (format ${String(checkpoint.format)}, version ${String(checkpoint.version)}).`);
  }
  const differences = incompatibleSettings(checkpoint, config);
  if (differences.length > 0) {
    throw new Error(`The checkpoint was saved from a run with different settings (${differences.join(', ')}); start a run with its settings to resume it.`);
  }
  if (checkpoint.optimizer.kind !== optimizer.config.kind) {
    throw new Error(`The checkpoint holds ${checkpoint.optimizer.kind} optimizer state, but this run uses ${optimizer.config.kind}.`);
  }
  const targets = checkpointVariables(method, optimizer, probe);
  checkMatches(checkpoint.modules, targets.modules, 'network');
  checkMatches(checkpoint.optimizer.state, targets.optimizer, 'optimizer');
  checkMatches(checkpoint.methodState, targets.methodState, 'method state');
  const savedProbe = targets.probe && checkpoint.probe ? checkpoint.probe : null;
  if (savedProbe) checkMatches(savedProbe.state, targets.probe!, 'probe');

  tf.tidy(() => {
    const pairs: [SavedTensor[], NamedVariable[]][] = [
      [checkpoint.modules, targets.modules],
      [checkpoint.optimizer.state, targets.optimizer],
      [checkpoint.methodState, targets.methodState],
      [savedProbe?.state ?? [], targets.probe ?? []],
    ];
    for (const [saved, vars] of pairs) {
      saved.forEach((s, i) => vars[i].variable.assign(tf.tensor(typedArray(s), s.shape, s.dtype)));
    }
  });
  optimizer.iterations = checkpoint.optimizer.iterations;
  if (savedProbe) probe!.iterations = savedProbe.iterations;
  const { stream } = checkpoint;
  return { ...stream, rng: { ...stream.rng }, order: new Int32Array(stream.order.slice(0)) };
}
