/* embedding.c -- Embedding lookup (a row gather) and its gradient (a scatter-add).
 *   forward   y[i, :] = table[ids[i], :]                          i < n
 *   backward  dtable = 0;  dtable[ids[i], :] += dy[i, :]  for i = 0, 1, ..., n - 1
 * Threads split the D columns, so every element of dtable is summed by one thread in
 * index order: the gradient is bitwise independent of the thread count and two rows
 * with the same id never race.  ids are checked to lie in [0, V) by the caller. */
#include <string.h>
#include "parallel.h"

void fnn_embedding_forward(float *y, const int32_t *ids, const float *table, int64_t n,
                           int64_t V, int64_t D) {
    (void)V;
    int nt = fnn_threads_for(n * D);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t i = 0; i < n; i++)
        memcpy(y + i * D, table + (int64_t)ids[i] * D, (size_t)D * sizeof(float));
}

void fnn_embedding_backward(float *dtable, const float *dy, const int32_t *ids, int64_t n,
                            int64_t V, int64_t D) {
    int nt = fnn_threads_for(V * D + n * D);
    if (D < 32) nt = 1; /* columns too few to share without false sharing */
#pragma omp parallel num_threads(fnn_team(nt)) if (nt > 1)
    {
        int t = FNN_THREAD_ID(), n_t = fnn_workers(nt);
        /* column blocks of whole 16-float cache lines */
        int64_t lines = fnn_ceil_div(D, 16);
        int64_t d0 = fnn_min64(D, lines * t / n_t * 16);
        int64_t d1 = fnn_min64(D, lines * (t + 1) / n_t * 16);
        if (t < n_t && d0 < d1) {
            int64_t w = d1 - d0;
            for (int64_t v = 0; v < V; v++) memset(dtable + v * D + d0, 0, (size_t)w * sizeof(float));
            for (int64_t i = 0; i < n; i++) {
                float *dst = dtable + (int64_t)ids[i] * D + d0;
                const float *src = dy + i * D + d0;
                for (int64_t d = 0; d < w; d++) dst[d] += src[d];
            }
        }
    }
}
