/* optimizers.c -- parameter updates, each one fused pass over the parameter, with
 * Keras's update math (keras/src/optimizers/{adam,sgd,rmsprop}.py).  Scalars that do
 * not depend on the element (Adam's bias-corrected step) are computed once in double. */
#include <math.h>
#include "parallel.h"

/* Each update is a loop over [lo, hi) with restrict pointers (the wrappers check that
 * the buffers never overlap), run by FNN_RUN_SPLIT: calling the loop as a function keeps
 * restrict, so it vectorizes without runtime alias checks. */
static void adam_range(float *restrict w, float *restrict m, float *restrict v,
                       const float *restrict g, int64_t lo, int64_t hi, float alpha,
                       float one_m_b1, float one_m_b2, float epsilon) {
    for (int64_t i = lo; i < hi; i++) {
        float gi = g[i];
        float mi = m[i] + (gi - m[i]) * one_m_b1;
        float vi = v[i] + (gi * gi - v[i]) * one_m_b2;
        m[i] = mi;
        v[i] = vi;
        w[i] -= mi * alpha / (sqrtf(vi) + epsilon);
    }
}

void fnn_adam_update(float *w, float *m, float *v, const float *g, int64_t n,
                     float lr, float beta_1, float beta_2, float epsilon, int64_t step) {
    const float alpha = (float)((double)lr * sqrt(1.0 - pow((double)beta_2, (double)step)) /
                                (1.0 - pow((double)beta_1, (double)step)));
    FNN_RUN_SPLIT(n, 8, adam_range(w, m, v, g, lo, hi, alpha, 1.0f - beta_1, 1.0f - beta_2, epsilon));
}

static void sgd_range(float *restrict w, float *restrict m, const float *restrict g, int64_t lo,
                      int64_t hi, float lr, float momentum, int nesterov) {
    if (!m) {
        for (int64_t i = lo; i < hi; i++) w[i] -= lr * g[i];
        return;
    }
    for (int64_t i = lo; i < hi; i++) {
        float mi = momentum * m[i] - lr * g[i];
        m[i] = mi;
        w[i] += nesterov ? momentum * mi - lr * g[i] : mi;
    }
}

void fnn_sgd_update(float *w, float *m, const float *g, int64_t n,
                    float lr, float momentum, int nesterov) {
    float *mm = momentum == 0.0f ? NULL : m;
    FNN_RUN_SPLIT(n, 4, sgd_range(w, mm, g, lo, hi, lr, momentum, nesterov));
}

static void rmsprop_range(float *restrict w, float *restrict v, float *restrict m,
                          const float *restrict g, int64_t lo, int64_t hi, float lr, float rho,
                          float momentum, float epsilon) {
    for (int64_t i = lo; i < hi; i++) {
        float gi = g[i];
        float vi = rho * v[i] + (1.0f - rho) * gi * gi;
        float inc = lr * gi / sqrtf(vi + epsilon);
        v[i] = vi;
        if (m) {
            m[i] = momentum * m[i] + inc;
            w[i] -= m[i];
        } else {
            w[i] -= inc;
        }
    }
}

void fnn_rmsprop_update(float *w, float *v, float *m, const float *g, int64_t n,
                        float lr, float rho, float momentum, float epsilon) {
    float *mm = momentum == 0.0f ? NULL : m;
    FNN_RUN_SPLIT(n, 8, rmsprop_range(w, v, mm, g, lo, hi, lr, rho, momentum, epsilon));
}
