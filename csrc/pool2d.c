/* pool2d.c -- max pooling, NHWC.
 *   forward   y[n,oh,ow,c] = max over the window of x[n,ih,iw,c], window clipped to
 *             the image (padding never wins); argmax = ih*W + iw of the winner, the
 *             first in row-major window order on ties.
 *   backward  dx = 0, then dx[n, argmax, c] += dy[n,oh,ow,c] (windows may overlap).
 * Both split the batch between threads; each image is one thread's. */
#include <string.h>
#include "parallel.h"

/* One image's windows (the loop over channels vectorizes; see FNN_INLINE in parallel.h
 * for the per-ISA wrappers below). */
FNN_INLINE void forward_image(float *restrict y, int32_t *restrict argmax, const float *x,
                              const fnn_pool2d_shape *s, int64_t n) {
    const int64_t C = s->C;
    const float *xn = x + n * s->H * s->W * C;
    for (int64_t oh = 0; oh < s->OH; oh++) {
        int64_t h0 = fnn_max64(0, oh * s->SH - s->PT);
        int64_t h1 = fnn_min64(s->H, oh * s->SH - s->PT + s->KH);
        for (int64_t ow = 0; ow < s->OW; ow++) {
            int64_t w0 = fnn_max64(0, ow * s->SW - s->PL);
            int64_t w1 = fnn_min64(s->W, ow * s->SW - s->PL + s->KW);
            int64_t o = ((n * s->OH + oh) * s->OW + ow) * C;
            float *restrict yo = y + o;
            int32_t *restrict ao = argmax + o;
            /* start from the window's first pixel so argmax is always valid */
            const float *x0 = xn + (h0 * s->W + w0) * C;
            int32_t p0 = (int32_t)(h0 * s->W + w0);
            for (int64_t c = 0; c < C; c++) {
                yo[c] = x0[c];
                ao[c] = p0;
            }
            for (int64_t ih = h0; ih < h1; ih++)
                for (int64_t iw = (ih == h0 ? w0 + 1 : w0); iw < w1; iw++) {
                    const float *restrict xp = xn + (ih * s->W + iw) * C;
                    int32_t pos = (int32_t)(ih * s->W + iw);
                    for (int64_t c = 0; c < C; c++) { /* branch-free: vectorizes */
                        float v = xp[c], cur = yo[c];
                        /* v wins when larger, or when it is the window's first NaN (a
                         * NaN propagates, as in Keras): "not v <= cur" is true for a
                         * NaN v, and a NaN cur never loses.  All ones where v wins. */
                        int32_t win = -(int32_t)(!(v <= cur) & (cur == cur));
                        yo[c] = win ? v : cur;
                        ao[c] = (ao[c] & ~win) | (pos & win);
                    }
                }
        }
    }
}

FNN_ISA_VARIANTS(forward_image,
                 (float *y, int32_t *argmax, const float *x, const fnn_pool2d_shape *s,
                  int64_t n),
                 (y, argmax, x, s, n))

void fnn_maxpool2d_forward(float *y, int32_t *argmax, const float *x,
                           const fnn_pool2d_shape *s) {
    int nt = fnn_threads_for(s->N * s->OH * s->OW * s->C * s->KH * s->KW);
    const int isa = fnn_vector_isa();
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(guided)
    for (int64_t n = 0; n < s->N; n++) {
        FNN_ISA_CALL(isa, forward_image, (y, argmax, x, s, n));
    }
}

void fnn_maxpool2d_backward(float *dx, const float *dy, const int32_t *argmax,
                            const fnn_pool2d_shape *s) {
    const int64_t C = s->C, img = s->H * s->W * C, orow = s->OH * s->OW * C;
    int nt = fnn_threads_for(s->N * (img + orow));
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(guided)
    for (int64_t n = 0; n < s->N; n++) {
        float *dxn = dx + n * img;
        memset(dxn, 0, (size_t)img * sizeof(float));
        const float *dyn = dy + n * orow;
        const int32_t *an = argmax + n * orow;
        for (int64_t o = 0; o < orow; o += C)
            for (int64_t c = 0; c < C; c++) dxn[(int64_t)an[o + c] * C + c] += dyn[o + c];
    }
}

/* dz (N, 2PH, 2PW, F) from the pooled gradient of ReLU + 2x2 max pooling: dy reaches
 * its window's winner (pos = 2a + b) where the pooled y > 0 (ReLU's gradient there);
 * every other value is 0. */
/* Pooled row r = (n, i): output rows 2i and 2i + 1. */
FNN_INLINE void scatter_row(float *dz, const float *dy, const float *y, const uint8_t *pos,
                            int64_t r, int64_t PW, int64_t F) {
    const int64_t W = 2 * PW;
    float *top = dz + 2 * r * W * F, *bottom = top + W * F;
    const float *dyr = dy + r * PW * F, *yr = y + r * PW * F;
    const uint8_t *pr = pos + r * PW * F;
    for (int64_t j = 0; j < PW; j++) {
        float *restrict z0 = top + 2 * j * F, *restrict z1 = z0 + F;
        float *restrict z2 = bottom + 2 * j * F, *restrict z3 = z2 + F;
        const float *restrict d = dyr + j * F, *restrict yy = yr + j * F;
        const uint8_t *restrict p = pr + j * F;
        /* the place as a float: compares and selects of one type vectorize */
#pragma GCC ivdep
        for (int64_t f = 0; f < F; f++) {
            const float g = yy[f] > 0.0f ? d[f] : 0.0f, k = (float)p[f];
            z0[f] = k == 0.0f ? g : 0.0f;
            z1[f] = k == 1.0f ? g : 0.0f;
            z2[f] = k == 2.0f ? g : 0.0f;
            z3[f] = k == 3.0f ? g : 0.0f;
        }
    }
}
/* (baseline x86-64 has no blend: GCC left the selects as branches there) */
FNN_ISA_VARIANTS(scatter_row,
                 (float *dz, const float *dy, const float *y, const uint8_t *pos, int64_t r,
                  int64_t PW, int64_t F),
                 (dz, dy, y, pos, r, PW, F))

void fnn_maxpool2x2_relu_scatter(float *dz, const float *dy, const float *y,
                                 const uint8_t *pos, int64_t N, int64_t PH, int64_t PW,
                                 int64_t F) {
    const int64_t rows = N * PH;
    const int isa = fnn_vector_isa();
    int nt = fnn_threads_for(rows * PW * F * 4);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t r = 0; r < rows; r++)
        FNN_ISA_CALL(isa, scatter_row, (dz, dy, y, pos, r, PW, F));
}

/* ---- average pooling ---------------------------------------------------------------
 *   forward   y[n,oh,ow,c] = mean of x[n,ih,iw,c] over the window clipped to the image
 *             (padding is not counted: Keras's "same" average)
 *   backward  dx[n,ih,iw,c] = sum over the windows holding (ih, iw) of dy / count.
 * Global average pooling is the window of the whole image. */
FNN_INLINE void avg_forward_image(float *restrict y, const float *x, const fnn_pool2d_shape *s,
                                  int64_t n) {
    const int64_t C = s->C;
    const float *xn = x + n * s->H * s->W * C;
    for (int64_t oh = 0; oh < s->OH; oh++) {
        int64_t h0 = fnn_max64(0, oh * s->SH - s->PT);
        int64_t h1 = fnn_min64(s->H, oh * s->SH - s->PT + s->KH);
        for (int64_t ow = 0; ow < s->OW; ow++) {
            int64_t w0 = fnn_max64(0, ow * s->SW - s->PL);
            int64_t w1 = fnn_min64(s->W, ow * s->SW - s->PL + s->KW);
            float *restrict yo = y + ((n * s->OH + oh) * s->OW + ow) * C;
            for (int64_t c = 0; c < C; c++) yo[c] = 0.0f;
            for (int64_t ih = h0; ih < h1; ih++)
                for (int64_t iw = w0; iw < w1; iw++) {
                    const float *restrict xp = xn + (ih * s->W + iw) * C;
                    for (int64_t c = 0; c < C; c++) yo[c] += xp[c];
                }
            float inv = 1.0f / (float)((h1 - h0) * (w1 - w0));
            for (int64_t c = 0; c < C; c++) yo[c] *= inv;
        }
    }
}

FNN_INLINE void avg_backward_image(float *restrict dx, const float *restrict dy,
                                   const fnn_pool2d_shape *s, int64_t n) {
    const int64_t C = s->C;
    float *dxn = dx + n * s->H * s->W * C;
    memset(dxn, 0, (size_t)(s->H * s->W * C) * sizeof(float));
    for (int64_t oh = 0; oh < s->OH; oh++) {
        int64_t h0 = fnn_max64(0, oh * s->SH - s->PT);
        int64_t h1 = fnn_min64(s->H, oh * s->SH - s->PT + s->KH);
        for (int64_t ow = 0; ow < s->OW; ow++) {
            int64_t w0 = fnn_max64(0, ow * s->SW - s->PL);
            int64_t w1 = fnn_min64(s->W, ow * s->SW - s->PL + s->KW);
            const float *restrict d = dy + ((n * s->OH + oh) * s->OW + ow) * C;
            float inv = 1.0f / (float)((h1 - h0) * (w1 - w0));
            for (int64_t ih = h0; ih < h1; ih++)
                for (int64_t iw = w0; iw < w1; iw++) {
                    float *restrict dp = dxn + (ih * s->W + iw) * C;
                    for (int64_t c = 0; c < C; c++) dp[c] += d[c] * inv;
                }
        }
    }
}

FNN_ISA_VARIANTS(avg_forward_image,
                 (float *y, const float *x, const fnn_pool2d_shape *s, int64_t n),
                 (y, x, s, n))
FNN_ISA_VARIANTS(avg_backward_image,
                 (float *dx, const float *dy, const fnn_pool2d_shape *s, int64_t n),
                 (dx, dy, s, n))

void fnn_avgpool2d_forward(float *y, const float *x, const fnn_pool2d_shape *s) {
    int nt = fnn_threads_for(s->N * s->OH * s->OW * s->C * s->KH * s->KW);
    const int isa = fnn_vector_isa();
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(guided)
    for (int64_t n = 0; n < s->N; n++) {
        FNN_ISA_CALL(isa, avg_forward_image, (y, x, s, n));
    }
}

void fnn_avgpool2d_backward(float *dx, const float *dy, const fnn_pool2d_shape *s) {
    int nt = fnn_threads_for(s->N * (s->H * s->W * s->C + s->OH * s->OW * s->C * s->KH * s->KW));
    const int isa = fnn_vector_isa();
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(guided)
    for (int64_t n = 0; n < s->N; n++) {
        FNN_ISA_CALL(isa, avg_backward_image, (dx, dy, s, n));
    }
}
