/* ukr_avx512.c -- AVX-512 micro-kernel: a 12 x 32 tile of C in 24 zmm accumulators.
 * Per step of k: two 16-float loads of B, twelve broadcasts of A, 24 FMAs.  Rows of C
 * are contiguous, so the vectors run along N.  Compiled with a function-level target
 * attribute; only called when the CPU (and OS) support AVX-512F. */
#include "gemm.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define MR 12
#define NR 32
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))

AVX512 static void ukr_avx512_12x32(int64_t k, const float *restrict a, const float *restrict b,
                                    float *restrict c, int64_t ldc, float alpha, float beta,
                                    const float *bias, int relu) {
    __m512 acc[MR][2];
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
        acc[i][0] = acc[i][1] = _mm512_setzero_ps();
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + i * ldc + 16), _MM_HINT_T0);
    }
    for (int64_t p = 0; p < k; p++, a += MR, b += NR) {
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 12
        for (int i = 0; i < MR; i++) {
            __m512 ai = _mm512_set1_ps(a[i]);
            acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
        }
    }
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta), zero = _mm512_setzero_ps();
    const __m512 bias0 = bias ? _mm512_loadu_ps(bias) : zero;
    const __m512 bias1 = bias ? _mm512_loadu_ps(bias + 16) : zero;
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
        float *ci = c + i * ldc;
        __m512 r0 = _mm512_mul_ps(va, acc[i][0]), r1 = _mm512_mul_ps(va, acc[i][1]);
        if (beta != 0.0f) { /* beta * c + alpha * acc, rounded like the frame's edge path */
            r0 = _mm512_add_ps(_mm512_mul_ps(vb, _mm512_loadu_ps(ci)), r0);
            r1 = _mm512_add_ps(_mm512_mul_ps(vb, _mm512_loadu_ps(ci + 16)), r1);
        }
        if (bias) {
            r0 = _mm512_add_ps(r0, bias0);
            r1 = _mm512_add_ps(r1, bias1);
        }
        if (relu) { /* max(0, r): vmaxps returns its second operand when one is NaN, so a
                     * NaN stays NaN, as in Keras and the frame's r < 0 ? 0 : r */
            r0 = _mm512_max_ps(zero, r0);
            r1 = _mm512_max_ps(zero, r1);
        }
        _mm512_storeu_ps(ci, r0);
        _mm512_storeu_ps(ci + 16, r1);
    }
}

AVX512 static void ukr_avx512_indirect_12x32(int64_t nruns, int64_t run_len,
                                             const float *const *rows, const float *restrict b,
                                             float *restrict c, int64_t ldc, const float *bias,
                                             int relu) {
    __m512 acc[MR][2];
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    for (int64_t r = 0; r < nruns; r++, rows += MR) {
        const float *ap[MR];
#pragma GCC unroll 12
        for (int i = 0; i < MR; i++) ap[i] = rows[i];
        for (int64_t p = 0; p < run_len; p++, b += NR) {
            __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 12
            for (int i = 0; i < MR; i++) {
                __m512 ai = _mm512_set1_ps(ap[i][p]);
                acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
                acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
            }
        }
    }
    const __m512 zero = _mm512_setzero_ps();
    const __m512 bias0 = bias ? _mm512_loadu_ps(bias) : zero;
    const __m512 bias1 = bias ? _mm512_loadu_ps(bias + 16) : zero;
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
        __m512 r0 = _mm512_add_ps(acc[i][0], bias0), r1 = _mm512_add_ps(acc[i][1], bias1);
        if (relu) {
            r0 = _mm512_max_ps(zero, r0);
            r1 = _mm512_max_ps(zero, r1);
        }
        _mm512_storeu_ps(c + i * ldc, r0);
        _mm512_storeu_ps(c + i * ldc + 16, r1);
    }
}

static int cpu_has_avx512(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0 && __builtin_cpu_supports("avx512bw") != 0 &&
           __builtin_cpu_supports("avx512vl") != 0 && __builtin_cpu_supports("avx512dq") != 0 &&
           __builtin_cpu_supports("fma") != 0;
}

/* Blocks measured on a Zen-4-class EPYC (1 MB L2, 32 KB L1), 1024^2 and 2048^2 on 2
 * threads: KC = 512 beat 256 by ~4-7% (a 12 x 32 tile of C is read and written K / KC
 * times; both packed operands stream from L2 fast enough: 176 bytes per 24 FMAs).  The
 * MC x KC block of A (480 KB) stays in L2, the KC x NC panel of B (4 MB) in L3.  The
 * micro-kernel prefetches its C tile first, so the beta = 1 update does not stall. */
const fnn_gemm_kernel fnn_gemm_kernel_avx512 = {
    "avx512", MR, NR, /*mc*/ 240, /*kc*/ 512, /*nc*/ 2048, ukr_avx512_12x32, cpu_has_avx512,
    ukr_avx512_indirect_12x32,
};
#endif
