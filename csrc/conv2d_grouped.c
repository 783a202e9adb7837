/* conv2d_grouped.c -- direct 2-D convolution with dilation and groups, NHWC: the path of
 * Conv2D(dilation_rate > 1 or groups > 1), DepthwiseConv2D and SeparableConv2D's depthwise
 * step (a depthwise kernel (KH, KW, C, M) is the grouped kernel (KH, KW, 1, C*M) with G = C).
 * The GEMM path (conv2d.c) keeps dilation 1, groups 1.
 *
 * Channels split into G groups: input channels Cg = C / G, filters Fg = F / G; output
 * channel f belongs to group g = f / Fg and reads input channels g*Cg .. g*Cg + Cg - 1.
 * With ih = oh*SH - PT + kh*DH and iw = ow*SW - PL + kw*DW (taps outside the image read 0):
 *   forward          y[n,oh,ow,f] = b[f] + sum_{kh,kw,ci} x[n,ih,iw,g*Cg+ci] w[kh,kw,ci,f]
 *   backward_input   dx = the adjoint (a scatter per image)
 *   backward_weight  dw[kh,kw,ci,f] = sum_{n,oh,ow} x[n,ih,iw,g*Cg+ci] dy[n,oh,ow,f];
 *                    db[f] = sum dy[n,oh,ow,f]
 * Threads split images (forward: output rows); the weight gradient sums a fixed number of
 * batch chunks into their own partials in the workspace and adds them in order, so every
 * result is bitwise independent of the thread count. */
#include <string.h>
#include "parallel.h"

#define GCONV_CHUNKS 8

static inline int64_t gconv_ih(const fnn_gconv2d_shape *s, int64_t oh, int64_t kh) {
    return oh * s->SH - s->PT + kh * s->DH;
}
static inline int64_t gconv_iw(const fnn_gconv2d_shape *s, int64_t ow, int64_t kw) {
    return ow * s->SW - s->PL + kw * s->DW;
}

/* y_row[F] += the taps of one output pixel. */
FNN_INLINE void pixel_forward(float *restrict yp, const float *xn, const float *w,
                              const fnn_gconv2d_shape *s, int64_t oh, int64_t ow) {
    const int64_t C = s->C, F = s->F, Cg = C / s->G, Fg = F / s->G;
    for (int64_t kh = 0; kh < s->KH; kh++) {
        const int64_t ih = gconv_ih(s, oh, kh);
        if (ih < 0 || ih >= s->H) continue;
        for (int64_t kw = 0; kw < s->KW; kw++) {
            const int64_t iw = gconv_iw(s, ow, kw);
            if (iw < 0 || iw >= s->W) continue;
            const float *xp = xn + (ih * s->W + iw) * C;
            const float *wt = w + (kh * s->KW + kw) * Cg * F;
            if (Cg == 1 && Fg == 1) { /* depthwise, multiplier 1: vectorizes over channels */
                for (int64_t f = 0; f < F; f++) yp[f] += xp[f] * wt[f];
            } else if (Cg == 1) { /* depthwise with a multiplier: Fg filters per channel */
                for (int64_t c = 0; c < C; c++)
                    for (int64_t m = 0; m < Fg; m++) yp[c * Fg + m] += xp[c] * wt[c * Fg + m];
            } else {
                for (int64_t g = 0; g < s->G; g++)
                    for (int64_t ci = 0; ci < Cg; ci++) {
                        const float v = xp[g * Cg + ci];
                        const float *wr = wt + ci * F + g * Fg;
                        float *yr = yp + g * Fg;
                        for (int64_t fo = 0; fo < Fg; fo++) yr[fo] += v * wr[fo];
                    }
            }
        }
    }
}

/* One output row (image n, row oh), bias first.  The hot loops of this file are compiled
 * for AVX-512, AVX2 and baseline x86-64 (FNN_VECTOR_CLONES, as Winograd's). */
FNN_VECTOR_CLONES
static void row_forward(float *y, const float *xn, const float *w, const float *b,
                        const fnn_gconv2d_shape *s, int64_t oh) {
    for (int64_t ow = 0; ow < s->OW; ow++) {
        float *yp = y + ow * s->F;
        for (int64_t f = 0; f < s->F; f++) yp[f] = b ? b[f] : 0.0f;
        pixel_forward(yp, xn, w, s, oh, ow);
    }
}

void fnn_gconv2d_forward(float *y, const float *x, const float *w, const float *b,
                         const fnn_gconv2d_shape *s) {
    const int64_t F = s->F;
    const int64_t work = s->N * s->OH * s->OW * s->KH * s->KW * (s->C / s->G) * F;
    int nt = fnn_threads_for(work);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t row = 0; row < s->N * s->OH; row++) {
        const int64_t n = row / s->OH, oh = row % s->OH;
        row_forward(y + row * s->OW * F, x + n * s->H * s->W * s->C, w, b, s, oh);
    }
}

FNN_VECTOR_CLONES
static void image_backward_input(float *dx, const float *dy, const float *w,
                                 const fnn_gconv2d_shape *s, int64_t n) {
    const int64_t C = s->C, F = s->F, Cg = C / s->G, Fg = F / s->G;
    float *dxn = dx + n * s->H * s->W * C;
    memset(dxn, 0, (size_t)(s->H * s->W * C) * sizeof(float));
    for (int64_t oh = 0; oh < s->OH; oh++)
        for (int64_t ow = 0; ow < s->OW; ow++) {
            const float *g_ = dy + ((n * s->OH + oh) * s->OW + ow) * F;
            for (int64_t kh = 0; kh < s->KH; kh++) {
                const int64_t ih = gconv_ih(s, oh, kh);
                if (ih < 0 || ih >= s->H) continue;
                for (int64_t kw = 0; kw < s->KW; kw++) {
                    const int64_t iw = gconv_iw(s, ow, kw);
                    if (iw < 0 || iw >= s->W) continue;
                    float *dp = dxn + (ih * s->W + iw) * C;
                    const float *wt = w + (kh * s->KW + kw) * Cg * F;
                    if (Cg == 1 && Fg == 1) {
                        for (int64_t f = 0; f < F; f++) dp[f] += g_[f] * wt[f];
                    } else if (Cg == 1) {
                        for (int64_t c = 0; c < C; c++) {
                            float acc = 0.0f;
                            for (int64_t m = 0; m < Fg; m++)
                                acc += g_[c * Fg + m] * wt[c * Fg + m];
                            dp[c] += acc;
                        }
                    } else {
                        for (int64_t gr = 0; gr < s->G; gr++)
                            for (int64_t ci = 0; ci < Cg; ci++) {
                                const float *wr = wt + ci * F + gr * Fg, *gr_ = g_ + gr * Fg;
                                float acc = 0.0f;
                                for (int64_t fo = 0; fo < Fg; fo++) acc += gr_[fo] * wr[fo];
                                dp[gr * Cg + ci] += acc;
                            }
                    }
                }
            }
        }
}

void fnn_gconv2d_backward_input(float *dx, const float *dy, const float *w,
                                const fnn_gconv2d_shape *s) {
    const int64_t work = s->N * s->OH * s->OW * s->KH * s->KW * (s->C / s->G) * s->F;
    int nt = fnn_threads_for(work);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t n = 0; n < s->N; n++) image_backward_input(dx, dy, w, s, n);
}

static int64_t gconv_chunks(const fnn_gconv2d_shape *s) {
    return fnn_min64(GCONV_CHUNKS, s->N);
}

size_t fnn_gconv2d_workspace_size(const fnn_gconv2d_shape *s) {
    return (size_t)(gconv_chunks(s) * (s->KH * s->KW * (s->C / s->G) * s->F + s->F));
}

FNN_VECTOR_CLONES
static void chunk_backward_weight(float *work, const float *dy, const float *x,
                                  const fnn_gconv2d_shape *s, int64_t ch, int64_t chunks) {
    const int64_t C = s->C, F = s->F, Cg = C / s->G, Fg = F / s->G;
    const int64_t nw = s->KH * s->KW * Cg * F, part = nw + F;
    float *pw = work + ch * part, *pb = pw + nw;
    memset(pw, 0, (size_t)part * sizeof(float));
    const int64_t n0 = s->N * ch / chunks, n1 = s->N * (ch + 1) / chunks;
    for (int64_t n = n0; n < n1; n++) {
        const float *xn = x + n * s->H * s->W * C;
        for (int64_t oh = 0; oh < s->OH; oh++)
            for (int64_t ow = 0; ow < s->OW; ow++) {
                const float *g_ = dy + ((n * s->OH + oh) * s->OW + ow) * F;
                for (int64_t f = 0; f < F; f++) pb[f] += g_[f];
                for (int64_t kh = 0; kh < s->KH; kh++) {
                    const int64_t ih = gconv_ih(s, oh, kh);
                    if (ih < 0 || ih >= s->H) continue;
                    for (int64_t kw = 0; kw < s->KW; kw++) {
                        const int64_t iw = gconv_iw(s, ow, kw);
                        if (iw < 0 || iw >= s->W) continue;
                        const float *xp = xn + (ih * s->W + iw) * C;
                        float *wt = pw + (kh * s->KW + kw) * Cg * F;
                        if (Cg == 1 && Fg == 1) {
                            for (int64_t f = 0; f < F; f++) wt[f] += xp[f] * g_[f];
                        } else if (Cg == 1) {
                            for (int64_t c = 0; c < C; c++)
                                for (int64_t m = 0; m < Fg; m++)
                                    wt[c * Fg + m] += xp[c] * g_[c * Fg + m];
                        } else {
                            for (int64_t gr = 0; gr < s->G; gr++)
                                for (int64_t ci = 0; ci < Cg; ci++) {
                                    const float v = xp[gr * Cg + ci];
                                    float *wr = wt + ci * F + gr * Fg;
                                    const float *gr_ = g_ + gr * Fg;
                                    for (int64_t fo = 0; fo < Fg; fo++) wr[fo] += v * gr_[fo];
                                }
                        }
                    }
                }
            }
    }
}

void fnn_gconv2d_backward_weight(float *dw, float *db, const float *dy, const float *x,
                                 const fnn_gconv2d_shape *s, float *work) {
    const int64_t F = s->F, Cg = s->C / s->G;
    const int64_t nw = s->KH * s->KW * Cg * F, part = nw + F, chunks = gconv_chunks(s);
    const int64_t total = s->N * s->OH * s->OW * s->KH * s->KW * Cg * F;
    int nt = fnn_threads_for(total);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t ch = 0; ch < chunks; ch++) chunk_backward_weight(work, dy, x, s, ch, chunks);
    /* add the chunks' partials in chunk order */
    memcpy(dw, work, (size_t)nw * sizeof(float));
    if (db) memcpy(db, work + nw, (size_t)F * sizeof(float));
    for (int64_t ch = 1; ch < chunks; ch++) {
        const float *pw = work + ch * part;
        for (int64_t i = 0; i < nw; i++) dw[i] += pw[i];
        if (db)
            for (int64_t f = 0; f < F; f++) db[f] += pw[nw + f];
    }
}
