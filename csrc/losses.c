/* losses.c -- softmax fused with categorical cross-entropy, on logits z (N, K).
 *   lse_i   = max_k z + log sum_k e^(z_ik - max)
 *   p_ik    = e^(z_ik - lse_i)
 *   loss_i  = sum_k t_ik (lse_i - z_ik)            (= -sum_k t log p, never log 0)
 *   dz_ik   = scale * (p_ik * sum_k t_ik - t_ik)   (p - t for one-hot targets)
 * The sparse variants take integer labels: t_ik = [k == label_i]. */
#include <math.h>
#include "parallel.h"

/* p = softmax(z) for one row; returns log-sum-exp. */
static float softmax_row(float *p, const float *z, int64_t K) {
    float mx = z[0], sum = 0.0f;
    for (int64_t k = 1; k < K; k++) mx = z[k] > mx ? z[k] : mx;
    for (int64_t k = 0; k < K; k++) sum += (p[k] = expf(z[k] - mx));
    float inv = 1.0f / sum;
    for (int64_t k = 0; k < K; k++) p[k] *= inv;
    return mx + logf(sum);
}

void fnn_softmax_cross_entropy_forward(float *p, float *loss, const float *z,
                                       const float *t, int64_t N, int64_t K) {
    int nt = fnn_threads_for(N * K * 8);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(guided)
    for (int64_t i = 0; i < N; i++) {
        const float *zi = z + i * K, *ti = t + i * K;
        float lse = softmax_row(p + i * K, zi, K), l = 0.0f;
        for (int64_t k = 0; k < K; k++) l += ti[k] * (lse - zi[k]);
        loss[i] = l;
    }
}

void fnn_softmax_cross_entropy_backward(float *dz, const float *p, const float *t,
                                        int64_t N, int64_t K, float scale) {
    int nt = fnn_threads_for(N * K * 2);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(guided)
    for (int64_t i = 0; i < N; i++) {
        const float *pi = p + i * K, *ti = t + i * K;
        float *dzi = dz + i * K, tsum = 0.0f;
        for (int64_t k = 0; k < K; k++) tsum += ti[k];
        for (int64_t k = 0; k < K; k++) dzi[k] = scale * (pi[k] * tsum - ti[k]);
    }
}

void fnn_sparse_softmax_cross_entropy_forward(float *p, float *loss, const float *z,
                                              const int32_t *labels, int64_t N, int64_t K) {
    int nt = fnn_threads_for(N * K * 8);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(guided)
    for (int64_t i = 0; i < N; i++) {
        float lse = softmax_row(p + i * K, z + i * K, K);
        loss[i] = lse - z[i * K + labels[i]];
    }
}

void fnn_sparse_softmax_cross_entropy_backward(float *dz, const float *p,
                                               const int32_t *labels, int64_t N,
                                               int64_t K, float scale) {
    int nt = fnn_threads_for(N * K * 2);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(guided)
    for (int64_t i = 0; i < N; i++) {
        const float *pi = p + i * K;
        float *dzi = dz + i * K;
        for (int64_t k = 0; k < K; k++) dzi[k] = scale * (pi[k] - (k == labels[i] ? 1.0f : 0.0f));
    }
}
