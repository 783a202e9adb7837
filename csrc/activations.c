/* activations.c -- elementwise activations and softmax.  Backward kernels take the
 * forward output y (the ReLU mask, sigmoid and tanh derivatives are all functions of
 * y), and may run in place (dx == dy).
 *   relu     y = max(x, 0)            dx = dy * (y > 0)
 *   sigmoid  y = 1 / (1 + e^-x)       dx = dy * y * (1 - y)
 *   tanh     y = tanh x               dx = dy * (1 - y^2)
 *   softmax  y = e^(x - max) / sum    dx = y * (dy - sum_k dy*y)     (rows of K) */
#include <math.h>
#include "parallel.h"

/* An elementwise kernel: NAME_range(out, in..., lo, hi) runs the body over [lo, hi);
 * `ivdep` because outputs may alias inputs at the same index (in place), which is safe
 * for a per-element body but would otherwise cost a runtime alias check and, on
 * overlap, the scalar loop. */
#define UNARY(name, body)                                                              \
    static void name##_range(float *y, const float *x, int64_t lo, int64_t hi) {      \
        _Pragma("GCC ivdep") for (int64_t i = lo; i < hi; i++) { body; }               \
    }                                                                                  \
    void fnn_##name(float *y, const float *x, int64_t n) {                             \
        FNN_RUN_SPLIT(n, 1, name##_range(y, x, lo, hi));                              \
    }
#define BINARY(name, body)                                                             \
    static void name##_range(float *dx, const float *dy, const float *y, int64_t lo,  \
                             int64_t hi) {                                             \
        _Pragma("GCC ivdep") for (int64_t i = lo; i < hi; i++) { body; }               \
    }                                                                                  \
    void fnn_##name(float *dx, const float *dy, const float *y, int64_t n) {           \
        FNN_RUN_SPLIT(n, 1, name##_range(dx, dy, y, lo, hi));                         \
    }

/* Both operands are loaded before the select, so the compiler emits a branch-free
 * vector blend (a conditional load would be a branch, mispredicted half the time). */
UNARY(relu_forward, float v = x[i]; y[i] = v < 0.0f ? 0.0f : v) /* NaN stays NaN, as in Keras */
BINARY(relu_backward, float d = dy[i]; dx[i] = y[i] > 0.0f ? d : 0.0f)
UNARY(sigmoid_forward, y[i] = 1.0f / (1.0f + expf(-x[i])))
BINARY(sigmoid_backward, dx[i] = dy[i] * y[i] * (1.0f - y[i]))
UNARY(tanh_forward, y[i] = tanhf(x[i]))
BINARY(tanh_backward, dx[i] = dy[i] * (1.0f - y[i] * y[i]))

void fnn_softmax_forward(float *y, const float *x, int64_t N, int64_t K) {
    int nt = fnn_threads_for(N * K * 8);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t r = 0; r < N; r++) {
        const float *xr = x + r * K;
        float *yr = y + r * K;
        float mx = xr[0], sum = 0.0f;
        for (int64_t k = 1; k < K; k++) mx = xr[k] > mx ? xr[k] : mx;
        for (int64_t k = 0; k < K; k++) sum += (yr[k] = expf(xr[k] - mx));
        float inv = 1.0f / sum;
        for (int64_t k = 0; k < K; k++) yr[k] *= inv;
    }
}

void fnn_softmax_backward(float *dx, const float *dy, const float *y, int64_t N, int64_t K) {
    int nt = fnn_threads_for(N * K * 4);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
    for (int64_t r = 0; r < N; r++) {
        const float *dyr = dy + r * K, *yr = y + r * K;
        float *dxr = dx + r * K, dot = 0.0f;
        for (int64_t k = 0; k < K; k++) dot += dyr[k] * yr[k];
        for (int64_t k = 0; k < K; k++) dxr[k] = yr[k] * (dyr[k] - dot);
    }
}
