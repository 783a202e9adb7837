/* conv_pool.c -- Conv2D + ReLU + 2x2 max pooling (stride 2, "valid") in one pass, for
 * convolutions with few patch entries (KH*KW*C <= FNN_CONV_POOL_MAX_ENTRIES, such as a
 * first layer on grey or RGB images).  (A 3x3 stride-1 convolution that takes the
 * Winograd path with an even output goes there instead: fnn_winograd_forward_pool.)
 *
 *   forward          z = relu(conv(x, w) + b)  (never stored: only the pooled maximum is)
 *                    y[n,i,j,f] = max over a, b in {0,1} of z[n, 2i+a, 2j+b, f]
 *                    pos[n,i,j,f] = 2a + b of the winner: the first in row-major order,
 *                    later ones win when strictly greater or the window's first NaN
 *                    (exactly MaxPooling2D's rule on z)
 *   backward_weight  g = dy where y > 0 (ReLU's gradient at the winner), else 0;
 *                    dz = g scattered to the winners (zero elsewhere);
 *                    dw = sum over (n, oh, ow) of patch(x) (x) dz;  db = sum of g
 * Unfused, the first layer of the seed CNN writes a 128x26x26x32 activation (11 MB), reads
 * it back to pool it, and its backward pass reads and writes full-resolution gradients
 * (ReLU mask, pool scatter, weight gradient): memory traffic that costs more than its 50
 * MFLOP of arithmetic.  Here each conv output lives only in registers.
 *
 * Each conv output is KH*KW*C FMAs per LANES filters, accumulated in ascending patch
 * order from zero, then + b and ReLU: the same operations in the same order as the GEMM
 * micro-kernels, so the forward pass equals Conv2D + MaxPooling2D bit for bit on the
 * AVX-512 and AVX2 paths (explicit FMA intrinsics there, as in the micro-kernels: see
 * window_fma).  The rest is plain C compiled for the GEMM's ISA (FNN_INLINE bodies in
 * AVX-512 / AVX2 / plain wrappers), with two concessions to GCC 12, which otherwise
 * emitted scalar code: the generic FMA chains and the weight gradient's use GCC's
 * portable vector types (left alone it vectorized the patch loop, with in-order scalar
 * reductions), and the lane loops carry "#pragma GCC unroll 1" (fully unrolled
 * 16-iteration loops were not re-vectorized).
 * Comparisons stay in the lane loops: on vector types GCC splits them into scalars (it
 * lowers them in the body's own, baseline, target). */
#include <string.h>
#include "parallel.h"
#include "conv2d_winograd.h"
#ifdef FNN_TARGET_AVX512
#include <immintrin.h>
#endif

#define LANES 16        /* filters per block: one AVX-512 vector, two AVX2 ones */
#define WEIGHT_CHUNKS 8 /* batch chunks of the weight gradient, fixed for determinism */
#define FORWARD_CHUNK_ROWS 256 /* pooled outputs per chunk of the forward pass */

/* GCC's portable vector type: one zmm register, two ymm or four xmm. */
typedef float vfloat __attribute__((vector_size(LANES * sizeof(float))));

static int64_t patch_len(const fnn_conv2d_shape *s) { return s->KH * s->KW * s->C; }
static int64_t blocks(const fnn_conv2d_shape *s) { return fnn_ceil_div(s->F, LANES); }
/* A filter block's packed weights or weight-gradient partial: [q][LANES]. */
static int64_t block_floats(const fnn_conv2d_shape *s) { return patch_len(s) * LANES; }
static int64_t padded_floats(const fnn_conv2d_shape *s) {
    return blocks(s) * (block_floats(s) + LANES); /* weights, then bias */
}
static int64_t chunks(const fnn_conv2d_shape *s) { return fnn_min64(WEIGHT_CHUNKS, s->N); }

int fnn_conv2d_relu_maxpool2d_winograd(const fnn_conv2d_shape *s, size_t work_size) {
    return s->OH % 2 == 0 && s->OW % 2 == 0 &&
           fnn_winograd_chosen(s, FNN_WINO_FORWARD, work_size);
}

size_t fnn_conv2d_relu_maxpool2d_workspace_size(const fnn_conv2d_shape *s) {
    /* packed weights (forward) or one partial per chunk (backward_weight), and room for
     * the Winograd forward when it is taken */
    size_t direct = patch_len(s) <= FNN_CONV_POOL_MAX_ENTRIES
                        ? (size_t)(padded_floats(s) * WEIGHT_CHUNKS + FNN_ALIGN_FLOATS) : 0;
    size_t wino = fnn_conv2d_relu_maxpool2d_winograd(s, 0) ? fnn_winograd_workspace_size(s) : 0;
    return direct > wino ? direct : wino;
}

/* wp[blk][q][l] = w[q, blk*LANES + l] and bp[blk*LANES + l] = b[...], zero past F. */
static void pack_filters(float *wp, float *bp, const float *w, const float *b,
                         const fnn_conv2d_shape *s) {
    const int64_t P = patch_len(s), F = s->F;
    for (int64_t blk = 0; blk < blocks(s); blk++)
        for (int64_t l = 0; l < LANES; l++) {
            int64_t f = blk * LANES + l;
            for (int64_t q = 0; q < P; q++)
                wp[(blk * P + q) * LANES + l] = f < F ? w[q * F + f] : 0.0f;
            bp[f] = f < F && b ? b[f] : 0.0f;
        }
}

/* The receptive field of conv output (n, oh, ow) laid out like the kernel (kh, kw, c),
 * zeros where it falls in the padding. */
static void gather_patch(float *pt, const float *x, const fnn_conv2d_shape *s, int64_t n,
                         int64_t oh, int64_t ow) {
    const int64_t ih0 = oh * s->SH - s->PT, iw0 = ow * s->SW - s->PL, C = s->C;
    for (int64_t kh = 0, q = 0; kh < s->KH; kh++)
        for (int64_t kw = 0; kw < s->KW; kw++, q += C) {
            int64_t ih = ih0 + kh, iw = iw0 + kw;
            if (ih < 0 || ih >= s->H || iw < 0 || iw >= s->W) {
                for (int64_t c = 0; c < C; c++) pt[q + c] = 0.0f;
                continue;
            }
            const float *src = x + ((n * s->H + ih) * s->W + iw) * C;
            for (int64_t c = 0; c < C; c++) pt[q + c] = src[c];
        }
}

/* Where the four patches of pooled output (n, i, j) are (window place k = 2a + b):
 * entry q of patch k is src[k][off[q]].  When the whole window lies inside the image
 * the patches are read in place (off = the entries' offsets in x); otherwise they are
 * gathered into pt, zeros for the padding (off = 0, 1, ...). */
typedef struct {
    const float *src[4];
    const int32_t *off;
} window_view;

typedef struct {
    int32_t in_image[FNN_CONV_POOL_MAX_ENTRIES], in_copy[FNN_CONV_POOL_MAX_ENTRIES];
} entry_offsets;

static void fill_offsets(entry_offsets *o, const fnn_conv2d_shape *s) {
    for (int64_t kh = 0, q = 0; kh < s->KH; kh++)
        for (int64_t kw = 0; kw < s->KW; kw++)
            for (int64_t c = 0; c < s->C; c++, q++) {
                o->in_image[q] = (int32_t)((kh * s->W + kw) * s->C + c);
                o->in_copy[q] = (int32_t)q;
            }
}

static void gather_window(window_view *v, float pt[4][FNN_CONV_POOL_MAX_ENTRIES],
                          const float *x, const fnn_conv2d_shape *s, const entry_offsets *o,
                          int64_t n, int64_t i, int64_t j) {
    for (int k = 0; k < 4; k++) {
        gather_patch(pt[k], x, s, n, 2 * i + k / 2, 2 * j + k % 2);
        v->src[k] = pt[k];
    }
    v->off = o->in_copy;
}

FNN_INLINE window_view view_window(float pt[4][FNN_CONV_POOL_MAX_ENTRIES], const float *x,
                                   const fnn_conv2d_shape *s, const entry_offsets *o,
                                   int64_t n, int64_t i, int64_t j) {
    const int64_t ih0 = 2 * i * s->SH - s->PT, iw0 = 2 * j * s->SW - s->PL;
    window_view v;
    if (ih0 < 0 || iw0 < 0 || ih0 + s->SH + s->KH > s->H || iw0 + s->SW + s->KW > s->W) {
        gather_window(&v, pt, x, s, o, n, i, j);
        return v;
    }
    for (int k = 0; k < 4; k++)
        v.src[k] = x + ((n * s->H + ih0 + k / 2 * s->SH) * s->W + iw0 + k % 2 * s->SW) * s->C;
    v.off = o->in_image;
    return v;
}

/* Steps (n, i, j) to the next pooled output (a division per output was measurable). */
FNN_INLINE void next_output(int64_t *n, int64_t *i, int64_t *j, const fnn_conv2d_shape *s) {
    if (++*j == s->OW / 2) {
        *j = 0;
        if (++*i == s->OH / 2) *i = 0, ++*n;
    }
}

/* The four window places' conv outputs for one block of filters (before bias):
 * zs[k][l] = sum over q, in order, of patch k's entry q * wp[q][l], as chains held in
 * registers.  On the AVX-512 and AVX2 paths each step is an explicit fused multiply-add
 * (one rounding, like the GEMM micro-kernels' _mm*_fmadd_ps), so the bit-for-bit
 * equality with Conv2D does not rest on the compiler contracting a * b + c: GCC does
 * that only from -O2 (with -ffp-contract=fast), and the sanitizer build at -O1 rounded
 * twice.  AVX2 uses two 8-lane vectors per chain (forward_rows_avx512, below, has its own).
 * The generic path multiplies and adds, like the generic GEMM micro-kernel (the two agree
 * to rounding, whatever the compiler contracts). */
FNN_INLINE void window_fma(float zs[4][LANES], const window_view *v, const float *wp,
                           int64_t P) {
    const vfloat *wv = (const vfloat *)wp, zero = {0};
    vfloat z[4] = {zero, zero, zero, zero};
    for (int64_t q = 0; q < P; q++)
        for (int k = 0; k < 4; k++) z[k] += v->src[k][v->off[q]] * wv[q];
    for (int k = 0; k < 4; k++) *(vfloat *)zs[k] = z[k];
}
#ifdef FNN_TARGET_AVX512
FNN_TARGET_AVX2 FNN_INLINE void window_fma_avx2(float zs[4][LANES], const window_view *v,
                                                const float *wp, int64_t P) {
    __m256 z[4][2];
    for (int k = 0; k < 4; k++) z[k][0] = z[k][1] = _mm256_setzero_ps();
    for (int64_t q = 0; q < P; q++) {
        const __m256 w0 = _mm256_load_ps(wp + q * LANES), w1 = _mm256_load_ps(wp + q * LANES + 8);
        for (int k = 0; k < 4; k++) {
            const __m256 e = _mm256_set1_ps(v->src[k][v->off[q]]);
            z[k][0] = _mm256_fmadd_ps(e, w0, z[k][0]);
            z[k][1] = _mm256_fmadd_ps(e, w1, z[k][1]);
        }
    }
    for (int k = 0; k < 4; k++) {
        _mm256_store_ps(zs[k], z[k][0]);
        _mm256_store_ps(zs[k] + LANES / 2, z[k][1]);
    }
}
#endif

/* One filter block of pooled output r from its window's conv outputs zs: + bias, ReLU
 * (a NaN stays NaN), then MaxPooling2D's rule: the first wins, then strictly greater or
 * the window's first NaN ("not v <= cur"; a NaN cur never loses). */
FNN_INLINE void pool_block(float *restrict y, uint8_t *restrict pos, float zs[4][LANES],
                           const float *restrict bp, const fnn_conv2d_shape *s, int64_t r,
                           int64_t blk) {
    const int64_t F = s->F;
    float best[LANES];
    int32_t arg[LANES];
    const float *bias = bp + blk * LANES;
#pragma GCC unroll 1
    for (int l = 0; l < LANES; l++) {
        float v = zs[0][l] + bias[l];
        best[l] = v < 0.0f ? 0.0f : v;
        arg[l] = 0;
    }
    for (int32_t k = 1; k < 4; k++)
#pragma GCC unroll 1
        for (int l = 0; l < LANES; l++) {
            float v = zs[k][l] + bias[l], cur = best[l];
            v = v < 0.0f ? 0.0f : v;
            int32_t win = -(int32_t)(!(v <= cur) & (cur == cur));
            best[l] = win ? v : cur;
            arg[l] = (arg[l] & ~win) | (k & win);
        }
    const int64_t f0 = blk * LANES, nf = fnn_min64(LANES, F - f0);
    if (nf == LANES) { /* a fixed length: vector stores, not a memcpy call */
#pragma GCC unroll 1
        for (int l = 0; l < LANES; l++) y[r * F + f0 + l] = best[l];
#pragma GCC unroll 1
        for (int l = 0; l < LANES; l++) pos[r * F + f0 + l] = (uint8_t)arg[l];
    } else {
#pragma GCC unroll 1
        for (int64_t l = 0; l < nf; l++) {
            y[r * F + f0 + l] = best[l];
            pos[r * F + f0 + l] = (uint8_t)arg[l];
        }
    }
}

/* forward_rows_<isa>: pooled outputs r0 .. r1 (r = (n, i, j)), one function per ISA
 * around that ISA's window FMA (a macro: a body shared through FNN_INLINE could not
 * call the AVX-512 or AVX2 helper from the generic wrapper). */
#define DEFINE_FORWARD_ROWS(TARGET, NAME, WINDOW_FMA)                                         \
    TARGET static void NAME(float *restrict y, uint8_t *restrict pos, const float *restrict x, \
                            const float *restrict wp, const float *restrict bp,                \
                            const fnn_conv2d_shape *s, int64_t r0, int64_t r1) {               \
        const int64_t P = patch_len(s), PH = s->OH / 2, PW = s->OW / 2;                        \
        float pt[4][FNN_CONV_POOL_MAX_ENTRIES];                                                \
        entry_offsets offsets;                                                                 \
        fill_offsets(&offsets, s);                                                             \
        int64_t n = r0 / (PH * PW), i = r0 / PW % PH, j = r0 % PW;                             \
        for (int64_t r = r0; r < r1; r++, next_output(&n, &i, &j, s)) { /* r = (n, i, j) */  \
            const window_view v = view_window(pt, x, s, &offsets, n, i, j);                    \
            for (int64_t blk = 0; blk < blocks(s); blk++) {                                    \
                float zs[4][LANES] __attribute__((aligned(64)));                               \
                WINDOW_FMA(zs, &v, wp + blk * P * LANES, P);                                   \
                pool_block(y, pos, zs, bp, s, r, blk);                                         \
            }                                                                                  \
        }                                                                                      \
    }
DEFINE_FORWARD_ROWS(, forward_rows_generic, window_fma)
#ifdef FNN_TARGET_AVX512
DEFINE_FORWARD_ROWS(FNN_TARGET_AVX2, forward_rows_avx2, window_fma_avx2)

/* pool_block on the AVX-512 path, on registers: relu(z + b) is vmaxps(0, z + b) (a NaN
 * or -0 passes through, as v < 0 ? 0 : v), and "not v <= cur" and "cur == cur" are the
 * NLE_UQ and ORD_Q compares; y and pos are stored under a mask past F. */
FNN_TARGET_AVX512 FNN_INLINE void pool_store_avx512(float *restrict y, uint8_t *restrict pos,
                                                    const __m512 z[4], const float *bp,
                                                    int64_t F, int64_t r, int64_t blk) {
    const __m512 bias = _mm512_load_ps(bp + blk * LANES), zero = _mm512_setzero_ps();
    __m512 best = _mm512_max_ps(zero, _mm512_add_ps(z[0], bias));
    __m512i arg = _mm512_setzero_si512();
    for (int k = 1; k < 4; k++) {
        const __m512 v = _mm512_max_ps(zero, _mm512_add_ps(z[k], bias));
        const __mmask16 win = _mm512_cmp_ps_mask(v, best, _CMP_NLE_UQ) &
                              _mm512_cmp_ps_mask(best, best, _CMP_ORD_Q);
        best = _mm512_mask_mov_ps(best, win, v);
        arg = _mm512_mask_mov_epi32(arg, win, _mm512_set1_epi32(k));
    }
    const int64_t f0 = blk * LANES, nf = fnn_min64(LANES, F - f0);
    const __mmask16 keep = nf == LANES ? (__mmask16)0xFFFF : (__mmask16)((1u << nf) - 1);
    _mm512_mask_storeu_ps(y + r * F + f0, keep, best);
    _mm_mask_storeu_epi8(pos + r * F + f0, keep, _mm512_cvtepi32_epi8(arg));
}

/* forward_rows on the AVX-512 path: two filter blocks per pass over the window, so each
 * broadcast patch entry feeds two FMAs; each chain still runs over q in order from zero
 * (the same bits as window_fma and the GEMM micro-kernels). */
FNN_TARGET_AVX512 static void forward_rows_avx512(float *restrict y, uint8_t *restrict pos,
                                                  const float *restrict x,
                                                  const float *restrict wp,
                                                  const float *restrict bp,
                                                  const fnn_conv2d_shape *s, int64_t r0,
                                                  int64_t r1) {
    const int64_t P = patch_len(s), PH = s->OH / 2, PW = s->OW / 2, nb = blocks(s);
    float pt[4][FNN_CONV_POOL_MAX_ENTRIES];
    entry_offsets offsets;
    fill_offsets(&offsets, s);
    int64_t n = r0 / (PH * PW), i = r0 / PW % PH, j = r0 % PW;
    for (int64_t r = r0; r < r1; r++, next_output(&n, &i, &j, s)) { /* r = (n, i, j) */
        const window_view v = view_window(pt, x, s, &offsets, n, i, j);
        int64_t blk = 0;
        for (; blk + 1 < nb; blk += 2) {
            const float *wa = wp + blk * P * LANES, *wb = wa + P * LANES;
            __m512 za[4], zb[4];
            for (int k = 0; k < 4; k++) za[k] = zb[k] = _mm512_setzero_ps();
            for (int64_t q = 0; q < P; q++) {
                const __m512 a = _mm512_load_ps(wa + q * LANES), b = _mm512_load_ps(wb + q * LANES);
                const int32_t o = v.off[q];
                for (int k = 0; k < 4; k++) {
                    const __m512 e = _mm512_set1_ps(v.src[k][o]);
                    za[k] = _mm512_fmadd_ps(e, a, za[k]);
                    zb[k] = _mm512_fmadd_ps(e, b, zb[k]);
                }
            }
            pool_store_avx512(y, pos, za, bp, s->F, r, blk);
            pool_store_avx512(y, pos, zb, bp, s->F, r, blk + 1);
        }
        if (blk < nb) { /* an odd block count's last block */
            const float *wa = wp + blk * P * LANES;
            __m512 za[4];
            for (int k = 0; k < 4; k++) za[k] = _mm512_setzero_ps();
            for (int64_t q = 0; q < P; q++) {
                const __m512 a = _mm512_load_ps(wa + q * LANES);
                for (int k = 0; k < 4; k++)
                    za[k] = _mm512_fmadd_ps(_mm512_set1_ps(v.src[k][v.off[q]]), a, za[k]);
            }
            pool_store_avx512(y, pos, za, bp, s->F, r, blk);
        }
    }
}
#endif
FNN_ISA_SITE(forward_rows)
static void forward_rows(float *y, uint8_t *pos, const float *x, const float *wp,
                         const float *bp, const fnn_conv2d_shape *s, int64_t r0, int64_t r1) {
    FNN_ISA_CALL(fnn_vector_isa(), forward_rows, (y, pos, x, wp, bp, s, r0, r1));
}

void fnn_conv2d_relu_maxpool2d_forward(float *y, uint8_t *pos, const float *x, const float *w,
                                       const float *b, const fnn_conv2d_shape *s, float *work,
                                       size_t work_size) {
    if (fnn_conv2d_relu_maxpool2d_winograd(s, work_size)) { /* tiles are pool windows */
        fnn_winograd_forward_pool(y, pos, x, w, b, s, work, work_size);
        return;
    }
    const int64_t rows = s->N * (s->OH / 2) * (s->OW / 2);
    float *wp = fnn_align_up(work), *bp = wp + blocks(s) * block_floats(s);
    pack_filters(wp, bp, w, b, s);
    int nt = fnn_threads_for(rows * 4 * patch_len(s) * s->F / 4);
    if (nt > rows) nt = (int)rows;
    const int team = fnn_team(nt);
    /* Chunks of pooled rows handed out dynamically: a thread slowed down by another
     * process on its core takes fewer (each output is the same whoever computes it). */
    const int64_t nchunks = fnn_ceil_div(rows, FORWARD_CHUNK_ROWS);
#pragma omp parallel for num_threads(team) if (team > 1) schedule(dynamic, 1)
    for (int64_t c = 0; c < nchunks; c++)
        forward_rows(y, pos, x, wp, bp, s, c * FORWARD_CHUNK_ROWS,
                     fnn_min64(rows, (c + 1) * FORWARD_CHUNK_ROWS));
}

/* Adds images [n0, n1)'s contribution to one chunk's partial: pdw[blk][q][l] (then the
 * blocks' bias gradients, pdb[blk*LANES + l]).  A pooled output's four window
 * positions are one pass over the partial, so it is loaded and stored once per four
 * products. */
FNN_INLINE void weight_rows_body(float *restrict pdw, float *restrict pdb,
                                 const float *restrict dy, const float *restrict y,
                                 const uint8_t *restrict pos, const float *restrict x,
                                 const fnn_conv2d_shape *s, int64_t n0, int64_t n1) {
    const int64_t P = patch_len(s), F = s->F, PH = s->OH / 2, PW = s->OW / 2;
    float pt[4][FNN_CONV_POOL_MAX_ENTRIES];
    entry_offsets offsets;
    fill_offsets(&offsets, s);
    int64_t n = n0, i = 0, j = 0;
    for (int64_t r = n0 * PH * PW; r < n1 * PH * PW; r++, next_output(&n, &i, &j, s)) {
        const window_view v = view_window(pt, x, s, &offsets, n, i, j);
        for (int64_t blk = 0; blk < blocks(s); blk++) {
            const int64_t f0 = blk * LANES, nf = fnn_min64(LANES, F - f0);
            float gs[4][LANES] __attribute__((aligned(64))), yb[LANES] = {0}, dyb[LANES] = {0};
            float at[LANES] = {0}; /* the winner's place, as a float: a compare and
                                    * select of one type vectorize */
            if (nf == LANES) { /* a fixed length: vector loads, not memcpy calls */
#pragma GCC unroll 1
                for (int l = 0; l < LANES; l++) yb[l] = y[r * F + f0 + l];
#pragma GCC unroll 1
                for (int l = 0; l < LANES; l++) dyb[l] = dy[r * F + f0 + l];
#pragma GCC unroll 1
                for (int l = 0; l < LANES; l++) at[l] = (float)pos[r * F + f0 + l];
            } else {
#pragma GCC unroll 1
                for (int64_t l = 0; l < nf; l++) { /* zero past F */
                    yb[l] = y[r * F + f0 + l];
                    dyb[l] = dy[r * F + f0 + l];
                    at[l] = (float)pos[r * F + f0 + l];
                }
            }
            float g[LANES];
#pragma GCC unroll 1
            for (int l = 0; l < LANES; l++) g[l] = yb[l] > 0.0f ? dyb[l] : 0.0f; /* ReLU */
#pragma GCC unroll 1
            for (int l = 0; l < LANES; l++) pdb[f0 + l] += g[l];
            for (int k = 0; k < 4; k++)
#pragma GCC unroll 1
                for (int l = 0; l < LANES; l++) gs[k][l] = at[l] == (float)k ? g[l] : 0.0f;
            const vfloat g0 = *(vfloat *)gs[0], g1 = *(vfloat *)gs[1];
            const vfloat g2 = *(vfloat *)gs[2], g3 = *(vfloat *)gs[3];
            vfloat *pb = (vfloat *)(pdw + blk * P * LANES);
            for (int64_t q = 0; q < P; q++) {
                vfloat acc = pb[q];
                const int32_t o = v.off[q];
                acc += v.src[0][o] * g0;
                acc += v.src[1][o] * g1;
                acc += v.src[2][o] * g2;
                acc += v.src[3][o] * g3;
                pb[q] = acc;
            }
        }
    }
}

/* weight_rows for the active ISA: the plain body for AVX2 and generic code, and on the
 * AVX-512 path two filter blocks per pass over the window (each broadcast patch entry
 * feeds both), with the winners' gradients selected under masks.  The partial's
 * entries take the same four fused multiply-adds in the same order. */
FNN_ISA_SITE(weight_rows_body)
#ifdef FNN_TARGET_AVX512
FNN_TARGET_AVX2 static void weight_rows_body_avx2(float *pdw, float *pdb, const float *dy,
                                                  const float *y, const uint8_t *pos,
                                                  const float *x, const fnn_conv2d_shape *s,
                                                  int64_t n0, int64_t n1) {
    weight_rows_body(pdw, pdb, dy, y, pos, x, s, n0, n1);
}

/* One block's gradient at pooled output r: g = dy where y > 0, into the bias partial,
 * and gs[k] = g where window place k won (zero elsewhere, and past F). */
FNN_TARGET_AVX512 FNN_INLINE void winner_grads_avx512(__m512 gs[4], float *restrict pdb,
                                                      const float *restrict dy,
                                                      const float *restrict y,
                                                      const uint8_t *restrict pos, int64_t F,
                                                      int64_t r, int64_t blk) {
    const int64_t f0 = blk * LANES, nf = fnn_min64(LANES, F - f0), at = r * F + f0;
    const __mmask16 keep = nf == LANES ? (__mmask16)0xFFFF : (__mmask16)((1u << nf) - 1);
    const __m512 yb = _mm512_maskz_loadu_ps(keep, y + at);
    const __m512 g = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(yb, _mm512_setzero_ps(), _CMP_GT_OQ),
                                         _mm512_maskz_loadu_ps(keep, dy + at));
    const __m512i won = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(keep, pos + at));
    _mm512_store_ps(pdb + f0, _mm512_add_ps(_mm512_load_ps(pdb + f0), g));
    for (int k = 0; k < 4; k++)
        gs[k] = _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(won, _mm512_set1_epi32(k)), g);
}

FNN_TARGET_AVX512 static void weight_rows_body_avx512(float *restrict pdw, float *restrict pdb,
                                                      const float *restrict dy,
                                                      const float *restrict y,
                                                      const uint8_t *restrict pos,
                                                      const float *restrict x,
                                                      const fnn_conv2d_shape *s, int64_t n0,
                                                      int64_t n1) {
    const int64_t P = patch_len(s), F = s->F, PH = s->OH / 2, PW = s->OW / 2, nb = blocks(s);
    float pt[4][FNN_CONV_POOL_MAX_ENTRIES];
    entry_offsets offsets;
    fill_offsets(&offsets, s);
    int64_t n = n0, i = 0, j = 0;
    for (int64_t r = n0 * PH * PW; r < n1 * PH * PW; r++, next_output(&n, &i, &j, s)) {
        const window_view v = view_window(pt, x, s, &offsets, n, i, j);
        for (int64_t blk = 0; blk < nb; blk += 2) {
            const int pair = blk + 1 < nb;
            __m512 ga[4], gb[4];
            winner_grads_avx512(ga, pdb, dy, y, pos, F, r, blk);
            if (pair) winner_grads_avx512(gb, pdb, dy, y, pos, F, r, blk + 1);
            float *pa = pdw + blk * P * LANES, *pb = pa + P * LANES;
            for (int64_t q = 0; q < P; q++) {
                const int32_t o = v.off[q];
                __m512 e[4];
                for (int k = 0; k < 4; k++) e[k] = _mm512_set1_ps(v.src[k][o]);
                __m512 acc = _mm512_load_ps(pa + q * LANES);
                for (int k = 0; k < 4; k++) acc = _mm512_fmadd_ps(e[k], ga[k], acc);
                _mm512_store_ps(pa + q * LANES, acc);
                if (!pair) continue;
                acc = _mm512_load_ps(pb + q * LANES);
                for (int k = 0; k < 4; k++) acc = _mm512_fmadd_ps(e[k], gb[k], acc);
                _mm512_store_ps(pb + q * LANES, acc);
            }
        }
    }
}
#endif
static void weight_rows_body_generic(float *pdw, float *pdb, const float *dy, const float *y,
                                     const uint8_t *pos, const float *x,
                                     const fnn_conv2d_shape *s, int64_t n0, int64_t n1) {
    weight_rows_body(pdw, pdb, dy, y, pos, x, s, n0, n1);
}
static void weight_rows(float *pdw, float *pdb, const float *dy, const float *y,
                        const uint8_t *pos, const float *x, const fnn_conv2d_shape *s, int64_t n0,
                        int64_t n1) {
    FNN_ISA_CALL(fnn_vector_isa(), weight_rows_body, (pdw, pdb, dy, y, pos, x, s, n0, n1));
}

void fnn_conv2d_relu_maxpool2d_backward_weight(float *dw, float *db, const float *dy,
                                               const float *y, const uint8_t *pos,
                                               const float *x, const fnn_conv2d_shape *s,
                                               float *work, size_t work_size) {
    (void)work_size;
    const int64_t P = patch_len(s), F = s->F, nch = chunks(s), part = padded_floats(s);
    float *partials = fnn_align_up(work); /* chunk c: blocks x [q][LANES], then blocks x LANES */
    int nt = fnn_threads_for(s->N * (s->OH / 2) * (s->OW / 2) * 4 * P * F / 4);
    if (nt > nch) nt = (int)nch;
    const int team = fnn_team(nt);
#pragma omp parallel num_threads(team) if (team > 1)
    {
        /* chunks handed out dynamically (see forward); each has its own partial */
#pragma omp for schedule(dynamic, 1)
        for (int64_t c = 0; c < nch; c++) {
            float *pdw = partials + c * part;
            memset(pdw, 0, (size_t)part * sizeof(float));
            weight_rows(pdw, pdw + blocks(s) * block_floats(s), dy, y, pos, x, s,
                        s->N * c / nch, s->N * (c + 1) / nch);
        }
        /* dw[q, f] and db[f]: the partials added in chunk order, elements split between
         * threads (the same sums whatever the thread count) */
#pragma omp for schedule(static)
        for (int64_t e = 0; e < P * F + F; e++) {
            int64_t q = e / F, f = e % F, blk = f / LANES, l = f % LANES;
            int64_t src = e < P * F ? (blk * P + q) * LANES + l
                                    : blocks(s) * block_floats(s) + (e - P * F);
            float acc = 0.0f;
            for (int64_t c = 0; c < nch; c++) acc += partials[c * part + src];
            if (e < P * F)
                dw[e] = acc;
            else if (db)
                db[e - P * F] = acc;
        }
    }
}
