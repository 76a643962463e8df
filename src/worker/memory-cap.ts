/**
 * Out-of-memory in the worker: which errors are allocation failures, and the diagnostics panel's cap
 * on the bytes of tensors the worker may hold. An allocation past the cap fails inside the step that
 * asked for it, as a real one would, so the same out-of-memory path runs.
 */
import * as tf from '@tensorflow/tfjs';

/** An allocation the worker could not make (past the diagnostics cap). */
export class AllocationFailure extends Error {
  override name = 'AllocationFailure';
}

/**
 * What the browsers and tfjs's backends say when memory runs out: WebAssembly's heap cannot grow, an
 * ArrayBuffer or a GPU texture or buffer cannot be made.
 */
const OUT_OF_MEMORY = /out of memory|\bOOM\b|allocation failed|failed to allocate|could not allocate|cannot enlarge memory|maximum memory size exceeded|unable to create webgltexture/i;

export function isAllocationFailure(error: unknown): boolean {
  if (error instanceof AllocationFailure) return true;
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return OUT_OF_MEMORY.test(text);
}

let capBytes: number | null = null;
let installed = false;

function megabytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MB`;
}

/** The cap in force, or null. */
export function memoryCap(): number | null {
  return capBytes;
}

/** Caps the bytes of tensors tfjs may hold in this worker (null lifts the cap). */
export function capMemory(bytes: number | null): void {
  if (bytes !== null && !(Number.isFinite(bytes) && bytes > 0)) throw new Error(`A memory cap must be a positive number of bytes, not ${bytes}.`);
  capBytes = bytes;
  if (installed || bytes === null) return;
  installed = true;
  const engine = tf.engine();
  const track = engine.trackTensor.bind(engine);
  engine.trackTensor = (tensor, backend) => {
    track(tensor, backend);
    // Checked once tracked: the tensor belongs to the scope being run, which frees it as the error unwinds.
    if (capBytes !== null && engine.state.numBytes > capBytes) {
      throw new AllocationFailure(`Could not allocate a ${tensor.shape.join('×') || 'scalar'} tensor: the worker's memory is capped at ${megabytes(capBytes)} (diagnostics panel).`);
    }
  };
}
