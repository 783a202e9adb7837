/* activations.c -- elementwise activations and softmax.  Backward kernels take the
 * forward output y (the ReLU mask, sigmoid and tanh derivatives are all functions of
 * y), and may run in place (dx == dy).
 *   relu     y = max(x, 0)            dx = dy * (y > 0)
 *   sigmoid  y = 1 / (1 + e^-x)       dx = dy * y * (1 - y)
 *   tanh     y = tanh x               dx = dy * (1 - y^2)
 *   softmax  y = e^(x - max) / sum    dx = y * (dy - sum_k dy*y)     (rows of K) */
#include <math.h>
#include "parallel.h"

#define ELEMENTWISE(n, body)                                                        \
    do {                                                                            \
        int nt_ = fnn_threads_for(n);                                               \
        _Pragma("omp parallel for simd num_threads(nt_) if (nt_ > 1) schedule(static)") \
        for (int64_t i = 0; i < (n); i++) { body; }                                 \
    } while (0)

/* Both operands are loaded before the select, so the compiler emits a branch-free
 * vector blend (a conditional load would be a branch, mispredicted half the time). */
void fnn_relu_forward(float *y, const float *x, int64_t n) {
    ELEMENTWISE(n, float v = x[i]; y[i] = v > 0.0f ? v : 0.0f);
}
void fnn_relu_backward(float *dx, const float *dy, const float *y, int64_t n) {
    ELEMENTWISE(n, float d = dy[i]; dx[i] = y[i] > 0.0f ? d : 0.0f);
}

void fnn_sigmoid_forward(float *y, const float *x, int64_t n) {
    ELEMENTWISE(n, y[i] = 1.0f / (1.0f + expf(-x[i])));
}
void fnn_sigmoid_backward(float *dx, const float *dy, const float *y, int64_t n) {
    ELEMENTWISE(n, dx[i] = dy[i] * y[i] * (1.0f - y[i]));
}

void fnn_tanh_forward(float *y, const float *x, int64_t n) {
    ELEMENTWISE(n, y[i] = tanhf(x[i]));
}
void fnn_tanh_backward(float *dx, const float *dy, const float *y, int64_t n) {
    ELEMENTWISE(n, dx[i] = dy[i] * (1.0f - y[i] * y[i]));
}

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
