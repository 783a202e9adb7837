/* ukr_avx2.c -- AVX2 + FMA micro-kernel: a 6 x 16 tile of C in 12 ymm accumulators
 * (BLIS's shape for Haswell-class CPUs).  Only called when the CPU supports AVX2+FMA. */
#include "gemm.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define MR 6
#define NR 16
#define AVX2 __attribute__((target("avx2,fma")))

AVX2 static inline __attribute__((always_inline)) void ukr_avx2_6x16_core(
    int64_t k, const float *restrict a, int64_t lda, const float *restrict b, int64_t ldb,
    float *restrict c, int64_t ldc, float alpha, float beta,
    const float *bias, int relu) {
    __m256 acc[MR][2];
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
    for (int64_t p = 0; p < k; p++, a += lda, b += ldb) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
        for (int i = 0; i < MR; i++) {
            __m256 ai = _mm256_broadcast_ss(a + i);
            acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
        }
    }
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta), zero = _mm256_setzero_ps();
    const __m256 bias0 = bias ? _mm256_loadu_ps(bias) : zero;
    const __m256 bias1 = bias ? _mm256_loadu_ps(bias + 8) : zero;
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) {
        float *ci = c + i * ldc;
        __m256 r0 = _mm256_mul_ps(va, acc[i][0]), r1 = _mm256_mul_ps(va, acc[i][1]);
        if (beta != 0.0f) {
            r0 = _mm256_add_ps(_mm256_mul_ps(vb, _mm256_loadu_ps(ci)), r0);
            r1 = _mm256_add_ps(_mm256_mul_ps(vb, _mm256_loadu_ps(ci + 8)), r1);
        }
        if (bias) {
            r0 = _mm256_add_ps(r0, bias0);
            r1 = _mm256_add_ps(r1, bias1);
        }
        if (relu) { /* max(0, r): a NaN stays NaN (vmaxps returns the second operand) */
            r0 = _mm256_max_ps(zero, r0);
            r1 = _mm256_max_ps(zero, r1);
        }
        _mm256_storeu_ps(ci, r0);
        _mm256_storeu_ps(ci + 8, r1);
    }
}

AVX2 static void ukr_avx2_6x16(int64_t k, const float *restrict a, const float *restrict b,
    float *restrict c, int64_t ldc, float alpha, float beta, const float *bias, int relu) {
    ukr_avx2_6x16_core(k, a, MR, b, NR, c, ldc, alpha, beta, bias, relu);
}

AVX2 static void ukr_avx2_6x16_ldb(int64_t k, const float *restrict a, int64_t lda,
    const float *restrict b, int64_t ldb, float *restrict c, int64_t ldc, float alpha,
    float beta, const float *bias, int relu) {
    ukr_avx2_6x16_core(k, a, lda, b, ldb, c, ldc, alpha, beta, bias, relu);
}

AVX2 static void ukr_avx2_indirect_6x16(int64_t nruns, int64_t run_len, const float *const *rows,
                                        const float *restrict b, float *restrict c, int64_t ldc,
                                        const float *bias, int relu) {
    __m256 acc[MR][2];
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
    for (int64_t r = 0; r < nruns; r++, rows += MR) {
        const float *ap[MR];
#pragma GCC unroll 6
        for (int i = 0; i < MR; i++) ap[i] = rows[i];
        for (int64_t p = 0; p < run_len; p++, b += NR) {
            __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
            for (int i = 0; i < MR; i++) {
                __m256 ai = _mm256_broadcast_ss(ap[i] + p);
                acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
                acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
            }
        }
    }
    const __m256 zero = _mm256_setzero_ps();
    const __m256 bias0 = bias ? _mm256_loadu_ps(bias) : zero;
    const __m256 bias1 = bias ? _mm256_loadu_ps(bias + 8) : zero;
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) {
        __m256 r0 = _mm256_add_ps(acc[i][0], bias0), r1 = _mm256_add_ps(acc[i][1], bias1);
        if (relu) { /* max(0, r): a NaN stays NaN (vmaxps returns the second operand) */
            r0 = _mm256_max_ps(zero, r0);
            r1 = _mm256_max_ps(zero, r1);
        }
        _mm256_storeu_ps(c + i * ldc, r0);
        _mm256_storeu_ps(c + i * ldc + 8, r1);
    }
}

/* The dot kernel (gemm.h): a 2 x 5 block of C in 10 accumulators along K, 8 lanes at a
 * time (2 + 5 loads per 10 FMAs; 16 ymm registers), the tail of K through masked loads
 * (masked-off lanes are never read), then one horizontal sum per element. */
#define DR 2
#define DC 5
AVX2 static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AVX2 static void dot_avx2_2x5(int64_t k, const float *const *rows, const float *const *cols,
                              float *out) {
    __m256 acc[DR][DC];
    const float *x[DR], *w[DC];
#pragma GCC unroll 2
    for (int i = 0; i < DR; i++) x[i] = rows[i];
#pragma GCC unroll 5
    for (int j = 0; j < DC; j++) w[j] = cols[j];
#pragma GCC unroll 2
    for (int i = 0; i < DR; i++)
#pragma GCC unroll 5
        for (int j = 0; j < DC; j++) acc[i][j] = _mm256_setzero_ps();
    int64_t p = 0;
    for (; p + 8 <= k; p += 8) {
        __m256 xv[DR];
#pragma GCC unroll 2
        for (int i = 0; i < DR; i++) xv[i] = _mm256_loadu_ps(x[i] + p);
#pragma GCC unroll 5
        for (int j = 0; j < DC; j++) {
            __m256 wv = _mm256_loadu_ps(w[j] + p);
#pragma GCC unroll 2
            for (int i = 0; i < DR; i++) acc[i][j] = _mm256_fmadd_ps(xv[i], wv, acc[i][j]);
        }
    }
    if (p < k) { /* lanes l < k - p: mask lanes hold -1 where l < k - p */
        const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(k - p)),
                                             _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        __m256 xv[DR];
#pragma GCC unroll 2
        for (int i = 0; i < DR; i++) xv[i] = _mm256_maskload_ps(x[i] + p, m);
#pragma GCC unroll 5
        for (int j = 0; j < DC; j++) {
            __m256 wv = _mm256_maskload_ps(w[j] + p, m);
#pragma GCC unroll 2
            for (int i = 0; i < DR; i++) acc[i][j] = _mm256_fmadd_ps(xv[i], wv, acc[i][j]);
        }
    }
#pragma GCC unroll 2
    for (int i = 0; i < DR; i++)
#pragma GCC unroll 5
        for (int j = 0; j < DC; j++) out[i * DC + j] = hsum8(acc[i][j]);
}

static int cpu_has_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0 && __builtin_cpu_supports("fma") != 0;
}

const fnn_gemm_kernel fnn_gemm_kernel_avx2 = {
    .name = "avx2", .mr = MR, .nr = NR, .mc = 144, .kc = 256, .nc = 4096,
    .ukr = ukr_avx2_6x16, .cpu_supports = cpu_has_avx2, .ukr_indirect = ukr_avx2_indirect_6x16,
    .ukr_ldb = ukr_avx2_6x16_ldb, .dr = DR, .dc = DC, .dot = dot_avx2_2x5,
};
#endif
