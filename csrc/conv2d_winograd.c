/* conv2d_winograd.c -- 3x3 stride-1 Conv2D by Winograd's minimal filtering F(2x2, 3x3).
 *
 * Each 2x2 block of outputs comes from a 4x4 tile of input d (stride 2 between tiles):
 *   forward          Y  = A^T [ sum_c U[c,f] (.) V[c] ] A,   U = G g G^T,  V = B^T d B
 *   backward_weight  dg = G^T [ sum_tiles V[c] (.) dM[f] ] G,  dM = A dY A^T
 *   backward_input   (stride 1) the forward of dY, padded by 2 - PT / 2 - PL, with the
 *                    kernel rotated by 180 degrees and its channel axes swapped
 * with (rows)  B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  G = [1 0 0; .5 .5 .5;
 * .5 -.5 .5; 0 0 1],  A^T = [1 1 1 0; 0 1 -1 -1].  The elementwise products summed over
 * channels (or tiles) are 16 independent GEMMs, one per tile component k = (a, b): 16
 * multiplies per 2x2 outputs instead of 36 (2.25x fewer, less on odd output sizes).
 * The transforms only add, subtract and halve (exact), so a NaN reaches exactly the
 * outputs whose window holds it; float32 error grows by a small constant factor.
 *
 * Forward with 2x2 max pooling (fnn_winograd_forward_pool, even OH and OW): a tile's
 * 2x2 outputs are one pooling window, so the output transform writes the window's
 * maximum and its place instead of the four values (tile_outputs, then pool_places).
 * Forward (and backward_input) call the micro-kernel directly, on data laid out for it
 * without transposing transformed data: a register tile's MR rows are the same tile of
 * MR images (lanes), so V[k] for one tile is C x MR (channel-major, as the packed A
 * panel the micro-kernel reads) and every transform runs along C * MR contiguous floats.  Work
 * unit = (group of MR images, one row of tiles): the 4 input rows it needs are copied,
 * lanes innermost, into a 4-row ring (a tile row shares 2 input rows with the previous
 * one, so a thread's consecutive units copy 2 new rows each), transformed into V
 * (16 x TW tiles x C x MR), multiplied by the packed U (micro-kernel calls on full
 * tiles into M, 16 x TW*MR x F rounded up to NR), and inverse-transformed into y with
 * bias and ReLU.  Each output is computed the same way whatever the thread count.
 *
 * Backward_weight keeps tiles as the GEMM's K axis (no lanes): blocks of Tb consecutive
 * tiles give dU^T[k] (F x C) += dM[k]^T . V[k], 16 runs of the micro-kernel over whole
 * register tiles.  Its operands are written in the packed layouts by the transforms
 * themselves: V in NR-channel strips (V[k][cs][t][j]; x's tile is read in place, edge
 * tiles through a zero-padded copy), dM in MR-filter strips (dY's four pixels per tile
 * are first gathered lane-major, G[fs][pixel][t][i], then transformed along tb * MR
 * floats).  The blocks are cut into a fixed number of chunks, each summed into its own
 * partial; partials are added in chunk order and transformed back (G^T dU G) per
 * filter, so dw is bitwise thread-count independent.
 * All scratch comes from the workspace: a shared part (packed U, or the partials), then
 * one area per thread, sized for L2.  Component strides are an odd number of cache lines
 * (comp_stride). */
#include <math.h>
#include <string.h>
#include "parallel.h"
#include "gemm/gemm.h"
#include "conv2d_winograd.h"
#include "conv2d_winograd_transforms.h"

#define WEIGHT_CHUNKS 8
/* Auto mode: largest per-thread area (floats) for the forward layout, and the least
 * ratio of direct multiplies to Winograd multiplies (lanes and edge tiles included). */
#define AUTO_MAX_THREAD_FLOATS (4 << 20)
#define AUTO_MIN_GAIN 1.3

static int winograd_mode = 1; /* 0 never, 1 when it pays, 2 whenever the shape allows */

int fnn_conv2d_set_winograd(int mode) {
    int old = winograd_mode;
    winograd_mode = mode;
    return old;
}

/* ---- the transforms (conv2d_winograd_transforms.h), per ISA ---------------------- */

FNN_ISA_VARIANTS(weight_transform,
                 (float *restrict U, const float *restrict g, int64_t C, int64_t F),
                 (U, g, C, F))
FNN_ISA_VARIANTS(input_transform,
                 (float *restrict v, int64_t ks, const float *restrict d0,
                  const float *restrict d1, const float *restrict d2, const float *restrict d3,
                  int64_t qs, int64_t L),
                 (v, ks, d0, d1, d2, d3, qs, L))
FNN_ISA_VARIANTS(output_transform,
                 (float *restrict y00, float *restrict y01, float *restrict y10,
                  float *restrict y11, const int64_t *ys, const float *restrict m, int64_t mi,
                  int64_t ks, const float *restrict bias, float lo, int64_t F, int64_t n),
                 (y00, y01, y10, y11, ys, m, mi, ks, bias, lo, F, n))

/* n tiles' outputs pooled 2x2 (a tile is one window): tile i reads component k at
 * m + i * mi + k * ks and writes y + i * ps and pos + i * ps; in chunks of POOL_CHUNK
 * filters, the four outputs (tile_outputs) then their maximum (pool_places_<isa>). */
#define DEFINE_OUTPUT_TRANSFORM_POOL(TARGET, NAME, POOL)                                      \
    TARGET static void NAME(float *restrict y, uint8_t *restrict pos, int64_t ps,           \
                            const float *restrict m, int64_t mi, int64_t ks,                \
                            const float *restrict bias, float lo, int64_t F, int64_t n) {   \
        float v[4][POOL_CHUNK] __attribute__((aligned(64)));                                  \
        for (int64_t i = 0; i < n; i++)                                                       \
            for (int64_t f0 = 0; f0 < F; f0 += POOL_CHUNK) {                                  \
                const int64_t len = fnn_min64(POOL_CHUNK, F - f0);                            \
                tile_outputs(v, m + i * mi, ks, bias, lo, f0, len);                           \
                POOL(y + i * ps + f0, pos + i * ps + f0, v, len);                             \
            }                                                                                 \
    }
#ifdef FNN_TARGET_AVX512
DEFINE_OUTPUT_TRANSFORM_POOL(FNN_TARGET_AVX512, output_transform_pool_avx512, pool_places_avx512)
DEFINE_OUTPUT_TRANSFORM_POOL(FNN_TARGET_AVX2, output_transform_pool_avx2, pool_places_avx2)
#endif
DEFINE_OUTPUT_TRANSFORM_POOL(, output_transform_pool_generic, pool_places)
FNN_ISA_SITE(output_transform_pool)
FNN_ISA_VARIANTS(grad_transform,
                 (float *restrict dm, int64_t ks, const float *restrict p0,
                  const float *restrict p1, const float *restrict q0, const float *restrict q1,
                  int64_t L),
                 (dm, ks, p0, p1, q0, q1, L))
FNN_ISA_VARIANTS(bias_grad_add,
                 (float *restrict db, const float *const *px, int64_t n, int64_t F),
                 (db, px, n, F))
FNN_ISA_VARIANTS(weight_grad_finish,
                 (float *restrict dw, const float *restrict partials, int64_t nch, int64_t stride,
                  int64_t kP, int64_t Cn, int64_t f, int64_t C, int64_t F),
                 (dw, partials, nch, stride, kP, Cn, f, C, F))

/* ---- forward (and backward_input): images in lanes ------------------------------ */

typedef struct {
    const fnn_conv2d_shape *s;
    int64_t mr, nr, TH, TW, Wp, units, Fpad, L;
    int64_t row, kV, kM; /* ring row, V and M component strides */
} fplan;

static fplan forward_plan(const fnn_conv2d_shape *s) {
    const fnn_gemm_kernel *kr = fnn_gemm_active();
    fplan p = {.s = s, .mr = kr->mr, .nr = kr->nr, .TH = fnn_ceil_div(s->OH, 2),
               .TW = fnn_ceil_div(s->OW, 2)};
    p.Wp = 2 * p.TW + 2;
    p.units = fnn_ceil_div(s->N, p.mr) * p.TH;
    p.Fpad = fnn_round_up(s->F, p.nr);
    p.L = s->C * p.mr;
    p.row = comp_stride(p.Wp * p.L);
    p.kV = comp_stride(p.TW * p.L);
    p.kM = comp_stride(p.TW * p.mr * p.Fpad);
    return p;
}

/* Shared: packed U (16 slices), the unpacked U, a zero bias, and a rotated kernel
 * (backward_input). */
static size_t fwd_shared(const fplan *p) {
    const int64_t C = p->s->C, F = p->s->F;
    return (size_t)(16 * p->Fpad * C + 16 * comp_stride(C * F) + F + 9 * C * F + C +
                    5 * FNN_ALIGN_FLOATS);
}
/* Per thread: the 4-row ring, V, M, and three rows for outputs past the edge. */
static size_t fwd_per_thread(const fplan *p) {
    return (size_t)(4 * p->row + 16 * p->kV + 16 * p->kM + 3 * p->s->F + 4 * FNN_ALIGN_FLOATS);
}

typedef struct {
    float *Up, *U, *zero_bias, *rot, *zeros;
} fwd_shared_area;

static fwd_shared_area fwd_layout(const fplan *p, float *work) {
    const int64_t C = p->s->C, F = p->s->F;
    fwd_shared_area a;
    a.Up = fnn_align_up(work);
    a.U = fnn_align_up(a.Up + 16 * p->Fpad * C);
    a.zero_bias = fnn_align_up(a.U + 16 * comp_stride(C * F));
    a.rot = fnn_align_up(a.zero_bias + F);
    a.zeros = fnn_align_up(a.rot + 9 * C * F); /* C floats: lanes past the batch */
    return a;
}

/* d[c * mr + i] = src[i][c]: `mr` rows of C floats into lanes.  Inlined with a constant
 * mr (the micro-kernels' 12 and 6), the lane loop unrolls into straight-line copies. */
static inline void to_lanes(float *restrict d, const float *const *src, int64_t C, int mr) {
    for (int64_t c = 0; c < C; c++)
        for (int i = 0; i < mr; i++) d[c * mr + i] = src[i][c];
}

/* Input row ih of images n0 .. n0 + MR, columns -PL .. Wp - PL, as dst[q][c][lane]
 * (zeros outside the image and for lanes past the batch). */
static void load_row(float *restrict dst, const float *restrict x, const fplan *p, int64_t n0,
                     int64_t ih, const float *zeros) {
    const fnn_conv2d_shape *s = p->s;
    const int64_t C = s->C, mr = p->mr, L = p->L, lanes = fnn_min64(mr, s->N - n0);
    if (ih < 0 || ih >= s->H) {
        memset(dst, 0, (size_t)(p->Wp * L) * sizeof(float));
        return;
    }
    const float *src[32];
    for (int64_t q = 0; q < p->Wp; q++) {
        const int64_t iw = q - s->PL;
        float *d = dst + q * L;
        if (iw < 0 || iw >= s->W) {
            memset(d, 0, (size_t)L * sizeof(float));
            continue;
        }
        for (int64_t i = 0; i < mr; i++)
            src[i] = i < lanes ? x + (((n0 + i) * s->H + ih) * s->W + iw) * C : zeros;
        if (mr == 12)
            to_lanes(d, src, C, 12);
        else if (mr == 6)
            to_lanes(d, src, C, 6);
        else
            to_lanes(d, src, C, (int)mr);
    }
}

/* Units [u0, u1) with one thread's buffers.  With `pos`, y is the 2x2 max pooling of the
 * ReLU'd output (even OH and OW: a tile is a pooling window) and pos the winners. */
static void forward_units(float *y, uint8_t *pos, const float *x, const float *Up,
                          const float *bias, int relu, const float *zeros, const fplan *p,
                          float *area, int64_t u0, int64_t u1) {
    const fnn_conv2d_shape *s = p->s;
    const fnn_gemm_kernel *kr = fnn_gemm_active();
    const int isa = fnn_vector_isa();
    const int64_t C = s->C, F = s->F, mr = p->mr, nr = p->nr, L = p->L, TW = p->TW;
    const int64_t Fpad = p->Fpad, row = p->row, kV = p->kV, kM = p->kM;
    float *ring = fnn_align_up(area);
    float *V = fnn_align_up(ring + 4 * row);
    float *M = fnn_align_up(V + 16 * kV);
    float *edge = fnn_align_up(M + 16 * kM); /* 3 rows of F: outputs past the edge */
    for (int64_t u = u0; u < u1; u++) {
        const int64_t n0 = u / p->TH * mr, th = u % p->TH;
        const int fresh = u == u0 || th == 0;
        for (int64_t r = fresh ? 0 : 2; r < 4; r++)
            load_row(ring + ((2 * th + r) & 3) * row, x, p, n0, 2 * th - s->PT + r, zeros);
        const float *d0 = ring + ((2 * th) & 3) * row, *d1 = ring + ((2 * th + 1) & 3) * row;
        const float *d2 = ring + ((2 * th + 2) & 3) * row, *d3 = ring + ((2 * th + 3) & 3) * row;
        for (int64_t tw = 0; tw < TW; tw++)
            FNN_ISA_CALL(isa, input_transform, (V + tw * L, kV, d0 + 2 * tw * L, d1 + 2 * tw * L,
                                                d2 + 2 * tw * L, d3 + 2 * tw * L, L, L));
        for (int64_t k = 0; k < 16; k++)
            for (int64_t j = 0; j < Fpad; j += nr) {
                const float *b = Up + k * Fpad * C + j * C;
                for (int64_t tw = 0; tw < TW; tw++)
                    kr->ukr(C, V + k * kV + tw * L, b, M + k * kM + tw * mr * Fpad + j, Fpad,
                            1.0f, 0.0f, NULL, 0);
            }
        const int64_t lanes = fnn_min64(mr, s->N - n0), oh = 2 * th, img = s->OH * s->OW * F;
        const float lo = relu ? 0.0f : -INFINITY;
        if (pos) {
            const int64_t pooled = p->TH * TW * F, at = (n0 * p->TH + th) * TW * F;
            for (int64_t tw = 0; tw < TW; tw++)
                FNN_ISA_CALL(isa, output_transform_pool,
                             (y + at + tw * F, pos + at + tw * F, pooled, M + tw * mr * Fpad,
                              Fpad, kM, bias, lo, F, lanes));
            continue;
        }
        for (int64_t tw = 0; tw < TW; tw++) {
            const int64_t ow = 2 * tw;
            const int right = ow + 1 < s->OW, below = oh + 1 < s->OH;
            float *y00 = y + ((n0 * s->OH + oh) * s->OW + ow) * F;
            float *y01 = right ? y00 + F : edge;
            float *y10 = below ? y00 + s->OW * F : edge + F;
            float *y11 = right && below ? y10 + F : edge + 2 * F;
            const int64_t ys[4] = {img, right ? img : 0, below ? img : 0, right && below ? img : 0};
            FNN_ISA_CALL(isa, output_transform, (y00, y01, y10, y11, ys, M + tw * mr * Fpad, Fpad,
                                                 kM, bias, lo, F, lanes));
        }
    }
}

/* y = conv(x, g) (+ bias, ReLU), g (3, 3, C, F) anywhere but the shared area's first
 * three parts. */
static void forward_core(float *y, uint8_t *pos, const float *x, const float *g,
                         const float *bias, int relu, const fnn_conv2d_shape *s, float *work,
                         size_t work_size) {
    const fplan p = forward_plan(s);
    const int isa = fnn_vector_isa();
    const int64_t C = s->C, F = s->F;
    fwd_shared_area a = fwd_layout(&p, work);
    FNN_ISA_CALL(isa, weight_transform, (a.U, g, C, F));
    for (int64_t k = 0; k < 16; k++)
        fnn_gemm_pack_b_whole(a.Up + k * p.Fpad * C, a.U + k * comp_stride(C * F), F, 0, C, F);
    memset(a.zeros, 0, (size_t)C * sizeof(float));
    if (!bias) {
        memset(a.zero_bias, 0, (size_t)F * sizeof(float));
        bias = a.zero_bias;
    }
    const size_t shared = fwd_shared(&p), per = fwd_per_thread(&p);
    const int64_t work_ops = 2 * p.units * p.TW * p.mr * 16 * C * F;
    int nt = fnn_threads_fitting(work_size, shared, per, fnn_threads_for(work_ops / 8));
    if (nt > p.units) nt = (int)p.units;
    const int team = fnn_team(nt);
    int64_t next = 0;
#pragma omp parallel num_threads(team) if (team > 1)
    {
        int t = FNN_THREAD_ID(), n_t = fnn_workers(nt);
        const int64_t nch = fnn_dynamic_chunks(p.units, n_t);
        for (int64_t c; t < n_t && (c = fnn_next_chunk(&next)) < nch;)
            forward_units(y, pos, x, a.Up, bias, relu, a.zeros, &p,
                          work + shared + (size_t)t * per,
                          p.units * c / nch, p.units * (c + 1) / nch);
    }
}

void fnn_winograd_forward(float *y, const float *x, const float *w, const float *b,
                          const fnn_conv2d_shape *s, int relu, float *work, size_t work_size) {
    forward_core(y, NULL, x, w, b, relu, s, work, work_size);
}

void fnn_winograd_forward_pool(float *y, uint8_t *pos, const float *x, const float *w,
                               const float *b, const fnn_conv2d_shape *s, float *work,
                               size_t work_size) {
    forward_core(y, pos, x, w, b, 1, s, work, work_size);
}

/* The forward convolution that computes dx (see the header). */
static fnn_conv2d_shape input_grad_shape(const fnn_conv2d_shape *s) {
    fnn_conv2d_shape t = {.N = s->N, .H = s->OH, .W = s->OW, .C = s->F, .F = s->C, .KH = 3,
                          .KW = 3, .SH = 1, .SW = 1, .PT = 2 - s->PT, .PL = 2 - s->PL,
                          .OH = s->H, .OW = s->W};
    return t;
}

void fnn_winograd_backward_input(float *dx, const float *dy, const float *w,
                                 const fnn_conv2d_shape *s, float *work, size_t work_size) {
    const fnn_conv2d_shape t = input_grad_shape(s);
    const fplan p = forward_plan(&t);
    const int64_t C = s->C, F = s->F;
    float *rot = fwd_layout(&p, work).rot; /* rot[kh][kw][f][c] = w[2-kh][2-kw][c][f] */
    fnn_rotate_kernel(rot, w, 3, 3, C, F);
    forward_core(dx, NULL, dy, rot, NULL, 0, &t, work, work_size);
}

/* ---- backward_weight: tiles along K ------------------------------------------------ */

/* dU^T[k] (F x C) = dM[k]^T . V[k] over the tiles: the micro-kernel's A panel is dM in
 * MR-filter strips (dM[k][fs][t][i]), its B panel V in NR-channel strips (V[k][cs][t][j]),
 * both written that way by the transforms; the partial is F x C rounded up to whole
 * register tiles (Fm x Cn). */
typedef struct {
    const fnn_conv2d_shape *s;
    int64_t mr, nr, TH, TW, ntiles, Tb, nblocks, nch, Fm, Cn;
    int64_t kV, kD, kP; /* V, dM and partial component strides */
} wplan;

#define WEIGHT_BLOCK_FLOATS 163840 /* V, gathered dY and dM of a block: ~640 KB, in L2 */

static wplan weight_plan(const fnn_conv2d_shape *s) {
    const fnn_gemm_kernel *kr = fnn_gemm_active();
    wplan p = {.s = s, .mr = kr->mr, .nr = kr->nr, .TH = fnn_ceil_div(s->OH, 2),
               .TW = fnn_ceil_div(s->OW, 2)};
    p.Fm = fnn_round_up(s->F, p.mr);
    p.Cn = fnn_round_up(s->C, p.nr);
    p.ntiles = s->N * p.TH * p.TW;
    p.Tb = fnn_min64(p.ntiles, fnn_max64(16, WEIGHT_BLOCK_FLOATS / (16 * p.Cn + 20 * p.Fm)));
    p.nblocks = fnn_ceil_div(p.ntiles, p.Tb);
    p.nch = fnn_min64(WEIGHT_CHUNKS, p.nblocks);
    p.kV = comp_stride(p.Tb * p.Cn);
    p.kD = comp_stride(p.Tb * p.Fm);
    p.kP = p.Fm * p.Cn;
    return p;
}
static int64_t partial_floats(const wplan *p) { return 16 * p->kP + p->s->F; }
static size_t wgt_shared(const wplan *p) {
    return (size_t)(p->nch * partial_floats(p) + fnn_max64(p->s->C, p->s->F) +
                    2 * FNN_ALIGN_FLOATS);
}
/* V, gathered dY (4 x Tb x Fm), dM, one x tile (16 x C), pixel pointers (4 x Tb) */
static size_t wgt_per_thread(const wplan *p) {
    const fnn_conv2d_shape *s = p->s;
    return (size_t)(16 * (p->kV + p->kD) + 4 * p->Tb * p->Fm + 16 * s->C + 8 * p->Tb +
                    6 * FNN_ALIGN_FLOATS);
}

/* src (F floats) cut into strips of mr, strip fs at g + fs * gs, zero-padded; inlined
 * with a constant mr (12, 6) so that whole strips copy as fixed-size blocks. */
static inline void to_strips(float *restrict g, int64_t gs, const float *restrict src, int64_t F,
                             int mr) {
    int64_t f0 = 0;
    for (; f0 + mr <= F; f0 += mr, g += gs)
        for (int i = 0; i < mr; i++) g[i] = src[f0 + i];
    if (f0 < F) {
        int i = 0;
        for (; f0 + i < F; i++) g[i] = src[f0 + i];
        for (; i < mr; i++) g[i] = 0.0f;
    }
}

/* The chunk's blocks [b0, b1): dU^T partial (16 x Fm x Cn) and db partial (F). */
static void weight_chunk(float *pdu, float *pdb, const float *dy, const float *x,
                         const float *zeros, const wplan *p, float *area, int64_t b0,
                         int64_t b1) {
    const fnn_conv2d_shape *s = p->s;
    const fnn_gemm_kernel *kr = fnn_gemm_active();
    const int isa = fnn_vector_isa();
    const int64_t C = s->C, F = s->F, Tb = p->Tb, mr = p->mr, nr = p->nr;
    const int64_t per_image = p->TH * p->TW, nfs = p->Fm / mr, ncs = p->Cn / nr;
    float *V = fnn_align_up(area);
    float *dM = fnn_align_up(V + 16 * p->kV);
    float *G = fnn_align_up(dM + 16 * p->kD); /* dY gathered: G[fs][pixel][t][i] */
    float *tile = fnn_align_up(G + 4 * Tb * p->Fm);
    const float **px = (const float **)fnn_align_up(tile + 16 * C);
    memset(pdb, 0, (size_t)F * sizeof(float));
    if (C % nr) /* V's lanes past C feed only columns of the partial that are never read;
                 * zero them once so they hold no garbage */
        memset(V, 0, (size_t)(16 * p->kV) * sizeof(float));
    for (int64_t blk = b0; blk < b1; blk++) {
        const int64_t t0 = blk * Tb, tb = fnn_min64(Tb, p->ntiles - t0);
        for (int64_t t = 0; t < tb; t++) {
            const int64_t n = (t0 + t) / per_image, rem = (t0 + t) % per_image;
            const int64_t oh = rem / p->TW * 2, ow = rem % p->TW * 2;
            const int64_t ih0 = oh - s->PT, iw0 = ow - s->PL;
            const float *d = x + ((n * s->H + ih0) * s->W + iw0) * C; /* row r at d + r*W*C */
            int64_t rs = s->W * C;
            if (ih0 < 0 || ih0 + 4 > s->H || iw0 < 0 || iw0 + 4 > s->W) {
                /* an edge tile: copied with zeros for the padding */
                for (int64_t r = 0; r < 4; r++)
                    for (int64_t q = 0; q < 4; q++) {
                        const int64_t ih = ih0 + r, iw = iw0 + q;
                        float *dst = tile + (r * 4 + q) * C;
                        if (ih < 0 || ih >= s->H || iw < 0 || iw >= s->W)
                            memset(dst, 0, (size_t)C * sizeof(float));
                        else
                            memcpy(dst, x + ((n * s->H + ih) * s->W + iw) * C,
                                   (size_t)C * sizeof(float));
                    }
                d = tile, rs = 4 * C;
            }
            for (int64_t cs = 0; cs < ncs; cs++)
                FNN_ISA_CALL(isa, input_transform, (V + cs * Tb * nr + t * nr, p->kV, d + cs * nr,
                                                    d + rs + cs * nr, d + 2 * rs + cs * nr,
                                                    d + 3 * rs + cs * nr, C,
                                                    fnn_min64(nr, C - cs * nr)));
            const float **q = px + 4 * t;
            q[0] = dy + ((n * s->OH + oh) * s->OW + ow) * F;
            q[1] = ow + 1 < s->OW ? q[0] + F : zeros;
            q[2] = oh + 1 < s->OH ? q[0] + s->OW * F : zeros;
            q[3] = ow + 1 < s->OW && oh + 1 < s->OH ? q[2] + F : zeros;
            for (int64_t u = 0; u < 4; u++) {
                float *g = G + (u * Tb + t) * mr;
                if (mr == 12)
                    to_strips(g, 4 * Tb * mr, q[u], F, 12);
                else if (mr == 6)
                    to_strips(g, 4 * Tb * mr, q[u], F, 6);
                else
                    to_strips(g, 4 * Tb * mr, q[u], F, (int)mr);
            }
        }
        FNN_ISA_CALL(isa, bias_grad_add, (pdb, px, tb, F));
        for (int64_t fs = 0; fs < nfs; fs++) {
            const float *g = G + fs * 4 * Tb * mr;
            FNN_ISA_CALL(isa, grad_transform, (dM + fs * Tb * mr, p->kD, g, g + Tb * mr,
                                               g + 2 * Tb * mr, g + 3 * Tb * mr, tb * mr));
        }
        const float beta = blk == b0 ? 0.0f : 1.0f;
        for (int64_t k = 0; k < 16; k++)
            for (int64_t cs = 0; cs < ncs; cs++) {
                const float *b = V + k * p->kV + cs * Tb * nr;
                for (int64_t fs = 0; fs < nfs; fs++)
                    kr->ukr(tb, dM + k * p->kD + fs * Tb * mr, b,
                            pdu + k * p->kP + fs * mr * p->Cn + cs * nr, p->Cn, 1.0f, beta, NULL,
                            0);
            }
    }
}

void fnn_winograd_backward_weight(float *dw, float *db, const float *dy, const float *x,
                                  const fnn_conv2d_shape *s, float *work, size_t work_size) {
    const wplan p = weight_plan(s);
    const int isa = fnn_vector_isa();
    const int64_t C = s->C, F = s->F, nch = p.nch, stride = partial_floats(&p);
    float *partials = fnn_align_up(work);
    float *zeros = partials + nch * stride;
    memset(zeros, 0, (size_t)F * sizeof(float));
    const size_t shared = wgt_shared(&p), per = wgt_per_thread(&p);
    int nt = fnn_threads_fitting(work_size, shared, per,
                     fnn_threads_for(2 * p.ntiles * 16 * C * F / 8));
    if (nt > nch) nt = (int)nch;
    const int team = fnn_team(nt);
    int64_t next = 0;
#pragma omp parallel num_threads(team) if (team > 1)
    {
        int t = FNN_THREAD_ID(), n_t = fnn_workers(nt);
        for (int64_t ch; t < n_t && (ch = fnn_next_chunk(&next)) < nch;) {
            float *pdu = partials + ch * stride;
            weight_chunk(pdu, pdu + 16 * p.kP, dy, x, zeros, &p, work + shared + (size_t)t * per,
                         p.nblocks * ch / nch, p.nblocks * (ch + 1) / nch);
        }
#pragma omp barrier
        /* filter f of dw from the partials in chunk order; item F is db */
#pragma omp for schedule(static)
        for (int64_t f = 0; f <= F; f++) {
            if (f < F) {
                FNN_ISA_CALL(isa, weight_grad_finish, (dw, partials, nch, stride, p.kP, p.Cn, f,
                                                       C, F));
            } else if (db) {
                for (int64_t j = 0; j < F; j++) {
                    float acc = 0.0f;
                    for (int64_t ch = 0; ch < nch; ch++) acc += partials[ch * stride + 16 * p.kP + j];
                    db[j] = acc;
                }
            }
        }
    }
}

/* ---- when the path is taken --------------------------------------------------------- */

static int legal(const fnn_conv2d_shape *s) {
    return s->KH == 3 && s->KW == 3 && s->SH == 1 && s->SW == 1 && s->PT >= 0 && s->PT <= 2 &&
           s->PL >= 0 && s->PL <= 2 && s->OH >= 1 && s->OW >= 1 && s->N >= 1;
}

static size_t fwd_total(const fnn_conv2d_shape *s) {
    fplan p = forward_plan(s);
    return fwd_shared(&p) + fwd_per_thread(&p) * (size_t)fnn_get_num_threads();
}
static size_t wgt_total(const fnn_conv2d_shape *s) {
    wplan p = weight_plan(s);
    return wgt_shared(&p) + wgt_per_thread(&p) * (size_t)fnn_get_num_threads();
}

/* Auto mode: enough channels, and enough multiplies saved once the lanes past the batch
 * (forward layout) and the outputs past an odd edge are counted.  Channel bounds measured
 * at batch 128 (benchmarks/bench_winograd.py, AVX-512): the forward pays from C = 4
 * (1.2x), backward_input from C = 4 (below, conv2d.c scatters dP tiles: 8x faster at
 * C = 1, 2.3x at C = 3, where this path pads its C output channels to NR lanes),
 * backward_weight from C = 8 (0.8x at C = 4, 2x at C = F = 8).  So the first layer
 * (C = 1) keeps the GEMM path for every pass. */
static int pays(const fnn_conv2d_shape *s, int pass) {
    if (s->F < 8) return 0;
    if (pass == FNN_WINO_FORWARD && s->C < 4) return 0;
    if (pass == FNN_WINO_BACKWARD_WEIGHT && s->C < 8) return 0;
    if (pass == FNN_WINO_BACKWARD_INPUT && s->C < 4) return 0; /* conv2d.c's dP tiles */
    const int64_t mr = fnn_gemm_active()->mr;
    const fnn_conv2d_shape t = input_grad_shape(s);
    const fnn_conv2d_shape *f = pass == FNN_WINO_BACKWARD_INPUT ? &t : s;
    double direct = (double)f->N * f->OH * f->OW * 9;
    double wino = (double)(pass == FNN_WINO_BACKWARD_WEIGHT ? f->N : fnn_round_up(f->N, mr)) *
                  fnn_ceil_div(f->OH, 2) * fnn_ceil_div(f->OW, 2) * 16;
    if (direct < AUTO_MIN_GAIN * wino) return 0;
    if (pass != FNN_WINO_BACKWARD_WEIGHT) {
        fplan p = forward_plan(f);
        if (fwd_per_thread(&p) > AUTO_MAX_THREAD_FLOATS) return 0;
    }
    return 1;
}

static size_t pass_total(const fnn_conv2d_shape *s, int pass) {
    if (pass == FNN_WINO_FORWARD) return fwd_total(s);
    if (pass == FNN_WINO_BACKWARD_WEIGHT) return wgt_total(s);
    fnn_conv2d_shape t = input_grad_shape(s);
    return fwd_total(&t);
}

/* Room for one thread at least. */
static int fits(const fnn_conv2d_shape *s, int pass, size_t work_size) {
    if (pass == FNN_WINO_BACKWARD_WEIGHT) {
        wplan p = weight_plan(s);
        return work_size >= wgt_shared(&p) + wgt_per_thread(&p);
    }
    fnn_conv2d_shape t = input_grad_shape(s);
    fplan p = forward_plan(pass == FNN_WINO_FORWARD ? s : &t);
    return work_size >= fwd_shared(&p) + fwd_per_thread(&p);
}

int fnn_winograd_chosen(const fnn_conv2d_shape *s, int pass, size_t work_size) {
    if (winograd_mode == 0 || !legal(s)) return 0;
    if (winograd_mode == 1 && !pays(s, pass)) return 0;
    return work_size == 0 || fits(s, pass, work_size);
}

size_t fnn_winograd_workspace_size(const fnn_conv2d_shape *s) {
    size_t need = 0;
    for (int pass = FNN_WINO_FORWARD; pass <= FNN_WINO_BACKWARD_WEIGHT; pass++)
        if (fnn_winograd_chosen(s, pass, 0)) {
            size_t n = pass_total(s, pass);
            need = n > need ? n : need;
        }
    return need;
}
