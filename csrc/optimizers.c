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

/* beta_1, beta_2 (and RMSprop's rho) come in double: Keras multiplies by (1 - beta)
 * computed in Python (double) and rounded to float32 once, which 1.0f - (float)beta is
 * not; the bias correction uses the float32 betas, as Keras's ops.power does. */
void fnn_adam_update(float *w, float *m, float *v, const float *g, int64_t n,
                     float lr, double beta_1, double beta_2, float epsilon, int64_t step) {
    const float b1 = (float)beta_1, b2 = (float)beta_2;
    const float alpha = (float)((double)lr * sqrt(1.0 - pow((double)b2, (double)step)) /
                                (1.0 - pow((double)b1, (double)step)));
    FNN_RUN_SPLIT(n, 8, adam_range(w, m, v, g, lo, hi, alpha, (float)(1.0 - beta_1),
                                   (float)(1.0 - beta_2), epsilon));
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
                          float one_m_rho, float momentum, float epsilon) {
    for (int64_t i = lo; i < hi; i++) {
        float gi = g[i];
        float vi = rho * v[i] + one_m_rho * (gi * gi);  /* Keras: (1 - rho) * square(g) */
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
                        float lr, double rho, float momentum, float epsilon) {
    float *mm = momentum == 0.0f ? NULL : m;
    FNN_RUN_SPLIT(n, 8, rmsprop_range(w, v, mm, g, lo, hi, lr, (float)rho, (float)(1.0 - rho),
                                      momentum, epsilon));
}

/* ---- Adamax, Adagrad, Adadelta, Lion, Nadam, Ftrl (keras/src/optimizers/) ------------
 * Each is one pass over the flat parameter buffer; scalars that depend only on the step
 * are computed once by the caller or here, in float as Keras computes them. */

static void adamax_range(float *restrict w, float *restrict m, float *restrict u,
                         const float *restrict g, int64_t lo, int64_t hi, float lr,
                         float one_m_b1, float beta_2, float bias, float epsilon) {
    for (int64_t i = lo; i < hi; i++) {
        float gi = g[i];
        float mi = m[i] + (gi - m[i]) * one_m_b1;
        float ui = fmaxf(beta_2 * u[i], fabsf(gi));
        m[i] = mi;
        u[i] = ui;
        w[i] -= (lr * mi) / (bias * (ui + epsilon));
    }
}

void fnn_adamax_update(float *w, float *m, float *u, const float *g, int64_t n, float lr,
                       float beta_1, float beta_2, float epsilon, int64_t step) {
    const float bias = 1.0f - powf(beta_1, (float)step);
    FNN_RUN_SPLIT(n, 8, adamax_range(w, m, u, g, lo, hi, lr, 1.0f - beta_1, beta_2, bias,
                                     epsilon));
}

static void adagrad_range(float *restrict w, float *restrict acc, const float *restrict g,
                          int64_t lo, int64_t hi, float lr, float epsilon) {
    for (int64_t i = lo; i < hi; i++) {
        float gi = g[i];
        float ai = acc[i] + gi * gi;
        acc[i] = ai;
        w[i] -= (lr * gi) / sqrtf(ai + epsilon);
    }
}

void fnn_adagrad_update(float *w, float *acc, const float *g, int64_t n, float lr,
                        float epsilon) {
    FNN_RUN_SPLIT(n, 8, adagrad_range(w, acc, g, lo, hi, lr, epsilon));
}

static void adadelta_range(float *restrict w, float *restrict acc_g, float *restrict acc_d,
                           const float *restrict g, int64_t lo, int64_t hi, float lr,
                           float rho, float epsilon) {
    for (int64_t i = lo; i < hi; i++) {
        float gi = g[i];
        float ag = rho * acc_g[i] + (1.0f - rho) * gi * gi;
        float delta = -sqrtf(acc_d[i] + epsilon) * gi / sqrtf(ag + epsilon);
        acc_g[i] = ag;
        acc_d[i] = rho * acc_d[i] + (1.0f - rho) * delta * delta;
        w[i] += lr * delta;
    }
}

void fnn_adadelta_update(float *w, float *acc_g, float *acc_d, const float *g, int64_t n,
                         float lr, float rho, float epsilon) {
    FNN_RUN_SPLIT(n, 12, adadelta_range(w, acc_g, acc_d, g, lo, hi, lr, rho, epsilon));
}

static void lion_range(float *restrict w, float *restrict m, const float *restrict g,
                       int64_t lo, int64_t hi, float lr, float beta_1, float beta_2) {
    for (int64_t i = lo; i < hi; i++) {
        float gi = g[i];
        float c = m[i] * beta_1 + gi * (1.0f - beta_1);
        w[i] -= lr * (float)((c > 0.0f) - (c < 0.0f));
        m[i] = m[i] * beta_2 + gi * (1.0f - beta_2);
    }
}

void fnn_lion_update(float *w, float *m, const float *g, int64_t n, float lr, float beta_1,
                     float beta_2) {
    FNN_RUN_SPLIT(n, 4, lion_range(w, m, g, lo, hi, lr, beta_1, beta_2));
}

static void nadam_range(float *restrict w, float *restrict m, float *restrict v,
                        const float *restrict g, int64_t lo, int64_t hi, float lr,
                        float one_m_b1, float one_m_b2, float u_next, float one_m_prod_next,
                        float one_m_u, float one_m_prod, float one_m_b2_power, float epsilon) {
    for (int64_t i = lo; i < hi; i++) {
        float gi = g[i];
        float mi = m[i] + (gi - m[i]) * one_m_b1;
        float vi = v[i] + (gi * gi - v[i]) * one_m_b2;
        m[i] = mi;
        v[i] = vi;
        float m_hat = u_next * mi / one_m_prod_next + one_m_u * gi / one_m_prod;
        float v_hat = vi / one_m_b2_power;
        w[i] -= (m_hat * lr) / (sqrtf(v_hat) + epsilon);
    }
}

void fnn_nadam_update(float *w, float *m, float *v, const float *g, int64_t n, float lr,
                      float beta_1, float beta_2, float epsilon, float u_t, float u_next,
                      float u_product, int64_t step) {
    const float u_product_next = u_product * u_next;
    const float b2_power = powf(beta_2, (float)step);
    FNN_RUN_SPLIT(n, 10, nadam_range(w, m, v, g, lo, hi, lr, 1.0f - beta_1, 1.0f - beta_2,
                                     u_next, 1.0f - u_product_next, 1.0f - u_t,
                                     1.0f - u_product, 1.0f - b2_power, epsilon));
}

static void ftrl_range(float *restrict w, float *restrict acc, float *restrict lin,
                       const float *restrict g, int64_t lo, int64_t hi, float lr,
                       float neg_power, float l1, float l2, float shrinkage) {
    for (int64_t i = lo; i < hi; i++) {
        float gi = g[i], wi = w[i];
        float used = gi + 2.0f * shrinkage * wi;
        float a_new = acc[i] + gi * gi;
        float p_new = powf(a_new, neg_power);
        float li = lin[i] + (used - (p_new - powf(acc[i], neg_power)) / lr * wi);
        float quadratic = p_new / lr + 2.0f * l2;
        float clipped = fminf(fmaxf(li, -l1), l1);
        lin[i] = li;
        acc[i] = a_new;
        w[i] = (clipped - li) / quadratic;
    }
}

void fnn_ftrl_update(float *w, float *acc, float *lin, const float *g, int64_t n, float lr,
                     float learning_rate_power, float l1, float l2, float l2_shrinkage,
                     float beta) {
    const float l2_total = l2 + beta / (2.0f * lr);
    FNN_RUN_SPLIT(n, 40, ftrl_range(w, acc, lin, g, lo, hi, lr, -learning_rate_power, l1,
                                    l2_total, l2_shrinkage));
}
