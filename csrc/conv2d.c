/* conv2d.c -- 2-D convolution (cross-correlation, as in Keras), NHWC, on the GEMM.
 *
 * Lowering: the rows of the output, r = (n, oh, ow), form a matrix Y (N*OH*OW, F).
 * Each row's receptive field, laid out (kh, kw, c) like the kernel, forms the patch
 * matrix P (N*OH*OW, KH*KW*C), so that
 *   forward          Y  = P . W + b                  W = kernel as (KH*KW*C, F)
 *   backward_input   dx = adjoint of the above applied to dY
 *   backward_weight  dW = P^T . dY;   db = column sums of dY
 * P is never built:
 *   - forward is an indirect GEMM (XNNPACK's indirect convolution): the micro-kernel
 *     reads each patch through a table of pointers into the image, and bias and ReLU
 *     are applied in its registers;
 *   - backward_input with stride 1 is the same indirect GEMM on dY with the kernel
 *     rotated by 180 degrees; with larger strides dP = dY . W^T is built a tile at a
 *     time (TILE rows in a per-thread buffer) and scattered back (col2im);
 *   - backward_weight computes dW^T = dY^T . P (or P^T . dY when the kernel has few
 *     entries, as the first layer does), an implicit GEMM whose packing reads the
 *     patches straight from x.  It cuts the rows into a fixed number of chunks
 *     (independent of the thread count), sums each chunk into its own partial buffer
 *     and adds the partials in order, so dW is bitwise thread-count independent.
 * The kernel is packed once per call and shared by every thread.
 * 3x3 stride-1 convolutions with enough channels go to conv2d_winograd.c instead
 * (fnn_conv2d_set_winograd chooses: never, when it pays, or always). */
#include <string.h>
#include "parallel.h"
#include "gemm/gemm.h"
#include "conv2d_winograd.h"

#define WEIGHT_CHUNKS 8

static int64_t patch_len(const fnn_conv2d_shape *s) { return s->KH * s->KW * s->C; }
static int64_t out_rows(const fnn_conv2d_shape *s) { return s->N * s->OH * s->OW; }

/* Rows per tile: patches of about 256 KB (L2-resident), a multiple of 12 rows (every
 * micro-kernel's MR divides it), between 48 and 2040 rows. */
static int64_t tile_rows(const fnn_conv2d_shape *s) {
    int64_t t = 65536 / patch_len(s) / 12 * 12;
    t = fnn_max64(48, fnn_min64(2040, t));
    return fnn_min64(t, out_rows(s));
}

/* A 1x1 kernel with stride 1 and no padding: the patch matrix is x itself. */
static int is_pointwise(const fnn_conv2d_shape *s) {
    return s->KH == 1 && s->KW == 1 && s->SH == 1 && s->SW == 1 && s->PT == 0 && s->PL == 0;
}

static size_t max3(size_t a, size_t b, size_t c) { return a > b ? (a > c ? a : c) : (b > c ? b : c); }

static size_t gemm_ws(const fnn_conv2d_shape *s) {
    int64_t T = tile_rows(s), P = patch_len(s), F = s->F, M = out_rows(s);
    /* dP tiles (strided backward_input), and the weight gradient in either orientation */
    return max3(fnn_gemm_workspace_per_thread(T, P, F), fnn_gemm_workspace_per_thread(F, P, M),
                fnn_gemm_workspace_per_thread(P, F, M));
}
/* A thread's first area holds a dP tile (strided backward_input) or the indirect
 * GEMM's pointer table (KH*KW runs x MR pointers, MR <= 32, two floats per pointer). */
static size_t tile_floats(const fnn_conv2d_shape *s) {
    size_t tile = (size_t)(tile_rows(s) * patch_len(s)), ptrs = (size_t)(64 * s->KH * s->KW);
    return tile > ptrs ? tile : ptrs;
}
static size_t per_thread(const fnn_conv2d_shape *s) {
    return tile_floats(s) + gemm_ws(s) + 2 * FNN_ALIGN_FLOATS;
}
static int64_t weight_chunks(const fnn_conv2d_shape *s) {
    return fnn_min64(WEIGHT_CHUNKS, fnn_ceil_div(out_rows(s), tile_rows(s)));
}
/* Shared part: the packed kernel (W or W^T), or the weight-gradient partials. */
static size_t shared_floats(const fnn_conv2d_shape *s) {
    size_t packed_w = fnn_gemm_packed_b_whole_size(s->F, patch_len(s)) + (size_t)s->C; /* + zeros */
    size_t packed_wt = fnn_gemm_packed_b_size(patch_len(s), s->F);
    size_t rotated = fnn_gemm_packed_b_whole_size(s->C, s->KH * s->KW * s->F) +
                     (size_t)(patch_len(s) * s->F + s->F) + FNN_ALIGN_FLOATS;
    packed_wt = packed_wt > rotated ? packed_wt : rotated;
    size_t partials = (size_t)(weight_chunks(s) * (patch_len(s) * s->F + s->F));
    return max3(packed_w, packed_wt, partials) + 2 * FNN_ALIGN_FLOATS;
}

size_t fnn_conv2d_workspace_size(const fnn_conv2d_shape *s) {
    size_t gemm = shared_floats(s) + per_thread(s) * (size_t)fnn_get_num_threads();
    size_t wino = fnn_winograd_workspace_size(s); /* 0 unless a pass takes that path */
    return gemm > wino ? gemm : wino;
}

/* Threads that fit in the workspace after its shared part, capped by `want`. */
static int threads_fitting(const fnn_conv2d_shape *s, size_t work_size, int want) {
    return fnn_threads_fitting(work_size, shared_floats(s), per_thread(s), want);
}
/* Thread t's patch tile and GEMM scratch. */
static float *thread_tile(const fnn_conv2d_shape *s, float *work, int t) {
    return fnn_align_up(work + shared_floats(s) + (size_t)t * per_thread(s));
}
static float *thread_gemm(const fnn_conv2d_shape *s, float *tile) {
    return fnn_align_up(tile + tile_floats(s));
}

typedef struct {
    const float *x;
    const fnn_conv2d_shape *s;
    int64_t row0; /* output row of the product's row or column 0 */
} patch_source;

/* Patch entries q0 .. q0 + n as kernel offsets and as offsets from the window origin in
 * x (valid when the window lies inside the image).  The packers call this once per
 * block, so the per-entry work is one load and one store, with no division.
 * MAX_ENTRIES is >= MC and KC of every micro-kernel (the most rows a packer is asked
 * for) and a multiple of every NR; a packer asked for more entries (NC is up to 4096)
 * fills the table once per block of MAX_ENTRIES. */
#define MAX_ENTRIES 1024
_Static_assert(MAX_ENTRIES % 32 == 0, "MAX_ENTRIES must be a multiple of every NR");
typedef struct {
    int64_t off[MAX_ENTRIES];
    int32_t kh[MAX_ENTRIES], kw[MAX_ENTRIES];
} entry_table;

static void fill_entries(entry_table *t, const fnn_conv2d_shape *s, int64_t q0, int64_t n) {
    int64_t c = q0 % s->C, kk = q0 / s->C, kh = kk / s->KW, kw = kk % s->KW;
    for (int64_t e = 0; e < n; e++) {
        t->off[e] = (kh * s->W + kw) * s->C + c;
        t->kh[e] = (int32_t)kh, t->kw[e] = (int32_t)kw;
        if (++c == s->C) {
            c = 0;
            if (++kw == s->KW) kw = 0, kh++;
        }
    }
}

/* Output row r's receptive field: the index in x of its top-left input pixel (which
 * may lie in the padding, so the index may be out of range) and its position. */
typedef struct {
    int64_t origin, ih0, iw0;
    int inside; /* the whole window lies in the image */
} window;

static window make_window(const fnn_conv2d_shape *s, int64_t n, int64_t oh, int64_t ow) {
    int64_t ih0 = oh * s->SH - s->PT, iw0 = ow * s->SW - s->PL;
    window w = {.origin = ((n * s->H + ih0) * s->W + iw0) * s->C, .ih0 = ih0, .iw0 = iw0,
                .inside = ih0 >= 0 && iw0 >= 0 && ih0 + s->KH <= s->H && iw0 + s->KW <= s->W};
    return w;
}

/* The windows of output rows r0 .. r0 + count: one division, then stepping along the
 * output (the packers call this per block; a division per row was most of their time). */
static void windows_of(window *out, const fnn_conv2d_shape *s, int64_t r0, int64_t count) {
    int64_t n = r0 / (s->OH * s->OW), rem = r0 % (s->OH * s->OW);
    int64_t oh = rem / s->OW, ow = rem % s->OW;
    for (int64_t i = 0; i < count; i++) {
        out[i] = make_window(s, n, oh, ow);
        if (++ow == s->OW) {
            ow = 0;
            if (++oh == s->OH) oh = 0, n++;
        }
    }
}

/* Entry e of a window's patch: x[origin + off[e]], or 0 where it falls in the padding. */
static inline float patch_entry(const float *x, const window *w, const entry_table *t,
                                int64_t e, const fnn_conv2d_shape *s) {
    int64_t ih = w->ih0 + t->kh[e], iw = w->iw0 + t->kw[e];
    return ih < 0 || ih >= s->H || iw < 0 || iw >= s->W ? 0.0f : x[w->origin + t->off[e]];
}

/* Strips of `nr` consecutive patch entries [j0, j0 + nb), for output rows p0 .. p0 + kb:
 * Bp[strip][p][j].  This is both op(B) = P (the strips are NR wide) and op(A) = P^T
 * (MR wide): the same layout.  A strip within one kernel offset is contiguous
 * channels, copied with memcpy. */
static void pack_patch_strips(float *Bp, const void *ctx, int64_t j0, int64_t p0, int64_t nb,
                              int64_t kb, int nr) {
    const patch_source *ps = ctx;
    entry_table t;
    window wins[MAX_ENTRIES]; /* kb <= KC <= MAX_ENTRIES */
    windows_of(wins, ps->s, ps->row0 + p0, kb);
    for (int64_t b0 = 0; b0 < nb; b0 += MAX_ENTRIES) { /* MAX_ENTRIES is a multiple of nr */
        int64_t bn = fnn_min64(MAX_ENTRIES, nb - b0);
        fill_entries(&t, ps->s, j0 + b0, bn);
        for (int64_t e0 = 0; e0 < bn; e0 += nr) {
            int64_t lanes = fnn_min64(nr, bn - e0);
            int contiguous = t.off[e0 + lanes - 1] == t.off[e0] + lanes - 1;
            float *strip = Bp + (b0 + e0) * kb;
            for (int64_t p = 0; p < kb; p++) {
                const window *w = &wins[p];
                float *dst = strip + p * nr;
                int64_t l = 0;
                if (w->inside && contiguous) {
                    memcpy(dst, ps->x + w->origin + t.off[e0], (size_t)lanes * sizeof(float));
                    l = lanes;
                } else {
                    for (; l < lanes; l++) dst[l] = patch_entry(ps->x, w, &t, e0 + l, ps->s);
                }
                for (; l < nr; l++) dst[l] = 0.0f;
            }
        }
    }
}

/* dx += the patches dP of rows [r0, r0 + rows), all in image n (row r0 is its own
 * offset within that image); entries that fell on padding are dropped. */
static void col2im_add(float *dxn, const float *dP, const fnn_conv2d_shape *s,
                       int64_t r0, int64_t rows) {
    const int64_t C = s->C, plen = patch_len(s);
    for (int64_t r = 0; r < rows; r++) {
        int64_t rem = r0 + r;
        int64_t ih0 = (rem / s->OW) * s->SH - s->PT, iw0 = (rem % s->OW) * s->SW - s->PL;
        const float *src = dP + r * plen;
        for (int64_t kh = 0; kh < s->KH; kh++) {
            int64_t ih = ih0 + kh;
            for (int64_t kw = 0; kw < s->KW; kw++, src += C) {
                int64_t iw = iw0 + kw;
                if (ih < 0 || ih >= s->H || iw < 0 || iw >= s->W) continue;
                float *d = dxn + (ih * s->W + iw) * C;
                for (int64_t c = 0; c < C; c++) d[c] += src[c];
            }
        }
    }
}

/* C[rows, n] = A[rows, k] . packed B, with an optional bias/ReLU epilogue, serially. */
static void tile_gemm(float *C, const float *A, const float *Bp, int64_t rows, int64_t n,
                      int64_t k, const float *bias, int relu, float *work, size_t wsize) {
    fnn_gemm_op op = {.C = C, .A = A, .B_packed = Bp, .M = rows, .N = n, .K = k, .lda = k,
                      .ldc = n, .alpha = 1.0f, .beta = 0.0f, .bias = bias, .relu = relu};
    fnn_gemm_run(&op, work, wsize, 1);
}

/* Forward as an indirect GEMM over output rows [r0, r1): for each block of MR rows, a
 * table of pointers to each row's window, one per kernel offset (KH*KW runs of C
 * channels; taps in the padding point at zeros), and the micro-kernel reads the image
 * through it.  Blocks short of MR rows or NR columns go through a local tile. */
static void forward_rows(float *y, const float *x, const float *wp, const float *b,
                         const fnn_conv2d_shape *s, int relu, const float *zeros,
                         const float **ptrs, int64_t r0, int64_t r1) {
    const fnn_gemm_kernel *kr = fnn_gemm_active();
    const int mr = kr->mr, nr = kr->nr;
    const int64_t F = s->F, P = patch_len(s);
    float tile[32 * 32], bias_pad[32];
    for (int64_t r = r0; r < r1; r += mr) {
        int64_t mm = fnn_min64(mr, r1 - r);
        window w[32];
        int all_inside = mm == mr;
        windows_of(w, s, r, mm);
        for (int64_t i = 0; i < mr; i++) {
            if (i >= mm) /* rows past the end read zeros */
                w[i] = (window){0, -s->KH, -s->KW, 0};
            all_inside = all_inside && w[i].inside;
        }
        /* Windows inside the image: one run per kernel row, its KW taps being KW*C
         * contiguous floats.  Otherwise one run per tap, padding taps reading zeros. */
        int64_t nruns = all_inside ? s->KH : s->KH * s->KW;
        int64_t run_len = all_inside ? s->KW * s->C : s->C;
        for (int64_t i = 0; i < mr; i++) {
            for (int64_t kh = 0, run = 0; kh < s->KH; kh++)
                for (int64_t kw = 0; kw < (all_inside ? 1 : s->KW); kw++, run++) {
                    int64_t ih = w[i].ih0 + kh, iw = w[i].iw0 + kw;
                    int inside = ih >= 0 && ih < s->H && iw >= 0 && iw < s->W;
                    ptrs[run * mr + i] = inside ? x + w[i].origin + (kh * s->W + kw) * s->C : zeros;
                }
        }
        for (int64_t j = 0; j < F; j += nr) {
            int64_t nn = fnn_min64(nr, F - j);
            const float *bp = wp + j * P; /* NR strip j / NR of the whole-K packed kernel */
            if (mm == mr && nn == nr) {
                kr->ukr_indirect(nruns, run_len, ptrs, bp, y + r * F + j, F, b ? b + j : NULL, relu);
                continue;
            }
            for (int64_t q = 0; q < nr; q++) bias_pad[q] = b && q < nn ? b[j + q] : 0.0f;
            kr->ukr_indirect(nruns, run_len, ptrs, bp, tile, nr, bias_pad, relu);
            for (int64_t i = 0; i < mm; i++)
                memcpy(y + (r + i) * F + j, tile + i * nr, (size_t)nn * sizeof(float));
        }
    }
}

void fnn_conv2d_forward(float *y, const float *x, const float *w, const float *b,
                        const fnn_conv2d_shape *s, int relu, float *work, size_t work_size) {
    if (fnn_winograd_chosen(s, FNN_WINO_FORWARD, work_size)) {
        fnn_winograd_forward(y, x, w, b, s, relu, work, work_size);
        return;
    }
    const int64_t P = patch_len(s), F = s->F, M = out_rows(s);
    const int mr = fnn_gemm_active()->mr;
    float *wp = fnn_align_up(work);
    fnn_gemm_pack_b_whole(wp, w, F, 0, P, F);
    float *zeros = wp + fnn_gemm_packed_b_whole_size(F, P);
    memset(zeros, 0, (size_t)s->C * sizeof(float));
    /* threads take chunks of whole MR-row blocks (each row is the same whoever
     * computes it) */
    const int64_t blocks = fnn_ceil_div(M, mr);
    int nt = threads_fitting(s, work_size, fnn_threads_for(2 * M * P * F / 8));
    if (nt > blocks) nt = (int)blocks;
    const int team = fnn_team(nt);
    int64_t next = 0;
#pragma omp parallel num_threads(team) if (team > 1)
    {
        int t = FNN_THREAD_ID(), n_t = fnn_workers(nt);
        const int64_t nch = fnn_dynamic_chunks(blocks, n_t);
        if (t < n_t) {
            const float **ptrs = (const float **)thread_tile(s, work, t);
            for (int64_t c; (c = fnn_next_chunk(&next)) < nch;)
                forward_rows(y, x, wp, b, s, relu, zeros, ptrs, blocks * c / nch * mr,
                             fnn_min64(blocks * (c + 1) / nch * mr, M));
        }
    }
}

/* With stride 1, dx is the forward convolution of dy (F channels, padded by KH-1-PT on
 * top and KW-1-PL on the left; the bounds pad the rest) with the kernel rotated by 180
 * degrees and its channel axes swapped, producing C channels at every input pixel: the
 * same indirect GEMM as the forward pass, with no scatter. */
static void backward_input_as_conv(float *dx, const float *dy, const float *w,
                                   const fnn_conv2d_shape *s, float *work, size_t work_size) {
    const int64_t KH = s->KH, KW = s->KW, C = s->C, F = s->F, K = KH * KW * F;
    fnn_conv2d_shape t = {.N = s->N, .H = s->OH, .W = s->OW, .C = F, .F = C, .KH = KH, .KW = KW,
                          .SH = 1, .SW = 1, .PT = KH - 1 - s->PT, .PL = KW - 1 - s->PL,
                          .OH = s->H, .OW = s->W};
    float *rot = fnn_align_up(work); /* rot[(kh', kw', f), c] = w[KH-1-kh', KW-1-kw', c, f] */
    fnn_rotate_kernel(rot, w, KH, KW, C, F);
    float *wp = fnn_align_up(rot + K * C);
    fnn_gemm_pack_b_whole(wp, rot, C, 0, K, C);
    float *zeros = wp + fnn_gemm_packed_b_whole_size(C, K);
    memset(zeros, 0, (size_t)F * sizeof(float));
    const int mr = fnn_gemm_active()->mr;
    const int64_t M = s->N * s->H * s->W, blocks = fnn_ceil_div(M, mr);
    int nt = threads_fitting(s, work_size, fnn_threads_for(2 * M * K * C / 8));
    if (nt > blocks) nt = (int)blocks;
    const int team = fnn_team(nt);
    int64_t next = 0;
#pragma omp parallel num_threads(team) if (team > 1)
    {
        int th = FNN_THREAD_ID(), n_t = fnn_workers(nt);
        const int64_t nch = fnn_dynamic_chunks(blocks, n_t);
        if (th < n_t) {
            const float **ptrs = (const float **)thread_tile(s, work, th);
            for (int64_t c; (c = fnn_next_chunk(&next)) < nch;)
                forward_rows(dx, dy, wp, NULL, &t, 0, zeros, ptrs, blocks * c / nch * mr,
                             fnn_min64(blocks * (c + 1) / nch * mr, M));
        }
    }
}

/* Below this many input channels, backward_input with stride 1 also builds dP tiles and
 * scatters them: as a convolution it would produce C channels per pixel, each register
 * tile padded from C to NR columns (16x to 32x the arithmetic at C = 1; measured 82 ms
 * against 3 ms for the tiles at 128 x 28 x 28 x 1 <- 32 filters, one thread), while the
 * tiles' GEMM is KH*KW*C wide. */
#define FEW_CHANNELS 4

void fnn_conv2d_backward_input(float *dx, const float *dy, const float *w,
                               const fnn_conv2d_shape *s, float *work, size_t work_size) {
    if (fnn_winograd_chosen(s, FNN_WINO_BACKWARD_INPUT, work_size)) {
        fnn_winograd_backward_input(dx, dy, w, s, work, work_size);
        return;
    }
    if (s->SH == 1 && s->SW == 1 && s->C >= FEW_CHANNELS) {
        backward_input_as_conv(dx, dy, w, s, work, work_size);
        return;
    }
    /* Strided: dP tiles, scattered back into dx. */
    const int64_t P = patch_len(s), F = s->F, T = tile_rows(s), R = s->OH * s->OW;
    const int64_t img = s->H * s->W * s->C;
    const size_t gsize = gemm_ws(s);
    float *wtp = fnn_align_up(work); /* W^T (F x P), packed once */
    fnn_gemm_pack_b(wtp, w, F, 1, F, P);
    /* Patches of one image overlap, so threads split the batch: each owns whole images. */
    int nt = threads_fitting(s, work_size, fnn_threads_for(2 * s->N * R * P * F / 8));
    if (nt > s->N) nt = (int)s->N;
    const int team = fnn_team(nt);
    int64_t next = 0;
#pragma omp parallel num_threads(team) if (team > 1)
    {
        int t = FNN_THREAD_ID(), n_t = fnn_workers(nt);
        float *tile = t < n_t ? thread_tile(s, work, t) : NULL;
        for (int64_t n; t < n_t && (n = fnn_next_chunk(&next)) < s->N;) {
            float *dxn = dx + n * img;
            for (int64_t r0 = 0; r0 < R; r0 += T) {
                int64_t rows = fnn_min64(T, R - r0);
                const float *dyr = dy + (n * R + r0) * F;
                if (r0 == 0)
                    memset(dxn, 0, (size_t)img * sizeof(float));
                tile_gemm(tile, dyr, wtp, rows, P, F, NULL, 0, thread_gemm(s, tile), gsize);
                col2im_add(dxn, tile, s, r0, rows);
            }
        }
    }
}

/* Few patch entries (the first layer: KH*KW*C = 9).  The GEMM would spend its time
 * packing 9-wide strips of patches and copying dY; instead each output row adds
 * patch (outer) dY_row to the chunk's P x F partial directly: the F-long inner loops
 * vectorize, dY is read once, and db comes with it. */
#define DIRECT_MAX_ENTRIES 32
static int weight_grad_direct(const fnn_conv2d_shape *s) {
    return patch_len(s) <= DIRECT_MAX_ENTRIES;
}

/* Rows are taken 8 at a time, so each pass over a row of the partial (load, add, store)
 * carries 8 products: the partial stays in L1 and the loop is bound by arithmetic. */
#define DIRECT_ROWS 8
FNN_INLINE void weight_grad_direct_rows(float *restrict pdw, float *restrict pdb,
                                        const float *restrict dy, const float *restrict x,
                                        const fnn_conv2d_shape *s, int64_t r0, int64_t rows) {
    const int64_t P = patch_len(s), F = s->F;
    entry_table entries;
    window w[DIRECT_ROWS];
    float pt[DIRECT_MAX_ENTRIES][DIRECT_ROWS];
    fill_entries(&entries, s, 0, P);
    for (int64_t b0 = 0; b0 < rows; b0 += DIRECT_ROWS) {
        const int64_t nb = fnn_min64(DIRECT_ROWS, rows - b0);
        const float *d = dy + (r0 + b0) * F;
        windows_of(w, s, r0 + b0, nb);
        for (int64_t i = 0; i < nb; i++)
            for (int64_t q = 0; q < P; q++)
                pt[q][i] = w[i].inside ? x[w[i].origin + entries.off[q]]
                                       : patch_entry(x, &w[i], &entries, q, s);
        if (nb == DIRECT_ROWS) {
            const float *d0 = d, *d1 = d + F, *d2 = d + 2 * F, *d3 = d + 3 * F,
                        *d4 = d + 4 * F, *d5 = d + 5 * F, *d6 = d + 6 * F, *d7 = d + 7 * F;
            for (int64_t f = 0; f < F; f++)
                pdb[f] += ((d0[f] + d1[f]) + (d2[f] + d3[f])) + ((d4[f] + d5[f]) + (d6[f] + d7[f]));
            for (int64_t q = 0; q < P; q++) {
                const float *a = pt[q];
                float *restrict acc = pdw + q * F;
                for (int64_t f = 0; f < F; f++)
                    acc[f] += ((a[0] * d0[f] + a[1] * d1[f]) + (a[2] * d2[f] + a[3] * d3[f])) +
                              ((a[4] * d4[f] + a[5] * d5[f]) + (a[6] * d6[f] + a[7] * d7[f]));
            }
            continue;
        }
        for (int64_t i = 0; i < nb; i++) { /* the chunk's last few rows */
            for (int64_t f = 0; f < F; f++) pdb[f] += d[i * F + f];
            for (int64_t q = 0; q < P; q++)
                for (int64_t f = 0; f < F; f++) pdw[q * F + f] += pt[q][i] * d[i * F + f];
        }
    }
}
FNN_ISA_VARIANTS(weight_grad_direct_rows,
                 (float *restrict pdw, float *restrict pdb, const float *restrict dy,
                  const float *restrict x, const fnn_conv2d_shape *s, int64_t r0, int64_t rows),
                 (pdw, pdb, dy, x, s, r0, rows))

void fnn_conv2d_backward_weight(float *dw, float *db, const float *dy, const float *x,
                                const fnn_conv2d_shape *s, float *work, size_t work_size) {
    if (fnn_winograd_chosen(s, FNN_WINO_BACKWARD_WEIGHT, work_size)) {
        fnn_winograd_backward_weight(dw, db, dy, x, s, work, work_size);
        return;
    }
    const int64_t M = out_rows(s), P = patch_len(s), F = s->F, T = tile_rows(s);
    const int64_t ntiles = fnn_ceil_div(M, T), nch = weight_chunks(s);
    const size_t gsize = gemm_ws(s);
    const int isa = fnn_vector_isa();
    const int direct = weight_grad_direct(s);
    /* compute dW^T, so the long side runs along the lanes */
    const int transposed = !direct && P >= F;
    float *partials = fnn_align_up(work); /* nch x (P*F dw, then F db) */
    int nt = threads_fitting(s, work_size, fnn_threads_for(2 * M * P * F / 8));
    if (nt > nch) nt = (int)nch;
    const int team = fnn_team(nt);
    int64_t next = 0;
#pragma omp parallel num_threads(team) if (team > 1)
    {
        int t = FNN_THREAD_ID(), n_t = fnn_workers(nt);
        float *tile = t < n_t ? thread_tile(s, work, t) : NULL;
        for (int64_t c; t < n_t && (c = fnn_next_chunk(&next)) < nch;) {
            float *pdw = partials + c * (P * F + F), *pdb = pdw + P * F;
            memset(pdb, 0, (size_t)F * sizeof(float));
            if (direct) {
                int64_t r0 = ntiles * c / nch * T, r1 = fnn_min64(M, ntiles * (c + 1) / nch * T);
                memset(pdw, 0, (size_t)(P * F) * sizeof(float));
                FNN_ISA_CALL(isa, weight_grad_direct_rows, (pdw, pdb, dy, x, s, r0, r1 - r0));
                continue;
            }
            for (int64_t i = ntiles * c / nch; i < ntiles * (c + 1) / nch; i++) {
                int64_t r0 = i * T, rows = fnn_min64(T, M - r0);
                const float *dyr = dy + r0 * F;
                /* The chunk's dW^T (F x P) = dY_tile^T . patches, both operands packed from
                 * contiguous memory (dY rows; runs of channels of x), when P fills the
                 * vector lanes; with few patch entries (the first layer), dW = P^T . dY. */
                patch_source src = {.x = x, .s = s, .row0 = r0};
                float beta = i == ntiles * c / nch ? 0.0f : 1.0f;
                fnn_gemm_op op = {.C = pdw, .A = dyr, .B = x + r0 * s->C, .M = F, .N = P,
                                  .K = rows, .lda = F, .ldb = s->C, .ldc = P, .trans_a = 1,
                                  .alpha = 1.0f, .beta = beta,
                                  .pack_b = is_pointwise(s) ? NULL : pack_patch_strips,
                                  .pack_b_ctx = &src};
                fnn_gemm_op op_t = {.C = pdw, .A = x + r0 * s->C, .B = dyr, .M = P, .N = F,
                                    .K = rows, .lda = s->C, .ldb = F, .ldc = F, .trans_a = 1,
                                    .alpha = 1.0f, .beta = beta,
                                    .pack_a = is_pointwise(s) ? NULL : pack_patch_strips,
                                    .pack_a_ctx = &src};
                if (!transposed)
                    op = op_t;
                fnn_gemm_run(&op, thread_gemm(s, tile), gsize, 1);
                for (int64_t r = 0; r < rows; r++)
                    for (int64_t f = 0; f < F; f++) pdb[f] += dyr[r * F + f];
            }
        }
#pragma omp barrier
        /* dW and db: add the partials (dW or dW^T, then db) in chunk order, elements
         * split between threads */
#pragma omp for schedule(static)
        for (int64_t e = 0; e < P * F + F; e++) {
            int64_t src = e < P * F && transposed ? (e % F) * P + e / F : e; /* dw[q,f] <- [f,q] */
            float acc = 0.0f;
            for (int64_t c = 0; c < nch; c++) acc += partials[c * (P * F + F) + src];
            if (e < P * F)
                dw[e] = acc;
            else if (db)
                db[e - P * F] = acc;
        }
    }
}
