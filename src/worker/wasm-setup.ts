/**
 * The WebAssembly backend in the browser: its .wasm files are served by the app itself (Vite emits
 * them as assets; nothing comes from a CDN). Imported before anything starts the backend. The threaded
 * build is used where the page is cross-origin isolated (the COOP/COEP headers of vite.config.ts and
 * of the runner's server); tfjs gives XNNPACK half the logical cores (it counts two per physical core).
 */
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import plain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import simd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import threadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';

setWasmPaths({ 'tfjs-backend-wasm.wasm': plain, 'tfjs-backend-wasm-simd.wasm': simd, 'tfjs-backend-wasm-threaded-simd.wasm': threadedSimd });
