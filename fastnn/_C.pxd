# Mirror of csrc/fnn.h (the whole C contract); see that file for the conventions.
from libc.stdint cimport int64_t, int32_t, uint8_t, uint32_t, uint64_t

cdef extern from "fnn.h" nogil:
    int fnn_has_openmp()
    void fnn_set_num_threads(int n)
    int fnn_get_num_threads()
    int fnn_max_hardware_threads()
    int fnn_max_threads()
    const char *fnn_gemm_isa()
    int fnn_gemm_select_isa(const char *name)
    const char *fnn_gemm_isa_list()
    void fnn_gemm_blocking(int *mr, int *nr, int64_t *mc, int64_t *kc, int64_t *nc)
    double fnn_gemm_peak_flops(int64_t iters, int nthreads)

    size_t fnn_sgemm_workspace_size(int64_t M, int64_t N, int64_t K)
    void fnn_sgemm(float *C, const float *A, const float *B,
                   int64_t M, int64_t N, int64_t K, int64_t lda, int64_t ldb, int64_t ldc,
                   int trans_a, int trans_b, float alpha, float beta,
                   float *work, size_t work_size)

    size_t fnn_dense_workspace_size(int64_t N, int64_t K, int64_t U)
    void fnn_dense_forward(float *y, const float *x, const float *w, const float *b,
                           int64_t N, int64_t K, int64_t U, int relu, float *work, size_t work_size)
    void fnn_dense_backward_input(float *dx, const float *dy, const float *w,
                                  int64_t N, int64_t K, int64_t U, float *work, size_t work_size)
    void fnn_dense_backward_weight(float *dw, float *db, const float *dy, const float *x,
                                   int64_t N, int64_t K, int64_t U, float *work, size_t work_size)

    ctypedef struct fnn_conv2d_shape:
        int64_t N, H, W, C, F, KH, KW, SH, SW, PT, PL, OH, OW
    size_t fnn_conv2d_workspace_size(const fnn_conv2d_shape *s)
    void fnn_conv2d_forward(float *y, const float *x, const float *w, const float *b,
                            const fnn_conv2d_shape *s, int relu, float *work, size_t work_size)
    void fnn_conv2d_backward_input(float *dx, const float *dy, const float *w,
                                   const fnn_conv2d_shape *s, float *work, size_t work_size)
    void fnn_conv2d_backward_weight(float *dw, float *db, const float *dy, const float *x,
                                    const fnn_conv2d_shape *s, float *work, size_t work_size)
    int fnn_conv2d_set_winograd(int mode)

    enum: FNN_CONV_POOL_MAX_ENTRIES
    int fnn_conv2d_relu_maxpool2d_winograd(const fnn_conv2d_shape *s, size_t work_size)
    size_t fnn_conv2d_relu_maxpool2d_workspace_size(const fnn_conv2d_shape *s)
    void fnn_conv2d_relu_maxpool2d_forward(float *y, uint8_t *pos, const float *x, const float *w,
                                           const float *b, const fnn_conv2d_shape *s, float *work,
                                           size_t work_size)
    void fnn_conv2d_relu_maxpool2d_backward_weight(float *dw, float *db, const float *dy,
                                                   const float *y, const uint8_t *pos,
                                                   const float *x, const fnn_conv2d_shape *s,
                                                   float *work, size_t work_size)

    ctypedef struct fnn_pool2d_shape:
        int64_t N, H, W, C, KH, KW, SH, SW, PT, PL, OH, OW
    void fnn_maxpool2d_forward(float *y, int32_t *argmax, const float *x,
                               const fnn_pool2d_shape *s)
    void fnn_maxpool2d_backward(float *dx, const float *dy, const int32_t *argmax,
                                const fnn_pool2d_shape *s)
    void fnn_maxpool2x2_relu_scatter(float *dz, const float *dy, const float *y,
                                     const uint8_t *pos, int64_t N, int64_t PH, int64_t PW,
                                     int64_t F)

    void fnn_relu_forward(float *y, const float *x, int64_t n)
    void fnn_relu_backward(float *dx, const float *dy, const float *y, int64_t n)
    void fnn_sigmoid_forward(float *y, const float *x, int64_t n)
    void fnn_sigmoid_backward(float *dx, const float *dy, const float *y, int64_t n)
    void fnn_tanh_forward(float *y, const float *x, int64_t n)
    void fnn_tanh_backward(float *dx, const float *dy, const float *y, int64_t n)
    void fnn_softmax_forward(float *y, const float *x, int64_t N, int64_t K)
    void fnn_softmax_backward(float *dx, const float *dy, const float *y, int64_t N, int64_t K)

    uint32_t fnn_dropout_bits(uint64_t seed, uint64_t i)
    void fnn_dropout_forward(float *y, const float *x, int64_t n, float rate, uint64_t seed,
                             int64_t first)
    void fnn_dropout_backward(float *dx, const float *dy, int64_t n, float rate, uint64_t seed,
                              int64_t first)

    void fnn_softmax_cross_entropy_forward(float *p, float *loss, const float *z,
                                           const float *t, int64_t N, int64_t K)
    void fnn_softmax_cross_entropy_backward(float *dz, const float *p, const float *t,
                                            int64_t N, int64_t K, float scale)
    void fnn_sparse_softmax_cross_entropy_forward(float *p, float *loss, const float *z,
                                                  const int32_t *labels, int64_t N, int64_t K)
    void fnn_sparse_softmax_cross_entropy_backward(float *dz, const float *p,
                                                   const int32_t *labels, int64_t N,
                                                   int64_t K, float scale)

    void fnn_adam_update(float *w, float *m, float *v, const float *g, int64_t n,
                         float lr, double beta_1, double beta_2, float epsilon, int64_t step)
    void fnn_sgd_update(float *w, float *m, const float *g, int64_t n,
                        float lr, float momentum, int nesterov)
    void fnn_rmsprop_update(float *w, float *v, float *m, const float *g, int64_t n,
                            float lr, double rho, float momentum, float epsilon)

    void fnn_adamax_update(float *w, float *m, float *u, const float *g, int64_t n, float lr,
                           float beta_1, float beta_2, float epsilon, int64_t step)
    void fnn_adagrad_update(float *w, float *acc, const float *g, int64_t n, float lr,
                            float epsilon)
    void fnn_adadelta_update(float *w, float *acc_g, float *acc_d, const float *g, int64_t n,
                             float lr, float rho, float epsilon)
    void fnn_lion_update(float *w, float *m, const float *g, int64_t n, float lr, float beta_1,
                         float beta_2)
    void fnn_nadam_update(float *w, float *m, float *v, const float *g, int64_t n, float lr,
                          float beta_1, float beta_2, float epsilon, float u_t, float u_next,
                          float u_product, int64_t step)
    void fnn_ftrl_update(float *w, float *acc, float *lin, const float *g, int64_t n, float lr,
                         float learning_rate_power, float l1, float l2, float l2_shrinkage,
                         float beta)
    void fnn_adam_amsgrad_update(float *w, float *m, float *v, float *v_hat, const float *g,
                                 int64_t n, float lr, double beta_1, double beta_2, float epsilon,
                                 int64_t step)
    void fnn_rmsprop_centered_update(float *w, float *v, float *m, float *avg_g,
                                     const float *g, int64_t n, float lr, double rho,
                                     float momentum, float epsilon)
    void fnn_adafactor_update(float *w, float *r, float *c, float *v, const float *g,
                              const int64_t *dims, int64_t nvars, float rho_t, float beta_2_t,
                              float epsilon_1, float epsilon_2, float clip_threshold)

    # sequence models (embedding.c, rnn.c)
    void fnn_embedding_forward(float *y, const int32_t *ids, const float *table, int64_t n,
                               int64_t V, int64_t D)
    void fnn_embedding_backward(float *dtable, const float *dy, const int32_t *ids, int64_t n,
                                int64_t V, int64_t D)
    enum: FNN_RNN_SIMPLE, FNN_RNN_LSTM, FNN_RNN_GRU, FNN_RNN_GRU_BEFORE
    enum: FNN_RNN_ACT_LINEAR, FNN_RNN_ACT_TANH, FNN_RNN_ACT_SIGMOID, FNN_RNN_ACT_RELU, FNN_RNN_ACT_HARD_SIGMOID
    ctypedef struct fnn_rnn_shape:
        int64_t N, T, K, U
        int cell, activation, recurrent_activation, reverse, return_sequences
        const uint8_t *mask
        int zero_output_for_mask
        const float *rec_mask
    size_t fnn_rnn_state_size(const fnn_rnn_shape *s)
    size_t fnn_rnn_workspace_size(const fnn_rnn_shape *s)
    void fnn_rnn_forward(float *y, float *hT, float *cT, float *state, const float *x,
                         const float *h0, const float *c0, const float *w, const float *r,
                         const float *b, const fnn_rnn_shape *s, float *work, size_t work_size)
    void fnn_rnn_backward(float *dx, float *dh0, float *dc0, float *dw, float *dr, float *db,
                          const float *dy, const float *dhT, const float *dcT, const float *state,
                          const float *x, const float *c0, const float *w, const float *r,
                          const fnn_rnn_shape *s, float *work, size_t work_size)
    size_t fnn_batchnorm_workspace_size(int64_t A, int64_t C, int64_t B)
    void fnn_batchnorm_stats(float *mean, float *var, const float *x, int64_t A, int64_t C,
                             int64_t B, float *work, size_t work_size)
    void fnn_batchnorm_forward(float *y, const float *x, const float *mean, const float *var,
                               const float *gamma, const float *beta, int64_t A, int64_t C,
                               int64_t B, float epsilon, int relu, float *work, size_t work_size)
    void fnn_batchnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
                                const float *x, const float *y, const float *mean,
                                const float *var, const float *gamma, int64_t A, int64_t C,
                                int64_t B, float epsilon, int batch_stats, float *work,
                                size_t work_size)

    void fnn_avgpool2d_forward(float *y, const float *x, const fnn_pool2d_shape *s)
    void fnn_avgpool2d_backward(float *dx, const float *dy, const fnn_pool2d_shape *s)

    enum: FNN_ACT_COUNT
    void fnn_activation_forward(float *y, const float *x, int64_t n, int kind, float p0,
                                float p1, float p2)
    void fnn_activation_backward(float *dx, const float *dy, const float *x, const float *y,
                                 int64_t n, int kind, float p0, float p1, float p2)
    void fnn_log_softmax_forward(float *y, const float *x, int64_t N, int64_t K)
    void fnn_log_softmax_backward(float *dx, const float *dy, const float *y, int64_t N,
                                  int64_t K)
    enum: FNN_INTERP_NEAREST
    enum: FNN_INTERP_BILINEAR
    enum: FNN_FILL_REFLECT
    enum: FNN_FILL_WRAP
    enum: FNN_FILL_NEAREST
    enum: FNN_FILL_CONSTANT
    void fnn_scale_shift(float *y, const float *x, const float *scale, const float *shift,
                         int64_t rows, int64_t P)
    void fnn_resize_forward(float *y, const float *x, int64_t N, int64_t H, int64_t W, int64_t C,
                            int64_t top, int64_t left, int64_t CH, int64_t CW, int64_t OH,
                            int64_t OW, int bilinear)
    void fnn_resize_backward(float *dx, const float *dy, int64_t N, int64_t H, int64_t W,
                             int64_t C, int64_t top, int64_t left, int64_t CH, int64_t CW,
                             int64_t OH, int64_t OW, int bilinear)
    void fnn_warp_forward(float *y, const float *x, const float *transforms, int64_t N,
                          int64_t H, int64_t W, int64_t C, int64_t OH, int64_t OW,
                          int interpolation, int fill_mode, float fill_value)
    void fnn_warp_backward(float *dx, const float *dy, const float *transforms, int64_t N,
                           int64_t H, int64_t W, int64_t C, int64_t OH, int64_t OW,
                           int interpolation, int fill_mode)
    void fnn_brightness_forward(float *y, const float *x, const float *delta, int64_t N,
                                int64_t P, float lo, float hi)
    void fnn_brightness_backward(float *dx, const float *dy, const float *x, const float *delta,
                                 int64_t N, int64_t P, float lo, float hi)
    size_t fnn_contrast_workspace_size(int64_t N, int64_t C)
    void fnn_contrast_forward(float *y, const float *x, const float *factor, int64_t N,
                              int64_t HW, int64_t C, float lo, float hi, float *work)
    void fnn_contrast_backward(float *dx, const float *dy, const float *x, const float *factor,
                               int64_t N, int64_t HW, int64_t C, float lo, float hi, float *work)

# ---- starting threads (threads.c) ----
cdef extern from "fnn.h" nogil:
    int fnn_threads_prepare()
    void fnn_threads_forget()
    ctypedef struct fnn_gconv2d_shape:
        int64_t N, H, W, C, F, KH, KW, SH, SW, DH, DW, PT, PL, OH, OW, G
    void fnn_gconv2d_forward(float *y, const float *x, const float *w, const float *b,
                             const fnn_gconv2d_shape *s)
    void fnn_gconv2d_backward_input(float *dx, const float *dy, const float *w,
                                    const fnn_gconv2d_shape *s)
    size_t fnn_gconv2d_workspace_size(const fnn_gconv2d_shape *s)
    void fnn_gconv2d_backward_weight(float *dw, float *db, const float *dy, const float *x,
                                     const fnn_gconv2d_shape *s, float *work)
    int fnn_gconv2d_uses_gemm(const fnn_gconv2d_shape *s)
    size_t fnn_gconv2d_gemm_workspace_size(const fnn_gconv2d_shape *s)
    void fnn_gconv2d_forward_gemm(float *y, const float *x, const float *w, const float *b,
                                  const fnn_gconv2d_shape *s, float *work, size_t work_size)
    void fnn_gconv2d_backward_input_gemm(float *dx, const float *dy, const float *w,
                                         const fnn_gconv2d_shape *s, float *work,
                                         size_t work_size)
    void fnn_gconv2d_backward_weight_gemm(float *dw, float *db, const float *dy, const float *x,
                                          const fnn_gconv2d_shape *s, float *work,
                                          size_t work_size)

# ---- Layer, Group and Unit normalization (norm.c) ----
cdef extern from "fnn.h" nogil:
    void fnn_layernorm_forward(float *y, float *mean, float *rstd, const float *x,
                               const float *gamma, const float *beta, int64_t R, int64_t K,
                               float epsilon, int rms)
    size_t fnn_layernorm_workspace_size(int64_t R, int64_t K)
    void fnn_layernorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
                                const float *x, const float *mean, const float *rstd,
                                const float *gamma, int64_t R, int64_t K, int rms, float *work,
                                size_t work_size)
    size_t fnn_groupnorm_workspace_size(int64_t N, int64_t C)
    void fnn_groupnorm_forward(float *y, float *mean, float *rstd, const float *x,
                               const float *gamma, const float *beta, int64_t N, int64_t S,
                               int64_t C, int64_t G, float epsilon, float *work,
                               size_t work_size)
    void fnn_groupnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
                                const float *x, const float *mean, const float *rstd,
                                const float *gamma, int64_t N, int64_t S, int64_t C, int64_t G,
                                float *work, size_t work_size)
    void fnn_unitnorm_forward(float *y, const float *x, int64_t R, int64_t K, float epsilon)
    void fnn_unitnorm_backward(float *dx, const float *dy, const float *x, int64_t R, int64_t K,
                               float epsilon)

    # per-ISA plain C (csrc/util.h): which versions ran
    int fnn_isa_site_count()
    const char *fnn_isa_site_name(int i)
    const char *fnn_isa_site_file(int i)
    int fnn_isa_site_ran(int i)
    void fnn_isa_sites_reset()
