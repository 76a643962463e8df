/*
 * Loops for the wasm backend's training kernels (wasm-kernels.ts): the data rearranged around
 * XNNPACK's matrix products (im2col, col2im), reductions over leading axes, the max-pool gradient,
 * a fused training-mode BatchNorm, and the element-wise updates of a step (optimizers, EMA, BatchNorm
 * running statistics, the ReLU gradient). The products themselves stay on XNNPACK; in JavaScript
 * these loops cost more than the products. They run in the tfjs backend's own linear memory (imported),
 * on tensors it allocated: every pointer is a tensor's memory offset.
 *
 * Built by scripts/build-wasm-helpers.ts (clang, wasm32, SIMD). Constraints of sharing the memory:
 * no static data and no stack (no arrays or address-taken locals), so the module writes nothing
 * but the buffers it is handed; the build checks this.
 */
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
