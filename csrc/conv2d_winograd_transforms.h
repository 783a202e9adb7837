/* conv2d_winograd_transforms.h -- internal: the F(2x2, 3x3) transforms of
 * conv2d_winograd.c (see that file's header), as inline bodies; the .c file compiles each
 * for every ISA (FNN_ISA_VARIANTS). */
#ifndef FNN_CONV2D_WINOGRAD_TRANSFORMS_H
#define FNN_CONV2D_WINOGRAD_TRANSFORMS_H

#include "util.h"

/* Distance between the 16 components of transformed data (they are read and written
 * as 16 parallel streams): an odd number of cache lines, so the streams fall in 16
 * different L1 sets (strides that are multiples of 4 KB made the transforms 3x slower). */
static inline int64_t comp_stride(int64_t n) { return fnn_round_up(n, 32) + 16; }

/* ---- the transforms: plain loops along contiguous floats ------------------------- */

/* g (3, 3, C, F) -> U (16 components at comp_stride(C * F), C, F), U[k] = (G g G^T)[k]
 * per (c, f).  (Scalars and ivdep, as input_transform.) */
FNN_INLINE void weight_transform(float *restrict U, const float *restrict g, int64_t C,
                                 int64_t F) {
    const int64_t CF = C * F, ks = comp_stride(CF);
    for (int64_t c = 0; c < C; c++) {
        const float *restrict g0 = g + c * F, *restrict g1 = g0 + CF, *restrict g2 = g0 + 2 * CF,
                              *restrict g3 = g0 + 3 * CF, *restrict g4 = g0 + 4 * CF,
                              *restrict g5 = g0 + 5 * CF, *restrict g6 = g0 + 6 * CF,
                              *restrict g7 = g0 + 7 * CF, *restrict g8 = g0 + 8 * CF;
        float *restrict u = U + c * F;
#pragma GCC ivdep
        for (int64_t f = 0; f < F; f++) {
            /* t = G g: rows 0..3 of 3 columns */
            float t00 = g0[f], t01 = g1[f], t02 = g2[f];
            float t10 = 0.5f * (g0[f] + g3[f] + g6[f]), t11 = 0.5f * (g1[f] + g4[f] + g7[f]),
                  t12 = 0.5f * (g2[f] + g5[f] + g8[f]);
            float t20 = 0.5f * (g0[f] - g3[f] + g6[f]), t21 = 0.5f * (g1[f] - g4[f] + g7[f]),
                  t22 = 0.5f * (g2[f] - g5[f] + g8[f]);
            float t30 = g6[f], t31 = g7[f], t32 = g8[f];
            /* U = t G^T */
            u[0 * ks + f] = t00, u[1 * ks + f] = 0.5f * (t00 + t01 + t02);
            u[2 * ks + f] = 0.5f * (t00 - t01 + t02), u[3 * ks + f] = t02;
            u[4 * ks + f] = t10, u[5 * ks + f] = 0.5f * (t10 + t11 + t12);
            u[6 * ks + f] = 0.5f * (t10 - t11 + t12), u[7 * ks + f] = t12;
            u[8 * ks + f] = t20, u[9 * ks + f] = 0.5f * (t20 + t21 + t22);
            u[10 * ks + f] = 0.5f * (t20 - t21 + t22), u[11 * ks + f] = t22;
            u[12 * ks + f] = t30, u[13 * ks + f] = 0.5f * (t30 + t31 + t32);
            u[14 * ks + f] = 0.5f * (t30 - t31 + t32), u[15 * ks + f] = t32;
        }
    }
}

/* V = B^T d B for L parallel tiles: input row r, column q at d_r + q * qs; component k
 * written at v + k * ks.  Written out in scalars with one pointer per stream, and
 * ivdep: GCC 12 vectorizes this form only (it ignores restrict on the derived pointers
 * and gives up on the 32 streams' alias checks). */
FNN_INLINE void input_transform(float *restrict v, int64_t ks, const float *restrict d0,
                                const float *restrict d1, const float *restrict d2,
                                const float *restrict d3, int64_t qs, int64_t L) {
    const float *restrict a0 = d0, *restrict a1 = d0 + qs, *restrict a2 = d0 + 2 * qs,
                          *restrict a3 = d0 + 3 * qs;
    const float *restrict b0 = d1, *restrict b1 = d1 + qs, *restrict b2 = d1 + 2 * qs,
                          *restrict b3 = d1 + 3 * qs;
    const float *restrict c0 = d2, *restrict c1 = d2 + qs, *restrict c2 = d2 + 2 * qs,
                          *restrict c3 = d2 + 3 * qs;
    const float *restrict e0 = d3, *restrict e1 = d3 + qs, *restrict e2 = d3 + 2 * qs,
                          *restrict e3 = d3 + 3 * qs;
    float *restrict v0 = v, *restrict v1 = v + ks, *restrict v2 = v + 2 * ks,
                    *restrict v3 = v + 3 * ks, *restrict v4 = v + 4 * ks,
                    *restrict v5 = v + 5 * ks, *restrict v6 = v + 6 * ks,
                    *restrict v7 = v + 7 * ks, *restrict v8 = v + 8 * ks,
                    *restrict v9 = v + 9 * ks, *restrict v10 = v + 10 * ks,
                    *restrict v11 = v + 11 * ks, *restrict v12 = v + 12 * ks,
                    *restrict v13 = v + 13 * ks, *restrict v14 = v + 14 * ks,
                    *restrict v15 = v + 15 * ks;
#pragma GCC ivdep
    for (int64_t e = 0; e < L; e++) {
        /* rows: t_r = (B^T d)[r] for each column */
        float t00 = a0[e] - c0[e], t01 = a1[e] - c1[e], t02 = a2[e] - c2[e], t03 = a3[e] - c3[e];
        float t10 = b0[e] + c0[e], t11 = b1[e] + c1[e], t12 = b2[e] + c2[e], t13 = b3[e] + c3[e];
        float t20 = c0[e] - b0[e], t21 = c1[e] - b1[e], t22 = c2[e] - b2[e], t23 = c3[e] - b3[e];
        float t30 = b0[e] - e0[e], t31 = b1[e] - e1[e], t32 = b2[e] - e2[e], t33 = b3[e] - e3[e];
        /* columns: (t B)[r] */
        v0[e] = t00 - t02, v1[e] = t01 + t02, v2[e] = t02 - t01, v3[e] = t01 - t03;
        v4[e] = t10 - t12, v5[e] = t11 + t12, v6[e] = t12 - t11, v7[e] = t11 - t13;
        v8[e] = t20 - t22, v9[e] = t21 + t22, v10[e] = t22 - t21, v11[e] = t21 - t23;
        v12[e] = t30 - t32, v13[e] = t31 + t32, v14[e] = t32 - t31, v15[e] = t31 - t33;
    }
}

/* n tiles' 2x2 outputs: y_uv[f] = max((A^T M A)[u][v] + bias[f], lo) with lo = 0 (ReLU)
 * or -inf (none); v < lo is false for NaN, which stays NaN.  Tile i reads component k at
 * m + i * mi + k * ks and writes y_uv + i * s_uv (s_uv = 0 for a scratch row standing in
 * for an output past the edge). */
FNN_INLINE void output_transform(float *restrict y00, float *restrict y01, float *restrict y10,
                                 float *restrict y11, const int64_t *ys, const float *restrict m,
                                 int64_t mi, int64_t ks, const float *restrict bias, float lo,
                                 int64_t F, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float *restrict o00 = y00 + i * ys[0], *restrict o01 = y01 + i * ys[1];
        float *restrict o10 = y10 + i * ys[2], *restrict o11 = y11 + i * ys[3];
        const float *restrict m0 = m + i * mi, *restrict m1 = m0 + ks, *restrict m2 = m0 + 2 * ks,
                              *restrict m3 = m0 + 3 * ks, *restrict m4 = m0 + 4 * ks,
                              *restrict m5 = m0 + 5 * ks, *restrict m6 = m0 + 6 * ks,
                              *restrict m7 = m0 + 7 * ks, *restrict m8 = m0 + 8 * ks,
                              *restrict m9 = m0 + 9 * ks, *restrict m10 = m0 + 10 * ks,
                              *restrict m11 = m0 + 11 * ks, *restrict m12 = m0 + 12 * ks,
                              *restrict m13 = m0 + 13 * ks, *restrict m14 = m0 + 14 * ks,
                              *restrict m15 = m0 + 15 * ks;
#pragma GCC ivdep
        for (int64_t f = 0; f < F; f++) {
            /* per row r of M: s0 = m0 + m1 + m2, s1 = m1 - m2 - m3 (M A) */
            float a0 = m0[f] + m1[f] + m2[f], a1 = m1[f] - m2[f] - m3[f];
            float b0 = m4[f] + m5[f] + m6[f], b1 = m5[f] - m6[f] - m7[f];
            float c0 = m8[f] + m9[f] + m10[f], c1 = m9[f] - m10[f] - m11[f];
            float d0 = m12[f] + m13[f] + m14[f], d1 = m13[f] - m14[f] - m15[f];
            float v00 = a0 + b0 + c0 + bias[f], v01 = a1 + b1 + c1 + bias[f];
            float v10 = b0 - c0 - d0 + bias[f], v11 = b1 - c1 - d1 + bias[f];
            o00[f] = v00 < lo ? lo : v00;
            o01[f] = v01 < lo ? lo : v01;
            o10[f] = v10 < lo ? lo : v10;
            o11[f] = v11 < lo ? lo : v11;
        }
    }
}

/* output_transform's four outputs of a tile for filters f0 .. f0 + n (bias and ReLU as
 * there: the same arithmetic), into v[place][f - f0]: the first stage of the pooled
 * output (conv2d_winograd.c's output_transform_pool). */
#define POOL_CHUNK 64
FNN_INLINE void tile_outputs(float v[4][POOL_CHUNK], const float *restrict m, int64_t ks,
                             const float *restrict bias, float lo, int64_t f0, int64_t n) {
    const float *restrict m0 = m + f0, *restrict m1 = m0 + ks, *restrict m2 = m0 + 2 * ks,
                          *restrict m3 = m0 + 3 * ks, *restrict m4 = m0 + 4 * ks,
                          *restrict m5 = m0 + 5 * ks, *restrict m6 = m0 + 6 * ks,
                          *restrict m7 = m0 + 7 * ks, *restrict m8 = m0 + 8 * ks,
                          *restrict m9 = m0 + 9 * ks, *restrict m10 = m0 + 10 * ks,
                          *restrict m11 = m0 + 11 * ks, *restrict m12 = m0 + 12 * ks,
                          *restrict m13 = m0 + 13 * ks, *restrict m14 = m0 + 14 * ks,
                          *restrict m15 = m0 + 15 * ks, *restrict b = bias + f0;
    float *restrict o00 = v[0], *restrict o01 = v[1], *restrict o10 = v[2],
                    *restrict o11 = v[3];
#pragma GCC ivdep
    for (int64_t f = 0; f < n; f++) {
        float a0 = m0[f] + m1[f] + m2[f], a1 = m1[f] - m2[f] - m3[f];
        float b0 = m4[f] + m5[f] + m6[f], b1 = m5[f] - m6[f] - m7[f];
        float c0 = m8[f] + m9[f] + m10[f], c1 = m9[f] - m10[f] - m11[f];
        float d0 = m12[f] + m13[f] + m14[f], d1 = m13[f] - m14[f] - m15[f];
        float v00 = a0 + b0 + c0 + b[f], v01 = a1 + b1 + c1 + b[f];
        float v10 = b0 - c0 - d0 + b[f], v11 = b1 - c1 - d1 + b[f];
        o00[f] = v00 < lo ? lo : v00;
        o01[f] = v01 < lo ? lo : v01;
        o10[f] = v10 < lo ? lo : v10;
        o11[f] = v11 < lo ? lo : v11;
    }
}

/* The second stage: MaxPooling2D's rule over the four places (the first wins, later
 * ones when strictly greater or the window's first NaN): y[f] the maximum, pos[f] its
 * place.  Plain C here, with AVX-512 and AVX2 versions below (GCC kept
 * this one scalar, with branches). */
FNN_INLINE void pool_places(float *restrict y, uint8_t *restrict pos, float v[4][POOL_CHUNK],
                            int64_t n) {
    for (int64_t f = 0; f < n; f++) {
        float best = v[0][f];
        uint8_t arg = 0;
        for (int k = 1; k < 4; k++) {
            const float x = v[k][f];
            if (!(x <= best) && best == best) best = x, arg = (uint8_t)k;
        }
        y[f] = best;
        pos[f] = arg;
    }
}

#ifdef FNN_TARGET_AVX512
#include <immintrin.h>
/* pool_places with mask registers: "not v <= best" is NLE_UQ, "best == best" ORD_Q. */
FNN_TARGET_AVX512 static inline void pool_places_avx512(float *restrict y,
                                                        uint8_t *restrict pos,
                                                        float v[4][POOL_CHUNK], int64_t n) {
    for (int64_t f = 0; f < n; f += 16) {
        const __mmask16 in = n - f >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - f)) - 1);
        __m512 best = _mm512_maskz_loadu_ps(in, v[0] + f);
        __m512i arg = _mm512_setzero_si512();
        for (int k = 1; k < 4; k++) {
            const __m512 x = _mm512_maskz_loadu_ps(in, v[k] + f);
            const __mmask16 win = _mm512_cmp_ps_mask(x, best, _CMP_NLE_UQ) &
                                  _mm512_cmp_ps_mask(best, best, _CMP_ORD_Q);
            best = _mm512_mask_mov_ps(best, win, x);
            arg = _mm512_mask_mov_epi32(arg, win, _mm512_set1_epi32(k));
        }
        _mm512_mask_storeu_ps(y + f, in, best);
        _mm_mask_storeu_epi8(pos + f, in, _mm512_cvtepi32_epi8(arg));
    }
}
/* The same with AVX2 compares and blends (the place kept as a float). */
FNN_TARGET_AVX2 static inline void pool_places_avx2(float *restrict y, uint8_t *restrict pos,
                                                    float v[4][POOL_CHUNK], int64_t n) {
    int64_t f = 0;
    for (; f + 8 <= n; f += 8) {
        __m256 best = _mm256_loadu_ps(v[0] + f), arg = _mm256_setzero_ps();
        for (int k = 1; k < 4; k++) {
            const __m256 x = _mm256_loadu_ps(v[k] + f);
            const __m256 win = _mm256_and_ps(_mm256_cmp_ps(x, best, _CMP_NLE_UQ),
                                             _mm256_cmp_ps(best, best, _CMP_ORD_Q));
            best = _mm256_blendv_ps(best, x, win);
            arg = _mm256_blendv_ps(arg, _mm256_set1_ps((float)k), win);
        }
        float places[8];
        _mm256_storeu_ps(y + f, best);
        _mm256_storeu_ps(places, arg);
        for (int l = 0; l < 8; l++) pos[f + l] = (uint8_t)places[l];
    }
    if (f < n) pool_places(y + f, pos + f, (float(*)[POOL_CHUNK])(&v[0][f]), n - f);
}
#endif

/* dM = A dY A^T for L parallel tiles, dY = [p0 p1; q0 q1] (each L long): component k at
 * dm + k * ks.  (Scalars and ivdep, as input_transform.) */
FNN_INLINE void grad_transform(float *restrict dm, int64_t ks, const float *restrict p0,
                               const float *restrict p1, const float *restrict q0,
                               const float *restrict q1, int64_t L) {
    float *restrict m0 = dm, *restrict m1 = dm + ks, *restrict m2 = dm + 2 * ks,
                    *restrict m3 = dm + 3 * ks, *restrict m4 = dm + 4 * ks,
                    *restrict m5 = dm + 5 * ks, *restrict m6 = dm + 6 * ks,
                    *restrict m7 = dm + 7 * ks, *restrict m8 = dm + 8 * ks,
                    *restrict m9 = dm + 9 * ks, *restrict m10 = dm + 10 * ks,
                    *restrict m11 = dm + 11 * ks, *restrict m12 = dm + 12 * ks,
                    *restrict m13 = dm + 13 * ks, *restrict m14 = dm + 14 * ks,
                    *restrict m15 = dm + 15 * ks;
#pragma GCC ivdep
    for (int64_t e = 0; e < L; e++) {
        float a = p0[e], b = p1[e], c = q0[e], d = q1[e];
        /* rows of A dY: [a b], [a+c b+d], [a-c b-d], [-c -d]; each row [x y] then becomes
         * [x, x+y, x-y, -y] */
        float s0 = a + c, s1 = b + d, u0 = a - c, u1 = b - d;
        m0[e] = a, m1[e] = a + b, m2[e] = a - b, m3[e] = -b;
        m4[e] = s0, m5[e] = s0 + s1, m6[e] = s0 - s1, m7[e] = -s1;
        m8[e] = u0, m9[e] = u0 + u1, m10[e] = u0 - u1, m11[e] = -u1;
        m12[e] = -c, m13[e] = -c - d, m14[e] = d - c, m15[e] = d;
    }
}

/* db += the four pixels of each of n tiles (pointer quadruples in px). */
FNN_INLINE void bias_grad_add(float *restrict db, const float *const *px, int64_t n, int64_t F) {
    for (int64_t t = 0; t < n; t++) {
        const float *restrict a = px[4 * t], *restrict b = px[4 * t + 1];
        const float *restrict c = px[4 * t + 2], *restrict d = px[4 * t + 3];
        for (int64_t f = 0; f < F; f++) db[f] += (a[f] + b[f]) + (c[f] + d[f]);
    }
}

/* Filter f of dw (every kh, kw, c) = G^T (sum over chunks of the partial dU^T[:, f, :]) G;
 * partial chunk ch, component k, filter f, channel c at ch * stride + k * kP + f * Cn + c. */
#define FINISH_COLS 64
FNN_INLINE void weight_grad_finish(float *restrict dw, const float *restrict partials, int64_t nch,
                                   int64_t stride, int64_t kP, int64_t Cn, int64_t f, int64_t C,
                                   int64_t F) {
    const int64_t CF = C * F;
    for (int64_t c0 = 0; c0 < C; c0 += FINISH_COLS) {
        const int64_t cb = fnn_min64(FINISH_COLS, C - c0);
        float acc[16][FINISH_COLS];
        const float *base = partials + f * Cn + c0;
        for (int k = 0; k < 16; k++)
            for (int64_t c = 0; c < cb; c++) acc[k][c] = base[k * kP + c];
        for (int64_t ch = 1; ch < nch; ch++)
            for (int k = 0; k < 16; k++)
                for (int64_t c = 0; c < cb; c++) acc[k][c] += base[ch * stride + k * kP + c];
        for (int64_t c = 0; c < cb; c++) {
            float r[3][4];
            for (int b = 0; b < 4; b++) {
                float u0 = acc[b][c], u1 = acc[4 + b][c], u2 = acc[8 + b][c], u3 = acc[12 + b][c];
                r[0][b] = u0 + 0.5f * (u1 + u2);
                r[1][b] = 0.5f * (u1 - u2);
                r[2][b] = 0.5f * (u1 + u2) + u3;
            }
            for (int kh = 0; kh < 3; kh++) {
                float *o = dw + (kh * 3 * C + c0 + c) * F + f;
                o[0] = r[kh][0] + 0.5f * (r[kh][1] + r[kh][2]);
                o[CF] = 0.5f * (r[kh][1] - r[kh][2]);
                o[2 * CF] = 0.5f * (r[kh][1] + r[kh][2]) + r[kh][3];
            }
        }
    }
}

#endif
