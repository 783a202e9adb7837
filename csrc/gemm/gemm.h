/* gemm.h -- internal contract between the portable GEMM frame and its micro-kernels.
 *
 * A micro-kernel computes one MR x NR tile of C from packed panels:
 *   acc = sum_{p < k} a[p*MR + i] * b[p*NR + j]
 *   c[i*ldc + j] = alpha * acc                 if beta == 0 (c is never read)
 *   c[i*ldc + j] = beta * c[i*ldc + j] + alpha * acc   otherwise
 *   then, in registers: c += bias[j] if bias, c = max(c, 0) if relu (the epilogue)
 * The frame calls it on full tiles only; edge tiles go through a local MR x NR buffer
 * (ldc = NR, beta = 0, no epilogue) and the frame applies the same formulas when
 * copying out.
 *
 * The indirect micro-kernel (XNNPACK's "indirect GEMM", for convolutions) reads A
 * through pointers instead of a packed panel: row i of A is the concatenation over
 * runs r < nruns of the run_len floats at rows[r*MR + i] (a window of the image, or a
 * buffer of zeros for padding), so patches are never copied.  B is one packed slice
 * with K = nruns * run_len (fnn_gemm_pack_b_whole); alpha = 1, beta = 0, then the
 * epilogue, as above. */
#ifndef FNN_GEMM_H
#define FNN_GEMM_H

#include <stddef.h>
#include <stdint.h>

typedef void (*fnn_ukr_fn)(int64_t k, const float *a, const float *b, float *c,
                           int64_t ldc, float alpha, float beta, const float *bias, int relu);

/* The same with A and B read in place: step p of the A strip at a + p * lda (its MR
 * values contiguous; lda == MR is the packed strip), row p of the B strip at b + p * ldb
 * (ldb == NR is the packed strip): for operands used by so few tiles that packing them
 * would cost as much as the product reads them. */
typedef void (*fnn_ukr_ldb_fn)(int64_t k, const float *a, int64_t lda, const float *b,
                               int64_t ldb, float *c, int64_t ldc, float alpha, float beta,
                               const float *bias, int relu);

/* The first `rows` (< MR) rows of the tile only, from the packed MR-row strip of A and a
 * B strip as for ukr_ldb; same formulas, `rows` rows of C written.  Optional: without
 * it the frame runs the full tile into its local buffer. */
typedef void (*fnn_ukr_rows_fn)(int rows, int64_t k, const float *a, const float *b, int64_t ldb,
                                float *c, int64_t ldc, float alpha, float beta, const float *bias,
                                int relu);

/* The tile written transposed, for the frame's transposed products: rows <= MR tile
 * rows, cols <= NR tile columns, c[j * ldc + i] = (formulas above) with the bias indexed
 * by the tile row i.  Optional: without it such tiles go through the local buffer. */
typedef void (*fnn_ukr_t_fn)(int rows, int cols, int64_t k, const float *a, const float *b,
                             int64_t ldb, float *c, int64_t ldc, float alpha, float beta,
                             const float *bias, int relu);

/* Dot-product kernel for narrow products (few columns, long K) with a row-major op(A):
 * out[i * DC + j] = sum_{p < k} rows[i][p] * cols[j][p] for i < DR, j < DC, where cols are
 * the columns of op(B) stored contiguously (rows of B^T).  Reads A in place: no packing,
 * and no lanes wasted on a narrow N. */
typedef void (*fnn_dot_fn)(int64_t k, const float *const *rows, const float *const *cols,
                           float *out);

typedef void (*fnn_ukr_indirect_fn)(int64_t nruns, int64_t run_len, const float *const *rows,
                                    const float *b, float *c, int64_t ldc, const float *bias,
                                    int relu);

/* Transposing pack, for operands whose packed strips run across their rows (op(A) not
 * transposed, op(B) transposed): dst[p * w + i] = src[i * lds + p] for i < rows <= w,
 * p < kb; zero for rows <= i < w. */
typedef void (*fnn_pack_t_fn)(float *dst, const float *src, int64_t lds, int64_t rows,
                              int64_t kb, int w);

typedef struct {
    const char *name;   /* the FASTNN_ISA spelling */
    int mr, nr;         /* register tile */
    int64_t mc, kc, nc; /* cache blocks: A block mc x kc (L2), B panel kc x nc */
    fnn_ukr_fn ukr;
    int (*cpu_supports)(void);
    fnn_ukr_indirect_fn ukr_indirect;
    fnn_pack_t_fn pack_t; /* NULL: the frame's portable loop */
    fnn_ukr_ldb_fn ukr_ldb;
    fnn_ukr_rows_fn ukr_rows; /* NULL: short strips use the full tile */
    int dr, dc;               /* the dot kernel's block of C */
    fnn_dot_fn dot;           /* NULL: narrow products run transposed instead */
    fnn_ukr_t_fn ukr_t;       /* NULL: transposed tiles go through the local buffer */
} fnn_gemm_kernel;

/* One per ISA file; MR, NR and the blocks live with the micro-kernel. */
extern const fnn_gemm_kernel fnn_gemm_kernel_generic;
#if defined(__x86_64__) || defined(_M_X64)
extern const fnn_gemm_kernel fnn_gemm_kernel_avx512;
extern const fnn_gemm_kernel fnn_gemm_kernel_avx2;
#endif

/* The kernel chosen at import time (dispatch.c). */
const fnn_gemm_kernel *fnn_gemm_active(void);

/* Packs rows [i0, i0 + mb) x columns [p0, p0 + kb) of op(A) into MR-tall strips,
 * Ap[strip][p][i], zero-padding the last strip: what the frame does from A, for an A
 * that exists only implicitly (a convolution's patches, read straight from the image). */
typedef void (*fnn_pack_a_fn)(float *Ap, const void *ctx, int64_t i0, int64_t p0, int64_t mb,
                              int64_t kb, int mr);

/* One product, described in full: C = alpha op(A) op(B) + beta C, then the epilogue
 * (C += bias per column, then max(C, 0) if relu) once the sum over K is complete.
 * B_packed, when set, holds op(B) packed by fnn_gemm_pack_b (B and ldb are ignored),
 * so a kernel that multiplies many tiles by the same weights packs them once.
 * pack_a, when set, supplies op(A) (A, lda and trans_a are ignored); pack_b likewise
 * supplies op(B), as Bp[strip][p][j] for columns [j0, j0 + nb) and rows [p0, p0 + kb). */
typedef struct {
    float *C;
    const float *A, *B, *B_packed;
    int64_t M, N, K, lda, ldb, ldc;
    int trans_a, trans_b;
    float alpha, beta;
    const float *bias;
    int relu;
    fnn_pack_a_fn pack_a;
    const void *pack_a_ctx;
    fnn_pack_a_fn pack_b;
    const void *pack_b_ctx;
} fnn_gemm_op;

/* Scratch floats one thread needs for this shape; the product uses no more threads
 * than work_size / this, and at most nthreads (1 inside another parallel region). */
size_t fnn_gemm_workspace_per_thread(int64_t M, int64_t N, int64_t K);
void fnn_gemm_run(const fnn_gemm_op *op, float *work, size_t work_size, int nthreads);

/* op(B) (K x N) as one slice (all of K per NR strip: strip s at Bp + s * K * NR), for the
 * indirect micro-kernel. */
size_t fnn_gemm_packed_b_whole_size(int64_t N, int64_t K);
void fnn_gemm_pack_b_whole(float *Bp, const float *B, int64_t ldb, int trans_b, int64_t K,
                           int64_t N);

/* op(B) (K x N) in the layout the active micro-kernel reads, for fnn_gemm_op.B_packed. */
size_t fnn_gemm_packed_b_size(int64_t N, int64_t K);
void fnn_gemm_pack_b(float *Bp, const float *B, int64_t ldb, int trans_b, int64_t K, int64_t N);

#endif
