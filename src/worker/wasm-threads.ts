/**
 * How many threads XNNPACK may use in the threaded WebAssembly build. tfjs reads
 * `navigator.hardwareConcurrency` once, when its module starts, and caps XNNPACK at half of it (it
 * assumes two logical cores per physical one), so on a 2-core machine it never uses the second core.
 * Whether more threads help depends on the machine and the network (a thread that waits on a busy
 * core slows the step), so the backend choice times one thread against every core and keeps the faster
 * (backend.ts). Imported before the backend starts: the module is told twice the cores, and starts on
 * one thread, the cheapest pool to replace.
 */
import { setThreadsCount } from '@tensorflow/tfjs-backend-wasm';

/** The threaded build creates this many pthread workers in advance; a pool larger than that would wait for more. */
const PREALLOCATED_WORKERS = 8;

/** Every logical core, up to the workers the build has ready (1 where the count is unknown, as in Node 20). */
export const WASM_MAX_THREADS = Math.max(1, Math.min(PREALLOCATED_WORKERS, globalThis.navigator?.hardwareConcurrency ?? 1));

if (globalThis.navigator && WASM_MAX_THREADS > 1) {
  Object.defineProperty(globalThis.navigator, 'hardwareConcurrency', { value: 2 * WASM_MAX_THREADS, configurable: true });
}
setThreadsCount(1);
