/* fnn.h -- the whole C contract of fastnn's kernel library.
 *
 * Conventions (every kernel follows them; the Cython layer enforces them):
 *   - float32, C-contiguous, channels-last (NHWC).  Integer sizes are int64_t.
 *   - Dimension glossary: N batch; H W C input height/width/channels; F filters;
 *     KH KW kernel; SH SW stride; PT PL padding top/left; OH OW output;
 *     K features (dense input); U units (dense output).
 *   - Weight layouts are Keras's: Dense kernel (K, U); Conv2D kernel (KH, KW, C, F).
 *   - Arguments: outputs first, then inputs, then sizes (like memcpy).
 *   - Forward kernels overwrite their outputs; backward kernels overwrite d* outputs
 *     (there is no zero_grad).  Activation backward kernels may run in place (dx == dy).
 *   - Weighted ops split backward into _backward_input and _backward_weight.
 *   - C does arithmetic only: no printing, exiting, aborting or allocation.  Scratch
 *     memory comes from the caller, sized by the matching *_workspace_size function
 *     (a count of floats, for the thread count set when it is called); kernels get
 *     (work, work_size) and use no more threads than the workspace has room for.
 *     Argument checking happens in Cython before the GIL is released; kernels trust
 *     their arguments.
 *   - Threads: one OpenMP level per kernel, with an if() clause so that small work
 *     runs serially.  A region's team is 1 or all threads, never a size in between
 *     (fnn_team: libgomp re-creates pool threads when team sizes vary), and its work
 *     is split among the threads OpenMP actually started (fnn_workers: fewer under
 *     OMP_THREAD_LIMIT, OMP_DYNAMIC or nesting).  Results do not depend on the thread
 *     count except where a kernel's header says so.
 */
#ifndef FNN_H
#define FNN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- runtime configuration (threads.c, gemm/dispatch.c) ---------------------- */
int fnn_has_openmp(void);
void fnn_set_num_threads(int n);
int fnn_get_num_threads(void);
int fnn_max_hardware_threads(void);
/* The most threads fnn_set_num_threads keeps (larger requests are clamped): max(1024,
 * processors).  OMP_NUM_THREADS above it is clamped too. */
int fnn_max_threads(void);
/* Chosen GEMM micro-kernel ("generic", ...); fnn_gemm_select_isa returns 0 on
 * success, -1 if the name is unknown or this CPU cannot run it. */
const char *fnn_gemm_isa(void);
int fnn_gemm_select_isa(const char *name);
const char *fnn_gemm_isa_list(void);
/* The chosen micro-kernel's register tile and cache blocks (for tests and benchmarks). */
void fnn_gemm_blocking(int *mr, int *nr, int64_t *mc, int64_t *kc, int64_t *nc);
/* Flops done by `iters` steps of independent register FMA chains on each of nthreads
 * threads, with the chosen ISA's vectors (the peak benchmark times the call). */
double fnn_gemm_peak_flops(int64_t iters, int nthreads);

/* ---- GEMM (gemm/gemm.c) ------------------------------------------------------- */
/* C[M,N] = alpha * op(A)[M,K] . op(B)[K,N] + beta * C, row-major, with leading
 * dimensions lda/ldb/ldc.  op(A) = A if !trans_a else A^T (A stored K x M).
 * beta == 0 never reads C (so C may hold NaN or garbage). */
size_t fnn_sgemm_workspace_size(int64_t M, int64_t N, int64_t K);
void fnn_sgemm(float *C, const float *A, const float *B,
               int64_t M, int64_t N, int64_t K, int64_t lda, int64_t ldb, int64_t ldc,
               int trans_a, int trans_b, float alpha, float beta,
               float *work, size_t work_size);

/* ---- Dense (dense.c) ----------------------------------------------------------- */
/* y = x . w + b, then max(y, 0) if relu (fused);  x (N,K), w (K,U), b (U) or NULL. */
size_t fnn_dense_workspace_size(int64_t N, int64_t K, int64_t U);
void fnn_dense_forward(float *y, const float *x, const float *w, const float *b,
                       int64_t N, int64_t K, int64_t U, int relu, float *work, size_t work_size);
/* dx = dy . w^T */
void fnn_dense_backward_input(float *dx, const float *dy, const float *w,
                              int64_t N, int64_t K, int64_t U, float *work, size_t work_size);
/* dw = x^T . dy;  db = sum over the batch of dy (db may be NULL). */
void fnn_dense_backward_weight(float *dw, float *db, const float *dy, const float *x,
                               int64_t N, int64_t K, int64_t U, float *work, size_t work_size);

/* ---- Conv2D (conv2d.c) --------------------------------------------------------- */
typedef struct {
    int64_t N, H, W, C;      /* input  (N, H, W, C) */
    int64_t F, KH, KW;       /* kernel (KH, KW, C, F) */
    int64_t SH, SW, PT, PL;  /* strides and top/left zero padding */
    int64_t OH, OW;          /* output (N, OH, OW, F) */
} fnn_conv2d_shape;

size_t fnn_conv2d_workspace_size(const fnn_conv2d_shape *s);
/* y = conv(x, w) + b, cross-correlation as in Keras, then max(y, 0) if relu (fused);
 * b may be NULL. */
void fnn_conv2d_forward(float *y, const float *x, const float *w, const float *b,
                        const fnn_conv2d_shape *s, int relu, float *work, size_t work_size);
/* dx = adjoint of the forward map applied to dy. */
void fnn_conv2d_backward_input(float *dx, const float *dy, const float *w,
                               const fnn_conv2d_shape *s, float *work, size_t work_size);
/* dw = sum over (n, oh, ow) of patch(x) (x) dy;  db = sum of dy (may be NULL).
 * The batch is cut into a fixed number of chunks independent of the thread count,
 * so the result is bitwise identical for any number of threads. */
void fnn_conv2d_backward_weight(float *dw, float *db, const float *dy, const float *x,
                                const fnn_conv2d_shape *s, float *work, size_t work_size);
/* 3x3 stride-1 kernels run as Winograd F(2x2, 3x3) where it pays (F >= 8, and C >= 4
 * for the forward, C >= 8 for the weight gradient): fewer multiplies, float32 error a
 * small constant factor larger.  mode 0: never (the GEMM
 * path, for tests and A/B benchmarks); 1: when it pays (default); 2: whenever the shape
 * allows it (tests).  Process-wide; returns the previous mode. */
int fnn_conv2d_set_winograd(int mode);

/* ---- Conv2D + ReLU + 2x2 max pooling, fused (conv_pool.c) ------------------------ */
/* For convolutions with few patch entries (KH*KW*C <= FNN_CONV_POOL_MAX_ENTRIES): the
 * Conv2D (any strides and padding, described by s) with ReLU, followed by a 2x2
 * MaxPooling2D with stride 2 and "valid" padding, without storing the convolution's
 * output.  y and pos are (N, OH/2, OW/2, F) (rounded down); pos holds the winner's
 * place in its window, 2a + b for conv output (2i + a, 2j + b), chosen by
 * MaxPooling2D's rule (first on ties, a NaN wins).  b may be NULL. */
#define FNN_CONV_POOL_MAX_ENTRIES 32
/* 3x3 stride-1 convolutions that take the Winograd path (conv2d_winograd.c) with an even
 * output go there instead, at any channel count: its output transform pools each tile.
 * Whether that happens for s (work_size 0: given a large enough workspace). */
int fnn_conv2d_relu_maxpool2d_winograd(const fnn_conv2d_shape *s, size_t work_size);
size_t fnn_conv2d_relu_maxpool2d_workspace_size(const fnn_conv2d_shape *s);
void fnn_conv2d_relu_maxpool2d_forward(float *y, uint8_t *pos, const float *x, const float *w,
                                       const float *b, const fnn_conv2d_shape *s, float *work,
                                       size_t work_size);
/* The conv weight gradient for the pooled gradient dy: dy reaches its window's winner
 * where y > 0.  db may be NULL.  Bitwise independent of the thread count (fixed batch
 * chunks, summed in order). */
void fnn_conv2d_relu_maxpool2d_backward_weight(float *dw, float *db, const float *dy,
                                               const float *y, const uint8_t *pos,
                                               const float *x, const fnn_conv2d_shape *s,
                                               float *work, size_t work_size);

/* ---- MaxPooling2D (pool2d.c) --------------------------------------------------- */
typedef struct {
    int64_t N, H, W, C;
    int64_t KH, KW, SH, SW, PT, PL;  /* pool window, strides, padding */
    int64_t OH, OW;
} fnn_pool2d_shape;

/* y = max over each window (padding never wins); argmax = h*W + w of the winner
 * (the first one in row-major window order on ties). */
void fnn_maxpool2d_forward(float *y, int32_t *argmax, const float *x,
                           const fnn_pool2d_shape *s);
/* dx = scatter-add of dy at argmax. */
void fnn_maxpool2d_backward(float *dx, const float *dy, const int32_t *argmax,
                            const fnn_pool2d_shape *s);
/* The gradient before ReLU + 2x2 max pooling (stride 2) from the pooled dy, y and the
 * winners pos (as fnn_conv2d_relu_maxpool2d_forward gives them): dz (N, 2PH, 2PW, F) is
 * dy at each window's winner where y > 0, else 0. */
void fnn_maxpool2x2_relu_scatter(float *dz, const float *dy, const float *y,
                                 const uint8_t *pos, int64_t N, int64_t PH, int64_t PW,
                                 int64_t F);

/* ---- Activations (activations.c); backward kernels take the forward output y -- */
void fnn_relu_forward(float *y, const float *x, int64_t n);
void fnn_relu_backward(float *dx, const float *dy, const float *y, int64_t n);
void fnn_sigmoid_forward(float *y, const float *x, int64_t n);
void fnn_sigmoid_backward(float *dx, const float *dy, const float *y, int64_t n);
void fnn_tanh_forward(float *y, const float *x, int64_t n);
void fnn_tanh_backward(float *dx, const float *dy, const float *y, int64_t n);
/* softmax over the last axis of (N, K) */
void fnn_softmax_forward(float *y, const float *x, int64_t N, int64_t K);
void fnn_softmax_backward(float *dx, const float *dy, const float *y, int64_t N, int64_t K);

/* ---- Dropout (dropout.c) ------------------------------------------------------- */
/* Inverted dropout: element i is kept when fnn_dropout_bits(seed, first + i) >= rate * 2^24
 * (first + i < 2^32), and kept values are scaled by 1 / (1 - rate); rate == 1 zeroes
 * everything.  The mask is a pure function of (seed, first + i): reproducible,
 * thread-count independent, and backward recomputes it instead of storing it.  `first`
 * is the index of element 0 in a larger tensor: a data-parallel rank passes its
 * share's offset in the global batch and draws the mask one process would. */
uint32_t fnn_dropout_bits(uint64_t seed, uint64_t i);
void fnn_dropout_forward(float *y, const float *x, int64_t n, float rate, uint64_t seed,
                         int64_t first);
void fnn_dropout_backward(float *dx, const float *dy, int64_t n, float rate, uint64_t seed,
                          int64_t first);

/* ---- Losses (losses.c) --------------------------------------------------------- */
/* Fused softmax + categorical cross-entropy on logits z (N, K) and targets t (N, K):
 * p = softmax(z);  loss[i] = -sum_k t[i,k] * log p[i,k]  (computed as lse - t.z). */
void fnn_softmax_cross_entropy_forward(float *p, float *loss, const float *z,
                                       const float *t, int64_t N, int64_t K);
/* dz = scale * (p * sum_k t - t)   (scale is usually 1/N for a mean loss). */
void fnn_softmax_cross_entropy_backward(float *dz, const float *p, const float *t,
                                        int64_t N, int64_t K, float scale);
/* The same with integer labels in [0, K). */
void fnn_sparse_softmax_cross_entropy_forward(float *p, float *loss, const float *z,
                                              const int32_t *labels, int64_t N, int64_t K);
void fnn_sparse_softmax_cross_entropy_backward(float *dz, const float *p,
                                               const int32_t *labels, int64_t N,
                                               int64_t K, float scale);

/* ---- Optimizer updates (optimizers.c): one fused pass over a parameter ---------- */
/* Keras Adam: alpha = lr * sqrt(1 - b2^t) / (1 - b1^t);  m += (g - m)(1 - b1);
 * v += (g^2 - v)(1 - b2);  w -= alpha * m / (sqrt(v) + eps).  step t >= 1. */
void fnn_adam_update(float *w, float *m, float *v, const float *g, int64_t n,
                     float lr, double beta_1, double beta_2, float epsilon, int64_t step);
/* Keras SGD: momentum 0: w -= lr g.  Else m = mu m - lr g; w += m, or with Nesterov
 * w += mu m - lr g.  m may be NULL when momentum == 0. */
void fnn_sgd_update(float *w, float *m, const float *g, int64_t n,
                    float lr, float momentum, int nesterov);
/* Keras RMSprop (not centered): v = rho v + (1 - rho) g^2 ((1 - rho) from the double);  inc = lr g / sqrt(v + eps);
 * momentum 0: w -= inc; else m = mu m + inc; w -= m.  m may be NULL when mu == 0. */
void fnn_rmsprop_update(float *w, float *v, float *m, const float *g, int64_t n,
                        float lr, double rho, float momentum, float epsilon);

/* ---- More activations (activations.c): one forward/backward pair by kind --------- */
enum {
    FNN_ACT_ELU, FNN_ACT_SELU, FNN_ACT_GELU, FNN_ACT_GELU_TANH, FNN_ACT_SILU, FNN_ACT_SOFTPLUS,
    FNN_ACT_SOFTSIGN, FNN_ACT_HARD_SIGMOID, FNN_ACT_HARD_SILU, FNN_ACT_LEAKY_RELU,
    FNN_ACT_RELU6, FNN_ACT_EXPONENTIAL, FNN_ACT_MISH, FNN_ACT_RELU, FNN_ACT_COUNT
};
/* y = f(x) elementwise (y may be x); p0..p2 the kind's parameters (see activations.c). */
void fnn_activation_forward(float *y, const float *x, int64_t n, int kind, float p0, float p1,
                            float p2);
/* dx = dy * f'(x), from the forward input x and output y (dx may be dy). */
void fnn_activation_backward(float *dx, const float *dy, const float *x, const float *y,
                             int64_t n, int kind, float p0, float p1, float p2);
/* log_softmax over the last axis of (N, K); backward from the output y. */
void fnn_log_softmax_forward(float *y, const float *x, int64_t N, int64_t K);
void fnn_log_softmax_backward(float *dx, const float *dy, const float *y, int64_t N, int64_t K);

/* ---- AveragePooling2D (pool2d.c): the mean over each window clipped to the image
 * (padding not counted, as Keras's "same"); global pooling is the whole-image window. */
void fnn_avgpool2d_forward(float *y, const float *x, const fnn_pool2d_shape *s);
void fnn_avgpool2d_backward(float *dx, const float *dy, const fnn_pool2d_shape *s);
/* ---- More optimizers (optimizers.c, Keras's maths; t = step >= 1) -------------------- */
/* Adamax: m += (g - m)(1 - b1); u = max(b2 u, |g|); w -= lr m / ((1 - b1^t)(u + eps)). */
void fnn_adamax_update(float *w, float *m, float *u, const float *g, int64_t n, float lr,
                       float beta_1, float beta_2, float epsilon, int64_t step);
/* Adagrad: acc += g^2; w -= lr g / sqrt(acc + eps). */
void fnn_adagrad_update(float *w, float *acc, const float *g, int64_t n, float lr,
                        float epsilon);
/* Adadelta: ag = rho ag + (1 - rho) g^2; d = -sqrt(ad + eps) g / sqrt(ag + eps);
 * ad = rho ad + (1 - rho) d^2; w += lr d. */
void fnn_adadelta_update(float *w, float *acc_g, float *acc_d, const float *g, int64_t n,
                         float lr, float rho, float epsilon);
/* Lion: w -= lr sign(b1 m + (1 - b1) g); m = b2 m + (1 - b2) g. */
void fnn_lion_update(float *w, float *m, const float *g, int64_t n, float lr, float beta_1,
                     float beta_2);
/* Nadam: u_t = b1 (1 - 0.5 * 0.96^t), u_next the same at t + 1, u_product the running
 * product of u up to t (the caller keeps it); m, v as Adam;
 * w -= lr (u_next m / (1 - u_product u_next) + (1 - u_t) g / (1 - u_product))
 *         / (sqrt(v / (1 - b2^t)) + eps). */
void fnn_nadam_update(float *w, float *m, float *v, const float *g, int64_t n, float lr,
                      float beta_1, float beta_2, float epsilon, float u_t, float u_next,
                      float u_product, int64_t step);
/* FTRL-proximal (Keras): acc' = acc + g^2; lin += g + 2 s w - (acc'^-p - acc^-p) / lr w;
 * w = (clip(lin, -l1, l1) - lin) / (acc'^-p / lr + 2 (l2 + beta / (2 lr))); acc = acc'. */
void fnn_ftrl_update(float *w, float *acc, float *lin, const float *g, int64_t n, float lr,
                     float learning_rate_power, float l1, float l2, float l2_shrinkage,
                     float beta);


/* ---- Sequence models (embedding.c, rnn.c) -------------------------------------- */
/* Embedding: y (n, D) = table (V, D) rows ids (n), every id in [0, V).  backward
 * overwrites dtable with the scatter-add of dy's rows; threads split the D columns, so
 * it is bitwise independent of the thread count. */
void fnn_embedding_forward(float *y, const int32_t *ids, const float *table, int64_t n,
                           int64_t V, int64_t D);
void fnn_embedding_backward(float *dtable, const float *dy, const int32_t *ids, int64_t n,
                            int64_t V, int64_t D);

/* Recurrent layers over a whole sequence (rnn.c's header gives the maths).  x (N, T, K),
 * w (K, G*U), r (U, G*U) with G = 1, 4 (LSTM i f c o), 3 (GRU z r h, reset_after);
 * b (G*U), GRU (2, 3U), or NULL.  Glossary: T time steps, U units. */
enum { FNN_RNN_SIMPLE = 0, FNN_RNN_LSTM = 1, FNN_RNN_GRU = 2,
       FNN_RNN_GRU_BEFORE = 3 /* GRU reset_after=False: b (3U), hh = act(x W_h + (r h) R_h + b_h) */ };
enum { FNN_RNN_ACT_LINEAR = 0, FNN_RNN_ACT_TANH = 1, FNN_RNN_ACT_SIGMOID = 2, FNN_RNN_ACT_RELU = 3,
       FNN_RNN_ACT_HARD_SIGMOID = 4 };
typedef struct {
    int64_t N, T, K, U;
    int cell;                 /* FNN_RNN_* */
    int activation;           /* FNN_RNN_ACT_* */
    int recurrent_activation; /* FNN_RNN_ACT_* (LSTM and GRU gates) */
    int reverse;              /* go_backwards: steps over t = T-1 .. 0 */
    int return_sequences;     /* y (N, T, U) in processing order, else only hT */
    /* Keras masking: mask (N, T) by input time index, nonzero = keep, or NULL.  A masked
     * step carries the states through unchanged; its output (return_sequences) is zeros if
     * zero_output_for_mask, else the previous step's output (zeros before the row's first
     * unmasked step). */
    const uint8_t *mask;
    int zero_output_for_mask;
    /* recurrent_dropout (Keras's): (N, G, U) one scaled mask per gate (0 or 1 / (1 - rate))
     * on h_{t-1} in that gate's recurrent product, the same at every step; or NULL */
    const float *rec_mask;
} fnn_rnn_shape;
/* Floats the forward keeps for the backward (the caller holds them in between). */
size_t fnn_rnn_state_size(const fnn_rnn_shape *s);
size_t fnn_rnn_workspace_size(const fnn_rnn_shape *s);
/* y (N, T, U) if return_sequences (else unused, may be NULL); hT, cT (N, U) the final
 * states (cT: LSTM only, else may be NULL); h0, c0 initial states or NULL (zeros). */
void fnn_rnn_forward(float *y, float *hT, float *cT, float *state, const float *x,
                     const float *h0, const float *c0, const float *w, const float *r,
                     const float *b, const fnn_rnn_shape *s, float *work, size_t work_size);
/* Gradients for dy (N, T, U) if return_sequences (else NULL), dhT, dcT (N, U) those of
 * the final states (or NULL: zero).  Writes dx (may be NULL: skipped), dh0, dc0 (NULL:
 * skipped), dw, dr, db (NULL when the layer has no bias).  c0 as given to the forward. */
void fnn_rnn_backward(float *dx, float *dh0, float *dc0, float *dw, float *dr, float *db,
                      const float *dy, const float *dhT, const float *dcT, const float *state,
                      const float *x, const float *c0, const float *w, const float *r,
                      const fnn_rnn_shape *s, float *work, size_t work_size);
/* ---- BatchNormalization (batchnorm.c): x seen as (A, C, B), C the normalized axis -- */
/* Scratch floats for any of the three kernels below. */
size_t fnn_batchnorm_workspace_size(int64_t A, int64_t C, int64_t B);
/* mean[c], var[c] (biased) over the A * B positions of channel c. */
void fnn_batchnorm_stats(float *mean, float *var, const float *x, int64_t A, int64_t C,
                         int64_t B, float *work, size_t work_size);
/* y = (x - mean) * gamma / sqrt(var + eps) + beta (then max(y, 0) if relu); gamma, beta
 * may be NULL (1 and 0).  y may be x. */
void fnn_batchnorm_forward(float *y, const float *x, const float *mean, const float *var,
                           const float *gamma, const float *beta, int64_t A, int64_t C,
                           int64_t B, float epsilon, int relu, float *work, size_t work_size);
/* dgamma, dbeta (C each) and dx; y is the forward output when it was fused with ReLU
 * (else NULL); batch_stats: mean and var were the batch's own (training), else fixed. */
void fnn_batchnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
                            const float *x, const float *y, const float *mean,
                            const float *var, const float *gamma, int64_t A, int64_t C,
                            int64_t B, float epsilon, int batch_stats, float *work,
                            size_t work_size);
/* ---- Image preprocessing and augmentation (image_ops.c; maths in its header) ------ */
enum { FNN_INTERP_NEAREST = 0, FNN_INTERP_BILINEAR = 1 };
enum { FNN_FILL_REFLECT = 0, FNN_FILL_WRAP = 1, FNN_FILL_NEAREST = 2, FNN_FILL_CONSTANT = 3 };
/* y[r, j] = x[r, j] * scale[j] + shift[j] over `rows` rows of P values; shift may be NULL;
 * y may be x. */
void fnn_scale_shift(float *y, const float *x, const float *scale, const float *shift,
                     int64_t rows, int64_t P);
/* Resample the window (top, left, CH, CW) of x (N, H, W, C) to y (N, OH, OW, C) with
 * half-pixel centres; bilinear != 0 or nearest.  backward overwrites all of dx. */
void fnn_resize_forward(float *y, const float *x, int64_t N, int64_t H, int64_t W, int64_t C,
                        int64_t top, int64_t left, int64_t CH, int64_t CW, int64_t OH,
                        int64_t OW, int bilinear);
void fnn_resize_backward(float *dx, const float *dy, int64_t N, int64_t H, int64_t W, int64_t C,
                         int64_t top, int64_t left, int64_t CH, int64_t CW, int64_t OH,
                         int64_t OW, int bilinear);
/* Projective warp, transforms (N, 8) mapping output to input pixel coordinates. */
void fnn_warp_forward(float *y, const float *x, const float *transforms, int64_t N, int64_t H,
                      int64_t W, int64_t C, int64_t OH, int64_t OW, int interpolation,
                      int fill_mode, float fill_value);
void fnn_warp_backward(float *dx, const float *dy, const float *transforms, int64_t N,
                       int64_t H, int64_t W, int64_t C, int64_t OH, int64_t OW,
                       int interpolation, int fill_mode);
/* y = clip(x + delta[n], lo, hi) over images of P values; dx may be dy. */
void fnn_brightness_forward(float *y, const float *x, const float *delta, int64_t N,
                            int64_t P, float lo, float hi);
void fnn_brightness_backward(float *dx, const float *dy, const float *x, const float *delta,
                             int64_t N, int64_t P, float lo, float hi);
/* y = clip((x - m) f[n] + m, lo, hi), m the per-channel mean over the HW pixels; dx may
 * be dy.  work: fnn_contrast_workspace_size floats. */
size_t fnn_contrast_workspace_size(int64_t N, int64_t C);
void fnn_contrast_forward(float *y, const float *x, const float *factor, int64_t N, int64_t HW,
                          int64_t C, float lo, float hi, float *work);
void fnn_contrast_backward(float *dx, const float *dy, const float *x, const float *factor,
                           int64_t N, int64_t HW, int64_t C, float lo, float hi, float *work);

/* ---- starting threads (threads.c) ---------------------------------------------- */
/* Make sure the calling OS thread's OpenMP pool can hold fnn_get_num_threads() threads
 * before a kernel runs: 0, or the errno of the thread that could not be created (OpenMP
 * was not asked, so the process does not exit).  Cheap when nothing changed. */
int fnn_threads_prepare(void);
/* Forget what fnn_threads_prepare knows (a region of another size changed the pool). */
void fnn_threads_forget(void);
/* ---- Grouped and dilated convolution (conv2d_grouped.c; maths in its header) ------- */
/* Kernel (KH, KW, C/G, F); DH DW dilation; G groups dividing C and F.  A depthwise
 * kernel (KH, KW, C, M) is this with G = C, F = C*M. */
typedef struct {
    int64_t N, H, W, C, F, KH, KW, SH, SW, DH, DW, PT, PL, OH, OW, G;
} fnn_gconv2d_shape;
void fnn_gconv2d_forward(float *y, const float *x, const float *w, const float *b,
                         const fnn_gconv2d_shape *s);
void fnn_gconv2d_backward_input(float *dx, const float *dy, const float *w,
                                const fnn_gconv2d_shape *s);
size_t fnn_gconv2d_workspace_size(const fnn_gconv2d_shape *s);
/* db may be NULL.  work: fnn_gconv2d_workspace_size floats. */
void fnn_gconv2d_backward_weight(float *dw, float *db, const float *dy, const float *x,
                                 const fnn_gconv2d_shape *s, float *work);
/* The GEMM path (im2col per group + fnn_sgemm), the same results up to rounding, for
 * groups with many channels each (fnn_gconv2d_uses_gemm says when it pays); work:
 * fnn_gconv2d_gemm_workspace_size floats (for the thread count set when it is called). */
int fnn_gconv2d_uses_gemm(const fnn_gconv2d_shape *s);
size_t fnn_gconv2d_gemm_workspace_size(const fnn_gconv2d_shape *s);
void fnn_gconv2d_forward_gemm(float *y, const float *x, const float *w, const float *b,
                              const fnn_gconv2d_shape *s, float *work, size_t work_size);
void fnn_gconv2d_backward_input_gemm(float *dx, const float *dy, const float *w,
                                     const fnn_gconv2d_shape *s, float *work,
                                     size_t work_size);
void fnn_gconv2d_backward_weight_gemm(float *dw, float *db, const float *dy, const float *x,
                                      const fnn_gconv2d_shape *s, float *work,
                                      size_t work_size);


/* ---- Adam(amsgrad), centered RMSprop, Adafactor (optim_extra.c, Keras 3's maths) ------ */
/* Adam as fnn_adam_update, then v_hat = max(v_hat, v) and w -= alpha m / (sqrt(v_hat) + eps). */
void fnn_adam_amsgrad_update(float *w, float *m, float *v, float *v_hat, const float *g,
                             int64_t n, float lr, double beta_1, double beta_2, float epsilon,
                             int64_t step);
/* Centered RMSprop: v = rho v + (1 - rho) g^2; a = rho a + (1 - rho) g;
 * inc = lr g / sqrt(v - a^2 + eps); then as fnn_rmsprop_update (m NULL when mu == 0). */
void fnn_rmsprop_centered_update(float *w, float *v, float *m, float *avg_g, const float *g,
                                 int64_t n, float lr, double rho, float momentum, float epsilon);
/* Adafactor over nvars variables packed one after another in w, g, r, c and v (each
 * buffer the size of w; a variable's r and c use the first B*R and B*C elements of its
 * segment).  dims[3k..3k+2] = (B, R, C): the variable viewed as (B, R, C), factored over
 * its last two axes; R == 0: a vector of C elements with a full second moment v.
 * rho_t = min(lr, 1/sqrt(t)), beta_2_t = 1 - t^beta_2_decay. */
void fnn_adafactor_update(float *w, float *r, float *c, float *v, const float *g,
                          const int64_t *dims, int64_t nvars, float rho_t, float beta_2_t,
                          float epsilon_1, float epsilon_2, float clip_threshold);
/* ---- Layer, Group and Unit normalization (norm.c; maths in its header) -------------- */
/* layernorm: x (R, K) rows; mean, rstd (R) are saved for backward; gamma, beta (K) or
 * NULL; rms: Keras's rms_scaling (y = x * rstd * gamma, beta unused).  y may be x. */
void fnn_layernorm_forward(float *y, float *mean, float *rstd, const float *x,
                           const float *gamma, const float *beta, int64_t R, int64_t K,
                           float epsilon, int rms);
size_t fnn_layernorm_workspace_size(int64_t R, int64_t K);
/* dgamma, dbeta (K) always written; dx may be dy. */
void fnn_layernorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
                            const float *x, const float *mean, const float *rstd,
                            const float *gamma, int64_t R, int64_t K, int rms, float *work,
                            size_t work_size);
/* groupnorm: x (N, S, C), G groups dividing C; mean, rstd (N, G); gamma, beta (C) or
 * NULL.  y may be x, dx may be dy. */
size_t fnn_groupnorm_workspace_size(int64_t N, int64_t C);
void fnn_groupnorm_forward(float *y, float *mean, float *rstd, const float *x,
                           const float *gamma, const float *beta, int64_t N, int64_t S,
                           int64_t C, int64_t G, float epsilon, float *work,
                           size_t work_size);
void fnn_groupnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
                            const float *x, const float *mean, const float *rstd,
                            const float *gamma, int64_t N, int64_t S, int64_t C, int64_t G,
                            float *work, size_t work_size);
/* unitnorm: x (R, K) rows scaled to unit L2 norm (at most 1/epsilon times x). */
void fnn_unitnorm_forward(float *y, const float *x, int64_t R, int64_t K, float epsilon);
void fnn_unitnorm_backward(float *dx, const float *dy, const float *x, int64_t R, int64_t K,
                           float epsilon);

/* ---- per-ISA plain C (csrc/util.h's FNN_ISA_VARIANTS): which versions ran ----------
 * Site i is one function compiled per ISA; its ran bits are 1 << FNN_ISA_GENERIC (1),
 * FNN_ISA_AVX2 (2) and FNN_ISA_AVX512 (4), set when that version runs, cleared by reset.
 * For the tests that force each ISA (FASTNN_ISA): every path runs the ISA forced. */
int fnn_isa_site_count(void);
const char *fnn_isa_site_name(int i);
const char *fnn_isa_site_file(int i);
int fnn_isa_site_ran(int i);
void fnn_isa_sites_reset(void);

#ifdef __cplusplus
}
#endif
#endif /* FNN_H */
