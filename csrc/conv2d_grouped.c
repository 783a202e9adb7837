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
 * for AVX-512, AVX2 and baseline x86-64 (FNN_ISA_VARIANTS, util.h). */
FNN_INLINE void row_forward(float *y, const float *xn, const float *w, const float *b,
                            const fnn_gconv2d_shape *s, int64_t oh) {
    for (int64_t ow = 0; ow < s->OW; ow++) {
        float *yp = y + ow * s->F;
        for (int64_t f = 0; f < s->F; f++) yp[f] = b ? b[f] : 0.0f;
        pixel_forward(yp, xn, w, s, oh, ow);
    }
}
FNN_ISA_VARIANTS(row_forward,
                 (float *y, const float *xn, const float *w, const float *b,
                  const fnn_gconv2d_shape *s, int64_t oh),
                 (y, xn, w, b, s, oh))

void fnn_gconv2d_forward(float *y, const float *x, const float *w, const float *b,
                         const fnn_gconv2d_shape *s) {
    const int64_t F = s->F;
    const int isa = fnn_vector_isa();
    const int64_t work = s->N * s->OH * s->OW * s->KH * s->KW * (s->C / s->G) * F;
    int nt = fnn_threads_for(work);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t row = 0; row < s->N * s->OH; row++) {
        const int64_t n = row / s->OH, oh = row % s->OH;
        FNN_ISA_CALL(isa, row_forward,
                     (y + row * s->OW * F, x + n * s->H * s->W * s->C, w, b, s, oh));
    }
}

FNN_INLINE void image_backward_input(float *dx, const float *dy, const float *w,
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
FNN_ISA_VARIANTS(image_backward_input,
                 (float *dx, const float *dy, const float *w, const fnn_gconv2d_shape *s,
                  int64_t n),
                 (dx, dy, w, s, n))

void fnn_gconv2d_backward_input(float *dx, const float *dy, const float *w,
                                const fnn_gconv2d_shape *s) {
    const int isa = fnn_vector_isa();
    const int64_t work = s->N * s->OH * s->OW * s->KH * s->KW * (s->C / s->G) * s->F;
    int nt = fnn_threads_for(work);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t n = 0; n < s->N; n++)
        FNN_ISA_CALL(isa, image_backward_input, (dx, dy, w, s, n));
}

static int64_t gconv_chunks(const fnn_gconv2d_shape *s) {
    return fnn_min64(GCONV_CHUNKS, s->N);
}

size_t fnn_gconv2d_workspace_size(const fnn_gconv2d_shape *s) {
    return (size_t)(gconv_chunks(s) * (s->KH * s->KW * (s->C / s->G) * s->F + s->F));
}

FNN_INLINE void chunk_backward_weight(float *work, const float *dy, const float *x,
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
FNN_ISA_VARIANTS(chunk_backward_weight,
                 (float *work, const float *dy, const float *x, const fnn_gconv2d_shape *s,
                  int64_t ch, int64_t chunks),
                 (work, dy, x, s, ch, chunks))

void fnn_gconv2d_backward_weight(float *dw, float *db, const float *dy, const float *x,
                                 const fnn_gconv2d_shape *s, float *work) {
    const int isa = fnn_vector_isa();
    const int64_t F = s->F, Cg = s->C / s->G;
    const int64_t nw = s->KH * s->KW * Cg * F, part = nw + F, chunks = gconv_chunks(s);
    const int64_t total = s->N * s->OH * s->OW * s->KH * s->KW * Cg * F;
    int nt = fnn_threads_for(total);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t ch = 0; ch < chunks; ch++)
        FNN_ISA_CALL(isa, chunk_backward_weight, (work, dy, x, s, ch, chunks));
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

/* ---- the GEMM path: groups with many channels each -------------------------------------
 * For each group g and each chunk of whole images (a fixed number of rows, so the same
 * chunks whatever the thread count), the group's patches are copied into a row-major
 * matrix col (rows: output pixels; columns: (kh, kw, ci), the kernel's row order) and:
 *   forward          y[:, g*Fg..]  = col . w_g              (w_g: kernel columns of g, ld F)
 *   backward_input   dcol = dy_g . w_g^T, then scattered back (each image by one thread)
 *   backward_weight  dw_g (+)= col^T . dy_g, chunk after chunk (beta = 1 after the first)
 * The GEMM's results do not depend on the thread count (gemm.c), nor do the copies. */
#define GCONV_GEMM_COL_FLOATS (1 << 20) /* col rows per chunk: about this many floats */

int fnn_gconv2d_uses_gemm(const fnn_gconv2d_shape *s) {
    const int64_t Cg = s->C / s->G, Fg = s->F / s->G;
    return Cg > 1 && Cg * s->KH * s->KW >= 32 && Fg >= 8;
}

/* images per chunk */
static int64_t gemm_chunk_images(const fnn_gconv2d_shape *s) {
    const int64_t kg = s->KH * s->KW * (s->C / s->G), per_image = s->OH * s->OW * kg;
    int64_t nb = GCONV_GEMM_COL_FLOATS / (per_image > 0 ? per_image : 1);
    return nb < 1 ? 1 : nb > s->N ? s->N : nb;
}

static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }

size_t fnn_gconv2d_gemm_workspace_size(const fnn_gconv2d_shape *s) {
    const int64_t kg = s->KH * s->KW * (s->C / s->G), fg = s->F / s->G;
    const int64_t rows = gemm_chunk_images(s) * s->OH * s->OW;
    size_t g = fnn_sgemm_workspace_size(rows, fg, kg);
    g = max_size(g, fnn_sgemm_workspace_size(rows, kg, fg));
    g = max_size(g, fnn_sgemm_workspace_size(kg, fg, rows));
    return (size_t)(rows * kg) + g + 16;
}

/* col[r, (kh*KW + kw)*Cg + ci] = x[n, ih, iw, g*Cg + ci] (0 outside the image), for the
 * images [n0, n1) */
static void im2col_group(float *col, const float *x, const fnn_gconv2d_shape *s, int64_t g,
                         int64_t n0, int64_t n1) {
    const int64_t Cg = s->C / s->G, kg = s->KH * s->KW * Cg, rows = (n1 - n0) * s->OH * s->OW;
    int nt = fnn_threads_for(rows * kg);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const int64_t n = n0 + r / (s->OH * s->OW), p = r % (s->OH * s->OW);
        const int64_t oh = p / s->OW, ow = p % s->OW;
        float *dst = col + r * kg;
        for (int64_t kh = 0; kh < s->KH; kh++) {
            const int64_t ih = gconv_ih(s, oh, kh);
            for (int64_t kw = 0; kw < s->KW; kw++) {
                const int64_t iw = gconv_iw(s, ow, kw);
                float *d = dst + (kh * s->KW + kw) * Cg;
                if (ih < 0 || ih >= s->H || iw < 0 || iw >= s->W) {
                    memset(d, 0, (size_t)Cg * sizeof(float));
                } else {
                    memcpy(d, x + ((n * s->H + ih) * s->W + iw) * s->C + g * Cg,
                           (size_t)Cg * sizeof(float));
                }
            }
        }
    }
}

/* dx[n, ih, iw, g*Cg + ci] += dcol[...] for the images [n0, n1), one image per thread */
static void col2im_group(float *dx, const float *dcol, const fnn_gconv2d_shape *s, int64_t g,
                         int64_t n0, int64_t n1) {
    const int64_t Cg = s->C / s->G, kg = s->KH * s->KW * Cg, P = s->OH * s->OW;
    int nt = fnn_threads_for((n1 - n0) * P * kg);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t n = n0; n < n1; n++)
        for (int64_t p = 0; p < P; p++) {
            const int64_t oh = p / s->OW, ow = p % s->OW;
            const float *src = dcol + ((n - n0) * P + p) * kg;
            for (int64_t kh = 0; kh < s->KH; kh++) {
                const int64_t ih = gconv_ih(s, oh, kh);
                if (ih < 0 || ih >= s->H) continue;
                for (int64_t kw = 0; kw < s->KW; kw++) {
                    const int64_t iw = gconv_iw(s, ow, kw);
                    if (iw < 0 || iw >= s->W) continue;
                    float *d = dx + ((n * s->H + ih) * s->W + iw) * s->C + g * Cg;
                    const float *v = src + (kh * s->KW + kw) * Cg;
                    for (int64_t ci = 0; ci < Cg; ci++) d[ci] += v[ci];
                }
            }
        }
}

void fnn_gconv2d_forward_gemm(float *y, const float *x, const float *w, const float *b,
                              const fnn_gconv2d_shape *s, float *work, size_t work_size) {
    const int64_t F = s->F, Fg = F / s->G, kg = s->KH * s->KW * (s->C / s->G);
    const int64_t nb = gemm_chunk_images(s), P = s->OH * s->OW;
    const size_t col_size = (size_t)(nb * P * kg);
    float *col = work, *gw = work + col_size;
    const size_t gws = work_size - col_size;
    for (int64_t n0 = 0; n0 < s->N; n0 += nb) {
        const int64_t n1 = fnn_min64(s->N, n0 + nb), rows = (n1 - n0) * P;
        for (int64_t g = 0; g < s->G; g++) {
            im2col_group(col, x, s, g, n0, n1);
            fnn_sgemm(y + n0 * P * F + g * Fg, col, w + g * Fg, rows, Fg, kg, kg, F, F, 0, 0,
                      1.0f, 0.0f, gw, gws);
        }
        if (b) {
            float *yc = y + n0 * P * F;
            for (int64_t r = 0; r < rows; r++)
                for (int64_t f = 0; f < F; f++) yc[r * F + f] += b[f];
        }
    }
}

void fnn_gconv2d_backward_input_gemm(float *dx, const float *dy, const float *w,
                                     const fnn_gconv2d_shape *s, float *work,
                                     size_t work_size) {
    const int64_t F = s->F, Fg = F / s->G, kg = s->KH * s->KW * (s->C / s->G);
    const int64_t nb = gemm_chunk_images(s), P = s->OH * s->OW;
    const size_t col_size = (size_t)(nb * P * kg);
    float *col = work, *gw = work + col_size;
    const size_t gws = work_size - col_size;
    memset(dx, 0, (size_t)(s->N * s->H * s->W * s->C) * sizeof(float));
    for (int64_t n0 = 0; n0 < s->N; n0 += nb) {
        const int64_t n1 = fnn_min64(s->N, n0 + nb), rows = (n1 - n0) * P;
        for (int64_t g = 0; g < s->G; g++) {
            /* dcol (rows x kg) = dy_g (rows x Fg, ld F) . w_g^T (w_g: kg x Fg, ld F) */
            fnn_sgemm(col, dy + n0 * P * F + g * Fg, w + g * Fg, rows, kg, Fg, F, F, kg, 0, 1,
                      1.0f, 0.0f, gw, gws);
            col2im_group(dx, col, s, g, n0, n1);
        }
    }
}

void fnn_gconv2d_backward_weight_gemm(float *dw, float *db, const float *dy, const float *x,
                                      const fnn_gconv2d_shape *s, float *work,
                                      size_t work_size) {
    const int64_t F = s->F, Fg = F / s->G, kg = s->KH * s->KW * (s->C / s->G);
    const int64_t nb = gemm_chunk_images(s), P = s->OH * s->OW;
    const size_t col_size = (size_t)(nb * P * kg);
    float *col = work, *gw = work + col_size;
    const size_t gws = work_size - col_size;
    for (int64_t g = 0; g < s->G; g++)
        for (int64_t n0 = 0; n0 < s->N; n0 += nb) {
            const int64_t n1 = fnn_min64(s->N, n0 + nb), rows = (n1 - n0) * P;
            im2col_group(col, x, s, g, n0, n1);
            /* dw_g (kg x Fg, ld F) (+)= col^T (col: rows x kg) . dy_g (rows x Fg, ld F) */
            fnn_sgemm(dw + g * Fg, col, dy + n0 * P * F + g * Fg, kg, Fg, rows, kg, F, F, 1, 0,
                      1.0f, n0 == 0 ? 0.0f : 1.0f, gw, gws);
        }
    if (db) {
        for (int64_t f = 0; f < F; f++) db[f] = 0.0f;
        for (int64_t r = 0; r < s->N * P; r++)
            for (int64_t f = 0; f < F; f++) db[f] += dy[r * F + f];
    }
}
