/**
 * The WebAssembly backend in the browser: its .wasm files are served by the app itself (Vite emits
 * them as assets; nothing comes from a CDN). Imported before anything starts the backend. The threaded
 * build is used where the page is cross-origin isolated (the COOP/COEP headers of vite.config.ts and
 * of the runner's server).
 *
 * XNNPACK's thread count: tfjs gives it half of navigator.hardwareConcurrency (it assumes two logical
 * cores per physical one), read once when the module starts, so a 2- or 3-core machine trains on one
 * thread and leaves a core idle. This worker reports twice WASM_THREADS to the module instead: at
 * least two threads where there are two cores, tfjs's own count from four cores up. The pool is made
 * once and never switched (an earlier version that switched counts mid-worker crashed the browser).
 */
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import plain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import simd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import threadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { wasmThreadCount } from './backend-labels';

const cores = navigator.hardwareConcurrency || 1;
const WASM_THREADS = wasmThreadCount(cores);
Object.defineProperty(navigator, 'hardwareConcurrency', { value: 2 * WASM_THREADS, configurable: true });

setWasmPaths({ 'tfjs-backend-wasm.wasm': plain, 'tfjs-backend-wasm-simd.wasm': simd, 'tfjs-backend-wasm-threaded-simd.wasm': threadedSimd });
