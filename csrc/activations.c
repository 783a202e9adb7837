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
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(guided)
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
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(guided)
    for (int64_t r = 0; r < N; r++) {
        const float *dyr = dy + r * K, *yr = y + r * K;
        float *dxr = dx + r * K, dot = 0.0f;
        for (int64_t k = 0; k < K; k++) dot += dyr[k] * yr[k];
        for (int64_t k = 0; k < K; k++) dxr[k] = yr[k] * (dyr[k] - dot);
    }
}

/* ---- the other activations (one pair, a `kind` chosen outside the loops) -----------
 * Backward takes the forward input x (gelu, silu, mish and hard_silu are not functions
 * of their output) and the output y, and may run in place (dx == dy).  p0, p1, p2 are
 * the kind's parameters (elu: alpha; leaky_relu: slope; relu: max_value (or +inf),
 * negative_slope, threshold):
 *   elu        x > 0 ? x : a (e^x - 1)              selu  s * elu(x, a) (Keras's a, s)
 *   gelu       x Phi(x) (erf)                       gelu_tanh  0.5 x (1 + tanh(k (x + 0.044715 x^3)))
 *   silu       x sigmoid(x)                         softplus  log(1 + e^x)
 *   softsign   x / (1 + |x|)                        hard_sigmoid  clip((x + 3) / 6, 0, 1)
 *   hard_silu  x hard_sigmoid(x)                    leaky_relu  x > 0 ? x : p0 x
 *   relu6      clip(x, 0, 6)                        exponential  e^x
 *   mish       x tanh(softplus(x))
 *   relu       (x > t ? x : 0) clipped to [0, p0] when p0 is finite, - p1 max(t - x, 0) */
#define SELU_ALPHA 1.67326324235437728f
#define SELU_SCALE 1.05070098735548049f
#define SQRT_2_OVER_PI 0.79788456080286536f
#define INV_SQRT_2 0.70710678118654752f

static inline float softplus_f(float v) { return (v > 0.0f ? v : 0.0f) + log1pf(expf(-fabsf(v))); }
static inline float sigmoid_f(float v) { return 1.0f / (1.0f + expf(-v)); }

FNN_INLINE void act_forward(float *y, const float *x, int64_t lo, int64_t hi, int kind, float p0,
                            float p1, float p2) {
#define LOOP(body) _Pragma("GCC ivdep") for (int64_t i = lo; i < hi; i++) { float v = x[i]; body; } break
    switch (kind) {
    case FNN_ACT_ELU: LOOP(y[i] = v > 0.0f ? v : p0 * expm1f(v));
    case FNN_ACT_SELU: LOOP(y[i] = SELU_SCALE * (v > 0.0f ? v : SELU_ALPHA * expm1f(v)));
    case FNN_ACT_GELU: LOOP(y[i] = 0.5f * v * (1.0f + erff(v * INV_SQRT_2)));
    case FNN_ACT_GELU_TANH:
        LOOP(y[i] = 0.5f * v * (1.0f + tanhf(SQRT_2_OVER_PI * (v + 0.044715f * v * v * v))));
    case FNN_ACT_SILU: LOOP(y[i] = v * sigmoid_f(v));
    case FNN_ACT_SOFTPLUS: LOOP(y[i] = softplus_f(v));
    case FNN_ACT_SOFTSIGN: LOOP(y[i] = v / (1.0f + fabsf(v)));
    case FNN_ACT_HARD_SIGMOID:
        LOOP(float h = (v + 3.0f) * (1.0f / 6.0f); y[i] = h < 0.0f ? 0.0f : h > 1.0f ? 1.0f : h);
    case FNN_ACT_HARD_SILU:
        LOOP(float h = (v + 3.0f) * (1.0f / 6.0f); y[i] = v * (h < 0.0f ? 0.0f : h > 1.0f ? 1.0f : h));
    case FNN_ACT_LEAKY_RELU: LOOP(y[i] = v > 0.0f ? v : p0 * v);
    case FNN_ACT_RELU6: LOOP(y[i] = v < 0.0f ? 0.0f : v > 6.0f ? 6.0f : v);
    case FNN_ACT_EXPONENTIAL: LOOP(y[i] = expf(v));
    case FNN_ACT_MISH: LOOP(y[i] = v * tanhf(softplus_f(v)));
    case FNN_ACT_RELU:
        LOOP(float pos = v > p2 ? v : 0.0f; pos = pos < 0.0f && p0 < INFINITY ? 0.0f : pos;
             pos = pos > p0 ? p0 : pos; float neg = p2 - v; y[i] = pos - p1 * (neg > 0.0f ? neg : 0.0f));
    default: break;
    }
#undef LOOP
}

FNN_INLINE void act_backward(float *dx, const float *dy, const float *x, const float *y,
                             int64_t lo, int64_t hi, int kind, float p0, float p1, float p2) {
#define LOOP(deriv) _Pragma("GCC ivdep") for (int64_t i = lo; i < hi; i++) { float v = x[i]; (void)v; float d = dy[i]; dx[i] = d * (deriv); } break
    switch (kind) {
    case FNN_ACT_ELU: LOOP(v > 0.0f ? 1.0f : p0 * expf(v));
    case FNN_ACT_SELU: LOOP(SELU_SCALE * (v > 0.0f ? 1.0f : SELU_ALPHA * expf(v)));
    case FNN_ACT_GELU:
        LOOP(0.5f * (1.0f + erff(v * INV_SQRT_2)) + v * expf(-0.5f * v * v) * 0.39894228040143268f);
    case FNN_ACT_GELU_TANH: {
        _Pragma("GCC ivdep") for (int64_t i = lo; i < hi; i++) {
            float v = x[i], t = tanhf(SQRT_2_OVER_PI * (v + 0.044715f * v * v * v));
            dx[i] = dy[i] * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * SQRT_2_OVER_PI *
                                                   (1.0f + 3.0f * 0.044715f * v * v));
        }
        break;
    }
    case FNN_ACT_SILU: {
        _Pragma("GCC ivdep") for (int64_t i = lo; i < hi; i++) {
            float v = x[i], s = sigmoid_f(v);
            dx[i] = dy[i] * (s * (1.0f + v * (1.0f - s)));
        }
        break;
    }
    case FNN_ACT_SOFTPLUS: LOOP(sigmoid_f(v));
    case FNN_ACT_SOFTSIGN: LOOP(1.0f / ((1.0f + fabsf(v)) * (1.0f + fabsf(v))));
    case FNN_ACT_HARD_SIGMOID: LOOP(v > -3.0f && v < 3.0f ? 1.0f / 6.0f : 0.0f);
    case FNN_ACT_HARD_SILU:
        LOOP(v <= -3.0f ? 0.0f : v >= 3.0f ? 1.0f : (2.0f * v + 3.0f) * (1.0f / 6.0f));
    case FNN_ACT_LEAKY_RELU: LOOP(v > 0.0f ? 1.0f : p0);
    case FNN_ACT_RELU6: LOOP(v > 0.0f && v < 6.0f ? 1.0f : 0.0f);
    case FNN_ACT_EXPONENTIAL: LOOP(y[i]);
    case FNN_ACT_MISH: {
        _Pragma("GCC ivdep") for (int64_t i = lo; i < hi; i++) {
            float v = x[i], t = tanhf(softplus_f(v));
            dx[i] = dy[i] * (t + v * sigmoid_f(v) * (1.0f - t * t));
        }
        break;
    }
    case FNN_ACT_RELU:
        LOOP((v > p2 && (v > 0.0f || p0 == INFINITY) && v < p0 ? 1.0f : 0.0f) + (v < p2 ? p1 : 0.0f));
    default: break;
    }
#undef LOOP
}

FNN_ISA_VARIANTS(act_forward,
                 (float *y, const float *x, int64_t lo, int64_t hi, int k, float p0, float p1,
                  float p2),
                 (y, x, lo, hi, k, p0, p1, p2))
FNN_ISA_VARIANTS(act_backward,
                 (float *dx, const float *dy, const float *x, const float *y, int64_t lo,
                  int64_t hi, int k, float p0, float p1, float p2),
                 (dx, dy, x, y, lo, hi, k, p0, p1, p2))

void fnn_activation_forward(float *y, const float *x, int64_t n, int kind, float p0, float p1,
                            float p2) {
    const int isa = fnn_vector_isa();
    FNN_RUN_SPLIT(n, 8, FNN_ISA_CALL(isa, act_forward, (y, x, lo, hi, kind, p0, p1, p2)));
}

void fnn_activation_backward(float *dx, const float *dy, const float *x, const float *y,
                             int64_t n, int kind, float p0, float p1, float p2) {
    const int isa = fnn_vector_isa();
    FNN_RUN_SPLIT(n, 8, FNN_ISA_CALL(isa, act_backward, (dx, dy, x, y, lo, hi, kind, p0, p1, p2)));
}

/* log_softmax over rows of K: y = x - max - log sum e^(x - max);  dx = dy - e^y sum dy */
void fnn_log_softmax_forward(float *y, const float *x, int64_t N, int64_t K) {
    int nt = fnn_threads_for(N * K * 8);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(guided)
    for (int64_t r = 0; r < N; r++) {
        const float *xr = x + r * K;
        float *yr = y + r * K;
        float mx = xr[0], sum = 0.0f;
        for (int64_t k = 1; k < K; k++) mx = xr[k] > mx ? xr[k] : mx;
        for (int64_t k = 0; k < K; k++) sum += expf(xr[k] - mx);
        float lse = mx + logf(sum);
        for (int64_t k = 0; k < K; k++) yr[k] = xr[k] - lse;
    }
}

void fnn_log_softmax_backward(float *dx, const float *dy, const float *y, int64_t N, int64_t K) {
    int nt = fnn_threads_for(N * K * 4);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(guided)
    for (int64_t r = 0; r < N; r++) {
        const float *dyr = dy + r * K, *yr = y + r * K;
        float *dxr = dx + r * K, sum = 0.0f;
        for (int64_t k = 0; k < K; k++) sum += dyr[k];
        for (int64_t k = 0; k < K; k++) dxr[k] = dyr[k] - expf(yr[k]) * sum;
    }
}
