/* gemm.h -- internal contract between the portable GEMM frame and its micro-kernels.
 *
 * A micro-kernel computes one MR x NR tile of C from packed panels:
 *   acc = sum_{p < k} a[p*MR + i] * b[p*NR + j]
 *   c[i*ldc + j] = alpha * acc                 if beta == 0 (c is never read)
 *   c[i*ldc + j] = beta * c[i*ldc + j] + alpha * acc   otherwise
 * The frame calls it on full tiles only; edge tiles go through a local MR x NR buffer
 * (ldc = NR, beta = 0) and the frame applies the same formula when copying out. */
#ifndef FNN_GEMM_H
#define FNN_GEMM_H

#include <stddef.h>
#include <stdint.h>

typedef void (*fnn_ukr_fn)(int64_t k, const float *a, const float *b, float *c,
                           int64_t ldc, float alpha, float beta);

typedef struct {
    const char *name;   /* the FASTNN_ISA spelling */
    int mr, nr;         /* register tile */
    int64_t mc, kc, nc; /* cache blocks: A block mc x kc (L2), B panel kc x nc */
    fnn_ukr_fn ukr;
    int (*cpu_supports)(void);
} fnn_gemm_kernel;

/* One per ISA file; MR, NR and the blocks live with the micro-kernel. */
extern const fnn_gemm_kernel fnn_gemm_kernel_generic;
#if defined(__x86_64__) || defined(_M_X64)
extern const fnn_gemm_kernel fnn_gemm_kernel_avx512;
extern const fnn_gemm_kernel fnn_gemm_kernel_avx2;
#endif

/* The kernel chosen at import time (dispatch.c). */
const fnn_gemm_kernel *fnn_gemm_active(void);

#endif

/* fnn_sgemm with an explicit thread budget, for kernels that call GEMM from inside
 * their own parallel region (nthreads = 1).  Work needed: fnn_sgemm_workspace_size
 * computed for that many threads (gemm_workspace_per_thread * nthreads). */
size_t fnn_gemm_workspace_per_thread(int64_t M, int64_t N, int64_t K);
void fnn_sgemm_nt(float *C, const float *A, const float *B,
                  int64_t M, int64_t N, int64_t K, int64_t lda, int64_t ldb, int64_t ldc,
                  int trans_a, int trans_b, float alpha, float beta,
                  float *work, size_t work_size, int nthreads);
