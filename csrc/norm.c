/* norm.c -- per-sample normalizations: LayerNormalization, GroupNormalization and
 * UnitNormalization.
 *
 * layernorm: x seen as (R, K) rows, each normalized over its K values.
 *   mean = sum x / K,  var = sum (x - mean)^2 / K (biased),  rstd = 1 / sqrt(var + eps)
 *   forward   y = (x - mean) * rstd * gamma + beta            (gamma / beta may be NULL)
 *             rms (Keras's rms_scaling): y = x * rstd * gamma  (var is still centred)
 *   backward  xo = (x - shift) * rstd, shift = mean (or 0 when rms), xh = (x - mean) * rstd,
 *             g = dy * gamma;  dgamma = sum_rows dy * xo,  dbeta = sum_rows dy
 *             dx = rstd * (g - mean_K(g) - xh * mean_K(g * xo))  (rms: no mean_K(g) term)
 * groupnorm: x seen as (N, S, C), the C channels split into G groups of C / G; each
 *   (sample, group) is normalized over its S * C / G values (the layernorm maths with
 *   per-channel gamma and beta; dgamma and dbeta sum over samples and positions).
 * unitnorm: rows (R, K);  inv = min(1 / sqrt(sum x^2), 1 / eps);  y = x * inv
 *   backward  dx = inv * (dy - y * sum(dy * y))  (dx = inv * dy where inv was clamped)
 *
 * Threads: rows (samples for groupnorm) are split between threads; every sum over a row
 * is done by one thread in a fixed order (LANES float accumulators, added in double), so
 * results do not depend on the thread count.  The sums over rows (dgamma, dbeta) are
 * taken per fixed chunk of rows (per sample for groupnorm) into the workspace and the
 * chunks added in order, in double. */
#include <math.h>
#include "parallel.h"

#define CHUNK 32 /* rows per partial-sum chunk of layernorm_backward */
#define LANES 16 /* independent accumulators per row sum (the compiler vectorizes them) */

static int64_t n_chunks(int64_t R) { return (R + CHUNK - 1) / CHUNK; }

/* fixed-order total of the LANES accumulators */
FNN_INLINE double lanes_total(const float *acc) {
    double t = 0.0;
    for (int l = 0; l < LANES; l++) t += acc[l];
    return t;
}

/* sum of (x - shift) and of its square over one row (two passes: the mean first) */
FNN_INLINE void row_moments(double *mean, double *var, const float *restrict x, int64_t K) {
    float acc[LANES] = {0};
    int64_t k0 = 0;
    for (; k0 + LANES <= K; k0 += LANES)
        for (int l = 0; l < LANES; l++) acc[l] += x[k0 + l];
    for (int l = 0; k0 + l < K; l++) acc[l] += x[k0 + l];
    double m = lanes_total(acc) / (double)K;
    float mf = (float)m;
    float acc2[LANES] = {0};
    for (k0 = 0; k0 + LANES <= K; k0 += LANES)
        for (int l = 0; l < LANES; l++) {
            float d = x[k0 + l] - mf;
            acc2[l] += d * d;
        }
    for (int l = 0; k0 + l < K; l++) {
        float d = x[k0 + l] - mf;
        acc2[l] += d * d;
    }
    double e = lanes_total(acc2) / (double)K; /* E[(x - mf)^2]; mf is m rounded */
    double dm = m - (double)mf;
    *mean = m;
    *var = e - dm * dm > 0.0 ? e - dm * dm : 0.0;
}

/* ---- LayerNormalization -------------------------------------------------------------- */

FNN_INLINE void ln_forward_rows(float *y, float *mean, float *rstd, const float *x,
                                const float *restrict gamma, const float *restrict beta,
                                int64_t r0, int64_t r1, int64_t K, float eps, int rms) {
    for (int64_t r = r0; r < r1; r++) {
        const float *xr = x + r * K;
        float *yr = y + r * K; /* may be x: each value is read before it is written */
        double m, v;
        row_moments(&m, &v, xr, K);
        float rs = (float)(1.0 / sqrt(v + (double)eps));
        mean[r] = (float)m;
        rstd[r] = rs;
        float shift = rms ? 0.0f : (float)m;
        if (gamma && beta)
            _Pragma("GCC ivdep") for (int64_t k = 0; k < K; k++)
                yr[k] = (xr[k] - shift) * rs * gamma[k] + beta[k];
        else if (gamma)
            _Pragma("GCC ivdep") for (int64_t k = 0; k < K; k++)
                yr[k] = (xr[k] - shift) * rs * gamma[k];
        else if (beta)
            _Pragma("GCC ivdep") for (int64_t k = 0; k < K; k++)
                yr[k] = (xr[k] - shift) * rs + beta[k];
        else
            _Pragma("GCC ivdep") for (int64_t k = 0; k < K; k++) yr[k] = (xr[k] - shift) * rs;
    }
}

/* Rows [r0, r1): dx, and this chunk's partial dgamma (pg) and dbeta (pb). */
FNN_INLINE void ln_backward_rows(float *dx, float *restrict pg, float *restrict pb,
                                 const float *dy, const float *x, const float *mean,
                                 const float *rstd, const float *restrict gamma, int64_t r0,
                                 int64_t r1, int64_t K, int rms) {
    for (int64_t k = 0; k < K; k++) pg[k] = pb[k] = 0.0f;
    for (int64_t r = r0; r < r1; r++) {
        const float *dr = dy + r * K, *restrict xr = x + r * K;
        float *out = dx + r * K; /* may be dy: each value is read before it is written */
        const float m = mean[r], rs = rstd[r], shift = rms ? 0.0f : m;
        float a1[LANES] = {0}, a2[LANES] = {0};
        int64_t k0 = 0;
        for (; k0 + LANES <= K; k0 += LANES)
            for (int l = 0; l < LANES; l++) {
                int64_t k = k0 + l;
                float d = dr[k], xo = (xr[k] - shift) * rs;
                float g = gamma ? d * gamma[k] : d;
                pg[k] += d * xo;
                pb[k] += d;
                a1[l] += g;
                a2[l] += g * xo;
            }
        for (int l = 0; k0 + l < K; l++) {
            int64_t k = k0 + l;
            float d = dr[k], xo = (xr[k] - shift) * rs;
            float g = gamma ? d * gamma[k] : d;
            pg[k] += d * xo;
            pb[k] += d;
            a1[l] += g;
            a2[l] += g * xo;
        }
        const float c1 = rms ? 0.0f : (float)(lanes_total(a1) / (double)K);
        const float c2 = (float)(lanes_total(a2) / (double)K);
        if (gamma)
            _Pragma("GCC ivdep") for (int64_t k = 0; k < K; k++)
                out[k] = rs * (dr[k] * gamma[k] - c1 - (xr[k] - m) * rs * c2);
        else
            _Pragma("GCC ivdep") for (int64_t k = 0; k < K; k++)
                out[k] = rs * (dr[k] - c1 - (xr[k] - m) * rs * c2);
    }
}

/* ---- GroupNormalization (one sample: x (S, C), G groups) ------------------------------ */

/* per-channel sums over the S positions of x - shift[c] (shift NULL: 0), squared or not */
FNN_INLINE void channel_sums(float *restrict acc, const float *restrict x,
                             const float *restrict shift, int64_t S, int64_t C, int square) {
    for (int64_t c = 0; c < C; c++) acc[c] = 0.0f;
    for (int64_t s = 0; s < S; s++) {
        const float *restrict xs = x + s * C;
        if (square)
            _Pragma("GCC ivdep") for (int64_t c = 0; c < C; c++) {
                float d = xs[c] - shift[c];
                acc[c] += d * d;
            }
        else
            _Pragma("GCC ivdep") for (int64_t c = 0; c < C; c++) acc[c] += xs[c];
    }
}

/* y = x * a[c] + b[c] over (S, C); y may be x */
FNN_INLINE void channel_affine(float *y, const float *x, const float *restrict a,
                               const float *restrict b, int64_t S, int64_t C) {
    for (int64_t s = 0; s < S; s++)
        _Pragma("GCC ivdep") for (int64_t c = 0; c < C; c++)
            y[s * C + c] = x[s * C + c] * a[c] + b[c];
}

/* P[c] = sum_s dy, D[c] = sum_s dy * (x - mc[c]) * rc[c] */
FNN_INLINE void channel_grad_sums(float *restrict P, float *restrict D, const float *dy,
                                  const float *restrict x, const float *restrict mc,
                                  const float *restrict rc, int64_t S, int64_t C) {
    for (int64_t c = 0; c < C; c++) P[c] = D[c] = 0.0f;
    for (int64_t s = 0; s < S; s++)
        _Pragma("GCC ivdep") for (int64_t c = 0; c < C; c++) {
            float d = dy[s * C + c];
            P[c] += d;
            D[c] += d * (x[s * C + c] - mc[c]) * rc[c];
        }
}

/* dx = dy * a[c] + x * b[c] + e[c]; dx may be dy */
FNN_INLINE void channel_dx(float *dx, const float *dy, const float *restrict x,
                           const float *restrict a, const float *restrict b,
                           const float *restrict e, int64_t S, int64_t C) {
    for (int64_t s = 0; s < S; s++)
        _Pragma("GCC ivdep") for (int64_t c = 0; c < C; c++)
            dx[s * C + c] = dy[s * C + c] * a[c] + x[s * C + c] * b[c] + e[c];
}

/* ---- UnitNormalization ---------------------------------------------------------------- */

FNN_INLINE float row_inv_norm(const float *restrict x, int64_t K, float eps, int *clamped) {
    float acc[LANES] = {0};
    int64_t k0 = 0;
    for (; k0 + LANES <= K; k0 += LANES)
        for (int l = 0; l < LANES; l++) acc[l] += x[k0 + l] * x[k0 + l];
    for (int l = 0; k0 + l < K; l++) acc[l] += x[k0 + l] * x[k0 + l];
    double ss = lanes_total(acc);
    float inv = ss != ss ? NAN : ss > 0.0 ? (float)(1.0 / sqrt(ss)) : INFINITY;
    float cap = 1.0f / eps;
    *clamped = !(inv < cap); /* NaN rows stay NaN through x * inv */
    return inv < cap || inv != inv ? inv : cap;
}

FNN_INLINE void un_forward_rows(float *y, const float *x, int64_t r0, int64_t r1, int64_t K,
                                float eps) {
    for (int64_t r = r0; r < r1; r++) {
        int clamped;
        float inv = row_inv_norm(x + r * K, K, eps, &clamped);
        const float *xr = x + r * K;
        float *yr = y + r * K;
        _Pragma("GCC ivdep") for (int64_t k = 0; k < K; k++) yr[k] = xr[k] * inv;
    }
}

FNN_INLINE void un_backward_rows(float *dx, const float *dy, const float *x, int64_t r0,
                                 int64_t r1, int64_t K, float eps) {
    for (int64_t r = r0; r < r1; r++) {
        const float *dr = dy + r * K, *restrict xr = x + r * K;
        float *out = dx + r * K; /* may be dy */
        int clamped;
        float inv = row_inv_norm(xr, K, eps, &clamped);
        float t = 0.0f;
        if (!clamped) {
            float acc[LANES] = {0};
            int64_t k0 = 0;
            for (; k0 + LANES <= K; k0 += LANES)
                for (int l = 0; l < LANES; l++) acc[l] += dr[k0 + l] * xr[k0 + l];
            for (int l = 0; k0 + l < K; l++) acc[l] += dr[k0 + l] * xr[k0 + l];
            t = (float)(lanes_total(acc) * (double)inv * (double)inv);
        }
        _Pragma("GCC ivdep") for (int64_t k = 0; k < K; k++)
            out[k] = inv * (dr[k] - xr[k] * t);
    }
}

/* One version per ISA of each body (util.h). */
FNN_ISA_VARIANTS(ln_forward_rows,
             (float *y, float *mean, float *rstd, const float *x, const float *gamma,
              const float *beta, int64_t r0, int64_t r1, int64_t K, float eps, int rms),
             (y, mean, rstd, x, gamma, beta, r0, r1, K, eps, rms))
FNN_ISA_VARIANTS(ln_backward_rows,
             (float *dx, float *pg, float *pb, const float *dy, const float *x,
              const float *mean, const float *rstd, const float *gamma, int64_t r0,
              int64_t r1, int64_t K, int rms),
             (dx, pg, pb, dy, x, mean, rstd, gamma, r0, r1, K, rms))
FNN_ISA_VARIANTS(channel_sums,
             (float *acc, const float *x, const float *shift, int64_t S, int64_t C, int sq),
             (acc, x, shift, S, C, sq))
FNN_ISA_VARIANTS(channel_affine,
             (float *y, const float *x, const float *a, const float *b, int64_t S, int64_t C),
             (y, x, a, b, S, C))
FNN_ISA_VARIANTS(channel_grad_sums,
             (float *P, float *D, const float *dy, const float *x, const float *mc,
              const float *rc, int64_t S, int64_t C),
             (P, D, dy, x, mc, rc, S, C))
FNN_ISA_VARIANTS(channel_dx,
             (float *dx, const float *dy, const float *x, const float *a, const float *b,
              const float *e, int64_t S, int64_t C),
             (dx, dy, x, a, b, e, S, C))
FNN_ISA_VARIANTS(un_forward_rows,
             (float *y, const float *x, int64_t r0, int64_t r1, int64_t K, float eps),
             (y, x, r0, r1, K, eps))
FNN_ISA_VARIANTS(un_backward_rows,
             (float *dx, const float *dy, const float *x, int64_t r0, int64_t r1, int64_t K,
              float eps),
             (dx, dy, x, r0, r1, K, eps))

/* ---- the kernels ------------------------------------------------------------------------ */

size_t fnn_layernorm_workspace_size(int64_t R, int64_t K) {
    int64_t n = 2 * K * n_chunks(R);
    return (size_t)(n > 0 ? n : 1);
}

void fnn_layernorm_forward(float *y, float *mean, float *rstd, const float *x,
                           const float *gamma, const float *beta, int64_t R, int64_t K,
                           float epsilon, int rms) {
    const int isa = fnn_vector_isa();
    const int64_t nc = n_chunks(R);
    int nt = fnn_threads_for(R * K * 4);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t i = 0; i < nc; i++)
        FNN_ISA_CALL(isa, ln_forward_rows, (y, mean, rstd, x, gamma, beta, i * CHUNK,
                                        fnn_min64(R, (i + 1) * CHUNK), K, epsilon, rms));
}

void fnn_layernorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
                            const float *x, const float *mean, const float *rstd,
                            const float *gamma, int64_t R, int64_t K, int rms, float *work,
                            size_t work_size) {
    (void)work_size;
    const int isa = fnn_vector_isa();
    const int64_t nc = n_chunks(R);
    int nt = fnn_threads_for(R * K * 8);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t i = 0; i < nc; i++)
        FNN_ISA_CALL(isa, ln_backward_rows, (dx, work + 2 * K * i, work + 2 * K * i + K, dy, x,
                                         mean, rstd, gamma, i * CHUNK,
                                         fnn_min64(R, (i + 1) * CHUNK), K, rms));
    nt = fnn_threads_for(nc * K * 2);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t k = 0; k < K; k++) {
        double u = 0.0, v = 0.0;
        for (int64_t i = 0; i < nc; i++) {
            u += work[2 * K * i + k];
            v += work[2 * K * i + K + k];
        }
        dgamma[k] = (float)u;
        dbeta[k] = (float)v;
    }
}

size_t fnn_groupnorm_workspace_size(int64_t N, int64_t C) {
    int64_t n = 5 * N * C;
    return (size_t)(n > 0 ? n : 1);
}

/* group g's total of v over its channels, in double */
static double group_total(const float *v, int64_t g, int64_t Cg) {
    double t = 0.0;
    for (int64_t c = g * Cg; c < (g + 1) * Cg; c++) t += v[c];
    return t;
}

void fnn_groupnorm_forward(float *y, float *mean, float *rstd, const float *x,
                           const float *gamma, const float *beta, int64_t N, int64_t S,
                           int64_t C, int64_t G, float epsilon, float *work,
                           size_t work_size) {
    (void)work_size;
    const int isa = fnn_vector_isa();
    const int64_t Cg = C / G;
    const double M = (double)S * (double)Cg;
    int nt = fnn_threads_for(N * S * C * 4);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t n = 0; n < N; n++) {
        const float *xn = x + n * S * C;
        float *a = work + 2 * C * n, *b = a + C; /* per-channel scratch of sample n */
        FNN_ISA_CALL(isa, channel_sums, (a, xn, NULL, S, C, 0));
        for (int64_t g = 0; g < G; g++) {
            float m = (float)(group_total(a, g, Cg) / M);
            mean[n * G + g] = m;
            for (int64_t c = g * Cg; c < (g + 1) * Cg; c++) b[c] = m;
        }
        FNN_ISA_CALL(isa, channel_sums, (a, xn, b, S, C, 1));
        for (int64_t g = 0; g < G; g++) {
            double v = group_total(a, g, Cg) / M;
            float rs = (float)(1.0 / sqrt(v + (double)epsilon)), m = mean[n * G + g];
            rstd[n * G + g] = rs;
            for (int64_t c = g * Cg; c < (g + 1) * Cg; c++) {
                a[c] = gamma ? rs * gamma[c] : rs;
                b[c] = (beta ? beta[c] : 0.0f) - m * a[c];
            }
        }
        FNN_ISA_CALL(isa, channel_affine, (y + n * S * C, xn, a, b, S, C));
    }
}

void fnn_groupnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
                            const float *x, const float *mean, const float *rstd,
                            const float *gamma, int64_t N, int64_t S, int64_t C, int64_t G,
                            float *work, size_t work_size) {
    (void)work_size;
    const int isa = fnn_vector_isa();
    const int64_t Cg = C / G;
    const double M = (double)S * (double)Cg;
    int nt = fnn_threads_for(N * S * C * 6);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t n = 0; n < N; n++) {
        const float *xn = x + n * S * C, *dyn = dy + n * S * C;
        float *P = work + 5 * C * n, *D = P + C, *a = D + C, *b = a + C, *e = b + C;
        for (int64_t g = 0; g < G; g++) /* a, b: each channel's mean and rstd */
            for (int64_t c = g * Cg; c < (g + 1) * Cg; c++) {
                a[c] = mean[n * G + g];
                b[c] = rstd[n * G + g];
            }
        FNN_ISA_CALL(isa, channel_grad_sums, (P, D, dyn, xn, a, b, S, C));
        for (int64_t g = 0; g < G; g++) {
            double s1 = 0.0, s2 = 0.0;
            for (int64_t c = g * Cg; c < (g + 1) * Cg; c++) {
                double gc = gamma ? gamma[c] : 1.0;
                s1 += gc * P[c];
                s2 += gc * D[c];
            }
            double m = mean[n * G + g], rs = rstd[n * G + g];
            double q = -rs * rs * s2 / M; /* dx = rs*gamma*dy + q*(x - m) - rs*s1/M */
            for (int64_t c = g * Cg; c < (g + 1) * Cg; c++) {
                a[c] = (float)(rs * (gamma ? gamma[c] : 1.0));
                b[c] = (float)q;
                e[c] = (float)(-rs * s1 / M - q * m);
            }
        }
        FNN_ISA_CALL(isa, channel_dx, (dx + n * S * C, dyn, xn, a, b, e, S, C));
    }
    nt = fnn_threads_for(N * C * 2);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t c = 0; c < C; c++) {
        double u = 0.0, v = 0.0;
        for (int64_t n = 0; n < N; n++) {
            u += work[5 * C * n + C + c];
            v += work[5 * C * n + c];
        }
        dgamma[c] = (float)u;
        dbeta[c] = (float)v;
    }
}

void fnn_unitnorm_forward(float *y, const float *x, int64_t R, int64_t K, float epsilon) {
    const int isa = fnn_vector_isa();
    const int64_t nc = n_chunks(R);
    int nt = fnn_threads_for(R * K * 2);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t i = 0; i < nc; i++)
        FNN_ISA_CALL(isa, un_forward_rows, (y, x, i * CHUNK, fnn_min64(R, (i + 1) * CHUNK), K,
                                        epsilon));
}

void fnn_unitnorm_backward(float *dx, const float *dy, const float *x, int64_t R, int64_t K,
                           float epsilon) {
    const int isa = fnn_vector_isa();
    const int64_t nc = n_chunks(R);
    int nt = fnn_threads_for(R * K * 4);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t i = 0; i < nc; i++)
        FNN_ISA_CALL(isa, un_backward_rows, (dx, dy, x, i * CHUNK, fnn_min64(R, (i + 1) * CHUNK),
                                         K, epsilon));
}
