/* optim_extra.c -- Adam with AMSGrad, centered RMSprop and Adafactor, with Keras 3's maths
 * (keras/src/optimizers/{adam,rmsprop,adafactor}.py).  Adam/RMSprop variants are one fused
 * pass over the flat parameter buffer; Adafactor needs per-variable reductions (the RMS
 * of each variable and of its update, the row/column means of the squared gradient), so it
 * is one call over all variables, each handled by one thread (the result does not depend
 * on the thread count), with its sums accumulated in double. */
#include <math.h>
#include "parallel.h"

static void amsgrad_range(float *restrict w, float *restrict m, float *restrict v,
                          float *restrict vh, const float *restrict g, int64_t lo, int64_t hi,
                          float alpha, float one_m_b1, float one_m_b2, float epsilon) {
    for (int64_t i = lo; i < hi; i++) {
        float gi = g[i];
        float mi = m[i] + (gi - m[i]) * one_m_b1;
        float vi = v[i] + (gi * gi - v[i]) * one_m_b2;
        float hi_ = fmaxf(vh[i], vi);
        m[i] = mi;
        v[i] = vi;
        vh[i] = hi_;
        w[i] -= mi * alpha / (sqrtf(hi_) + epsilon);
    }
}

/* beta_1, beta_2 and rho come in double: Keras multiplies by (1 - beta) computed in
 * Python (double) and rounded to float32 once, which 1.0f - (float)beta is not. */
void fnn_adam_amsgrad_update(float *w, float *m, float *v, float *v_hat, const float *g,
                             int64_t n, float lr, double beta_1, double beta_2, float epsilon,
                             int64_t step) {
    const float b1 = (float)beta_1, b2 = (float)beta_2;
    const float alpha = (float)((double)lr * sqrt(1.0 - pow((double)b2, (double)step)) /
                                (1.0 - pow((double)b1, (double)step)));
    FNN_RUN_SPLIT(n, 9, amsgrad_range(w, m, v, v_hat, g, lo, hi, alpha, (float)(1.0 - beta_1),
                                      (float)(1.0 - beta_2), epsilon));
}

static void centered_range(float *restrict w, float *restrict v, float *restrict m,
                           float *restrict a, const float *restrict g, int64_t lo, int64_t hi,
                           float lr, float rho, float one_m_rho, float momentum,
                           float epsilon) {
    for (int64_t i = lo; i < hi; i++) {
        float gi = g[i];
        float vi = rho * v[i] + one_m_rho * (gi * gi);
        float ai = rho * a[i] + one_m_rho * gi;
        float inc = lr * gi / sqrtf(vi - ai * ai + epsilon);
        v[i] = vi;
        a[i] = ai;
        if (m) {
            m[i] = momentum * m[i] + inc;
            w[i] -= m[i];
        } else {
            w[i] -= inc;
        }
    }
}

void fnn_rmsprop_centered_update(float *w, float *v, float *m, float *avg_g, const float *g,
                                 int64_t n, float lr, double rho, float momentum,
                                 float epsilon) {
    float *mm = momentum == 0.0f ? NULL : m;
    FNN_RUN_SPLIT(n, 10, centered_range(w, v, mm, avg_g, g, lo, hi, lr, (float)rho,
                                        (float)(1.0 - rho), momentum, epsilon));
}

/* One variable of Adafactor: (B, R, C) factored over its last two axes, or (R == 0) a
 * vector of C elements with a full second moment. */
static void adafactor_one(float *restrict w, float *restrict r, float *restrict c,
                          float *restrict v, const float *restrict g, int64_t B, int64_t R,
                          int64_t C, float rho_t, float beta, float eps1, float eps2,
                          float clip) {
    const int factored = R > 0;
    const int64_t size = factored ? B * R * C : C;
    if (size == 0) return;
    const float one_m = 1.0f - beta;
    double sq = 0.0;
    for (int64_t i = 0; i < size; i++) sq += (double)w[i] * w[i];
    const float alpha = fmaxf(eps2, (float)sqrt(sq / (double)size)) * rho_t;
    if (factored) {
        for (int64_t b = 0; b < B; b++) {
            const float *gb = g + b * R * C;
            float *rb = r + b * R, *cb = c + b * C, *vb = v + b * R * C;
            double rsum = 0.0;
            for (int64_t i = 0; i < R; i++) {
                double s = 0.0;
                for (int64_t j = 0; j < C; j++) s += (double)(gb[i * C + j] * gb[i * C + j] + eps1);
                rb[i] = beta * rb[i] + one_m * (float)(s / (double)C);
                rsum += rb[i];
            }
            for (int64_t j = 0; j < C; j++) {
                double s = 0.0;
                for (int64_t i = 0; i < R; i++) s += (double)(gb[i * C + j] * gb[i * C + j] + eps1);
                cb[j] = beta * cb[j] + one_m * (float)(s / (double)R);
            }
            const float rmean = (float)(rsum / (double)R);
            for (int64_t i = 0; i < R; i++) {
                const float ri = rb[i] / rmean;
                for (int64_t j = 0; j < C; j++) vb[i * C + j] = ri * cb[j];
            }
        }
    } else {
        for (int64_t i = 0; i < size; i++) v[i] = beta * v[i] + one_m * (g[i] * g[i] + eps1);
    }
    double usq = 0.0;
    for (int64_t i = 0; i < size; i++) {
        const float u = g[i] / sqrtf(v[i]);
        usq += (double)u * u;
    }
    const float rms_u = (float)sqrt(usq / (double)size);
    const float denom = fmaxf(1.0f, rms_u / clip);
    for (int64_t i = 0; i < size; i++) w[i] -= alpha * ((g[i] / sqrtf(v[i])) / denom);
}

void fnn_adafactor_update(float *w, float *r, float *c, float *v, const float *g,
                          const int64_t *dims, int64_t nvars, float rho_t, float beta_2_t,
                          float epsilon_1, float epsilon_2, float clip_threshold) {
    /* offsets: each variable's segment starts where the previous one ended, in every
     * buffer (r and c use the first B*R and B*C elements of theirs) */
    int64_t total = 0;
    for (int64_t k = 0; k < nvars; k++)
        total += dims[3 * k + 1] > 0 ? dims[3 * k] * dims[3 * k + 1] * dims[3 * k + 2]
                                     : dims[3 * k + 2];
    int nt = nvars > 1 ? fnn_threads_for(total * 12) : 1;
    if (nt == 1) {
        int64_t off = 0;
        for (int64_t k = 0; k < nvars; k++) {
            const int64_t B = dims[3 * k], R = dims[3 * k + 1], C = dims[3 * k + 2];
            adafactor_one(w + off, r + off, c + off, v + off, g + off, B, R, C, rho_t,
                          beta_2_t, epsilon_1, epsilon_2, clip_threshold);
            off += R > 0 ? B * R * C : C;
        }
        return;
    }
#pragma omp parallel num_threads(fnn_team(nt))
    {
        int64_t off = 0;
        const int64_t team = fnn_workers(nt), me = FNN_THREAD_ID();
        for (int64_t k = 0; k < nvars; k++) {
            const int64_t B = dims[3 * k], R = dims[3 * k + 1], C = dims[3 * k + 2];
            if (k % team == me)
                adafactor_one(w + off, r + off, c + off, v + off, g + off, B, R, C, rho_t,
                              beta_2_t, epsilon_1, epsilon_2, clip_threshold);
            off += R > 0 ? B * R * C : C;
        }
    }
}
