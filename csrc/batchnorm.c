/* batchnorm.c -- batch normalization over one axis of x, seen as (A, C, B): A the
 * product of the axes before the normalized (channel) axis, C its size, B the product of
 * the axes after it (B = 1 for channels last, the common case).  M = A * B.
 *   stats     mean[c] = sum x / M,  var[c] = sum (x - mean)^2 / M       (biased)
 *   forward   y = x * s[c] + t[c],  s = gamma / sqrt(var + eps),  t = beta - mean * s,
 *             then max(y, 0) when relu (NaN stays NaN)
 *   backward  g = dy, masked by y > 0 when relu;  xhat = (x - mean) / sqrt(var + eps)
 *             dbeta[c] = sum g,  dgamma[c] = sum g * xhat
 *             batch statistics (training):  dx = s * (g - dbeta / M - xhat * dgamma / M)
 *             fixed statistics (inference): dx = s * g
 * gamma and beta may be NULL (scale=False / center=False: 1 and 0).
 *
 * Sums over the M positions are taken in fixed chunks of CHUNK rows of A (float
 * partial sums per chunk, into the workspace), then added chunk by chunk in double, so
 * results do not depend on the thread count.  The statistics are one pass over x with a
 * shift (each channel's first value): var = E[(x-k)^2] - E[x-k]^2 without cancellation
 * for data whose mean is far from 0. */
#include <math.h>
#include "parallel.h"

#define CHUNK 64

static int64_t n_chunks(int64_t A) { return (A + CHUNK - 1) / CHUNK; }

size_t fnn_batchnorm_workspace_size(int64_t A, int64_t C, int64_t B) {
    (void)B;
    int64_t n = 2 * C * n_chunks(A) + 3 * C; /* chunk sums, then 3 per-channel rows */
    return (size_t)(n > 0 ? n : 1);
}

/* ---- per-chunk sums (the loops the compiler vectorizes, compiled per ISA) ---------- */

/* s1[c] = sum (x - k[c]), s2[c] = sum (x - k[c])^2 over rows [a0, a1) */
FNN_INLINE void stat_sums(float *restrict s1, float *restrict s2, const float *x,
                          const float *restrict k, int64_t a0, int64_t a1, int64_t C,
                          int64_t B) {
    for (int64_t c = 0; c < C; c++) s1[c] = s2[c] = 0.0f;
    if (B == 1) {
        for (int64_t a = a0; a < a1; a++) {
            const float *restrict xr = x + a * C;
            for (int64_t c = 0; c < C; c++) {
                float d = xr[c] - k[c];
                s1[c] += d;
                s2[c] += d * d;
            }
        }
        return;
    }
    for (int64_t a = a0; a < a1; a++)
        for (int64_t c = 0; c < C; c++) {
            const float *restrict xr = x + (a * C + c) * B;
            float u = 0.0f, v = 0.0f, kc = k[c];
            for (int64_t b = 0; b < B; b++) {
                float d = xr[b] - kc;
                u += d;
                v += d * d;
            }
            s1[c] += u;
            s2[c] += v;
        }
}

/* s1[c] = sum g, s2[c] = sum g * (x - mean[c]) over rows [a0, a1); g = dy (y > 0) */
FNN_INLINE void grad_sums(float *restrict s1, float *restrict s2, const float *dy,
                          const float *x, const float *y, const float *restrict mean,
                          int64_t a0, int64_t a1, int64_t C, int64_t B) {
    for (int64_t c = 0; c < C; c++) s1[c] = s2[c] = 0.0f;
    if (B == 1) {
        for (int64_t a = a0; a < a1; a++) {
            const float *restrict dr = dy + a * C, *restrict xr = x + a * C;
            if (y) {
                const float *restrict yr = y + a * C;
                for (int64_t c = 0; c < C; c++) {
                    float d = dr[c];
                    float g = yr[c] > 0.0f ? d : 0.0f;
                    s1[c] += g;
                    s2[c] += g * (xr[c] - mean[c]);
                }
            } else {
                for (int64_t c = 0; c < C; c++) {
                    float g = dr[c];
                    s1[c] += g;
                    s2[c] += g * (xr[c] - mean[c]);
                }
            }
        }
        return;
    }
    for (int64_t a = a0; a < a1; a++)
        for (int64_t c = 0; c < C; c++) {
            int64_t o = (a * C + c) * B;
            float u = 0.0f, v = 0.0f, m = mean[c];
            for (int64_t b = 0; b < B; b++) {
                float d = dy[o + b];
                float g = !y || y[o + b] > 0.0f ? d : 0.0f;
                u += g;
                v += g * (x[o + b] - m);
            }
            s1[c] += u;
            s2[c] += v;
        }
}

/* y = x * s[c] + t[c] (then relu) over rows [a0, a1) */
FNN_INLINE void apply_rows(float *y, const float *x, const float *restrict s,
                           const float *restrict t, int64_t a0, int64_t a1, int64_t C,
                           int64_t B, int relu) {
    if (B == 1) {
        for (int64_t a = a0; a < a1; a++) {
            float *yr = y + a * C;
            const float *xr = x + a * C;
            if (relu)
                _Pragma("GCC ivdep") for (int64_t c = 0; c < C; c++) {
                    float v = xr[c] * s[c] + t[c];
                    yr[c] = v < 0.0f ? 0.0f : v;
                }
            else
                _Pragma("GCC ivdep") for (int64_t c = 0; c < C; c++) yr[c] = xr[c] * s[c] + t[c];
        }
        return;
    }
    for (int64_t a = a0; a < a1; a++)
        for (int64_t c = 0; c < C; c++) {
            float *yr = y + (a * C + c) * B;
            const float *xr = x + (a * C + c) * B;
            float sc = s[c], tc = t[c];
            if (relu)
                for (int64_t b = 0; b < B; b++) {
                    float v = xr[b] * sc + tc;
                    yr[b] = v < 0.0f ? 0.0f : v;
                }
            else
                for (int64_t b = 0; b < B; b++) yr[b] = xr[b] * sc + tc;
        }
}

/* dx = p[c] * g + q[c] * x + r[c] over rows [a0, a1); g = dy (y > 0) */
FNN_INLINE void dx_rows(float *dx, const float *dy, const float *x, const float *y,
                        const float *restrict p, const float *restrict q,
                        const float *restrict r, int64_t a0, int64_t a1, int64_t C,
                        int64_t B) {
    for (int64_t a = a0; a < a1; a++)
        for (int64_t c0 = 0; c0 < C; c0 += (B == 1 ? C : 1)) {
            /* B == 1: one pass over the row's channels; else one channel's B values */
            int64_t o = B == 1 ? a * C : (a * C + c0) * B, n = B == 1 ? C : B;
            const float *dr = dy + o, *restrict xr = x + o;
            float *out = dx + o; /* may be dy: each element is read before it is written */
            if (B == 1) {
                if (y) {
                    const float *restrict yr = y + o;
                    _Pragma("GCC ivdep") for (int64_t c = 0; c < n; c++) {
                        float d = dr[c];
                        float g = yr[c] > 0.0f ? d : 0.0f;
                        out[c] = p[c] * g + q[c] * xr[c] + r[c];
                    }
                } else {
                    _Pragma("GCC ivdep") for (int64_t c = 0; c < n; c++) out[c] = p[c] * dr[c] + q[c] * xr[c] + r[c];
                }
            } else {
                float pc = p[c0], qc = q[c0], rc = r[c0];
                for (int64_t b = 0; b < n; b++) {
                    float d = dr[b];
                    float g = !y || y[o + b] > 0.0f ? d : 0.0f;
                    out[b] = pc * g + qc * xr[b] + rc;
                }
            }
        }
}

/* One version per ISA of each body (util.h). */
FNN_ISA_VARIANTS(stat_sums,
             (float *s1, float *s2, const float *x, const float *k, int64_t a0, int64_t a1,
              int64_t C, int64_t B),
             (s1, s2, x, k, a0, a1, C, B))
FNN_ISA_VARIANTS(grad_sums,
             (float *s1, float *s2, const float *dy, const float *x, const float *y,
              const float *mean, int64_t a0, int64_t a1, int64_t C, int64_t B),
             (s1, s2, dy, x, y, mean, a0, a1, C, B))
FNN_ISA_VARIANTS(apply_rows,
             (float *y, const float *x, const float *s, const float *t, int64_t a0,
              int64_t a1, int64_t C, int64_t B, int relu),
             (y, x, s, t, a0, a1, C, B, relu))
FNN_ISA_VARIANTS(dx_rows,
             (float *dx, const float *dy, const float *x, const float *y, const float *p,
              const float *q, const float *r, int64_t a0, int64_t a1, int64_t C, int64_t B),
             (dx, dy, x, y, p, q, r, a0, a1, C, B))

/* ---- the kernels --------------------------------------------------------------------- */

void fnn_batchnorm_stats(float *mean, float *var, const float *x, int64_t A, int64_t C,
                         int64_t B, float *work, size_t work_size) {
    (void)work_size;
    const int64_t nc = n_chunks(A);
    const int isa = fnn_vector_isa();
    float *k = work + 2 * C * nc; /* the shift: each channel's first value */
    for (int64_t c = 0; c < C; c++) k[c] = x[c * B];
    int nt = fnn_threads_for(A * C * B * 3);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t i = 0; i < nc; i++)
        FNN_ISA_CALL(isa, stat_sums, (work + 2 * C * i, work + 2 * C * i + C, x, k, i * CHUNK,
                                  fnn_min64(A, (i + 1) * CHUNK), C, B));
    const double M = (double)A * (double)B;
    for (int64_t c = 0; c < C; c++) {
        double u = 0.0, v = 0.0;
        for (int64_t i = 0; i < nc; i++) {
            u += work[2 * C * i + c];
            v += work[2 * C * i + C + c];
        }
        double m = u / M, s = v / M - m * m;
        mean[c] = (float)(k[c] + m);
        var[c] = (float)(s > 0.0 ? s : 0.0);
    }
}

void fnn_batchnorm_forward(float *y, const float *x, const float *mean, const float *var,
                           const float *gamma, const float *beta, int64_t A, int64_t C,
                           int64_t B, float epsilon, int relu, float *work, size_t work_size) {
    (void)work_size;
    float *s = work, *t = work + C;
    for (int64_t c = 0; c < C; c++) {
        float inv = 1.0f / sqrtf(var[c] + epsilon);
        s[c] = gamma ? gamma[c] * inv : inv;
        t[c] = (beta ? beta[c] : 0.0f) - mean[c] * s[c];
    }
    const int isa = fnn_vector_isa();
    const int64_t nc = n_chunks(A);
    int nt = fnn_threads_for(A * C * B);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t i = 0; i < nc; i++)
        FNN_ISA_CALL(isa, apply_rows, (y, x, s, t, i * CHUNK, fnn_min64(A, (i + 1) * CHUNK), C, B,
                                   relu));
}

void fnn_batchnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
                            const float *x, const float *y, const float *mean,
                            const float *var, const float *gamma, int64_t A, int64_t C,
                            int64_t B, float epsilon, int batch_stats, float *work,
                            size_t work_size) {
    (void)work_size;
    const int64_t nc = n_chunks(A);
    const int isa = fnn_vector_isa();
    int nt = fnn_threads_for(A * C * B * 3);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t i = 0; i < nc; i++)
        FNN_ISA_CALL(isa, grad_sums, (work + 2 * C * i, work + 2 * C * i + C, dy, x, y, mean,
                                  i * CHUNK, fnn_min64(A, (i + 1) * CHUNK), C, B));
    const double M = (double)A * (double)B;
    /* the per-channel coefficients, after the sums (the chunk rows are read first) */
    float *p = work + 2 * C * nc, *q = p + C, *r = q + C;
    for (int64_t c = 0; c < C; c++) {
        double u = 0.0, v = 0.0;
        for (int64_t i = 0; i < nc; i++) {
            u += work[2 * C * i + c];
            v += work[2 * C * i + C + c];
        }
        double inv = 1.0 / sqrt((double)var[c] + (double)epsilon);
        double g = gamma ? gamma[c] : 1.0;
        dbeta[c] = (float)u;
        dgamma[c] = (float)(v * inv);
        p[c] = (float)(g * inv);
        if (batch_stats) { /* dx = p*g - p*u/M - p*inv^2*v/M*(x - mean) */
            double qc = -g * inv * inv * inv * v / M;
            q[c] = (float)qc;
            r[c] = (float)(-g * inv * u / M - qc * mean[c]);
        } else {
            q[c] = r[c] = 0.0f;
        }
    }
    nt = fnn_threads_for(A * C * B * 2);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t i = 0; i < nc; i++)
        FNN_ISA_CALL(isa, dx_rows, (dx, dy, x, y, p, q, r, i * CHUNK,
                                fnn_min64(A, (i + 1) * CHUNK), C, B));
}
