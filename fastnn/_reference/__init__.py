"""NumPy twins of the C kernels: same names and signatures as fastnn._C, written for
clarity.  They are the test oracle, the NumPy baseline of the benchmarks, and the
documentation of the maths.  Arguments `work` are accepted and ignored; `out`
arguments are honoured.  They compute in the dtype they are given (float64 in the
finite-difference tests).

One module per op family; this package re-exports every twin (and the few private
helpers tests reach as `_reference._name`), so `from fastnn import _reference as ref;
ref.conv2d_forward` is the way to call them:
  dense.py          sgemm, Dense
  conv.py           Conv2D, Conv2D + ReLU + max pooling fused, grouped/dilated Conv2D
  pooling.py        MaxPooling2D, AveragePooling2D
  activations.py    ReLU, sigmoid, tanh, softmax, the parametrised activations, log-softmax
  dropout.py        dropout and its random bits
  losses.py         fused softmax + cross-entropy (dense and sparse targets)
  optimizers.py     the optimizers' in-place updates
  sequence.py       Embedding, the recurrent cells (SimpleRNN, LSTM, GRU)
  normalization.py  BatchNormalization, LayerNormalization, GroupNormalization, UnitNormalization
  image.py          image preprocessing and augmentation
  _common.py        helpers shared by several families
"""
from fastnn._reference.dense import (dense_backward_input, dense_backward_weight, dense_forward,
                                     sgemm)
from fastnn._reference.conv import (_pool_windows, conv2d_backward_input, conv2d_backward_weight,
                                    conv2d_forward, conv2d_output_shape,
                                    conv2d_relu_maxpool2d_backward_weight,
                                    conv2d_relu_maxpool2d_forward, gconv2d_backward_input,
                                    gconv2d_backward_weight, gconv2d_forward, gconv2d_output_shape,
                                    gconv2d_workspace_size)
from fastnn._reference.pooling import (_pool_geometry, avgpool2d_backward, avgpool2d_forward,
                                       maxpool2d_backward, maxpool2d_forward,
                                       maxpool2x2_relu_scatter)
from fastnn._reference.activations import (activation_backward, activation_forward,
                                           log_softmax_backward, log_softmax_forward,
                                           relu_backward, relu_forward, sigmoid_backward,
                                           sigmoid_forward, softmax_backward, softmax_forward,
                                           tanh_backward, tanh_forward)
from fastnn._reference.dropout import dropout_backward, dropout_bits, dropout_forward
from fastnn._reference.losses import (softmax_cross_entropy_backward,
                                      softmax_cross_entropy_forward,
                                      sparse_softmax_cross_entropy_backward,
                                      sparse_softmax_cross_entropy_forward)
from fastnn._reference.optimizers import (adadelta_update, adafactor_update, adagrad_update,
                                          adam_amsgrad_update, adam_update, adamax_update,
                                          ftrl_update, lion_update, nadam_update,
                                          rmsprop_centered_update, rmsprop_update, sgd_update)
from fastnn._reference.sequence import (_gates, embedding_backward, embedding_forward,
                                        rnn_backward, rnn_forward)
from fastnn._reference.normalization import (batchnorm_backward, batchnorm_forward,
                                             batchnorm_stats, groupnorm_backward,
                                             groupnorm_forward, layernorm_backward,
                                             layernorm_forward, unitnorm_backward,
                                             unitnorm_forward)
from fastnn._reference.image import (brightness_backward, brightness_forward, contrast_backward,
                                     contrast_forward, contrast_workspace_size, resize_backward,
                                     resize_forward, scale_shift, warp_backward, warp_forward)
from fastnn._reference._common import _padded, _window

__all__ = [
    "dense_backward_input", "dense_backward_weight", "dense_forward", "sgemm",
    "conv2d_backward_input", "conv2d_backward_weight", "conv2d_forward", "conv2d_output_shape",
    "conv2d_relu_maxpool2d_backward_weight", "conv2d_relu_maxpool2d_forward",
    "gconv2d_backward_input", "gconv2d_backward_weight", "gconv2d_forward", "gconv2d_output_shape",
    "gconv2d_workspace_size", "avgpool2d_backward", "avgpool2d_forward", "maxpool2d_backward",
    "maxpool2d_forward", "maxpool2x2_relu_scatter", "activation_backward",
    "activation_forward", "log_softmax_backward",
    "log_softmax_forward", "relu_backward", "relu_forward", "sigmoid_backward", "sigmoid_forward",
    "softmax_backward", "softmax_forward", "tanh_backward", "tanh_forward", "dropout_backward",
    "dropout_bits", "dropout_forward", "softmax_cross_entropy_backward",
    "softmax_cross_entropy_forward", "sparse_softmax_cross_entropy_backward",
    "sparse_softmax_cross_entropy_forward", "adadelta_update", "adafactor_update",
    "adagrad_update", "adam_amsgrad_update", "adam_update", "adamax_update", "ftrl_update",
    "lion_update", "nadam_update", "rmsprop_centered_update", "rmsprop_update", "sgd_update",
    "embedding_backward", "embedding_forward", "rnn_backward", "rnn_forward", "batchnorm_backward",
    "batchnorm_forward", "batchnorm_stats", "groupnorm_backward", "groupnorm_forward",
    "layernorm_backward", "layernorm_forward", "unitnorm_backward", "unitnorm_forward",
    "brightness_backward", "brightness_forward", "contrast_backward", "contrast_forward",
    "contrast_workspace_size", "resize_backward", "resize_forward", "scale_shift", "warp_backward",
    "warp_forward"]
# helpers the tests use
__all__ += ["_pool_windows", "_pool_geometry", "_gates", "_padded", "_window"]
