// The 'wasm' test project runs the engine's numeric tests again on the WebAssembly backend (XNNPACK), with this module's training kernels.
import * as tf from '@tensorflow/tfjs';
import '../../runner/relaxed-simd';
import '../cpu-kernels';
import '../../kernels/wasm-kernels';

await tf.setBackend('wasm');
await tf.ready();
