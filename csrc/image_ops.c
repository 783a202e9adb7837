/* image_ops.c -- the pixel work of the preprocessing and augmentation layers, NHWC.
 *
 *   scale_shift   y[r, j] = x[r, j] * scale[j] + shift[j]     (rows r of P values; shift may
 *                 be NULL).  Rescaling, Normalization and their gradients (dx = dy * scale).
 *   resize        y = bilinear or nearest resampling of the window (top, left, CH, CW) of x
 *                 to (OH, OW), with TensorFlow's half-pixel centres, as Keras's Resizing:
 *                   bilinear  s = CH / OH;  in = (o + 0.5) s - 0.5;  lo = max(floor(in), 0),
 *                             hi = min(ceil(in), CH - 1), t = in - floor(in);
 *                             y = lerp(lerp(x[lo,lo'], x[lo,hi'], t'), lerp(..), t)
 *                   nearest   in = min(floor((o + 0.5) s), CH - 1)
 *                 backward is the exact adjoint (a scatter into dx, zero outside the window).
 *   warp          y[n, oy, ox] = x[n] sampled at the projective map of (ox, oy) by the 8
 *                 numbers t = transforms[n] (Keras's and TensorFlow's layout):
 *                   k = t6 ox + t7 oy + 1;  ix = (t0 ox + t1 oy + t2) / k;
 *                   iy = (t3 ox + t4 oy + t5) / k
 *                 then mapped into the image by the fill mode (reflect: dcba|abcd|dcba,
 *                 wrap: abcd|abcd, nearest: clamp, constant: unchanged) and read with
 *                 nearest (round half away from zero) or bilinear interpolation; a read
 *                 outside the image gives fill_value.  Rotation, zoom, translation, flips
 *                 and crops are all warps.  backward is the exact adjoint (fill reads have
 *                 no gradient).
 *   brightness    y = clip(x + delta[n], lo, hi);  dx = dy where lo <= x + delta <= hi.
 *   contrast      m = mean over H, W of x[n, :, :, c];  z = (x - m) f[n] + m;  y = clip(z,
 *                 lo, hi);  with g = dy where lo <= z <= hi:  dx = f g + (1 - f) mean_hw(g).
 *
 * Every kernel splits whole rows or whole images between threads and sums in a fixed
 * order, so results do not depend on the thread count. */
#include <math.h>
#include <string.h>
#include "parallel.h"

/* clip with comparisons (they vectorize; fminf/fmaxf do not without -ffast-math); a NaN
 * stays NaN, as NumPy's clip keeps it */
static inline float clipf(float v, float lo, float hi) {
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

/* ---- scale_shift ----------------------------------------------------------------- */
static void scale_shift_rows(float *y, const float *x, const float *scale, const float *shift,
                             int64_t r0, int64_t r1, int64_t P) {
    for (int64_t r = r0; r < r1; r++) {
        float *restrict yr = y + r * P;
        const float *xr = x + r * P;
        if (shift)
            for (int64_t j = 0; j < P; j++) yr[j] = xr[j] * scale[j] + shift[j];
        else
            for (int64_t j = 0; j < P; j++) yr[j] = xr[j] * scale[j];
    }
}

void fnn_scale_shift(float *y, const float *x, const float *scale, const float *shift,
                     int64_t rows, int64_t P) {
    FNN_RUN_SPLIT(rows, P * 2, scale_shift_rows(y, x, scale, shift, lo, hi, P));
}

/* ---- resize ---------------------------------------------------------------------- */
typedef struct { int64_t lo, hi; float t; } tap;

/* Source taps of output index o for an input extent `in` and output extent `out`. */
static inline tap resize_tap(int64_t o, int64_t in, int64_t out, int bilinear) {
    const float s = (float)in / (float)out;
    tap r;
    if (bilinear) {
        float f = ((float)o + 0.5f) * s - 0.5f, fl = floorf(f);
        r.lo = fnn_max64((int64_t)fl, 0);
        r.hi = fnn_min64((int64_t)ceilf(f), in - 1);
        r.t = f - fl;
    } else {
        r.lo = r.hi = fnn_min64((int64_t)floorf(((float)o + 0.5f) * s), in - 1);
        r.t = 0.0f;
    }
    return r;
}

void fnn_resize_forward(float *y, const float *x, int64_t N, int64_t H, int64_t W, int64_t C,
                        int64_t top, int64_t left, int64_t CH, int64_t CW, int64_t OH,
                        int64_t OW, int bilinear) {
    int nt = fnn_threads_for(N * OH * OW * C * 4);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(guided)
    for (int64_t row = 0; row < N * OH; row++) {
        const int64_t n = row / OH, oh = row % OH;
        const tap ty = resize_tap(oh, CH, OH, bilinear);
        const float *r0 = x + ((n * H + top + ty.lo) * W + left) * C;
        const float *r1 = x + ((n * H + top + ty.hi) * W + left) * C;
        float *restrict yo = y + row * OW * C;
        for (int64_t ow = 0; ow < OW; ow++) {
            const tap tx = resize_tap(ow, CW, OW, bilinear);
            const float *a = r0 + tx.lo * C, *b = r0 + tx.hi * C;
            const float *c = r1 + tx.lo * C, *d = r1 + tx.hi * C;
            for (int64_t k = 0; k < C; k++) {
                float top_v = a[k] + (b[k] - a[k]) * tx.t;
                float bot_v = c[k] + (d[k] - c[k]) * tx.t;
                yo[ow * C + k] = top_v + (bot_v - top_v) * ty.t;
            }
        }
    }
}

void fnn_resize_backward(float *dx, const float *dy, int64_t N, int64_t H, int64_t W, int64_t C,
                         int64_t top, int64_t left, int64_t CH, int64_t CW, int64_t OH,
                         int64_t OW, int bilinear) {
    int nt = fnn_threads_for(N * (OH * OW * C * 4 + H * W * C));
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(guided)
    for (int64_t n = 0; n < N; n++) {
        float *dxn = dx + n * H * W * C;
        memset(dxn, 0, (size_t)(H * W * C) * sizeof(float));
        for (int64_t oh = 0; oh < OH; oh++) {
            const tap ty = resize_tap(oh, CH, OH, bilinear);
            float *r0 = dxn + ((top + ty.lo) * W + left) * C;
            float *r1 = dxn + ((top + ty.hi) * W + left) * C;
            const float *g = dy + (n * OH + oh) * OW * C;
            for (int64_t ow = 0; ow < OW; ow++) {
                const tap tx = resize_tap(ow, CW, OW, bilinear);
                const float wa = (1 - tx.t) * (1 - ty.t), wb = tx.t * (1 - ty.t);
                const float wc = (1 - tx.t) * ty.t, wd = tx.t * ty.t;
                for (int64_t k = 0; k < C; k++) {
                    const float v = g[ow * C + k];
                    r0[tx.lo * C + k] += v * wa;
                    r0[tx.hi * C + k] += v * wb;
                    r1[tx.lo * C + k] += v * wc;
                    r1[tx.hi * C + k] += v * wd;
                }
            }
        }
    }
}

/* ---- warp ------------------------------------------------------------------------ */
static inline float map_coord(float v, int64_t len, int mode) {
    if (mode == FNN_FILL_CONSTANT) return v;
    if (mode == FNN_FILL_REFLECT) {
        if (len <= 1) return 0.0f;
        const int64_t sz2 = 2 * len;
        if (v < 0) {
            if (v < sz2) v = (float)(sz2 * (int64_t)(-v / sz2)) + v;
            v = v < -len ? v + sz2 : -v - 1;
        } else if (v > len - 1) {
            v -= (float)(sz2 * (int64_t)(v / sz2));
            if (v >= len) v = sz2 - v - 1;
        }
    } else if (mode == FNN_FILL_WRAP) {
        if (len <= 1) return 0.0f;
        const int64_t sz = len - 1;
        if (v < 0)
            v += (float)(len * ((int64_t)(-v / sz) + 1));
        else if (v > len - 1)
            v -= (float)(len * (int64_t)(v / sz));
    }
    return fminf(fmaxf(v, 0.0f), (float)(len - 1)); /* nearest, and the final clamp */
}

/* The up-to-4 taps (index into the image's pixels, or -1 for a fill read) and weights of
 * output pixel (ox, oy).  Returns 0 when the whole pixel is fill_value (k == 0). */
static inline int warp_taps(const float *t, int64_t ox, int64_t oy, int64_t H, int64_t W,
                            int interp, int mode, int64_t idx[4], float wt[4], float ax[4]) {
    const float fx = (float)ox, fy = (float)oy;
    const float k = t[6] * fx + t[7] * fy + 1.0f;
    if (k == 0.0f) return 0;
    const float x = map_coord((t[0] * fx + t[1] * fy + t[2]) / k, W, mode);
    const float y = map_coord((t[3] * fx + t[4] * fy + t[5]) / k, H, mode);
    if (interp == FNN_INTERP_NEAREST) {
        const float rx = roundf(x), ry = roundf(y);
        idx[0] = (rx >= 0 && rx < W && ry >= 0 && ry < H) ? (int64_t)ry * W + (int64_t)rx : -1;
        wt[0] = 1.0f;
        idx[1] = idx[2] = idx[3] = -1;
        wt[1] = wt[2] = wt[3] = 0.0f;
        return 1;
    }
    const float x0 = floorf(x), y0 = floorf(y), x1 = x0 + 1, y1 = y0 + 1;
    const float xs[2] = {x0, x1}, ys[2] = {y0, y1};
    const float wx[2] = {x1 - x, x - x0}, wy[2] = {y1 - y, y - y0};
    ax[0] = wx[0], ax[1] = wx[1], ax[2] = wy[0], ax[3] = wy[1];
    for (int j = 0; j < 2; j++)
        for (int i = 0; i < 2; i++) {
            const float cx = xs[i], cy = ys[j];
            idx[2 * j + i] = (cx >= 0 && cx < W && cy >= 0 && cy < H)
                                 ? (int64_t)cy * W + (int64_t)cx : -1;
            wt[2 * j + i] = wx[i] * wy[j];
        }
    return 1;
}

void fnn_warp_forward(float *y, const float *x, const float *transforms, int64_t N, int64_t H,
                      int64_t W, int64_t C, int64_t OH, int64_t OW, int interpolation,
                      int fill_mode, float fill_value) {
    int nt = fnn_threads_for(N * OH * OW * (C * 4 + 16));
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(guided)
    for (int64_t row = 0; row < N * OH; row++) {
        const int64_t n = row / OH, oy = row % OH;
        const float *t = transforms + n * 8, *xn = x + n * H * W * C;
        float *restrict yo = y + row * OW * C;
        for (int64_t ox = 0; ox < OW; ox++) {
            int64_t idx[4];
            float wt[4], ax[4];
            float *yp = yo + ox * C;
            if (!warp_taps(t, ox, oy, H, W, interpolation, fill_mode, idx, wt, ax)) {
                for (int64_t k = 0; k < C; k++) yp[k] = fill_value;
                continue;
            }
            if (interpolation == FNN_INTERP_NEAREST) {
                if (idx[0] < 0)
                    for (int64_t k = 0; k < C; k++) yp[k] = fill_value;
                else
                    memcpy(yp, xn + idx[0] * C, (size_t)C * sizeof(float));
                continue;
            }
            /* TensorFlow's order: the two rows across x first, then across y */
            const float *p[4];
            for (int i = 0; i < 4; i++) p[i] = idx[i] >= 0 ? xn + idx[i] * C : NULL;
            const float wx0 = ax[0], wx1 = ax[1], wy0 = ax[2], wy1 = ax[3];
            for (int64_t k = 0; k < C; k++) {
                float v0 = p[0] ? p[0][k] : fill_value, v1 = p[1] ? p[1][k] : fill_value;
                float v2 = p[2] ? p[2][k] : fill_value, v3 = p[3] ? p[3][k] : fill_value;
                yp[k] = wy0 * (wx0 * v0 + wx1 * v1) + wy1 * (wx0 * v2 + wx1 * v3);
            }
        }
    }
}

void fnn_warp_backward(float *dx, const float *dy, const float *transforms, int64_t N,
                       int64_t H, int64_t W, int64_t C, int64_t OH, int64_t OW,
                       int interpolation, int fill_mode) {
    int nt = fnn_threads_for(N * (OH * OW * (C * 4 + 16) + H * W * C));
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(guided)
    for (int64_t n = 0; n < N; n++) {
        float *dxn = dx + n * H * W * C;
        const float *t = transforms + n * 8;
        memset(dxn, 0, (size_t)(H * W * C) * sizeof(float));
        for (int64_t oy = 0; oy < OH; oy++)
            for (int64_t ox = 0; ox < OW; ox++) {
                int64_t idx[4];
                float wt[4], ax[4];
                if (!warp_taps(t, ox, oy, H, W, interpolation, fill_mode, idx, wt, ax)) continue;
                const float *g = dy + ((n * OH + oy) * OW + ox) * C;
                for (int i = 0; i < 4; i++) {
                    if (idx[i] < 0 || wt[i] == 0.0f) continue;
                    float *d = dxn + idx[i] * C;
                    for (int64_t k = 0; k < C; k++) d[k] += wt[i] * g[k];
                }
            }
    }
}

/* ---- brightness and contrast ----------------------------------------------------- */
void fnn_brightness_forward(float *y, const float *x, const float *delta, int64_t N,
                            int64_t P, float lo, float hi) {
    int nt = fnn_threads_for(N * P * 2);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(guided)
    for (int64_t n = 0; n < N; n++) {
        const float d = delta[n];
        for (int64_t j = n * P; j < (n + 1) * P; j++) y[j] = clipf(x[j] + d, lo, hi);
    }
}

void fnn_brightness_backward(float *dx, const float *dy, const float *x, const float *delta,
                             int64_t N, int64_t P, float lo, float hi) {
    int nt = fnn_threads_for(N * P * 2);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(guided)
    for (int64_t n = 0; n < N; n++) {
        const float d = delta[n];
        for (int64_t j = n * P; j < (n + 1) * P; j++) {
            const float z = x[j] + d;
            dx[j] = (z >= lo && z <= hi) ? dy[j] : 0.0f;
        }
    }
}

/* Per-channel means over the HW pixels of one image, summed in pixel order. */
static void channel_mean(float *m, const float *x, int64_t HW, int64_t C) {
    for (int64_t k = 0; k < C; k++) m[k] = 0.0f;
    for (int64_t p = 0; p < HW; p++)
        for (int64_t k = 0; k < C; k++) m[k] += x[p * C + k];
    for (int64_t k = 0; k < C; k++) m[k] /= (float)HW;
}

size_t fnn_contrast_workspace_size(int64_t N, int64_t C) { return (size_t)(2 * N * C); }

void fnn_contrast_forward(float *y, const float *x, const float *factor, int64_t N, int64_t HW,
                          int64_t C, float lo, float hi, float *work) {
    int nt = fnn_threads_for(N * HW * C * 3);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(guided)
    for (int64_t n = 0; n < N; n++) {
        float *m = work + n * C;
        const float *xn = x + n * HW * C, f = factor[n];
        float *yn = y + n * HW * C;
        channel_mean(m, xn, HW, C);
        for (int64_t p = 0; p < HW; p++)
            for (int64_t k = 0; k < C; k++)
                yn[p * C + k] = clipf((xn[p * C + k] - m[k]) * f + m[k], lo, hi);
    }
}

void fnn_contrast_backward(float *dx, const float *dy, const float *x, const float *factor,
                           int64_t N, int64_t HW, int64_t C, float lo, float hi, float *work) {
    int nt = fnn_threads_for(N * HW * C * 5);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(guided)
    for (int64_t n = 0; n < N; n++) {
        float *m = work + 2 * n * C, *mg = m + C;
        const float *xn = x + n * HW * C, *gn = dy + n * HW * C, f = factor[n];
        float *dxn = dx + n * HW * C;
        channel_mean(m, xn, HW, C);
        /* dx first holds the clipped gradient g (dx may be dy: each element is read
         * before it is written) */
        for (int64_t p = 0; p < HW; p++)
            for (int64_t k = 0; k < C; k++) {
                const float z = (xn[p * C + k] - m[k]) * f + m[k];
                dxn[p * C + k] = (z >= lo && z <= hi) ? gn[p * C + k] : 0.0f;
            }
        channel_mean(mg, dxn, HW, C);
        for (int64_t p = 0; p < HW; p++)
            for (int64_t k = 0; k < C; k++)
                dxn[p * C + k] = f * dxn[p * C + k] + (1.0f - f) * mg[k];
    }
}
