/* optimizers.c -- parameter updates, each one fused pass over the parameter, with
 * Keras's update math (keras/src/optimizers/{adam,sgd,rmsprop}.py).  Scalars that do
 * not depend on the element (Adam's bias-corrected step) are computed once in double. */
#include <math.h>
#include "parallel.h"

void fnn_adam_update(float *w, float *m, float *v, const float *g, int64_t n,
                     float lr, float beta_1, float beta_2, float epsilon, int64_t step) {
    const float b1 = beta_1, b2 = beta_2, one_m_b1 = 1.0f - b1, one_m_b2 = 1.0f - b2;
    const float alpha = (float)((double)lr * sqrt(1.0 - pow((double)b2, (double)step)) /
                                (1.0 - pow((double)b1, (double)step)));
    int nt = fnn_threads_for(n * 8);
#pragma omp parallel for simd num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i];
        float mi = m[i] + (gi - m[i]) * one_m_b1;
        float vi = v[i] + (gi * gi - v[i]) * one_m_b2;
        m[i] = mi;
        v[i] = vi;
        w[i] -= mi * alpha / (sqrtf(vi) + epsilon);
    }
}

void fnn_sgd_update(float *w, float *m, const float *g, int64_t n,
                    float lr, float momentum, int nesterov) {
    int nt = fnn_threads_for(n * 4);
    if (momentum == 0.0f) {
#pragma omp parallel for simd num_threads(nt) if (nt > 1) schedule(static)
        for (int64_t i = 0; i < n; i++) w[i] -= lr * g[i];
        return;
    }
#pragma omp parallel for simd num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float mi = momentum * m[i] - lr * g[i];
        m[i] = mi;
        w[i] += nesterov ? momentum * mi - lr * g[i] : mi;
    }
}

void fnn_rmsprop_update(float *w, float *v, float *m, const float *g, int64_t n,
                        float lr, float rho, float momentum, float epsilon) {
    int nt = fnn_threads_for(n * 8);
#pragma omp parallel for simd num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i];
        float vi = rho * v[i] + (1.0f - rho) * gi * gi;
        float inc = lr * gi / sqrtf(vi + epsilon);
        v[i] = vi;
        if (momentum != 0.0f) {
            m[i] = momentum * m[i] + inc;
            w[i] -= m[i];
        } else {
            w[i] -= inc;
        }
    }
}
