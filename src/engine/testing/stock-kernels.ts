/** Test helper: runs code on a backend's stock kernels in place of the replacements a module registered. */
import * as tf from '@tensorflow/tfjs';

/** Runs `fn` with the stock kernels of `replaced` registered (those that exist), then restores what was registered before. */
export function withStockKernels<T>(replaced: ReadonlyMap<string, tf.KernelConfig | null>, fn: () => T): T {
  const stock = [...replaced.values()].filter((config): config is tf.KernelConfig => config !== null);
  const current = stock.map((config) => tf.getKernel(config.kernelName, config.backendName)!);
  const register = (configs: tf.KernelConfig[]) =>
    configs.forEach((config) => {
      tf.unregisterKernel(config.kernelName, config.backendName);
      tf.registerKernel(config);
    });
  register(stock);
  try {
    return fn();
  } finally {
    register(current);
  }
}
