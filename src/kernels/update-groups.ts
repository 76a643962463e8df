/** Checking the inputs of a fused update (contracts in fused-updates.ts), shared by the backends that register them. */
import * as tf from '@tensorflow/tfjs';

/**
 * The inputs of a fused update split into `groups` lists of equal length whose i-th tensors match in
 * size; refuses anything else, or a dtype other than float32, with a message that names the kernel.
 */
export function updateGroups(kernel: string, inputs: tf.TensorInfo[], groups: number, backendName: string): tf.TensorInfo[][] {
  if (inputs.length % groups !== 0) throw new Error(`${kernel}: ${inputs.length} inputs are not ${groups} lists of equal length.`);
  const n = inputs.length / groups;
  const lists = Array.from({ length: groups }, (_, k) => inputs.slice(k * n, (k + 1) * n));
  for (let i = 0; i < n; i++) {
    const size = tf.util.sizeFromShape(lists[0][i].shape);
    for (const list of lists) {
      if (list[i].dtype !== 'float32') throw new Error(`${kernel} on ${backendName} supports float32 only, got ${list[i].dtype}.`);
      if (tf.util.sizeFromShape(list[i].shape) !== size) throw new Error(`${kernel}: tensor ${i} has ${size} values in one list and ${tf.util.sizeFromShape(list[i].shape)} in another.`);
    }
  }
  return lists;
}
