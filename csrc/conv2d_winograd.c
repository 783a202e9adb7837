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
 * Forward (and backward_input) lay the tiles out for the micro-kernel without a
 * transpose of the transformed data: a register tile's MR rows are the same tile of MR
 * images (lanes), so V[k] for one tile is C x MR (channel-major, as the packed A panel
 * the micro-kernel reads) and every transform runs along C * MR contiguous floats.  Work
 * unit = (group of MR images, one row of tiles): the 4 input rows it needs are copied,
 * lanes innermost, into a 4-row ring (a tile row shares 2 input rows with the previous
 * one, so a thread's consecutive units copy 2 new rows each), transformed into V
 * (16 x TW tiles x C x MR), multiplied by the packed U (micro-kernel calls on full
 * tiles into M, 16 x TW*MR x F rounded up to NR), and inverse-transformed into y with
 * bias and ReLU.  Each output is computed the same way whatever the thread count.
 *
 * Backward_weight keeps tiles as the GEMM's K axis (no lanes, no transpose): blocks of
 * Tb consecutive tiles are transformed (V: 16 x Tb x C, dM: 16 x Tb x F) and
 * dU[k] (C x F) += V[k]^T dM[k] through fnn_gemm_run.  The blocks are cut into a fixed
 * number of chunks, each summed into its own partial; partials are added in chunk order
 * and transformed back (G^T dU G) per channel, so dw is bitwise thread-count independent.
 * All scratch comes from the workspace: a shared part (packed U, or the partials), then
 * one area per thread, sized for L2. */
#include <string.h>
#include "parallel.h"
#include "gemm/gemm.h"
#include "conv2d_winograd.h"

#define ALIGN_FLOATS 16
#define WEIGHT_CHUNKS 8
/* Transformed floats (V and dM) per backward_weight block: ~512 KB, in L2. */
#define WEIGHT_BLOCK_FLOATS 131072
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

static int64_t round_up(int64_t a, int64_t m) { return (a + m - 1) / m * m; }
static float *align_up(float *p) { return (float *)(((uintptr_t)p + 63) & ~(uintptr_t)63); }

/* ---- the transforms: plain loops along contiguous floats ------------------------- */

/* g (3, 3, C, F) -> U (16, C, F), U[k] = (G g G^T)[k] per (c, f). */
FNN_VECTOR_CLONES
static void weight_transform(float *restrict U, const float *restrict g, int64_t C, int64_t F) {
    const int64_t CF = C * F;
    for (int64_t c = 0; c < C; c++) {
        const float *gc = g + c * F;
        float *uc = U + c * F;
        for (int64_t f = 0; f < F; f++) {
            float t[4][3];
            for (int kw = 0; kw < 3; kw++) {
                float g0 = gc[kw * CF + f], g1 = gc[(3 + kw) * CF + f], g2 = gc[(6 + kw) * CF + f];
                t[0][kw] = g0;
                t[1][kw] = 0.5f * (g0 + g1 + g2);
                t[2][kw] = 0.5f * (g0 - g1 + g2);
                t[3][kw] = g2;
            }
            for (int a = 0; a < 4; a++) {
                uc[(a * 4 + 0) * CF + f] = t[a][0];
                uc[(a * 4 + 1) * CF + f] = 0.5f * (t[a][0] + t[a][1] + t[a][2]);
                uc[(a * 4 + 2) * CF + f] = 0.5f * (t[a][0] - t[a][1] + t[a][2]);
                uc[(a * 4 + 3) * CF + f] = t[a][2];
            }
        }
    }
}

/* V = B^T d B for L parallel tiles: input row r, column q at d_r + q * L; component k
 * written at v + k * ks. */
FNN_VECTOR_CLONES
static void input_transform(float *restrict v, int64_t ks, const float *restrict d0,
                            const float *restrict d1, const float *restrict d2,
                            const float *restrict d3, int64_t L) {
    for (int64_t e = 0; e < L; e++) {
        float t[4][4];
        for (int q = 0; q < 4; q++) {
            float a0 = d0[q * L + e], a1 = d1[q * L + e], a2 = d2[q * L + e], a3 = d3[q * L + e];
            t[0][q] = a0 - a2;
            t[1][q] = a1 + a2;
            t[2][q] = a2 - a1;
            t[3][q] = a1 - a3;
        }
        for (int r = 0; r < 4; r++) {
            v[(r * 4 + 0) * ks + e] = t[r][0] - t[r][2];
            v[(r * 4 + 1) * ks + e] = t[r][1] + t[r][2];
            v[(r * 4 + 2) * ks + e] = t[r][2] - t[r][1];
            v[(r * 4 + 3) * ks + e] = t[r][1] - t[r][3];
        }
    }
}

/* The 2x2 outputs y_uv[f] = (A^T M A)[u][v] + bias[f], then max(., 0) if relu (NaN
 * stays NaN), from component k at m + k * ks. */
FNN_VECTOR_CLONES
static void output_transform(float *restrict y00, float *restrict y01, float *restrict y10,
                             float *restrict y11, const float *restrict m, int64_t ks,
                             const float *restrict bias, int relu, int64_t F) {
    for (int64_t f = 0; f < F; f++) {
        float s0[4], s1[4];
        for (int r = 0; r < 4; r++) {
            float m0 = m[(r * 4) * ks + f], m1 = m[(r * 4 + 1) * ks + f];
            float m2 = m[(r * 4 + 2) * ks + f], m3 = m[(r * 4 + 3) * ks + f];
            s0[r] = m0 + m1 + m2;
            s1[r] = m1 - m2 - m3;
        }
        float v00 = s0[0] + s0[1] + s0[2] + bias[f], v01 = s1[0] + s1[1] + s1[2] + bias[f];
        float v10 = s0[1] - s0[2] - s0[3] + bias[f], v11 = s1[1] - s1[2] - s1[3] + bias[f];
        if (relu) {
            v00 = v00 < 0.0f ? 0.0f : v00;
            v01 = v01 < 0.0f ? 0.0f : v01;
            v10 = v10 < 0.0f ? 0.0f : v10;
            v11 = v11 < 0.0f ? 0.0f : v11;
        }
        y00[f] = v00, y01[f] = v01, y10[f] = v10, y11[f] = v11;
    }
}

/* dM = A dY A^T for one tile (dY 2x2, rows p0 p1 / q0 q1): component k at dm + k * ks;
 * db += the four dY pixels. */
FNN_VECTOR_CLONES
static void grad_transform(float *restrict dm, int64_t ks, float *restrict db,
                           const float *restrict p0, const float *restrict p1,
                           const float *restrict q0, const float *restrict q1, int64_t F) {
    for (int64_t f = 0; f < F; f++) {
        float a = p0[f], b = p1[f], c = q0[f], d = q1[f]; /* dY = [a b; c d] */
        float r[4][2] = {{a, b}, {a + c, b + d}, {a - c, b - d}, {-c, -d}};
        for (int i = 0; i < 4; i++) {
            dm[(i * 4 + 0) * ks + f] = r[i][0];
            dm[(i * 4 + 1) * ks + f] = r[i][0] + r[i][1];
            dm[(i * 4 + 2) * ks + f] = r[i][0] - r[i][1];
            dm[(i * 4 + 3) * ks + f] = -r[i][1];
        }
        db[f] += (a + b) + (c + d);
    }
}

/* dw[:, :, c, f0 .. f0 + fb] = G^T (sum over chunks of the partial dU) G. */
#define FINISH_COLS 64
FNN_VECTOR_CLONES
static void weight_grad_finish(float *restrict dw, const float *restrict partials, int64_t nch,
                               int64_t stride, int64_t c, int64_t C, int64_t F) {
    const int64_t CF = C * F;
    for (int64_t f0 = 0; f0 < F; f0 += FINISH_COLS) {
        const int64_t fb = fnn_min64(FINISH_COLS, F - f0);
        float acc[16][FINISH_COLS];
        for (int k = 0; k < 16; k++)
            for (int64_t f = 0; f < fb; f++) acc[k][f] = partials[k * CF + c * F + f0 + f];
        for (int64_t ch = 1; ch < nch; ch++)
            for (int k = 0; k < 16; k++)
                for (int64_t f = 0; f < fb; f++)
                    acc[k][f] += partials[ch * stride + k * CF + c * F + f0 + f];
        for (int64_t f = 0; f < fb; f++) {
            float r[3][4];
            for (int b = 0; b < 4; b++) {
                float u0 = acc[b][f], u1 = acc[4 + b][f], u2 = acc[8 + b][f], u3 = acc[12 + b][f];
                r[0][b] = u0 + 0.5f * (u1 + u2);
                r[1][b] = 0.5f * (u1 - u2);
                r[2][b] = 0.5f * (u1 + u2) + u3;
            }
            for (int kh = 0; kh < 3; kh++) {
                float *o = dw + (kh * 3 * C + c) * F + f0 + f;
                o[0] = r[kh][0] + 0.5f * (r[kh][1] + r[kh][2]);
                o[CF] = 0.5f * (r[kh][1] - r[kh][2]);
                o[2 * CF] = 0.5f * (r[kh][1] + r[kh][2]) + r[kh][3];
            }
        }
    }
}

/* ---- forward (and backward_input): images in lanes ------------------------------ */

typedef struct {
    const fnn_conv2d_shape *s;
    int64_t mr, nr, TH, TW, Wp, units, Fpad, L;
} fplan;

static fplan forward_plan(const fnn_conv2d_shape *s) {
    const fnn_gemm_kernel *kr = fnn_gemm_active();
    fplan p = {s, kr->mr, kr->nr, fnn_ceil_div(s->OH, 2), fnn_ceil_div(s->OW, 2), 0, 0, 0, 0};
    p.Wp = 2 * p.TW + 2;
    p.units = fnn_ceil_div(s->N, p.mr) * p.TH;
    p.Fpad = round_up(s->F, p.nr);
    p.L = s->C * p.mr;
    return p;
}

/* Shared: packed U (16 slices), the unpacked U, a zero bias, and a rotated kernel
 * (backward_input). */
static size_t fwd_shared(const fplan *p) {
    const int64_t C = p->s->C, F = p->s->F;
    return (size_t)(16 * p->Fpad * C + 16 * C * F + F + 9 * C * F + 4 * ALIGN_FLOATS);
}
/* Per thread: the 4-row ring, V, M, and three rows for outputs past the edge. */
static size_t fwd_per_thread(const fplan *p) {
    return (size_t)(4 * p->Wp * p->L + 16 * p->TW * p->L + 16 * p->TW * p->mr * p->Fpad +
                    3 * p->s->F + 4 * ALIGN_FLOATS);
}

typedef struct {
    float *Up, *U, *zero_bias, *rot;
} fwd_shared_area;

static fwd_shared_area fwd_layout(const fplan *p, float *work) {
    const int64_t C = p->s->C, F = p->s->F;
    fwd_shared_area a;
    a.Up = align_up(work);
    a.U = align_up(a.Up + 16 * p->Fpad * C);
    a.zero_bias = align_up(a.U + 16 * C * F);
    a.rot = align_up(a.zero_bias + F);
    return a;
}

/* Input row ih of images n0 .. n0 + MR, columns -PL .. Wp - PL, as dst[q][c][lane]
 * (zeros outside the image and for lanes past the batch). */
static void load_row(float *restrict dst, const float *restrict x, const fplan *p, int64_t n0,
                     int64_t ih) {
    const fnn_conv2d_shape *s = p->s;
    const int64_t C = s->C, mr = p->mr, L = p->L, lanes = fnn_min64(mr, s->N - n0);
    if (ih < 0 || ih >= s->H) {
        memset(dst, 0, (size_t)(p->Wp * L) * sizeof(float));
        return;
    }
    for (int64_t q = 0; q < p->Wp; q++) {
        const int64_t iw = q - s->PL;
        float *d = dst + q * L;
        if (iw < 0 || iw >= s->W) {
            memset(d, 0, (size_t)L * sizeof(float));
            continue;
        }
        for (int64_t i = 0; i < lanes; i++) {
            const float *src = x + (((n0 + i) * s->H + ih) * s->W + iw) * C;
            for (int64_t c = 0; c < C; c++) d[c * mr + i] = src[c];
        }
        for (int64_t i = lanes; i < mr; i++)
            for (int64_t c = 0; c < C; c++) d[c * mr + i] = 0.0f;
    }
}

/* Units [u0, u1) with one thread's buffers. */
static void forward_units(float *y, const float *x, const float *Up, const float *bias, int relu,
                          const fplan *p, float *area, int64_t u0, int64_t u1) {
    const fnn_conv2d_shape *s = p->s;
    const fnn_gemm_kernel *kr = fnn_gemm_active();
    const int64_t C = s->C, F = s->F, mr = p->mr, nr = p->nr, L = p->L, TW = p->TW;
    const int64_t Fpad = p->Fpad, row = p->Wp * L;
    float *ring = align_up(area);
    float *V = align_up(ring + 4 * row);
    float *M = align_up(V + 16 * TW * L);
    float *edge = align_up(M + 16 * TW * mr * Fpad); /* 3 rows of F: outputs past the edge */
    for (int64_t u = u0; u < u1; u++) {
        const int64_t n0 = u / p->TH * mr, th = u % p->TH;
        const int fresh = u == u0 || th == 0;
        for (int64_t r = fresh ? 0 : 2; r < 4; r++)
            load_row(ring + ((2 * th + r) & 3) * row, x, p, n0, 2 * th - s->PT + r);
        const float *d0 = ring + ((2 * th) & 3) * row, *d1 = ring + ((2 * th + 1) & 3) * row;
        const float *d2 = ring + ((2 * th + 2) & 3) * row, *d3 = ring + ((2 * th + 3) & 3) * row;
        for (int64_t tw = 0; tw < TW; tw++)
            input_transform(V + tw * L, TW * L, d0 + 2 * tw * L, d1 + 2 * tw * L, d2 + 2 * tw * L,
                            d3 + 2 * tw * L, L);
        for (int64_t k = 0; k < 16; k++)
            for (int64_t j = 0; j < Fpad; j += nr) {
                const float *b = Up + k * Fpad * C + j * C;
                for (int64_t tw = 0; tw < TW; tw++)
                    kr->ukr(C, V + (k * TW + tw) * L, b, M + (k * TW + tw) * mr * Fpad + j, Fpad,
                            1.0f, 0.0f, NULL, 0);
            }
        const int64_t lanes = fnn_min64(mr, s->N - n0), oh = 2 * th;
        for (int64_t tw = 0; tw < TW; tw++) {
            const int64_t ow = 2 * tw;
            for (int64_t i = 0; i < lanes; i++) {
                float *y00 = y + (((n0 + i) * s->OH + oh) * s->OW + ow) * F;
                float *y01 = ow + 1 < s->OW ? y00 + F : edge;
                float *y10 = oh + 1 < s->OH ? y00 + s->OW * F : edge + F;
                float *y11 = ow + 1 < s->OW && oh + 1 < s->OH ? y10 + F : edge + 2 * F;
                output_transform(y00, y01, y10, y11, M + (tw * mr + i) * Fpad, TW * mr * Fpad,
                                 bias, relu, F);
            }
        }
    }
}

/* Threads that fit in the workspace after `shared`, capped by `want` (at least 1). */
static int fitting(size_t work_size, size_t shared, size_t per_thread, int want) {
    size_t room = work_size > shared ? (work_size - shared) / per_thread : 0;
    int nt = (int64_t)want > (int64_t)room ? (int)room : want;
    return nt < 1 ? 1 : nt;
}

/* y = conv(x, g) (+ bias, ReLU), g (3, 3, C, F) anywhere but the shared area's first
 * three parts. */
static void forward_core(float *y, const float *x, const float *g, const float *bias, int relu,
                         const fnn_conv2d_shape *s, float *work, size_t work_size) {
    const fplan p = forward_plan(s);
    const int64_t C = s->C, F = s->F;
    fwd_shared_area a = fwd_layout(&p, work);
    weight_transform(a.U, g, C, F);
    for (int64_t k = 0; k < 16; k++)
        fnn_gemm_pack_b_whole(a.Up + k * p.Fpad * C, a.U + k * C * F, F, 0, C, F);
    if (!bias) {
        memset(a.zero_bias, 0, (size_t)F * sizeof(float));
        bias = a.zero_bias;
    }
    const size_t shared = fwd_shared(&p), per = fwd_per_thread(&p);
    const int64_t work_ops = 2 * p.units * p.TW * p.mr * 16 * C * F;
    int nt = fitting(work_size, shared, per, fnn_threads_for(work_ops / 8));
    if (nt > p.units) nt = (int)p.units;
    const int team = fnn_team(nt);
#pragma omp parallel num_threads(team) if (team > 1)
    {
        int t = FNN_THREAD_ID(), n_t = fnn_workers(nt);
        if (t < n_t)
            forward_units(y, x, a.Up, bias, relu, &p, work + shared + (size_t)t * per,
                          p.units * t / n_t, p.units * (t + 1) / n_t);
    }
}

void fnn_winograd_forward(float *y, const float *x, const float *w, const float *b,
                          const fnn_conv2d_shape *s, int relu, float *work, size_t work_size) {
    forward_core(y, x, w, b, relu, s, work, work_size);
}

/* The forward convolution that computes dx (see the header). */
static fnn_conv2d_shape input_grad_shape(const fnn_conv2d_shape *s) {
    fnn_conv2d_shape t = {s->N, s->OH, s->OW, s->F, s->C, 3, 3, 1, 1, 2 - s->PT, 2 - s->PL,
                          s->H, s->W};
    return t;
}

void fnn_winograd_backward_input(float *dx, const float *dy, const float *w,
                                 const fnn_conv2d_shape *s, float *work, size_t work_size) {
    const fnn_conv2d_shape t = input_grad_shape(s);
    const fplan p = forward_plan(&t);
    const int64_t C = s->C, F = s->F;
    float *rot = fwd_layout(&p, work).rot; /* rot[kh][kw][f][c] = w[2-kh][2-kw][c][f] */
    for (int64_t kh = 0; kh < 3; kh++)
        for (int64_t kw = 0; kw < 3; kw++)
            for (int64_t f = 0; f < F; f++)
                for (int64_t c = 0; c < C; c++)
                    rot[((kh * 3 + kw) * F + f) * C + c] =
                        w[(((2 - kh) * 3 + (2 - kw)) * C + c) * F + f];
    forward_core(dx, dy, rot, NULL, 0, &t, work, work_size);
}

/* ---- backward_weight: tiles along K ------------------------------------------------ */

typedef struct {
    const fnn_conv2d_shape *s;
    int64_t TH, TW, ntiles, Tb, nblocks, nch;
} wplan;

static wplan weight_plan(const fnn_conv2d_shape *s) {
    wplan p = {s, fnn_ceil_div(s->OH, 2), fnn_ceil_div(s->OW, 2), 0, 0, 0, 0};
    p.ntiles = s->N * p.TH * p.TW;
    p.Tb = fnn_min64(p.ntiles, fnn_max64(16, WEIGHT_BLOCK_FLOATS / (16 * (s->C + s->F))));
    p.nblocks = fnn_ceil_div(p.ntiles, p.Tb);
    p.nch = fnn_min64(WEIGHT_CHUNKS, p.nblocks);
    return p;
}
static int64_t partial_floats(const fnn_conv2d_shape *s) { return 16 * s->C * s->F + s->F; }
static size_t wgt_shared(const wplan *p) {
    const fnn_conv2d_shape *s = p->s;
    return (size_t)(p->nch * partial_floats(s) + fnn_max64(s->C, s->F) + 2 * ALIGN_FLOATS);
}
static size_t wgt_gemm_ws(const wplan *p) {
    return fnn_gemm_workspace_per_thread(p->s->C, p->s->F, p->Tb);
}
static size_t wgt_per_thread(const wplan *p) {
    const fnn_conv2d_shape *s = p->s;
    return (size_t)(16 * p->Tb * (s->C + s->F) + 16 * s->C + 4 * ALIGN_FLOATS) + wgt_gemm_ws(p);
}

/* The chunk's blocks [b0, b1): dU partial (16 x C x F) and db partial (F). */
static void weight_chunk(float *pdu, float *pdb, const float *dy, const float *x,
                         const float *zeros, const wplan *p, float *area, int64_t b0,
                         int64_t b1) {
    const fnn_conv2d_shape *s = p->s;
    const int64_t C = s->C, F = s->F, Tb = p->Tb, per_image = p->TH * p->TW;
    float *V = align_up(area);
    float *dM = align_up(V + 16 * Tb * C);
    float *tile = align_up(dM + 16 * Tb * F);
    float *gws = align_up(tile + 16 * C);
    memset(pdb, 0, (size_t)F * sizeof(float));
    for (int64_t blk = b0; blk < b1; blk++) {
        const int64_t t0 = blk * Tb, tb = fnn_min64(Tb, p->ntiles - t0);
        for (int64_t t = 0; t < tb; t++) {
            const int64_t n = (t0 + t) / per_image, rem = (t0 + t) % per_image;
            const int64_t oh = rem / p->TW * 2, ow = rem % p->TW * 2;
            for (int64_t r = 0; r < 4; r++)
                for (int64_t q = 0; q < 4; q++) {
                    const int64_t ih = oh - s->PT + r, iw = ow - s->PL + q;
                    float *d = tile + (r * 4 + q) * C;
                    if (ih < 0 || ih >= s->H || iw < 0 || iw >= s->W)
                        memset(d, 0, (size_t)C * sizeof(float));
                    else
                        memcpy(d, x + ((n * s->H + ih) * s->W + iw) * C, (size_t)C * sizeof(float));
                }
            input_transform(V + t * C, Tb * C, tile, tile + 4 * C, tile + 8 * C, tile + 12 * C, C);
            const float *p0 = dy + ((n * s->OH + oh) * s->OW + ow) * F;
            const float *p1 = ow + 1 < s->OW ? p0 + F : zeros;
            const float *q0 = oh + 1 < s->OH ? p0 + s->OW * F : zeros;
            const float *q1 = ow + 1 < s->OW && oh + 1 < s->OH ? q0 + F : zeros;
            grad_transform(dM + t * F, Tb * F, pdb, p0, p1, q0, q1, F);
        }
        for (int64_t k = 0; k < 16; k++) {
            /* dU[k] (C x F) (+)= V[k]^T . dM[k], V[k] stored Tb x C */
            fnn_gemm_op op = {pdu + k * C * F, V + k * Tb * C, dM + k * Tb * F, NULL, C, F, tb,
                              C, F, F, 1, 0, 1.0f, blk == b0 ? 0.0f : 1.0f, NULL, 0,
                              NULL, NULL, NULL, NULL};
            fnn_gemm_run(&op, gws, wgt_gemm_ws(p), 1);
        }
    }
}

void fnn_winograd_backward_weight(float *dw, float *db, const float *dy, const float *x,
                                  const fnn_conv2d_shape *s, float *work, size_t work_size) {
    const wplan p = weight_plan(s);
    const int64_t C = s->C, F = s->F, nch = p.nch, stride = partial_floats(s);
    float *partials = align_up(work);
    float *zeros = partials + nch * stride;
    memset(zeros, 0, (size_t)F * sizeof(float));
    const size_t shared = wgt_shared(&p), per = wgt_per_thread(&p);
    int nt = fitting(work_size, shared, per,
                     fnn_threads_for(2 * p.ntiles * 16 * C * F / 8));
    if (nt > nch) nt = (int)nch;
    const int team = fnn_team(nt);
#pragma omp parallel num_threads(team) if (team > 1)
    {
        int t = FNN_THREAD_ID(), n_t = fnn_workers(nt);
        for (int64_t ch = nch * t / n_t; t < n_t && ch < nch * (t + 1) / n_t; ch++) {
            float *pdu = partials + ch * stride;
            weight_chunk(pdu, pdu + 16 * C * F, dy, x, zeros, &p, work + shared + (size_t)t * per,
                         p.nblocks * ch / nch, p.nblocks * (ch + 1) / nch);
        }
#pragma omp barrier
        /* channel c of dw from the partials in chunk order; item C is db */
#pragma omp for schedule(static)
        for (int64_t c = 0; c <= C; c++) {
            if (c < C) {
                weight_grad_finish(dw, partials, nch, stride, c, C, F);
            } else if (db) {
                for (int64_t f = 0; f < F; f++) {
                    float acc = 0.0f;
                    for (int64_t ch = 0; ch < nch; ch++) acc += partials[ch * stride + 16 * C * F + f];
                    db[f] = acc;
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
 * (forward layout) and the outputs past an odd edge are counted. */
static int pays(const fnn_conv2d_shape *s, int pass) {
    if (s->C < 8 || s->F < 8) return 0;
    const int64_t mr = fnn_gemm_active()->mr;
    const fnn_conv2d_shape t = input_grad_shape(s);
    const fnn_conv2d_shape *f = pass == FNN_WINO_BACKWARD_INPUT ? &t : s;
    double direct = (double)f->N * f->OH * f->OW * 9;
    double wino = (double)(pass == FNN_WINO_BACKWARD_WEIGHT ? f->N : round_up(f->N, mr)) *
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
