/* dense.c -- fully connected layer: y = x . w + b, all three products on the GEMM.
 *   forward          y  (N,U) = x (N,K) . w (K,U) + b, then max(y, 0) if relu
 *   backward_input   dx (N,K) = dy (N,U) . w^T
 *   backward_weight  dw (K,U) = x^T . dy;   db (U) = sum_n dy[n, :]
 * The batch sum in db runs in index order, so it is thread-count independent. */
#include <string.h>
#include "parallel.h"
#include "gemm/gemm.h"

size_t fnn_dense_workspace_size(int64_t N, int64_t K, int64_t U) {
    size_t a = fnn_sgemm_workspace_size(N, U, K);
    size_t b = fnn_sgemm_workspace_size(N, K, U);
    size_t c = fnn_sgemm_workspace_size(K, U, N);
    return a > b ? (a > c ? a : c) : (b > c ? b : c);
}

void fnn_dense_forward(float *y, const float *x, const float *w, const float *b,
                       int64_t N, int64_t K, int64_t U, int relu, float *work, size_t work_size) {
    /* bias and ReLU are applied by the GEMM to each finished output tile */
    fnn_gemm_op op = {.C = y, .A = x, .B = w, .M = N, .N = U, .K = K, .lda = K, .ldb = U,
                      .ldc = U, .alpha = 1.0f, .beta = 0.0f, .bias = b, .relu = relu};
    fnn_gemm_run(&op, work, work_size, fnn_get_num_threads());
}

void fnn_dense_backward_input(float *dx, const float *dy, const float *w,
                              int64_t N, int64_t K, int64_t U, float *work, size_t work_size) {
    fnn_sgemm(dx, dy, w, N, K, U, U, U, K, 0, 1, 1.0f, 0.0f, work, work_size);
}

/* db[u0:u1] = sum over n of dy[n, u0:u1] */
static void column_sums(float *db, const float *dy, int64_t N, int64_t U) {
    int64_t nt = fnn_threads_for(N * U);
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int t = FNN_THREAD_ID(), n_t = fnn_workers((int)nt);
        int64_t u0 = U * t / n_t, u1 = U * (t + 1) / n_t;
        for (int64_t u = u0; u < u1; u++) db[u] = 0.0f;
        for (int64_t n = 0; n < N; n++) {
            const float *dyn = dy + n * U;
            for (int64_t u = u0; u < u1; u++) db[u] += dyn[u];
        }
    }
}

void fnn_dense_backward_weight(float *dw, float *db, const float *dy, const float *x,
                               int64_t N, int64_t K, int64_t U, float *work, size_t work_size) {
    fnn_sgemm(dw, x, dy, K, U, N, K, U, U, 1, 0, 1.0f, 0.0f, work, work_size);
    if (db) column_sums(db, dy, N, U);
}
