/* conv2d_winograd.h -- internal: the Winograd F(2x2, 3x3) path of conv2d.c. */
#ifndef FNN_CONV2D_WINOGRAD_H
#define FNN_CONV2D_WINOGRAD_H

#include "fnn.h"

/* Which pass a shape is asked about. */
enum { FNN_WINO_FORWARD, FNN_WINO_BACKWARD_INPUT, FNN_WINO_BACKWARD_WEIGHT };

/* Whether `pass` of the convolution `s` takes the Winograd path under the current mode
 * (fnn_conv2d_set_winograd), given the work size (0 = the check for sizing). */
int fnn_winograd_chosen(const fnn_conv2d_shape *s, int pass, size_t work_size);
/* Floats the three passes need (0 when the shape cannot take the path at all). */
size_t fnn_winograd_workspace_size(const fnn_conv2d_shape *s);

void fnn_winograd_forward(float *y, const float *x, const float *w, const float *b,
                          const fnn_conv2d_shape *s, int relu, float *work, size_t work_size);
/* The forward with ReLU, then 2x2 max pooling (stride 2) of its output, which is never
 * stored: for even OH and OW each Winograd tile is one pooling window.  y and pos are
 * (N, OH/2, OW/2, F), as fnn_conv2d_relu_maxpool2d_forward's. */
void fnn_winograd_forward_pool(float *y, uint8_t *pos, const float *x, const float *w,
                               const float *b, const fnn_conv2d_shape *s, float *work,
                               size_t work_size);
void fnn_winograd_backward_input(float *dx, const float *dy, const float *w,
                                 const fnn_conv2d_shape *s, float *work, size_t work_size);
void fnn_winograd_backward_weight(float *dw, float *db, const float *dy, const float *x,
                                  const fnn_conv2d_shape *s, float *work, size_t work_size);

#endif
