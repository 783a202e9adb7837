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

/* r[i] lane j -> r[j] lane i, for a 16 x 16 block: unpack pairs of rows (ps, then pd),
 * so u[4g + c] holds, in 128-bit lane L, rows 4g..4g+3 of column 4L + c; then two rounds
 * of 128-bit lane shuffles gather lane L of u[c], u[4 + c], u[8 + c], u[12 + c]. */
AVX512 static inline void transpose16(__m512 r[16]) {
    __m512 t[16], u[16];
#pragma GCC unroll 8
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
#pragma GCC unroll 4
    for (int g = 0; g < 16; g += 4) {
        __m512d t0 = _mm512_castps_pd(t[g]), t1 = _mm512_castps_pd(t[g + 1]);
        __m512d t2 = _mm512_castps_pd(t[g + 2]), t3 = _mm512_castps_pd(t[g + 3]);
        u[g] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));     /* column 4L     */
        u[g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2)); /* column 4L + 1 */
        u[g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3)); /* column 4L + 2 */
        u[g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3)); /* column 4L + 3 */
    }
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
        __m512 v0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88);  /* lanes 0, 2 of groups 0, 1 */
        __m512 v1 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xdd);  /* lanes 1, 3 */
        __m512 w0 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88);
        __m512 w1 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xdd);
        r[c] = _mm512_shuffle_f32x4(v0, w0, 0x88);
        r[8 + c] = _mm512_shuffle_f32x4(v0, w0, 0xdd);
        r[4 + c] = _mm512_shuffle_f32x4(v1, w1, 0x88);
        r[12 + c] = _mm512_shuffle_f32x4(v1, w1, 0xdd);
    }
}

/* The tile's first h rows (h <= MR, a constant once inlined), of which the first `rows`
 * are stored: the 12-row kernel, and shorter ones for strips with fewer rows (a 10-unit
 * Dense layer run transposed fills 10 of the 12 rows).  A is the packed MR-row strip. */
AVX512 static inline __attribute__((always_inline)) void ukr_avx512_core(
    const int h, const int trans, int rows, int cols, int64_t k, const float *restrict a,
    int64_t lda, const float *restrict b, int64_t ldb, float *restrict c, int64_t ldc,
    float alpha, float beta, const float *bias, int relu) {
    __m512 acc[MR][2];
#pragma GCC unroll 12
    for (int i = 0; i < h; i++) {
        acc[i][0] = acc[i][1] = _mm512_setzero_ps();
        if (!trans) {
            _mm_prefetch((const char *)(c + (i < rows ? i : 0) * ldc), _MM_HINT_T0);
            _mm_prefetch((const char *)(c + (i < rows ? i : 0) * ldc + 16), _MM_HINT_T0);
        }
    }
    for (int64_t p = 0; p < k; p++, a += lda, b += ldb) {
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 12
        for (int i = 0; i < h; i++) {
            __m512 ai = _mm512_set1_ps(a[i]);
            acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
        }
    }
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta), zero = _mm512_setzero_ps();
    if (trans) { /* C^T: tile row i is column i of C, the bias is per tile row */
        const __mmask16 rm = (__mmask16)((1u << rows) - 1);
        const __m512 vbias = bias ? _mm512_maskz_loadu_ps(rm, bias) : zero;
#pragma GCC unroll 2
        for (int half = 0; half < 2; half++) {
            __m512 r[16];
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++) r[i] = i < h ? acc[i][half] : zero;
            transpose16(r); /* r[j] lane i = tile[i][16 * half + j] */
            for (int j = 0; j < 16 && 16 * half + j < cols; j++) {
                float *cj = c + (16 * half + j) * ldc;
                __m512 v = _mm512_mul_ps(va, r[j]);
                if (beta != 0.0f) v = _mm512_add_ps(_mm512_mul_ps(vb, _mm512_maskz_loadu_ps(rm, cj)), v);
                if (bias) v = _mm512_add_ps(v, vbias);
                if (relu) v = _mm512_max_ps(zero, v);
                _mm512_mask_storeu_ps(cj, rm, v);
            }
        }
        return;
    }
    const __m512 bias0 = bias ? _mm512_loadu_ps(bias) : zero;
    const __m512 bias1 = bias ? _mm512_loadu_ps(bias + 16) : zero;
#pragma GCC unroll 12
    for (int i = 0; i < h; i++) {
        if (i >= rows) break;
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

AVX512 static void ukr_avx512_12x32(int64_t k, const float *restrict a, const float *restrict b,
                                    float *restrict c, int64_t ldc, float alpha, float beta,
                                    const float *bias, int relu) {
    ukr_avx512_core(MR, 0, MR, NR, k, a, MR, b, NR, c, ldc, alpha, beta, bias, relu);
}

AVX512 static void ukr_avx512_12x32_ldb(int64_t k, const float *restrict a, int64_t lda,
                                        const float *restrict b, int64_t ldb, float *restrict c,
                                        int64_t ldc, float alpha, float beta, const float *bias,
                                        int relu) {
    ukr_avx512_core(MR, 0, MR, NR, k, a, lda, b, ldb, c, ldc, alpha, beta, bias, relu);
}

/* The core at the next even height >= rows (a compile-time height, so the core's loops
 * unroll; at most one row computed in vain). */
AVX512 static inline __attribute__((always_inline)) void ukr_avx512_short(
    const int trans, int rows, int cols, int64_t k, const float *restrict a,
    const float *restrict b, int64_t ldb, float *restrict c, int64_t ldc, float alpha,
    float beta, const float *bias, int relu) {
    switch ((rows + 1) / 2) {
    case 1:
        ukr_avx512_core(2, trans, rows, cols, k, a, MR, b, ldb, c, ldc, alpha, beta, bias, relu);
        break;
    case 2:
        ukr_avx512_core(4, trans, rows, cols, k, a, MR, b, ldb, c, ldc, alpha, beta, bias, relu);
        break;
    case 3:
        ukr_avx512_core(6, trans, rows, cols, k, a, MR, b, ldb, c, ldc, alpha, beta, bias, relu);
        break;
    case 4:
        ukr_avx512_core(8, trans, rows, cols, k, a, MR, b, ldb, c, ldc, alpha, beta, bias, relu);
        break;
    case 5:
        ukr_avx512_core(10, trans, rows, cols, k, a, MR, b, ldb, c, ldc, alpha, beta, bias, relu);
        break;
    default:
        ukr_avx512_core(12, trans, rows, cols, k, a, MR, b, ldb, c, ldc, alpha, beta, bias, relu);
        break;
    }
}

/* The tile written transposed: c[j * ldc + i] for i < rows (<= MR), j < cols (<= NR),
 * through 16 x 16 register transposes and stores masked to `rows` floats; the bias is
 * per tile row.  For the frame's transposed (narrow) products. */
AVX512 static void ukr_avx512_t(int rows, int cols, int64_t k, const float *restrict a,
                                const float *restrict b, int64_t ldb, float *restrict c,
                                int64_t ldc, float alpha, float beta, const float *bias,
                                int relu) {
    ukr_avx512_short(1, rows, cols, k, a, b, ldb, c, ldc, alpha, beta, bias, relu);
}

/* rows < MR: a full-width tile of fewer rows. */
AVX512 static void ukr_avx512_rows(int rows, int64_t k, const float *restrict a,
                                   const float *restrict b, int64_t ldb, float *restrict c,
                                   int64_t ldc, float alpha, float beta, const float *bias,
                                   int relu) {
    ukr_avx512_short(0, rows, NR, k, a, b, ldb, c, ldc, alpha, beta, bias, relu);
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

/* The transposing pack (gemm.h): 16 x 16 blocks through registers, masked at the edges
 * (masked-off lanes are never read, so nothing past the operand is touched). */
AVX512 static void pack_t_avx512(float *dst, const float *src, int64_t lds, int64_t rows,
                                 int64_t kb, int w) {
    for (int g = 0; g < w; g += 16) {
        const int gw = w - g < 16 ? w - g : 16;
        const int64_t gr = rows - g < 0 ? 0 : (rows - g < gw ? rows - g : gw);
        const __mmask16 smask = (__mmask16)((1u << gw) - 1);
        for (int64_t p = 0; p < kb; p += 16) {
            const int pn = kb - p < 16 ? (int)(kb - p) : 16;
            const __mmask16 lmask = (__mmask16)((1u << pn) - 1);
            __m512 r[16];
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++)
                r[i] = i < gr ? _mm512_maskz_loadu_ps(lmask, src + (g + i) * lds + p)
                              : _mm512_setzero_ps();
            transpose16(r);
            if (pn == 16 && gw == 16) {
#pragma GCC unroll 16
                for (int q = 0; q < 16; q++) _mm512_storeu_ps(dst + (p + q) * w + g, r[q]);
            } else {
                for (int q = 0; q < pn; q++) _mm512_mask_storeu_ps(dst + (p + q) * w + g, smask, r[q]);
            }
        }
    }
}

/* The dot kernel (gemm.h): a 4 x 5 block of C in 20 accumulators along K, 16 lanes at a
 * time (4 + 5 loads per 20 FMAs), the tail of K through masked loads (masked-off lanes
 * are never read), then one horizontal sum per element. */
#define DR 4
#define DC 5
AVX512 static void dot_avx512_4x5(int64_t k, const float *const *rows, const float *const *cols,
                                  float *out) {
    __m512 acc[DR][DC];
    const float *x[DR], *w[DC];
#pragma GCC unroll 4
    for (int i = 0; i < DR; i++) x[i] = rows[i];
#pragma GCC unroll 5
    for (int j = 0; j < DC; j++) w[j] = cols[j];
#pragma GCC unroll 4
    for (int i = 0; i < DR; i++)
#pragma GCC unroll 5
        for (int j = 0; j < DC; j++) acc[i][j] = _mm512_setzero_ps();
    int64_t p = 0;
    for (; p + 16 <= k; p += 16) {
        __m512 xv[DR];
#pragma GCC unroll 4
        for (int i = 0; i < DR; i++) xv[i] = _mm512_loadu_ps(x[i] + p);
#pragma GCC unroll 5
        for (int j = 0; j < DC; j++) {
            __m512 wv = _mm512_loadu_ps(w[j] + p);
#pragma GCC unroll 4
            for (int i = 0; i < DR; i++) acc[i][j] = _mm512_fmadd_ps(xv[i], wv, acc[i][j]);
        }
    }
    if (p < k) {
        const __mmask16 m = (__mmask16)((1u << (k - p)) - 1);
        __m512 xv[DR];
#pragma GCC unroll 4
        for (int i = 0; i < DR; i++) xv[i] = _mm512_maskz_loadu_ps(m, x[i] + p);
#pragma GCC unroll 5
        for (int j = 0; j < DC; j++) {
            __m512 wv = _mm512_maskz_loadu_ps(m, w[j] + p);
#pragma GCC unroll 4
            for (int i = 0; i < DR; i++) acc[i][j] = _mm512_fmadd_ps(xv[i], wv, acc[i][j]);
        }
    }
#pragma GCC unroll 4
    for (int i = 0; i < DR; i++)
#pragma GCC unroll 5
        for (int j = 0; j < DC; j++) out[i * DC + j] = _mm512_reduce_add_ps(acc[i][j]);
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
    .name = "avx512", .mr = MR, .nr = NR, .mc = 240, .kc = 512, .nc = 2048,
    .ukr = ukr_avx512_12x32, .cpu_supports = cpu_has_avx512,
    .ukr_indirect = ukr_avx512_indirect_12x32, .pack_t = pack_t_avx512,
    .ukr_ldb = ukr_avx512_12x32_ldb, .ukr_rows = ukr_avx512_rows, .dr = DR, .dc = DC,
    .dot = dot_avx512_4x5, .ukr_t = ukr_avx512_t,
};
#endif
