/**
 * AUGMENT_VIEW (augment.ts) for tfjs's WebGPU backend: a view's whole augmentation chain in one
 * dispatch, where the composite takes a chain of small ones. One workgroup per image walks its
 * pixels through the steps the recipe switches on: crop-and-resize (or the exact-size flip), colour
 * jitter, grayscale, blur and solarisation. The steps that need the whole image (contrast's mean
 * luma, the blur's two separable passes) meet at workgroup barriers, with the image held in the
 * output buffer between them. Each step computes in float32 what the composite's op computes: the
 * same sample positions as tfjs's cropAndResize, a clip after each jitter step, the blur's Gaussian
 * renormalised over each whole row. The switches and the output size are compiled in (one pipeline
 * per recipe and size); the per-image parameters are the one tensor uploaded.
 *
 * webgpu-kernels.ts registers WEBGPU_AUGMENT_KERNELS; webgpu-augment-checks.ts checks them in the
 * browser against the composite.
 */
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu/dist/webgpu_program';
import { AUGMENT_VIEW, PARAMETER, PARAMETER_COUNT, type AugmentSwitches, type AugmentViewAttrs } from '../engine/augment';

type KernelFunc = tf.KernelConfig['kernelFunc'];

/** Invocations per workgroup, the device's default limit: each strides over its image's pixels. */
const THREADS = 256;

/**
 * cropAndResize's sample position along `axis` (its `outShape` component), as tfjs's shader computes
 * it: the step divides by the output extent read at run time, as there, since a division by a
 * compiled-in constant may become a multiplication by its rounded reciprocal. Where a box spans one
 * output row or column, cropAndResize samples the box's centre.
 */
function sampleCoordinate(axis: 'y' | 'x', component: 'y' | 'z', low: string, high: string, inputExtent: string, outSize: number): string {
  if (outSize === 1) return `0.5 * (${low} + ${high}) * ${inputExtent}`;
  return `${low} * ${inputExtent} + f32(${axis}) * ((${high} - ${low}) * (${inputExtent} / f32(uniforms.outShape.${component} - 1)))`;
}

/** The output pixel `p` of image `b` before any colour step: bilinear crop-and-resize, or the exact-size (mirrored) pixel. */
function geometry(outSize: number, switches: AugmentSwitches): string {
  if (switches.exactSize) {
    const mirrored = switches.flip
      ? `let flip = parameter(b, ${PARAMETER.flip});
      return source * (1.0 - flip) + imagePixel(b, y, SIZE - 1 - x) * flip;`
      : 'return source;';
    return `
    fn geometry(b: i32, p: i32) -> vec3<f32> {
      let y = p / SIZE;
      let x = p % SIZE;
      let source = imagePixel(b, y, x);
      ${mirrored}
    }`;
  }
  const box = (k: number) => `parameter(b, ${PARAMETER.box + k})`;
  return `
    fn geometry(b: i32, p: i32) -> vec3<f32> {
      let y = p / SIZE;
      let x = p % SIZE;
      let inputHeight = f32(uniforms.imagesShape.y - 1);
      let inputWidth = f32(uniforms.imagesShape.z - 1);
      let inY = ${sampleCoordinate('y', 'y', box(0), box(2), 'inputHeight', outSize)};
      let inX = ${sampleCoordinate('x', 'z', box(1), box(3), 'inputWidth', outSize)};
      if (inY < 0.0 || inY > inputHeight || inX < 0.0 || inX > inputWidth) {
        return vec3<f32>(0.0);
      }
      let position = vec2<f32>(inX, inY);
      let low = vec2<i32>(position);
      let high = vec2<i32>(ceil(position));
      let topLeft = imagePixel(b, low.y, low.x);
      let bottomLeft = imagePixel(b, high.y, low.x);
      let topRight = imagePixel(b, low.y, high.x);
      let bottomRight = imagePixel(b, high.y, high.x);
      let fraction = position - vec2<f32>(low);
      let top = topLeft + (topRight - topLeft) * fraction.x;
      let bottom = bottomLeft + (bottomRight - bottomLeft) * fraction.x;
      return top + (bottom - top) * fraction.y;
    }`;
}

/** The per-pixel colour steps after contrast's mean is known: contrast, saturation, hue, grayscale (and solarisation where no blur follows). */
function colour(switches: AugmentSwitches): string {
  const lines: string[] = [];
  if (switches.jitter) {
    lines.push(
      `v = clamp((v - meanGray) * parameter(b, ${PARAMETER.contrast}) + meanGray, vec3<f32>(0.0), vec3<f32>(1.0));`,
      `let saturationGray = vec3<f32>(luma(v));`,
      `v = clamp((v - saturationGray) * parameter(b, ${PARAMETER.saturation}) + saturationGray, vec3<f32>(0.0), vec3<f32>(1.0));`,
    );
    if (switches.hue) {
      const m = (row: number, col: number) => `parameter(b, ${PARAMETER.hue + row * 3 + col})`;
      const column = (col: number) => `v.r * ${m(0, col)} + v.g * ${m(1, col)} + v.b * ${m(2, col)}`;
      lines.push(`v = clamp(vec3<f32>(${column(0)}, ${column(1)}, ${column(2)}), vec3<f32>(0.0), vec3<f32>(1.0));`);
    }
  }
  if (switches.grayscale) lines.push(`v = v + (vec3<f32>(luma(v)) - v) * parameter(b, ${PARAMETER.grayscale});`);
  if (switches.solarize && !switches.blur) lines.push('v = solarize(b, v);');
  return lines.join('\n        ');
}

/**
 * Separable blur: the composite's row-stochastic Gaussian K (K[i][j] = g(|i − j|) / Σ_j g(|i − j|),
 * the identity where σ = 0) along the height, then along the width. Each pass reads the whole image
 * from the output buffer, keeps its results in registers until every invocation has read, then writes.
 */
function blur(switches: AugmentSwitches): string {
  const pass = (store: string, neighbour: string, position: string) => `
      for (var k = 0; k < PIXELS_PER_THREAD; k++) {
        let p = t + k * ${THREADS};
        if (p < PIXELS) {
          let y = p / SIZE;
          let x = p % SIZE;
          var sum = vec3<f32>(0.0);
          for (var j = 0; j < SIZE; j++) {
            sum += (gaussian[abs(${position} - j)] / rowTotals[${position}]) * pixel(b, ${neighbour});
          }
          blurred[k] = sum;
        }
      }
      storageBarrier();
      for (var k = 0; k < PIXELS_PER_THREAD; k++) {
        let p = t + k * ${THREADS};
        if (p < PIXELS) {
          ${store}
        }
      }
      storageBarrier();`;
  return `
      let sigma = parameter(b, ${PARAMETER.blurSigma});
      for (var d = t; d < SIZE; d += ${THREADS}) {
        gaussian[d] = select(f32(d == 0), exp(-f32(d * d) / (2.0 * sigma * sigma)), sigma > 0.0);
      }
      workgroupBarrier();
      for (var i = t; i < SIZE; i += ${THREADS}) {
        var total = 0.0;
        for (var j = 0; j < SIZE; j++) {
          total += gaussian[abs(i - j)];
        }
        rowTotals[i] = total;
      }
      workgroupBarrier();
      storageBarrier();
      var blurred: array<vec3<f32>, PIXELS_PER_THREAD>;
      ${pass('setPixel(b, p, blurred[k]);', 'j * SIZE + x', 'y')}
      ${pass(switches.solarize ? 'setPixel(b, p, solarize(b, blurred[k]));' : 'setPixel(b, p, blurred[k]);', 'y * SIZE + j', 'x')}`;
}

class AugmentViewProgram implements WebGPUProgram {
  variableNames = ['images', 'params'];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [0, 1, 2, 3] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [THREADS, 1, 1];

  constructor(
    count: number,
    private readonly outSize: number,
    private readonly switches: AugmentSwitches,
  ) {
    this.outputShape = [count, outSize, outSize, 3];
    this.dispatch = [count, 1, 1];
    const on = Object.entries(switches).filter(([, value]) => value).map(([name]) => name);
    this.shaderKey = `siameseAugmentView_${outSize}_${on.join('_')}`;
  }

  getUserCode(): string {
    const { outSize, switches } = this;
    const brightness = switches.jitter
      ? `v = clamp(v * parameter(b, ${PARAMETER.brightness}), vec3<f32>(0.0), vec3<f32>(1.0));
        graySum += luma(v);`
      : '';
    const colourSteps = colour(switches);
    // Contrast's mean luma of the image after brightness: a tree sum over the workgroup.
    const mean = switches.jitter
      ? `partialSums[t] = graySum;
      workgroupBarrier();
      for (var stride = ${THREADS / 2}; stride > 0; stride /= 2) {
        if (t < stride) {
          partialSums[t] += partialSums[t + stride];
        }
        workgroupBarrier();
      }
      let meanGray = partialSums[0] / f32(PIXELS);`
      : '';
    return `
    const SIZE = ${outSize};
    const PIXELS = ${outSize * outSize};
    const PIXELS_PER_THREAD = ${Math.ceil((outSize * outSize) / THREADS)};

    var<workgroup> partialSums: array<f32, ${THREADS}>;
    var<workgroup> gaussian: array<f32, ${outSize}>;
    var<workgroup> rowTotals: array<f32, ${outSize}>;

    fn parameter(b: i32, k: i32) -> f32 {
      return params[b * ${PARAMETER_COUNT} + k];
    }

    fn imagePixel(b: i32, y: i32, x: i32) -> vec3<f32> {
      let i = ((b * uniforms.imagesShape.y + y) * uniforms.imagesShape.z + x) * 3;
      return vec3<f32>(images[i], images[i + 1], images[i + 2]);
    }

    fn pixel(b: i32, p: i32) -> vec3<f32> {
      let i = (b * PIXELS + p) * 3;
      return vec3<f32>(result[i], result[i + 1], result[i + 2]);
    }

    fn setPixel(b: i32, p: i32, v: vec3<f32>) {
      let i = (b * PIXELS + p) * 3;
      result[i] = v.r;
      result[i + 1] = v.g;
      result[i + 2] = v.b;
    }

    fn luma(v: vec3<f32>) -> f32 {
      return v.r * 0.299 + v.g * 0.587 + v.b * 0.114;
    }

    fn solarize(b: i32, v: vec3<f32>) -> vec3<f32> {
      let solarized = select(v, 1.0 - v, v >= vec3<f32>(0.5));
      return v + (solarized - v) * parameter(b, ${PARAMETER.solarize});
    }
    ${geometry(outSize, switches)}

    fn main(index: i32) {
      let b = i32(workgroupId.x);
      let t = i32(localIndex);
      ${switches.jitter ? 'var graySum = 0.0;' : ''}
      for (var p = t; p < PIXELS; p += ${THREADS}) {
        var v = geometry(b, p);
        ${brightness}
        setPixel(b, p, v);
      }
      ${mean}
      ${colourSteps ? `for (var p = t; p < PIXELS; p += ${THREADS}) {
        var v = pixel(b, p);
        ${colourSteps}
        setPixel(b, p, v);
      }` : ''}
      ${switches.blur ? blur(switches) : ''}
    }`;
  }
}

const augmentView: KernelFunc = ({ inputs, backend, attrs }) => {
  const { images, parameters } = inputs as unknown as { images: tf.TensorInfo; parameters: tf.TensorInfo };
  const { outSize, switches } = attrs as unknown as AugmentViewAttrs;
  const program = new AugmentViewProgram(images.shape[0], outSize, switches);
  return (backend as WebGPUBackend).runWebGPUProgram(program, [images, parameters], 'float32');
};

export const WEBGPU_AUGMENT_KERNELS: Record<string, KernelFunc> = { [AUGMENT_VIEW]: augmentView };
