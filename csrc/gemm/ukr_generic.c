/* ukr_generic.c -- the portable micro-kernel, always built: GCC/Clang vector extensions
 * over 4 floats, which compile to SSE on baseline x86-64 and NEON on aarch64 (and to
 * scalar code elsewhere).  A 6 x 8 tile keeps 12 accumulators in registers. */
#include <string.h>
#include "gemm.h"

#define MR 6
#define NR 8

typedef float v4 __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));

static inline v4 load4(const float *p) { v4 v; memcpy(&v, p, sizeof v); return v; }
static inline void store4(float *p, v4 v) { memcpy(p, &v, sizeof v); }

static inline __attribute__((always_inline)) void ukr_generic_6x8_core(
    int64_t k, const float *restrict a, int64_t lda, const float *restrict b, int64_t ldb,
    float *restrict c, int64_t ldc, float alpha, float beta,
    const float *bias, int relu) {
    v4 acc[MR][2];
    for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = (v4){0, 0, 0, 0};
    for (int64_t p = 0; p < k; p++, a += lda, b += ldb) {
        v4 b0 = load4(b), b1 = load4(b + 4);
        for (int i = 0; i < MR; i++) {
            v4 ai = {a[i], a[i], a[i], a[i]};
            acc[i][0] += ai * b0;
            acc[i][1] += ai * b1;
        }
    }
    v4 va = {alpha, alpha, alpha, alpha}, vb = {beta, beta, beta, beta};
    for (int i = 0; i < MR; i++) {
        float *ci = c + i * ldc;
        for (int h = 0; h < 2; h++) {
            v4 r = va * acc[i][h];
            if (beta != 0.0f) r = vb * load4(ci + 4 * h) + r;
            if (bias) r += load4(bias + 4 * h);
            if (relu) { /* r < 0 ? 0 : r (NaN stays NaN), as a bit mask (vector casts
                         * reinterpret bits) */
                v4i negative = r < (v4){0, 0, 0, 0};
                r = (v4)(~negative & (v4i)r);
            }
            store4(ci + 4 * h, r);
        }
    }
}

static void ukr_generic_6x8(int64_t k, const float *restrict a, const float *restrict b,
    float *restrict c, int64_t ldc, float alpha, float beta, const float *bias, int relu) {
    ukr_generic_6x8_core(k, a, MR, b, NR, c, ldc, alpha, beta, bias, relu);
}

static void ukr_generic_6x8_ldb(int64_t k, const float *restrict a, int64_t lda,
    const float *restrict b, int64_t ldb, float *restrict c, int64_t ldc, float alpha,
    float beta, const float *bias, int relu) {
    ukr_generic_6x8_core(k, a, lda, b, ldb, c, ldc, alpha, beta, bias, relu);
}

static void ukr_generic_indirect_6x8(int64_t nruns, int64_t run_len, const float *const *rows,
                                     const float *restrict b, float *restrict c, int64_t ldc,
                                     const float *bias, int relu) {
    v4 acc[MR][2];
    for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = (v4){0, 0, 0, 0};
    for (int64_t r = 0; r < nruns; r++, rows += MR) {
        const float *ap[MR];
        for (int i = 0; i < MR; i++) ap[i] = rows[i];
        for (int64_t p = 0; p < run_len; p++, b += NR) {
            v4 b0 = load4(b), b1 = load4(b + 4);
            for (int i = 0; i < MR; i++) {
                float a = ap[i][p];
                v4 ai = {a, a, a, a};
                acc[i][0] += ai * b0;
                acc[i][1] += ai * b1;
            }
        }
    }
    for (int i = 0; i < MR; i++)
        for (int h = 0; h < 2; h++) {
            v4 r = acc[i][h];
            if (bias) r += load4(bias + 4 * h);
            if (relu) {
                v4i negative = r < (v4){0, 0, 0, 0};
                r = (v4)(~negative & (v4i)r);
            }
            store4(c + i * ldc + 4 * h, r);
        }
}

static int always(void) { return 1; }

const fnn_gemm_kernel fnn_gemm_kernel_generic = {
    .name = "generic", .mr = MR, .nr = NR, .mc = 120, .kc = 256, .nc = 2048,
    .ukr = ukr_generic_6x8, .cpu_supports = always, .ukr_indirect = ukr_generic_indirect_6x8,
    .ukr_ldb = ukr_generic_6x8_ldb,
};
