/**
 * The shape of a checkpoint (see checkpoint.ts), with no tfjs import: the page stores and passes
 * checkpoints around without loading the engine.
 */
import type { TrainConfig } from './config';

export const CHECKPOINT_FORMAT = 'siamese-playground/checkpoint';
export const CHECKPOINT_VERSION = 1;

export interface SavedTensor {
  /** Parameter name (e.g. "online/backbone/conv0/kernel"), or "optimizer/i", "state/i". */
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool';
  data: ArrayBuffer;
}

/** Where the trainer is in its data stream. */
export interface DataStreamState {
  /** Steps taken: the next step has this index. */
  step: number;
  /** Completed passes over the training set. */
  epoch: number;
  /** Position in `order` of the next image. */
  cursor: number;
  /** This epoch's permutation of the training set (Int32Array). */
  order: Int32Array;
  /** States of the batch-order, augmentation and method random generators. */
  rng: { data: number; augment: number; method: number };
}

export interface Checkpoint {
  format: typeof CHECKPOINT_FORMAT;
  version: typeof CHECKPOINT_VERSION;
  /** The configuration as it is at the checkpoint, live changes included. */
  config: TrainConfig;
  step: number;
  /** Parameters and buffers of every module the method owns, in `MethodInstance.modules` order. */
  modules: SavedTensor[];
  optimizer: { kind: string; iterations: number; state: SavedTensor[] };
  /** `MethodInstance.state` (queues, memory banks); empty for methods without such state. */
  methodState: SavedTensor[];
  /**
   * The online linear probe's weights and optimizer buffers; null when the run has no probe
   * (unlabelled data). Checkpoints saved before the probe was kept lack the field: the probe restarts.
   */
  probe?: { iterations: number; state: SavedTensor[] } | null;
  stream: Omit<DataStreamState, 'order'> & { order: ArrayBuffer };
}

function tensorsOf(checkpoint: Checkpoint): SavedTensor[] {
  return [...checkpoint.modules, ...checkpoint.optimizer.state, ...checkpoint.methodState, ...(checkpoint.probe?.state ?? [])];
}

/** Bytes of tensor data in a checkpoint: what it costs to store. */
export function checkpointBytes(checkpoint: Checkpoint): number {
  return tensorsOf(checkpoint).reduce((n, t) => n + t.data.byteLength, checkpoint.stream.order.byteLength);
}

/** Every buffer of a checkpoint, to transfer it between threads without copying. */
export function checkpointBuffers(checkpoint: Checkpoint): ArrayBuffer[] {
  return [...tensorsOf(checkpoint).map((t) => t.data), checkpoint.stream.order];
}
