/** Test helper: runs code on a backend's stock kernels in place of the ones a module registered. */
import * as tf from '@tensorflow/tfjs';

/**
 * Runs `fn` with the stock kernels of `replaced` registered on `backendName`, and with no kernel
 * where the stock one is null (a fused kernel tfjs lacks: the engine then runs its composite), then
 * restores what was registered before.
 */
export function withStockKernels<T>(backendName: string, replaced: ReadonlyMap<string, tf.KernelConfig | null>, fn: () => T): T {
  const current = [...replaced.keys()].map((name) => tf.getKernel(name, backendName)).filter((config) => config !== undefined);
  const set = (name: string, config: tf.KernelConfig | null) => {
    if (tf.getKernel(name, backendName)) tf.unregisterKernel(name, backendName);
    if (config) tf.registerKernel(config);
  };
  replaced.forEach((stock, name) => set(name, stock));
  try {
    return fn();
  } finally {
    current.forEach((config) => set(config.kernelName, config));
  }
}
