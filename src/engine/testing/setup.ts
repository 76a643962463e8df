// Unit tests run the engine in Node on the tfjs CPU backend: same kernels semantics as WebGPU, no GPU needed.
import * as tf from '@tensorflow/tfjs';
import '../../runner/relaxed-simd';
import '../cpu-kernels';

await tf.setBackend('cpu');
await tf.ready();
