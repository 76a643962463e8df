/**
 * Node 20 (V8 11.3) compiles WebAssembly's relaxed SIMD, whose fused multiply-add the wasm
 * backend's convolutions use (src/kernels/wasm-kernels.ts), only behind this flag; browsers and
 * later Node versions have it on. Imported for its effect before the first module is compiled.
 */
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--experimental-wasm-relaxed-simd');
