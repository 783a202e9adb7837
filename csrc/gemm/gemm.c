/* gemm.c -- the portable GEMM frame (Goto/BLIS in miniature).
 *
 * C = alpha op(A) op(B) + beta C.  The output is split between threads along M or N
 * (whichever is longer) in whole register tiles, never along K, so every element is
 * computed by the same sequence of operations whatever the thread count: results are
 * bitwise identical for 1 or many threads.  Each thread runs the classic loop nest on
 * its rectangle: NC-wide column panels, KC-deep slices (pack B into NR-wide strips),
 * MC-tall row blocks (pack A into MR-tall strips), then the micro-kernel per tile.
 * Packing absorbs transposes and zero-pads partial strips.  The epilogue (bias, ReLU)
 * runs on each tile with its last K slice: in registers in the micro-kernel, or in the
 * frame for edge tiles.
 *
 * Wide B panels are packed by all the threads together (see run_split).
 *
 * Skinny products avoid work the classic nest wastes on them (each choice depends on
 * the shape and operand layout only, never on the thread count):
 *  - narrow and long, row-major op(A) (N <= 16, K >= 128: a Dense layer's forward with
 *    few units), when the kernel has a dot-product entry: dot products along K, A read
 *    in place, op(B)^T per thread (run_dot);
 *  - other narrow products (N well below NR: 10 of the 32 lanes of the AVX-512 tile)
 *    run transposed, C^T = op(B)^T op(A)^T, so the narrow side fills the MR rows of the
 *    tile instead (10 of 12).  Packing absorbs the swap (op(B)^T is packed as the A
 *    operand, op(A)^T as the B operand); tiles are written back transposed, from
 *    registers when the kernel has ukr_t, else through the local buffer;
 *  - thin rectangles read an operand in place instead of packing it, on a path of
 *    their own (gemm_sup_rect, apart from the packed nest gemm_rect, as BLIS keeps its
 *    small/unpacked "sup" products apart; sup_choice picks it): at most MR rows, full
 *    strips of a row-major op(B) in place (ukr_ldb); a transposed op(A) with at most
 *    two strips of B, its full strips in place (ukr_ldb); one K slice (alpha 1, beta 0)
 *    with at most two strips of B, the rows of a row-major op(A) in place (the indirect
 *    micro-kernel);
 *  - strips shorter than MR run a shorter kernel when the ISA has one (ukr_rows);
 *  - under 512K flops, one thread. */
#include <string.h>
#include "gemm.h"
#include "../parallel.h"

#define SHARE_B_MIN_FLOATS (1 << 19) /* 2 MB: see run_split */
/* Rows (or columns) per dynamically handed-out chunk at least: a chunk packs its own copy
 * of the other operand's panels, which costs about 1 / (2 * rows) of its arithmetic. */
#define MIN_CHUNK 64

static int64_t a_block_floats(const fnn_gemm_kernel *k, int64_t M, int64_t K) {
    return fnn_min64(k->mc, fnn_round_up(M, k->mr)) * fnn_min64(k->kc, K);
}
static int64_t b_panel_floats(const fnn_gemm_kernel *k, int64_t N, int64_t K) {
    return fnn_min64(k->kc, K) * fnn_min64(k->nc, fnn_round_up(N, k->nr));
}

/* Fraction of the lanes of the register tiles that hold C, for an M x N output. */
static double tile_fill(int64_t M, int64_t N, int mr, int nr) {
    return (double)M / (double)fnn_round_up(M, mr) * (double)N / (double)fnn_round_up(N, nr);
}

/* Run C^T = op(B)^T op(A)^T instead: when that fills the register tiles much better
 * (a narrow N).  A function of the shape alone, so the workspace can cover it. */
static int swap_wins(const fnn_gemm_kernel *k, int64_t M, int64_t N) {
    return N < k->nr && tile_fill(N, M, k->mr, k->nr) > 1.5 * tile_fill(M, N, k->mr, k->nr);
}

static size_t buffers_floats(const fnn_gemm_kernel *k, int64_t M, int64_t N, int64_t K) {
    return (size_t)(a_block_floats(k, M, K) + b_panel_floats(k, N, K) + 2 * FNN_ALIGN_FLOATS);
}

/* Narrow and long (a Dense layer's few units): dot products along K, when the kernel
 * has them and op(A) is row-major.  A function of the shape (and the kernel) alone. */
static int dot_wins(const fnn_gemm_kernel *k, int64_t M, int64_t N, int64_t K) {
    return k->dot && N <= 16 && K >= 128 && M >= k->dr;
}

/* op(B)^T, K padded to whole cache lines per column, when B must be transposed for it. */
static size_t dot_floats(int64_t N, int64_t K) {
    return (size_t)(N * fnn_round_up(K, FNN_ALIGN_FLOATS) + 2 * FNN_ALIGN_FLOATS);
}

size_t fnn_gemm_workspace_per_thread(int64_t M, int64_t N, int64_t K) {
    const fnn_gemm_kernel *k = fnn_gemm_active();
    if (M <= 0 || N <= 0 || K <= 0) return 0;
    size_t normal = buffers_floats(k, M, N, K);
    if (dot_wins(k, M, N, K) && dot_floats(N, K) > normal) normal = dot_floats(N, K);
    if (!swap_wins(k, M, N)) return normal;
    size_t swapped = buffers_floats(k, N, M, K);
    return normal > swapped ? normal : swapped;
}

size_t fnn_sgemm_workspace_size(int64_t M, int64_t N, int64_t K) {
    return fnn_gemm_workspace_per_thread(M, N, K) * (size_t)fnn_get_num_threads();
}

/* dst[p * w + i] = src[i * lds + p] (i < rows, p < kb), zero for rows <= i < w: the
 * transposing pack, with the ISA's own version when it has one. */
static void pack_t(const fnn_gemm_kernel *k, float *dst, const float *src, int64_t lds,
                   int64_t rows, int64_t kb, int w) {
    if (k->pack_t) {
        k->pack_t(dst, src, lds, rows, kb, w);
        return;
    }
    for (int64_t p = 0; p < kb; p++) {
        float *d = dst + p * w;
        int64_t i = 0;
        for (; i < rows; i++) d[i] = src[i * lds + p];
        for (; i < w; i++) d[i] = 0.0f;
    }
}

/* dst[i] = src[i] for i < n, zero up to w: a row of a strip.  Full rows of the kernels'
 * widths are copied with a constant size, which compiles to a few vector moves (a loop
 * to w, even over vectors, was turned into a call to memmove per row). */
static inline void copy_row(float *restrict dst, const float *restrict src, int64_t n, int w) {
    if (n == w) {
        switch (w) {
        case 4: memcpy(dst, src, 4 * sizeof(float)); return;
        case 6: memcpy(dst, src, 6 * sizeof(float)); return;
        case 8: memcpy(dst, src, 8 * sizeof(float)); return;
        case 12: memcpy(dst, src, 12 * sizeof(float)); return;
        case 16: memcpy(dst, src, 16 * sizeof(float)); return;
        case 32: memcpy(dst, src, 32 * sizeof(float)); return;
        default: break;
        }
    }
    int64_t i = 0;
    for (; i < n; i++) dst[i] = src[i];
    for (; i < w; i++) dst[i] = 0.0f;
}

/* Strips of width w from an operand whose strips run along its rows (op(A) transposed,
 * op(B) not): strip s, row p = src[p * lds + s * w ...], zero beyond n columns.  Strip
 * by strip, so each strip is written sequentially (A/B on AVX2: 288x15488x64 81 vs 64-73
 * GFLOP/s row by row across the strips; AVX-512 the same within noise). */
static void pack_n(float *dst, const float *src, int64_t lds, int64_t n, int64_t kb, int w) {
    for (int64_t s = 0; s < n; s += w) {
        const int64_t cols = fnn_min64(w, n - s);
        for (int64_t p = 0; p < kb; p++) copy_row(dst + s * kb + p * w, src + p * lds + s, cols, w);
    }
}

/* Ap[strip][p][i] = op(A)[i0 + strip*MR + i][p0 + p], zero beyond mb rows. */
static void pack_a(const fnn_gemm_kernel *k, float *Ap, const float *A, int64_t lda,
                   int trans_a, int64_t i0, int64_t p0, int64_t mb, int64_t kb, int mr) {
    if (trans_a) {
        pack_n(Ap, A + p0 * lda + i0, lda, mb, kb, mr);
        return;
    }
    for (int64_t s = 0; s < mb; s += mr)
        pack_t(k, Ap + s * kb, A + (i0 + s) * lda + p0, lda, fnn_min64(mr, mb - s), kb, mr);
}

/* Bp[strip][p][j] = op(B)[p0 + p][j0 + strip*NR + j], zero beyond nb columns. */
static void pack_b(const fnn_gemm_kernel *k, float *Bp, const float *B, int64_t ldb,
                   int trans_b, int64_t p0, int64_t j0, int64_t kb, int64_t nb, int nr) {
    if (!trans_b) {
        pack_n(Bp, B + p0 * ldb + j0, ldb, nb, kb, nr);
        return;
    }
    for (int64_t s = 0; s < nb; s += nr)
        pack_t(k, Bp + s * kb, B + (j0 + s) * ldb + p0, ldb, fnn_min64(nr, nb - s), kb, nr);
}

/* A fully packed op(B): K slices of KC rows, each all of N in NR strips, so the panel
 * for slice pc and columns from jc starts at pc * fnn_round_up(N, NR) + jc * kb. */
size_t fnn_gemm_packed_b_size(int64_t N, int64_t K) {
    const fnn_gemm_kernel *k = fnn_gemm_active();
    return (size_t)(fnn_round_up(N, k->nr) * K);
}

void fnn_gemm_pack_b(float *Bp, const float *B, int64_t ldb, int trans_b, int64_t K, int64_t N) {
    const fnn_gemm_kernel *k = fnn_gemm_active();
    for (int64_t pc = 0; pc < K; pc += k->kc)
        pack_b(k, Bp + pc * fnn_round_up(N, k->nr), B, ldb, trans_b, pc, 0,
               fnn_min64(k->kc, K - pc), N, k->nr);
}

size_t fnn_gemm_packed_b_whole_size(int64_t N, int64_t K) {
    return (size_t)(fnn_round_up(N, fnn_gemm_active()->nr) * K);
}

void fnn_gemm_pack_b_whole(float *Bp, const float *B, int64_t ldb, int trans_b, int64_t K,
                           int64_t N) {
    const fnn_gemm_kernel *k = fnn_gemm_active();
    pack_b(k, Bp, B, ldb, trans_b, 0, 0, K, N, k->nr);
}

/* C tile rows i < mm, columns j < nn: c = tile (+ beta c), then the epilogue if last. */
static void finish_tile(float *c, int64_t ldc, const float *tile, int nr, int64_t mm, int64_t nn,
                        float beta, const float *bias, int relu) {
    for (int64_t i = 0; i < mm; i++) {
        float *ci = c + i * ldc;
        if (tile) {
            const float *ti = tile + i * nr;
            for (int64_t j = 0; j < nn; j++) ci[j] = beta == 0.0f ? ti[j] : beta * ci[j] + ti[j];
        }
        if (bias)
            for (int64_t j = 0; j < nn; j++) ci[j] += bias[j];
        if (relu)
            for (int64_t j = 0; j < nn; j++) ci[j] = ci[j] < 0.0f ? 0.0f : ci[j]; /* NaN stays */
    }
}

/* The same for a tile of C^T: tile row i is column i of C, tile column j is row j, and
 * bias (when set) is indexed by the tile row. */
static void finish_tile_t(float *c, int64_t ldc, const float *tile, int nr, int64_t mm,
                          int64_t nn, float beta, const float *bias, int relu) {
    for (int64_t j = 0; j < nn; j++) {
        float *cj = c + j * ldc;
        if (beta == 0.0f)
            for (int64_t i = 0; i < mm; i++) cj[i] = tile[i * nr + j];
        else
            for (int64_t i = 0; i < mm; i++) cj[i] = beta * cj[i] + tile[i * nr + j];
        if (bias)
            for (int64_t i = 0; i < mm; i++) cj[i] += bias[i];
        if (relu)
            for (int64_t i = 0; i < mm; i++) cj[i] = cj[i] < 0.0f ? 0.0f : cj[i]; /* NaN stays */
    }
}

/* One thread's share of a team that packs each B panel together (see run_split):
 * worker w of nw packs strips [S w / nw, S (w + 1) / nw) of the panel's S strips, all
 * threads of the team meet at a barrier before the panel is read and again before it is
 * overwritten.  nw == 0: this thread packs its own panel alone. */
typedef struct {
    int w, nw;
} bshare;

/* Where one tile of the product is: its first row i0 and column j0 of C (of C^T with
 * swap), its K slice, and the local buffer for edge tiles. */
typedef struct {
    int64_t i0, j0, kb;
    float beta; /* op->beta on the first K slice, else 1 */
    int last;   /* the last K slice: the epilogue runs */
    float *tile;
} tile_at;

/* One mm x nn tile (mm <= MR, nn <= NR) from an A strip (step p at a + p * lda) and a B
 * strip (row p at b + p * ldb): straight into C for full tiles, short strips of full
 * width (ukr_rows) and, with swap, tiles the kernel writes transposed (ukr_t); through
 * the local buffer otherwise, then finished by the frame with the same formulas. */
static inline void run_tile(const fnn_gemm_kernel *kr, const fnn_gemm_op *op, int swap,
                            const float *a, int64_t lda, const float *b, int64_t ldb,
                            int64_t mm, int64_t nn, const tile_at *t) {
    const int mr = kr->mr, nr = kr->nr;
    const int64_t ldc = op->ldc, kb = t->kb;
    const int relu = t->last && op->relu;
    const int short_strip = mm < mr && kr->ukr_rows;
    if (swap) { /* tile row i is column i0 + i of C; the bias follows the tile rows */
        float *c = op->C + t->j0 * ldc + t->i0;
        const float *bias = op->bias && t->last ? op->bias + t->i0 : NULL;
        if (kr->ukr_t) { /* written transposed in registers */
            kr->ukr_t((int)mm, (int)nn, kb, a, b, ldb, c, ldc, op->alpha, t->beta, bias, relu);
            return;
        }
        if (short_strip)
            kr->ukr_rows((int)mm, kb, a, b, ldb, t->tile, nr, op->alpha, 0.0f, NULL, 0);
        else if (ldb == nr)
            kr->ukr(kb, a, b, t->tile, nr, op->alpha, 0.0f, NULL, 0);
        else
            kr->ukr_ldb(kb, a, mr, b, ldb, t->tile, nr, op->alpha, 0.0f, NULL, 0);
        finish_tile_t(c, ldc, t->tile, nr, mm, nn, t->beta, bias, relu);
        return;
    }
    float *c = op->C + t->i0 * ldc + t->j0;
    const float *bias = op->bias && t->last ? op->bias + t->j0 : NULL;
    /* straight into C: full tiles, and short strips of full width */
    const int full = (mm == mr || short_strip) && nn == nr;
    float *dst = full ? c : t->tile;
    const int64_t ldd = full ? ldc : nr;
    const float bd = full ? t->beta : 0.0f;
    const float *bi = full ? bias : NULL;
    if (short_strip)
        kr->ukr_rows((int)mm, kb, a, b, ldb, dst, ldd, op->alpha, bd, bi, full && relu);
    else if (ldb == nr && lda == mr)
        kr->ukr(kb, a, b, dst, ldd, op->alpha, bd, bi, full && relu);
    else
        kr->ukr_ldb(kb, a, lda, b, ldb, dst, ldd, op->alpha, bd, bi, full && relu);
    if (!full) finish_tile(c, ldc, t->tile, nr, mm, nn, t->beta, bias, relu);
}

/* The packed loop nest on rows [m0, m1) x columns [n0, n1) of C, with one thread's
 * buffers: NC-wide column panels, KC-deep slices (B packed into NR-wide strips, by the
 * team together when sh.nw), MC-tall row blocks (A packed into MR-tall strips), then
 * run_tile per tile.  With swap, op describes C^T (see fnn_gemm_run) and C is written
 * back transposed. */
static void gemm_rect(const fnn_gemm_kernel *kr, const fnn_gemm_op *op, int swap, int64_t m0,
                      int64_t m1, int64_t n0, int64_t n1, float *Ap, float *Bp, bshare sh) {
    const int mr = kr->mr, nr = kr->nr;
    const int64_t K = op->K, npad = fnn_round_up(op->N, nr);
    float tile[32 * 32]; /* edge tiles: MR * NR <= 1024 for every kernel */
    for (int64_t jc = n0; jc < n1; jc += kr->nc) {
        const int64_t nb = fnn_min64(kr->nc, n1 - jc);
        for (int64_t pc = 0; pc < K; pc += kr->kc) {
            const int64_t kb = fnn_min64(kr->kc, K - pc);
            const float *Bpanel = Bp;
            if (op->B_packed) {
                Bpanel = op->B_packed + pc * npad + jc * kb;
            } else {
                int64_t j0 = 0, j1 = nb;
                if (sh.nw) {
                    int64_t strips = fnn_ceil_div(nb, nr);
                    j0 = fnn_min64(strips * sh.w / sh.nw * nr, nb);
                    j1 = fnn_min64(strips * (sh.w + 1) / sh.nw * nr, nb);
#pragma omp barrier
                }
                if (j0 < j1) {
                    if (op->pack_b)
                        op->pack_b(Bp + j0 * kb, op->pack_b_ctx, jc + j0, pc, j1 - j0, kb, nr);
                    else
                        pack_b(kr, Bp + j0 * kb, op->B, op->ldb, op->trans_b, pc, jc + j0, kb,
                               j1 - j0, nr);
                }
                if (sh.nw) {
#pragma omp barrier
                }
            }
            for (int64_t ic = m0; ic < m1; ic += kr->mc) {
                const int64_t mb = fnn_min64(kr->mc, m1 - ic);
                if (op->pack_a)
                    op->pack_a(Ap, op->pack_a_ctx, ic, pc, mb, kb, mr);
                else
                    pack_a(kr, Ap, op->A, op->lda, op->trans_a, ic, pc, mb, kb, mr);
                for (int64_t jr = 0; jr < nb; jr += nr)
                    for (int64_t ir = 0; ir < mb; ir += mr) {
                        const tile_at t = {.i0 = ic + ir, .j0 = jc + jr, .kb = kb,
                                           .beta = pc == 0 ? op->beta : 1.0f,
                                           .last = pc + kb == K, .tile = tile};
                        run_tile(kr, op, swap, Ap + ir * kb, mr, Bpanel + jr * kb, nr,
                                 fnn_min64(mr, mb - ir), fnn_min64(nr, nb - jr), &t);
                    }
            }
        }
    }
}

/* ---- skinny products, apart from the packed nest (BLIS's "sup" idea) -----------------
 * Products so thin in one direction that packing an operand costs about as much as the
 * product reads it: the operand is read in place instead.  Chosen per rectangle from the
 * shape, layout and kernel only (never the thread count); each reads the same values
 * into the same kernels' arithmetic as the packed nest would. */
typedef struct {
    /* At most MR rows (one strip of A multiplies each strip of B): full strips of a
     * row-major op(B) are read in place (ukr_ldb), only a partial last strip is packed. */
    int b_in_place;
    /* One K slice (alpha 1, beta 0) with at most two strips of B: the rows of a
     * row-major op(A) are read in place by the indirect micro-kernel (one run per row);
     * packing them cost a third of 86528x9x32 and a fifth of 15488x288x64. */
    int a_rows_in_place;
    /* A transposed op(A) (its MR values per step contiguous in memory) that only one or
     * two strips of B multiply: full strips read in place (ukr_ldb). */
    int a_strips_in_place;
} sup_plan;

static sup_plan sup_choice(const fnn_gemm_kernel *kr, const fnn_gemm_op *op, int swap,
                           int64_t rows, int64_t cols, bshare sh) {
    sup_plan p = {0, 0, 0};
    if (sh.nw) return p; /* a shared B panel is wide: never skinny (at most 2 NR here) */
    p.b_in_place = rows <= kr->mr && !op->B_packed && !op->pack_b && !op->trans_b &&
                   kr->ukr_ldb;
    p.a_rows_in_place = !p.b_in_place && op->K <= kr->kc && cols <= 2 * kr->nr &&
                        op->alpha == 1.0f && op->beta == 0.0f && !op->pack_a && !op->trans_a;
    p.a_strips_in_place = !p.a_rows_in_place && !swap && op->trans_a && !op->pack_a &&
                          cols <= 2 * kr->nr && kr->ukr_ldb;
    return p;
}

/* A tile by the indirect micro-kernel from rows of op(A) read in place (rows past the
 * edge repeat the last one, computed and not stored); one K slice, beta 0. */
static void indirect_tile(const fnn_gemm_kernel *kr, const fnn_gemm_op *op, int swap,
                          const float *b, int64_t mm, int64_t nn, const tile_at *t) {
    const int mr = kr->mr, nr = kr->nr;
    const int64_t ldc = op->ldc;
    const float *rows[32];
    for (int i = 0; i < mr; i++) rows[i] = op->A + (t->i0 + fnn_min64(i, mm - 1)) * op->lda;
    const int full = !swap && mm == mr && nn == nr;
    const float *bias = op->bias ? op->bias + t->j0 : NULL;
    float *c = op->C + t->i0 * ldc + t->j0;
    kr->ukr_indirect(1, t->kb, rows, b, full ? c : t->tile, full ? ldc : nr,
                     full ? bias : NULL, full && op->relu);
    if (swap)
        finish_tile_t(op->C + t->j0 * ldc + t->i0, ldc, t->tile, nr, mm, nn, 0.0f,
                      op->bias ? op->bias + t->i0 : NULL, op->relu);
    else if (!full)
        finish_tile(c, ldc, t->tile, nr, mm, nn, 0.0f, bias, op->relu);
}

/* gemm_rect's nest for a skinny rectangle: the operands the plan names are read in
 * place, the rest packed as there (alone: a skinny B panel is never shared). */
static void gemm_sup_rect(const fnn_gemm_kernel *kr, const fnn_gemm_op *op, int swap,
                          sup_plan p, int64_t m0, int64_t m1, int64_t n0, int64_t n1, float *Ap,
                          float *Bp) {
    const int mr = kr->mr, nr = kr->nr;
    const int64_t K = op->K, npad = fnn_round_up(op->N, nr);
    float tile[32 * 32];
    for (int64_t jc = n0; jc < n1; jc += kr->nc) {
        const int64_t nb = fnn_min64(kr->nc, n1 - jc);
        for (int64_t pc = 0; pc < K; pc += kr->kc) {
            const int64_t kb = fnn_min64(kr->kc, K - pc);
            const float *Bpanel = Bp;
            if (op->B_packed)
                Bpanel = op->B_packed + pc * npad + jc * kb;
            else if (!p.b_in_place && op->pack_b)
                op->pack_b(Bp, op->pack_b_ctx, jc, pc, nb, kb, nr);
            else if (!p.b_in_place)
                pack_b(kr, Bp, op->B, op->ldb, op->trans_b, pc, jc, kb, nb, nr);
            for (int64_t ic = m0; ic < m1; ic += kr->mc) {
                const int64_t mb = fnn_min64(kr->mc, m1 - ic);
                const int64_t full_rows = p.a_strips_in_place ? mb / mr * mr : 0;
                if (p.a_rows_in_place)
                    ; /* read in place */
                else if (p.a_strips_in_place) { /* only the partial last strip is packed */
                    if (full_rows < mb)
                        pack_a(kr, Ap + full_rows * kb, op->A, op->lda, 1, ic + full_rows, pc,
                               mb - full_rows, kb, mr);
                } else if (op->pack_a)
                    op->pack_a(Ap, op->pack_a_ctx, ic, pc, mb, kb, mr);
                else
                    pack_a(kr, Ap, op->A, op->lda, op->trans_a, ic, pc, mb, kb, mr);
                for (int64_t jr = 0; jr < nb; jr += nr) {
                    const int64_t nn = fnn_min64(nr, nb - jr);
                    const float *b = Bpanel + jr * kb;
                    int64_t ldb = nr;
                    if (p.b_in_place && nn == nr) {
                        b = op->B + pc * op->ldb + jc + jr;
                        ldb = op->ldb;
                    } else if (p.b_in_place) { /* the last, partial strip: packed, zero-padded */
                        pack_b(kr, Bp, op->B, op->ldb, 0, pc, jc + jr, kb, nn, nr);
                        b = Bp;
                    }
                    for (int64_t ir = 0; ir < mb; ir += mr) {
                        const int64_t mm = fnn_min64(mr, mb - ir);
                        const tile_at t = {.i0 = ic + ir, .j0 = jc + jr, .kb = kb,
                                           .beta = pc == 0 ? op->beta : 1.0f,
                                           .last = pc + kb == K, .tile = tile};
                        if (p.a_rows_in_place)
                            indirect_tile(kr, op, swap, b, mm, nn, &t);
                        else if (ir < full_rows)
                            run_tile(kr, op, swap, op->A + pc * op->lda + ic + ir, op->lda, b,
                                     ldb, mm, nn, &t);
                        else
                            run_tile(kr, op, swap, Ap + ir * kb, mr, b, ldb, mm, nn, &t);
                    }
                }
            }
        }
    }
}

/* Rows [m0, m1) x columns [n0, n1) of C by the skinny path or the packed nest. */
static void run_rect(const fnn_gemm_kernel *kr, const fnn_gemm_op *op, int swap, int64_t m0,
                     int64_t m1, int64_t n0, int64_t n1, float *Ap, float *Bp, bshare sh) {
    const sup_plan p = sup_choice(kr, op, swap, m1 - m0, n1 - n0, sh);
    if (p.b_in_place || p.a_rows_in_place || p.a_strips_in_place)
        gemm_sup_rect(kr, op, swap, p, m0, m1, n0, n1, Ap, Bp);
    else
        gemm_rect(kr, op, swap, m0, m1, n0, n1, Ap, Bp, sh);
}

/* K == 0 or alpha == 0: C = beta C, then the epilogue. */
static void scale_c(const fnn_gemm_op *op) {
    for (int64_t i = 0; i < op->M; i++) {
        float *ci = op->C + i * op->ldc;
        for (int64_t j = 0; j < op->N; j++) ci[j] = op->beta == 0.0f ? 0.0f : op->beta * ci[j];
        finish_tile(ci, op->ldc, NULL, 0, 1, op->N, 0.0f, op->bias, op->relu);
    }
}

static void run_split(const fnn_gemm_kernel *kr, const fnn_gemm_op *op, int swap, float *work,
                      size_t work_size, int nthreads);

/* Rows [r0, r1) of C by the dot kernel: blocks of DR rows x DC columns, rows and columns
 * past the edge repeat the last one (computed, not stored); then alpha, beta, the bias
 * and ReLU per element, in the frame's order. */
static void dot_rows(const fnn_gemm_kernel *kr, const fnn_gemm_op *op, const float *bt,
                     int64_t ldbt, int64_t r0, int64_t r1) {
    const int64_t N = op->N, K = op->K;
    const float *rows[16], *cols[16];
    float out[256];
    for (int64_t i0 = r0; i0 < r1; i0 += kr->dr) {
        int64_t mm = fnn_min64(kr->dr, r1 - i0);
        for (int i = 0; i < kr->dr; i++) rows[i] = op->A + (i0 + fnn_min64(i, mm - 1)) * op->lda;
        for (int64_t j0 = 0; j0 < N; j0 += kr->dc) {
            int64_t nn = fnn_min64(kr->dc, N - j0);
            for (int j = 0; j < kr->dc; j++) cols[j] = bt + (j0 + fnn_min64(j, nn - 1)) * ldbt;
            kr->dot(K, rows, cols, out);
            for (int64_t i = 0; i < mm; i++) {
                float *ci = op->C + (i0 + i) * op->ldc + j0;
                for (int64_t j = 0; j < nn; j++) {
                    float v = op->alpha * out[i * kr->dc + j];
                    if (op->beta != 0.0f) v = op->beta * ci[j] + v;
                    if (op->bias) v += op->bias[j0 + j];
                    if (op->relu) v = v < 0.0f ? 0.0f : v; /* NaN stays */
                    ci[j] = v;
                }
            }
        }
    }
}

/* Thread t of n_t: its DR-row blocks, with its own op(B)^T when B must be transposed. */
static void dot_share(const fnn_gemm_kernel *kr, const fnn_gemm_op *op, float *work,
                      size_t per_thread, int64_t units, int t, int n_t) {
    const int64_t lo = units * t / n_t * kr->dr;
    const int64_t hi = fnn_min64(units * (t + 1) / n_t * kr->dr, op->M);
    if (lo >= hi) return;
    const float *bt = op->B;
    int64_t ldbt = op->ldb;
    if (!op->trans_b) {
        float *own = fnn_align_up(work + (size_t)t * per_thread);
        ldbt = fnn_round_up(op->K, FNN_ALIGN_FLOATS);
        pack_t(kr, own, op->B, op->ldb, op->K, op->N, (int)ldbt); /* own[j*ldbt + p] = B[p][j] */
        bt = own;
    }
    dot_rows(kr, op, bt, ldbt, lo, hi);
}

/* A narrow product by dot products: op(B)^T is B itself when transposed (its rows are
 * the columns), else each thread transposes it into its own workspace (small; a copy
 * shared between cores would be invalidated in the others' caches on every call);
 * threads split M in DR-row blocks. */
static void run_dot(const fnn_gemm_kernel *kr, const fnn_gemm_op *op, float *work,
                    size_t work_size, int nthreads) {
    const int64_t M = op->M, N = op->N, K = op->K;
    const size_t per_thread = fnn_gemm_workspace_per_thread(M, N, K);
    const int64_t units = fnn_ceil_div(M, kr->dr);
    int nt = fnn_threads_fitting(work_size, 0, per_thread, nthreads);
    if (nt > units) nt = (int)units;
    if (2 * M * N * K < 8 * FNN_PAR_MIN_WORK) nt = 1;
    const int team = fnn_team(nt);
    if (team == 1) { /* no OpenMP region at all (see run_split) */
        dot_share(kr, op, work, per_thread, units, 0, 1);
        return;
    }
#pragma omp parallel num_threads(team)
    {
        const int t = FNN_THREAD_ID();
        const int n_t = fnn_workers(nt);
        if (t < n_t) dot_share(kr, op, work, per_thread, units, t, n_t);
    }
}

void fnn_gemm_run(const fnn_gemm_op *op, float *work, size_t work_size, int nthreads) {
    const int64_t M = op->M, N = op->N, K = op->K;
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || op->alpha == 0.0f) {
        scale_c(op);
        return;
    }
    const fnn_gemm_kernel *kr = fnn_gemm_active();
    if (dot_wins(kr, M, N, K) && !op->trans_a && !op->pack_a && !op->pack_b && !op->B_packed) {
        run_dot(kr, op, work, work_size, nthreads);
    } else if (swap_wins(kr, M, N) && !op->pack_a && !op->pack_b && !op->B_packed) {
        /* C^T = op(B)^T op(A)^T: B plays A (transposed once more), A plays B; C and the
         * bias keep their own layout (the tiles are written back transposed). */
        fnn_gemm_op t = *op;
        t.A = op->B, t.lda = op->ldb, t.trans_a = !op->trans_b;
        t.B = op->A, t.ldb = op->lda, t.trans_b = !op->trans_a;
        t.M = N, t.N = M;
        run_split(kr, &t, 1, work, work_size, nthreads);
    } else {
        run_split(kr, op, 0, work, work_size, nthreads);
    }
}

/* Splits op (C^T's description when swap) between threads and runs each share. */
static void run_split(const fnn_gemm_kernel *kr, const fnn_gemm_op *op, int swap, float *work,
                      size_t work_size, int nthreads) {
    const int64_t M = op->M, N = op->N, K = op->K;
    const int64_t a_floats = a_block_floats(kr, M, K);
    const size_t per_thread = fnn_gemm_workspace_per_thread(swap ? N : M, swap ? M : N, K);
    int nt = fnn_threads_fitting(work_size, 0, per_thread, nthreads);
    /* Split the longer side in whole tiles; stay serial for small products. */
    const int split_m = M >= N;
    const int64_t unit = split_m ? kr->mr : kr->nr;
    const int64_t units = fnn_ceil_div(split_m ? M : N, unit);
    if (nt > units) nt = (int)units;
    /* measured on 2 cores: 128x32x32 (262K flops) is slower on 2 threads, 64^3 (524K) faster */
    if (2 * M * N * K < 8 * FNN_PAR_MIN_WORK) nt = 1;

    /* Split along M, the threads share each packed B panel when it is wide: every
     * thread would otherwise pack all of B again.  Sharing costs two barriers per panel
     * and reads of the half the other core packed, so it pays only for big panels
     * (measured on 2 cores: +5% at 1024^2 and +2% at 2048^2, -3% at 512^2 and -7% at
     * 288x15488x64, whose panels are 0.25 M and 32 K floats). */
    const int share_b = split_m && nt > 1 && !op->B_packed &&
                        b_panel_floats(kr, N, K) >= SHARE_B_MIN_FLOATS;

    const int team = fnn_team(nt);
    if (team == 1) { /* no OpenMP region at all (an inactive one still cost 0.5 us, a
                      * seventh of 128x32x32): the whole product, as thread 0 would */
        float *Ap = fnn_align_up(work);
        bshare alone = {0, 0};
        run_rect(kr, op, swap, 0, M, 0, N, Ap, fnn_align_up(Ap + a_floats), alone);
        return;
    }
    int64_t next = 0;
#pragma omp parallel num_threads(team)
    {
        const int t = FNN_THREAD_ID();
        const int n_t = fnn_workers(nt);
        float *Ap = fnn_align_up(work + (size_t)t * per_thread);
        float *Bp = fnn_align_up(Ap + a_floats);
        int64_t u0 = units * t / n_t, u1 = units * (t + 1) / n_t;
        int64_t lo = u0 * unit, hi = fnn_min64(u1 * unit, split_m ? M : N);
        if (share_b && n_t > 1) {
            /* Thread 0's B buffer is the team's.  Every thread of the team runs the same
             * panel loop and meets every barrier; one beyond the workers (team larger
             * than the work) gets no rows and an empty share of the strips. */
            bshare sh = {.w = t < n_t ? t : n_t, .nw = n_t};
            if (t >= n_t) lo = hi = 0;
            run_rect(kr, op, swap, lo, hi, 0, N, Ap,
                     fnn_align_up(fnn_align_up(work) + a_floats), sh);
        } else if (t < n_t) {
            /* chunks handed out as threads come (a descheduled thread holds up only its
             * own); each packs its own share of the other operand, so chunks stay large */
            const int64_t nch = fnn_max64(fnn_min64(fnn_dynamic_chunks(units, n_t),
                                                    units * unit / MIN_CHUNK),
                                          fnn_min64(n_t, units));
            bshare alone = {0, 0};
            for (int64_t c; (c = fnn_next_chunk(&next)) < nch;) {
                lo = units * c / nch * unit;
                hi = fnn_min64(units * (c + 1) / nch * unit, split_m ? M : N);
                if (lo >= hi) continue;
                if (split_m)
                    run_rect(kr, op, swap, lo, hi, 0, N, Ap, Bp, alone);
                else
                    run_rect(kr, op, swap, 0, M, lo, hi, Ap, Bp, alone);
            }
        }
    }
}

void fnn_sgemm(float *C, const float *A, const float *B,
               int64_t M, int64_t N, int64_t K, int64_t lda, int64_t ldb, int64_t ldc,
               int trans_a, int trans_b, float alpha, float beta,
               float *work, size_t work_size) {
    fnn_gemm_op op = {.C = C, .A = A, .B = B, .M = M, .N = N, .K = K, .lda = lda, .ldb = ldb,
                      .ldc = ldc, .trans_a = trans_a, .trans_b = trans_b, .alpha = alpha,
                      .beta = beta};
    fnn_gemm_run(&op, work, work_size, fnn_get_num_threads());
}
