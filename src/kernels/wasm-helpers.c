/*
 * Loops for the wasm backend's training kernels (wasm-kernels.ts): convolutions and their gradients
 * on one thread (a direct convolution over a zero-padded copy of the input, multiply-adds in
 * registers), the data rearranged around XNNPACK's matrix products where XNNPACK does the
 * products (the shifted grid, im2col, col2im), reductions over leading axes, the max-pool gradient,
 * a fused training-mode BatchNorm, the element-wise updates of a step (optimizers, EMA, BatchNorm
 * running statistics, the ReLU gradient) and a view's augmentation. They run in the tfjs backend's
 * own linear memory (imported), on tensors it allocated: every pointer is a tensor's memory offset.
 *
 * Built by scripts/build-wasm-helpers.ts (clang, wasm32, SIMD), once more with relaxed SIMD, where
 * the convolutions' multiply-adds are fused (RELAXED). Constraints of sharing the memory:
 * no static data and no stack (no arrays or address-taken locals), so the module writes nothing
 * but the buffers it is handed; the build checks this.
 */
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))

/*
 * Every float operation rounded on its own, never fused into a multiply-add: the update loops
 * below compute, operation by operation, what the composites of tfjs kernels they replace compute.
 */
#pragma STDC FP_CONTRACT OFF

/*
 * out [cols, rows] = in [rows, cols]ᵀ, in tiles of 16 × 16: each output cache line is written whole
 * before the next. (Row by row, every value lands in a different line, and with rows a multiple of
 * 1024 all those lines share one cache set: nearly every write misses.)
 */
static void transpose(const float *restrict in, float *restrict out, int rows, int cols) {
  enum { TILE = 16 };
  for (int r0 = 0; r0 < rows; r0 += TILE) {
    const int r1 = r0 + TILE < rows ? r0 + TILE : rows;
    for (int c0 = 0; c0 < cols; c0 += TILE) {
      const int c1 = c0 + TILE < cols ? c0 + TILE : cols;
      for (int c = c0; c < c1; c++)
        for (int r = r0; r < r1; r++) out[c * rows + r] = in[r * cols + c];
    }
  }
}

/*
 * Transposed im2col of nb NHWC images, for the filter gradient: row (tap, c) of cols, tap = kh·KW + kw,
 * holds input channel c under that filter tap at every output position (b, oy, ox), 0 on padding.
 * cols is [KH·KW·C, nb·OH·OW]. planes is scratch of nb·H·W·C floats: the images channel-major,
 * so that each row is built from contiguous runs.
 */
EXPORT(filter_columns)
void filter_columns(const float *restrict x, float *restrict planes, float *restrict cols, int nb, int H, int W, int C, int OH, int OW,
                    int KH, int KW, int sh, int sw, int top, int left) {
  const int pixels = nb * H * W;
  transpose(x, planes, pixels, C);
  const int positions = nb * OH * OW;
  for (int kh = 0; kh < KH; kh++) {
    for (int kw = 0; kw < KW; kw++) {
      /* Output columns whose input column ox·sw − left + kw lies inside the image. */
      int first = 0;
      while (first < OW && first * sw - left + kw < 0) first++;
      int end = OW;
      while (end > first && (end - 1) * sw - left + kw >= W) end--;
      for (int c = 0; c < C; c++) {
        float *row = cols + ((kh * KW + kw) * C + c) * positions;
        const float *plane = planes + c * pixels;
        for (int b = 0; b < nb; b++) {
          for (int oy = 0; oy < OH; oy++) {
            float *out = row + (b * OH + oy) * OW;
            const int iy = oy * sh - top + kh;
            if (iy < 0 || iy >= H) {
              for (int ox = 0; ox < OW; ox++) out[ox] = 0;
              continue;
            }
            const float *in = plane + (b * H + iy) * W - left + kw;
            for (int ox = 0; ox < first; ox++) out[ox] = 0;
            if (sw == 1)
              for (int ox = first; ox < end; ox++) out[ox] = in[ox];
            else
              for (int ox = first; ox < end; ox++) out[ox] = in[ox * sw];
            for (int ox = end; ox < OW; ox++) out[ox] = 0;
          }
        }
      }
    }
  }
}

/*
 * The filter gradient of a stride-1 convolution without im2col (wasm-kernels.ts, shiftedFilterGradient):
 * nb images laid on a grid of rows of W + p values and images of H + p rows, the p extra columns and rows
 * zero, with `margin` zero positions before and after, so that the input a filter tap reads for every
 * output position is the grid shifted by one constant offset. grid_planes writes that grid channel-major
 * ([C][margin + nb·(H+p)·(W+p) + margin], with another margin of zeros before and after the whole), and
 * grid_rows writes dy position-major on the same grid ([positions][C], zero outside the image), so each
 * tap's gradient is one product of a shifted view of the planes with the rows. dy's OH × OW output
 * positions sit at the grid positions of the input pixels with the same coordinates.
 */
EXPORT(grid_planes)
void grid_planes(const float *restrict x, float *restrict out, int nb, int H, int W, int C, int p, int margin) {
  const int rowLength = W + p;
  const int grid = margin + nb * (H + p) * rowLength + margin;
  const int total = C * grid + 2 * margin;
  for (int i = 0; i < total; i++) out[i] = 0;
  float *planes = out + margin + margin;
  for (int b = 0; b < nb; b++) {
    for (int y = 0; y < H; y++) {
      const float *in = x + (b * H + y) * W * C;
      float *row = planes + (b * (H + p) + y) * rowLength;
      for (int xi = 0; xi < W; xi++)
        for (int c = 0; c < C; c++) row[c * grid + xi] = in[xi * C + c];
    }
  }
}

EXPORT(grid_rows)
void grid_rows(const float *restrict dy, float *restrict out, int nb, int OH, int OW, int C, int H, int W, int p, int margin) {
  const int rowLength = W + p;
  const int total = (margin + nb * (H + p) * rowLength + margin) * C;
  for (int i = 0; i < total; i++) out[i] = 0;
  for (int b = 0; b < nb; b++) {
    for (int y = 0; y < OH; y++) {
      const float *in = dy + (b * OH + y) * OW * C;
      float *row = out + (margin + (b * (H + p) + y) * rowLength) * C;
      for (int i = 0; i < OW * C; i++) row[i] = in[i];
    }
  }
}

/*
 * col2im for the input gradient: cols is [nb·OH·OW, KH·KW·C], row m the gradient of every input
 * value output position m read; each is added onto that input value of dx (nb NHWC images, zeroed here).
 */
EXPORT(add_columns)
void add_columns(const float *restrict cols, float *restrict dx, int nb, int H, int W, int C, int OH, int OW, int KH, int KW, int sh,
                 int sw, int top, int left) {
  const int size = nb * H * W * C;
  for (int i = 0; i < size; i++) dx[i] = 0;
  const int taps = KH * KW * C;
  for (int b = 0; b < nb; b++) {
    for (int oy = 0; oy < OH; oy++) {
      for (int ox = 0; ox < OW; ox++) {
        const float *col = cols + ((b * OH + oy) * OW + ox) * taps;
        for (int kh = 0; kh < KH; kh++) {
          const int iy = oy * sh - top + kh;
          if (iy < 0 || iy >= H) continue;
          for (int kw = 0; kw < KW; kw++) {
            const int ix = ox * sw - left + kw;
            if (ix < 0 || ix >= W) continue;
            float *to = dx + ((b * H + iy) * W + ix) * C;
            const float *from = col + (kh * KW + kw) * C;
            for (int c = 0; c < C; c++) to[c] += from[c];
          }
        }
      }
    }
  }
}

/* out[j] = scale · Σ_o x[o·inner + j], accumulated in double (totals is scratch of inner doubles). */
EXPORT(sum_rows)
void sum_rows(const float *restrict x, float *restrict out, double *restrict totals, int outer, int inner, float scale) {
  for (int j = 0; j < inner; j++) totals[j] = 0;
  for (int o = 0; o < outer; o++) {
    const float *row = x + o * inner;
    for (int j = 0; j < inner; j++) totals[j] += row[j];
  }
  for (int j = 0; j < inner; j++) out[j] = (float)(totals[j] * scale);
}

/*
 * Max-pool gradient: each window's dy goes to its first maximum (windows clipped to the image), as
 * tfjs's CPU backend does. dx is zeroed here.
 */
EXPORT(max_pool_grad)
void max_pool_grad(const float *restrict x, const float *restrict dy, float *restrict dx, int N, int H, int W, int C, int OH, int OW,
                   int KH, int KW, int sh, int sw, int top, int left) {
  const int size = N * H * W * C;
  for (int i = 0; i < size; i++) dx[i] = 0;
  for (int b = 0; b < N; b++) {
    for (int oy = 0; oy < OH; oy++) {
      const int y0 = oy * sh - top;
      const int yStart = y0 < 0 ? 0 : y0;
      const int yEnd = y0 + KH > H ? H : y0 + KH;
      for (int ox = 0; ox < OW; ox++) {
        const int x0 = ox * sw - left;
        const int xStart = x0 < 0 ? 0 : x0;
        const int xEnd = x0 + KW > W ? W : x0 + KW;
        const float *g = dy + ((b * OH + oy) * OW + ox) * C;
        for (int c = 0; c < C; c++) {
          int best = -1;
          float bestValue = -__builtin_inff();
          for (int iy = yStart; iy < yEnd; iy++) {
            for (int ix = xStart; ix < xEnd; ix++) {
              const int at = ((b * H + iy) * W + ix) * C + c;
              if (x[at] > bestValue) {
                bestValue = x[at];
                best = at;
              }
            }
          }
          if (best >= 0) dx[best] += g[c];
        }
      }
    }
  }
}

/*
 * Training-mode BatchNorm over the rows of x [rows, C] (every axis but the channels), with the batch
 * statistics (biased variance): y = (x − mean) · invstd · scale + offset, or (x − mean) · invstd
 * where scale and offset are 0 (no affine). Writes y and the per-channel mean, variance and invstd.
 * Scratch: totals, 2·C doubles (sums and sums of squares, accumulated in double); coefficients, C floats.
 */
EXPORT(batch_norm_forward)
void batch_norm_forward(const float *restrict x, const float *restrict scale, const float *restrict offset, float *restrict y,
                        float *restrict mean, float *restrict variance, float *restrict invstd, double *restrict totals,
                        float *restrict coefficients, int rows, int C, float epsilon) {
  double *sums = totals;
  double *squares = totals + C;
  for (int c = 0; c < C; c++) sums[c] = squares[c] = 0;
  for (int r = 0; r < rows; r++) {
    const float *row = x + r * C;
    for (int c = 0; c < C; c++) {
      const double v = row[c];
      sums[c] += v;
      squares[c] += v * v;
    }
  }
  float *gain = coefficients;
  for (int c = 0; c < C; c++) {
    const double m = sums[c] / rows;
    const double var = squares[c] / rows - m * m;
    mean[c] = (float)m;
    variance[c] = (float)(var > 0 ? var : 0);
    invstd[c] = (float)(1 / __builtin_sqrt((double)variance[c] + epsilon));
    gain[c] = scale ? invstd[c] * scale[c] : invstd[c];
  }
  for (int r = 0; r < rows; r++) {
    const float *in = x + r * C;
    float *out = y + r * C;
    if (offset)
      for (int c = 0; c < C; c++) out[c] = (in[c] - mean[c]) * gain[c] + offset[c];
    else
      for (int c = 0; c < C; c++) out[c] = (in[c] - mean[c]) * gain[c];
  }
}

/*
 * Its gradient, from x and the statistics (x̂ = (x − mean) · invstd is recomputed, not stored): with
 * g = dy · scale (dy without affine), dx = (g − mean(g) − x̂ · mean(g · x̂)) · invstd, dscale = Σ dy · x̂
 * and doffset = Σ dy over the rows. Scratch: totals, 2·C doubles; coefficients, 3·C floats.
 */
EXPORT(batch_norm_backward)
void batch_norm_backward(const float *restrict dy, const float *restrict x, const float *restrict mean, const float *restrict invstd,
                         const float *restrict scale, float *restrict dx, float *restrict dscale, float *restrict doffset,
                         double *restrict totals, float *restrict coefficients, int rows, int C) {
  double *sums = totals;
  double *products = totals + C;
  for (int c = 0; c < C; c++) sums[c] = products[c] = 0;
  for (int r = 0; r < rows; r++) {
    const float *g = dy + r * C;
    const float *in = x + r * C;
    for (int c = 0; c < C; c++) {
      sums[c] += g[c];
      products[c] += (double)g[c] * (in[c] - mean[c]);
    }
  }
  /* dx = k · dy + q · (x − mean) + s with k = scale · invstd, q = −k · invstd · mean(dy · x̂), s = −k · mean(dy). */
  float *k = coefficients;
  float *q = k + C;
  float *s = q + C;
  for (int c = 0; c < C; c++) {
    const double dyXhat = products[c] * invstd[c];
    doffset[c] = (float)sums[c];
    dscale[c] = (float)dyXhat;
    const double gain = (scale ? scale[c] : 1.0) * invstd[c];
    k[c] = (float)gain;
    q[c] = (float)(-gain * invstd[c] * dyXhat / rows);
    s[c] = (float)(-gain * sums[c] / rows);
  }
  for (int r = 0; r < rows; r++) {
    const float *g = dy + r * C;
    const float *in = x + r * C;
    float *out = dx + r * C;
    for (int c = 0; c < C; c++) out[c] = k[c] * g[c] + q[c] * (in[c] - mean[c]) + s[c];
  }
}

/*
 * AdamW on one tensor, into new buffers (wOut, mOut, vOut), as optimizers.ts's composite:
 * m' = m·β1 + g·(1 − β1), v' = v·β2 + g²·(1 − β2), w' = w·decay − (m' / c1) / (√(v' / c2) + ε) · lr,
 * the decay factor (1 − lr·wd) applied where `decayed` (weights) and not otherwise.
 */
EXPORT(adamw_update)
void adamw_update(const float *restrict w, const float *restrict g, const float *restrict m, const float *restrict v, float *restrict wOut,
                  float *restrict mOut, float *restrict vOut, int n, float beta1, float oneMinusBeta1, float beta2, float oneMinusBeta2,
                  float correction1, float correction2, float epsilon, float lr, float decayFactor, int decayed) {
  for (int i = 0; i < n; i++) {
    const float first = m[i] * beta1 + g[i] * oneMinusBeta1;
    const float second = v[i] * beta2 + (g[i] * g[i]) * oneMinusBeta2;
    const float direction = (first / correction1) / (__builtin_sqrtf(second / correction2) + epsilon);
    const float base = decayed ? w[i] * decayFactor : w[i];
    mOut[i] = first;
    vOut[i] = second;
    wOut[i] = base - direction * lr;
  }
}

/*
 * SGD with momentum on one tensor, into new buffers: u = g + w·wd where `decayed` (g otherwise),
 * times `scale` (LARS's trust ratio; 1 for plain SGD, an exact no-op), buf' = buf·μ + u, w' = w − buf'·lr.
 */
EXPORT(momentum_update)
void momentum_update(const float *restrict w, const float *restrict g, const float *restrict buffer, float *restrict wOut, float *restrict bufferOut,
                     int n, float lr, float momentum, float decay, float scale, int decayed) {
  for (int i = 0; i < n; i++) {
    const float update = (decayed ? g[i] + w[i] * decay : g[i]) * scale;
    const float next = buffer[i] * momentum + update;
    bufferOut[i] = next;
    wOut[i] = w[i] - next * lr;
  }
}

/* Σ x², each square rounded to float and summed in double, as tf.norm's Sum kernel (sum_rows) sums its Pow's squares. */
EXPORT(sum_squares)
double sum_squares(const float *restrict x, int n) {
  double total = 0;
  for (int i = 0; i < n; i++) total += x[i] * x[i];
  return total;
}

/* out = target + (online − target)·rate: one tensor of an EMA target, rate = 1 − τ. */
EXPORT(ema_update)
void ema_update(const float *restrict target, const float *restrict online, float *restrict out, int n, float rate) {
  for (int i = 0; i < n; i++) out[i] = target[i] + (online[i] - target[i]) * rate;
}

/* out = running·keep + batch·rate: a BatchNorm running statistic. */
EXPORT(running_average)
void running_average(const float *restrict running, const float *restrict batch, float *restrict out, int n, float keep, float rate) {
  for (int i = 0; i < n; i++) out[i] = running[i] * keep + batch[i] * rate;
}

/* dx = dy · step(x), step(x) = 1 where x > 0, NaN where x is NaN, 0 elsewhere, as tfjs's Relu gradient. */
EXPORT(relu_backward)
void relu_backward(const float *restrict dy, const float *restrict x, float *restrict dx, int n) {
  for (int i = 0; i < n; i++) {
    const float v = x[i];
    dx[i] = dy[i] * (v > 0 ? 1.0f : v != v ? v : 0.0f);
  }
}

static float clip01(float v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

static float luma(const float *v) { return v[0] * 0.299f + v[1] * 0.587f + v[2] * 0.114f; }

/*
 * AUGMENT_VIEW (augment.ts): one view's augmentation chain, image by image, computing step by step in
 * float32 what augmentComposite computes on this backend: crop-and-resize with the stock kernel's
 * sample positions (or the exact-size pixel, mirrored where flipped), the colour jitter with a clip
 * after each step, grayscale, the separable blur (kernels: each image's [S, S] row-normalised Gaussian,
 * built by the caller) and solarisation. params is [n, 20] as PARAMETER in augment.ts lays it out;
 * scratch holds one S × S × 3 image.
 */
EXPORT(augment_view)
void augment_view(const float *restrict images, const float *restrict params, const float *restrict kernels, float *restrict out,
                  float *restrict scratch, int n, int H, int W, int S, int exactSize, int flip, int jitter, int hue, int grayscale, int blur,
                  int solarize) {
  const int pixels = S * S;
  for (int b = 0; b < n; b++) {
    const float *p = params + b * 20;
    const float *image = images + b * H * W * 3;
    float *o = out + b * pixels * 3;
    if (exactSize) {
      for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
          const float *source = image + (y * W + x) * 3;
          float *to = o + (y * S + x) * 3;
          if (flip) {
            const float *mirrored = image + (y * W + (S - 1 - x)) * 3;
            for (int c = 0; c < 3; c++) to[c] = source[c] * (1 - p[4]) + mirrored[c] * p[4];
          } else {
            for (int c = 0; c < 3; c++) to[c] = source[c];
          }
        }
    } else {
      const float y1 = p[0], x1 = p[1], y2 = p[2], x2 = p[3];
      const float heightM1 = (float)(H - 1), widthM1 = (float)(W - 1);
      const float heightScale = S > 1 ? (y2 - y1) * heightM1 / (float)(S - 1) : 0;
      const float widthScale = S > 1 ? (x2 - x1) * widthM1 / (float)(S - 1) : 0;
      for (int y = 0; y < S; y++) {
        const float inY = S > 1 ? y1 * heightM1 + (float)y * heightScale : (float)(0.5 * (double)(y1 + y2) * heightM1);
        for (int x = 0; x < S; x++) {
          float *to = o + (y * S + x) * 3;
          const float inX = S > 1 ? x1 * widthM1 + (float)x * widthScale : (float)(0.5 * (double)(x1 + x2) * widthM1);
          if (inY < 0 || inY > heightM1 || inX < 0 || inX > widthM1) {
            to[0] = to[1] = to[2] = 0;
            continue;
          }
          const float top = __builtin_floorf(inY), left = __builtin_floorf(inX);
          const float bottomF = __builtin_ceilf(inY), rightF = __builtin_ceilf(inX);
          const int t = (int)top, l = (int)left;
          const int bo = (int)(bottomF < heightM1 ? bottomF : heightM1), r = (int)(rightF < widthM1 ? rightF : widthM1);
          const float fy = inY - top, fx = inX - left;
          for (int c = 0; c < 3; c++) {
            const float topLeft = image[(t * W + l) * 3 + c], topRight = image[(t * W + r) * 3 + c];
            const float bottomLeft = image[(bo * W + l) * 3 + c], bottomRight = image[(bo * W + r) * 3 + c];
            const float upper = topLeft + (topRight - topLeft) * fx;
            const float lower = bottomLeft + (bottomRight - bottomLeft) * fx;
            to[c] = upper + (lower - upper) * fy;
          }
        }
      }
    }
    if (jitter) {
      double graySum = 0;
      for (int i = 0; i < pixels; i++) {
        float *v = o + i * 3;
        for (int c = 0; c < 3; c++) v[c] = clip01(v[c] * p[5]);
        graySum += luma(v);
      }
      const float meanGray = (float)(graySum / pixels);
      for (int i = 0; i < pixels; i++) {
        float *v = o + i * 3;
        for (int c = 0; c < 3; c++) v[c] = clip01((v[c] - meanGray) * p[6] + meanGray);
        const float gray = luma(v);
        for (int c = 0; c < 3; c++) v[c] = clip01((v[c] - gray) * p[7] + gray);
        if (hue) {
          const float r = v[0], g = v[1], bl = v[2];
          for (int c = 0; c < 3; c++) v[c] = clip01(r * p[8 + c] + g * p[11 + c] + bl * p[14 + c]);
        }
      }
    }
    if (grayscale) {
      for (int i = 0; i < pixels; i++) {
        float *v = o + i * 3;
        const float gray = luma(v);
        for (int c = 0; c < 3; c++) v[c] = v[c] + (gray - v[c]) * p[17];
      }
    }
    if (blur) {
      const float *k = kernels + b * pixels;
      /* Along the height into scratch, then along the width back into the output. */
      for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++)
          for (int c = 0; c < 3; c++) {
            float sum = 0;
            for (int j = 0; j < S; j++) sum += k[y * S + j] * o[(j * S + x) * 3 + c];
            scratch[(y * S + x) * 3 + c] = sum;
          }
      for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++)
          for (int c = 0; c < 3; c++) {
            float sum = 0;
            for (int j = 0; j < S; j++) sum += scratch[(y * S + j) * 3 + c] * k[x * S + j];
            o[(y * S + x) * 3 + c] = sum;
          }
    }
    if (solarize) {
      for (int i = 0; i < pixels * 3; i++) {
        const float v = o[i];
        const float solarized = v >= 0.5f ? 1 - v : v;
        o[i] = v + (solarized - v) * p[19];
      }
    }
  }
}

/*
 * The convolutions' multiply-add: fused where relaxed SIMD has it (one rounding, as XNNPACK's own
 * FMA kernels round), a product and a sum otherwise. The only place where operations are fused.
 */
#ifdef RELAXED
#define MADD(a, b, c) ((v128_t)__builtin_wasm_relaxed_madd_f32x4((__f32x4)(a), (__f32x4)(b), (__f32x4)(c)))
#else
#define MADD(a, b, c) wasm_f32x4_add(wasm_f32x4_mul(a, b), c)
#endif

/*
 * The register block of the convolution kernels: accumulators c00 … c31 for four rows (pixels, or
 * input channels in the filter gradient) × eight columns. ACCUMULATE_4x8 adds the four values at
 * a0 … a3, each times the eight at bp; STORE_4x8 writes the four rows, `step` floats apart.
 */
#define ZERO_4x8 v128_t c00 = wasm_f32x4_splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00
#define ACCUMULATE_4x8(a0, a1, a2, a3, bp)                                            \
  do {                                                                                \
    const v128_t b0_ = wasm_v128_load(bp), b1_ = wasm_v128_load((bp) + 4);            \
    v128_t s_ = wasm_v128_load32_splat(a0);                                           \
    c00 = MADD(s_, b0_, c00); c01 = MADD(s_, b1_, c01);                               \
    s_ = wasm_v128_load32_splat(a1);                                                  \
    c10 = MADD(s_, b0_, c10); c11 = MADD(s_, b1_, c11);                               \
    s_ = wasm_v128_load32_splat(a2);                                                  \
    c20 = MADD(s_, b0_, c20); c21 = MADD(s_, b1_, c21);                               \
    s_ = wasm_v128_load32_splat(a3);                                                  \
    c30 = MADD(s_, b0_, c30); c31 = MADD(s_, b1_, c31);                               \
  } while (0)
#define STORE_4x8(o, step, n)                                                                 \
  do {                                                                                        \
    float *row = (o);                                                                         \
    wasm_v128_store(row, c00); wasm_v128_store(row + 4, c01);                                 \
    if ((n) > 1) { row += (step); wasm_v128_store(row, c10); wasm_v128_store(row + 4, c11); } \
    if ((n) > 2) { row += (step); wasm_v128_store(row, c20); wasm_v128_store(row + 4, c21); } \
    if ((n) > 3) { row += (step); wasm_v128_store(row, c30); wasm_v128_store(row + 4, c31); } \
  } while (0)
/* The same for one row: accumulators c00, c01. */
#define ACCUMULATE_1x8(a0, bp)                                                        \
  do {                                                                                \
    const v128_t s_ = wasm_v128_load32_splat(a0);                                     \
    c00 = MADD(s_, wasm_v128_load(bp), c00);                                          \
    c01 = MADD(s_, wasm_v128_load((bp) + 4), c01);                                    \
  } while (0)

/* out [nb, H+top+bottom, W+left+right, C] = x with a zero border. */
EXPORT(pad_images)
void pad_images(const float *restrict x, float *restrict out, int nb, int H, int W, int C, int top, int bottom, int left, int right) {
  const int PW = W + left + right, PH = H + top + bottom;
  const int rowLen = PW * C;
  for (int b = 0; b < nb; b++) {
    for (int y = 0; y < PH; y++) {
      float *row = out + (b * PH + y) * rowLen;
      const int iy = y - top;
      if (iy < 0 || iy >= H) { for (int i = 0; i < rowLen; i++) row[i] = 0; continue; }
      for (int i = 0; i < left * C; i++) row[i] = 0;
      const float *in = x + (b * H + iy) * W * C;
      for (int i = 0; i < W * C; i++) row[left * C + i] = in[i];
      for (int i = (left + W) * C; i < rowLen; i++) row[i] = 0;
    }
  }
}

/*
 * Filter [KH, KW, CI, CO] into panels of 8 output channels: [CO/8][KH·KW·CI][8]. transpose: panels of
 * 8 input channels instead, [CI/8][KH·KW·CO][8], for the input gradient (CI % 8 == 0).
 */
EXPORT(pack_filter)
void pack_filter(const float *restrict w, float *restrict out, int KH, int KW, int CI, int CO, int transpose) {
  const int taps = KH * KW;
  if (!transpose) {
    for (int j = 0; j < CO; j += 8)
      for (int t = 0; t < taps; t++)
        for (int c = 0; c < CI; c++)
          for (int l = 0; l < 8; l++) out[j * taps * CI + (t * CI + c) * 8 + l] = w[(t * CI + c) * CO + j + l];
  } else {
    for (int j = 0; j < CI; j += 8)
      for (int t = 0; t < taps; t++)
        for (int c = 0; c < CO; c++)
          for (int l = 0; l < 8; l++) out[j * taps * CO + (t * CO + c) * 8 + l] = w[(t * CI + j + l) * CO + c];
  }
}

/*
 * y [nb, OH, OW, CO] = convolution of the padded images xp [nb, PH, PW, C] with the packed filter
 * (pack_filter), stride (sh, sw); CO % 8 == 0. Four output pixels of a row × eight output channels
 * per block, accumulated over every tap and input channel in registers.
 */
EXPORT(conv_packed)
void conv_packed(const float *restrict xp, const float *restrict wp, float *restrict y, int nb, int PH, int PW, int C, int OH, int OW,
                 int KH, int KW, int sh, int sw, int CO) {
  const int K = KH * KW * C;
  for (int b = 0; b < nb; b++) {
    const float *image = xp + b * PH * PW * C;
    for (int oy = 0; oy < OH; oy++) {
      float *out = y + (b * OH + oy) * OW * CO;
      for (int j = 0; j < CO; j += 8) {
        const float *panel = wp + j * K;
        for (int ox = 0; ox < OW; ox += 4) {
          /* A block of fewer than four pixels reads its last pixel again for the rest and stores only its own. */
          const int n = OW - ox < 4 ? OW - ox : 4;
          const int step = sw * C, o1 = n > 1 ? step : 0, o2 = n > 2 ? 2 * step : o1, o3 = n > 3 ? 3 * step : o2;
          ZERO_4x8;
          const float *bp = panel;
          for (int kh = 0; kh < KH; kh++) {
            for (int kw = 0; kw < KW; kw++) {
              const float *a0 = image + ((oy * sh + kh) * PW + ox * sw + kw) * C;
              const float *a1 = a0 + o1, *a2 = a0 + o2, *a3 = a0 + o3;
              for (int c = 0; c < C; c++, bp += 8) ACCUMULATE_4x8(a0 + c, a1 + c, a2 + c, a3 + c, bp);
            }
          }
          STORE_4x8(out + ox * CO + j, CO, n);
        }
      }
    }
  }
}

/*
 * dw [KH, KW, C, CO] = Σ over every output position of xp's value under each tap × dy (CO % 8 == 0),
 * image by image (so both stay in cache), four input channels × eight output channels in registers
 * over an image's positions.
 */
EXPORT(conv_filter_grad)
void conv_filter_grad(const float *restrict xp, const float *restrict dy, float *restrict dw, int nb, int PH, int PW, int C, int OH, int OW,
                      int KH, int KW, int sh, int sw, int CO) {
  const int total = KH * KW * C * CO;
  for (int i = 0; i < total; i++) dw[i] = 0;
  for (int b = 0; b < nb; b++) {
    const float *image = xp + b * PH * PW * C;
    const float *grad = dy + b * OH * OW * CO;
    for (int kh = 0; kh < KH; kh++) {
      for (int kw = 0; kw < KW; kw++) {
        float *tap = dw + (kh * KW + kw) * C * CO;
        for (int j = 0; j < CO; j += 8) {
          int c = 0;
          for (; c + 4 <= C; c += 4) {
            float *d = tap + c * CO + j;
            v128_t c00 = wasm_v128_load(d), c01 = wasm_v128_load(d + 4), c10 = wasm_v128_load(d + CO), c11 = wasm_v128_load(d + CO + 4);
            v128_t c20 = wasm_v128_load(d + 2 * CO), c21 = wasm_v128_load(d + 2 * CO + 4), c30 = wasm_v128_load(d + 3 * CO), c31 = wasm_v128_load(d + 3 * CO + 4);
            for (int oy = 0; oy < OH; oy++) {
              const float *a = image + ((oy * sh + kh) * PW + kw) * C + c;
              const float *g = grad + oy * OW * CO + j;
              for (int ox = 0; ox < OW; ox++, a += sw * C, g += CO) {
                ACCUMULATE_4x8(a, a + 1, a + 2, a + 3, g);
              }
            }
            STORE_4x8(d, CO, 4);
          }
          for (; c < C; c++) {
            float *d = tap + c * CO + j;
            v128_t c00 = wasm_v128_load(d), c01 = wasm_v128_load(d + 4);
            for (int oy = 0; oy < OH; oy++) {
              const float *a = image + ((oy * sh + kh) * PW + kw) * C + c;
              const float *g = grad + oy * OW * CO + j;
              for (int ox = 0; ox < OW; ox++, a += sw * C, g += CO) ACCUMULATE_1x8(a, g);
            }
            wasm_v128_store(d, c00); wasm_v128_store(d + 4, c01);
          }
        }
      }
    }
  }
}

/*
 * The input gradient of a convolution of any stride, gathered: dx[b, iy, ix] is the sum, over the taps
 * (kh, kw) that read it, of dy at output position ((iy + top − kh) / sh, (ix + left − kw) / sw) times
 * that tap's Wᵀ, for the taps where both divisions are exact. dyp is dy with a zero border of pt rows
 * above and pl columns to the left, and enough below and to the right, so that every such position
 * lies inside it; wp is the filter packed transposed (pack_filter), eight input channels per panel.
 * Four pixels of a row sw apart share their taps and read four neighbouring positions of dy: they
 * are one block, × eight input channels, in registers.
 */
EXPORT(conv_input_grad)
void conv_input_grad(const float *restrict dyp, const float *restrict wp, float *restrict dx, int nb, int PH, int PW, int CO, int H, int W,
                     int CI, int KH, int KW, int sh, int sw, int top, int left, int pt, int pl) {
  const int taps = KH * KW;
  const int K = taps * CO;
  for (int b = 0; b < nb; b++) {
    const float *grad = dyp + b * PH * PW * CO;
    for (int iy = 0; iy < H; iy++) {
      float *out = dx + (b * H + iy) * W * CI;
      for (int j = 0; j < CI; j += 8) {
        const float *panel = wp + j * K;
        for (int px = 0; px < sw && px < W; px++) {
          const int count = (W - px + sw - 1) / sw;
          for (int m = 0; m < count; m += 4) {
            /* As in conv_packed, a short block repeats its last pixel. */
            const int n = count - m < 4 ? count - m : 4;
            const int o1 = n > 1 ? CO : 0, o2 = n > 2 ? 2 * CO : o1, o3 = n > 3 ? 3 * CO : o2;
            const int ix = px + m * sw;
            ZERO_4x8;
            for (int kh = 0; kh < KH; kh++) {
              const int r = iy + top - kh;
              if (r % sh != 0) continue;
              const float *row = grad + (r / sh + pt) * PW * CO;
              for (int kw = 0; kw < KW; kw++) {
                const int q = ix + left - kw;
                if (q % sw != 0) continue;
                const float *a0 = row + (q / sw + pl) * CO;
                const float *a1 = a0 + o1, *a2 = a0 + o2, *a3 = a0 + o3;
                const float *bp = panel + (kh * KW + kw) * CO * 8;
                for (int c = 0; c < CO; c++, bp += 8) ACCUMULATE_4x8(a0 + c, a1 + c, a2 + c, a3 + c, bp);
              }
            }
            STORE_4x8(out + ix * CI + j, sw * CI, n);
          }
        }
      }
    }
  }
}
