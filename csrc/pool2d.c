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
