/*
 * Data-rearranging loops for the wasm backend's training kernels (wasm-kernels.ts). They run in
 * the tfjs backend's own linear memory (imported), on tensors it allocated: every pointer is a
 * tensor's memory offset. The matrix products themselves stay on XNNPACK; these loops only move
 * data around them, which in JavaScript cost more than the products.
 *
 * Built by scripts/build-wasm-helpers.ts (clang, wasm32, SIMD). Constraints of sharing the memory:
 * no static data and no stack (no arrays or address-taken locals), so the module writes nothing
 * but the buffers it is handed; the build checks this.
 */
#include <stdint.h>

#define EXPORT(name) __attribute__((export_name(#name)))

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
  for (int p = 0; p < pixels; p++)
    for (int c = 0; c < C; c++) planes[c * pixels + p] = x[p * C + c];
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
