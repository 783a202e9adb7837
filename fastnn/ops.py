"""The public NumPy-in / NumPy-out face of fastnn's kernels.

Each function takes array-likes of any float dtype and memory layout, converts them to
C-contiguous float32 (labels to int32) and calls the C kernel in `fastnn._C`, which
checks shapes and raises ValueError naming the op on a bad call.  Results are new
float32 arrays.  The maths of each op is documented by its NumPy twin, the function of
the same name in `fastnn._reference`.

>>> import numpy as np
>>> from fastnn import ops
>>> ops.dense_forward(np.ones((2, 3)), np.ones((3, 4)), np.zeros(4))
array([[3., 3., 3., 3.],
       [3., 3., 3., 3.]], dtype=float32)
"""
import functools

import numpy as np

from fastnn import _C

class _InputError(TypeError):
    """A conversion failure; `_named` prefixes it with the op's name."""


class _InputValueError(ValueError):
    """A value that cannot be converted without changing it (named like _InputError)."""


def _kernel_array(arr, dtype):
    """arr as the kernels read it: C-contiguous, native byte order, aligned (a copy when
    it is not; 0-d arrays stay 0-d)."""
    arr = np.asarray(arr, dtype=dtype, order="C")
    return arr if arr.flags.aligned else arr.copy()


def _f32(a):
    if a is None:
        return None
    arr = np.asarray(a)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise _InputError(f"expected a numeric array, received dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise _InputError(f"expected real numbers, received dtype {arr.dtype}")
    return _kernel_array(arr, np.float32)


def _i32(a):
    arr = np.asarray(a)
    if not np.issubdtype(arr.dtype, np.integer):
        raise _InputError(f"labels must be integers, received dtype {arr.dtype}")
    if arr.size and (arr.min() < np.iinfo(np.int32).min or arr.max() > np.iinfo(np.int32).max):
        raise _InputValueError(f"labels must fit in int32, received values in "
                          f"[{arr.min()}, {arr.max()}]")
    return _kernel_array(arr, np.int32)


def _named(fn):
    """Make conversion errors name the op, like the kernels' own errors do."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except _InputError as e:
            raise TypeError(f"{fn.__name__}: {e}") from None
        except _InputValueError as e:
            raise ValueError(f"{fn.__name__}: {e}") from None
    return wrapper


@_named
def sgemm(a, b, c=None, alpha=1.0, beta=0.0, trans_a=False, trans_b=False):
    """alpha * op(a) @ op(b) + beta * c, where op transposes when trans_* is True."""
    return _C.sgemm(_f32(a), _f32(b), None if c is None else _f32(c).copy(), alpha, beta,
                    trans_a, trans_b)


@_named
def dense_forward(x, kernel, bias=None, relu=False):
    """x @ kernel + bias for x (N, K), kernel (K, U), bias (U,); relu=True fuses max(y, 0)."""
    return _C.dense_forward(_f32(x), _f32(kernel), _f32(bias), relu=relu)


@_named
def dense_backward_input(dy, kernel):
    """dy @ kernel.T: the gradient with respect to the Dense input."""
    return _C.dense_backward_input(_f32(dy), _f32(kernel))


@_named
def dense_backward_weight(dy, x, use_bias=True):
    """(x.T @ dy, dy.sum(0)): the gradients of the Dense kernel and bias."""
    return _C.dense_backward_weight(_f32(dy), _f32(x), use_bias)


@_named
def conv2d_output_shape(input_shape, kernel_shape, strides=(1, 1), padding="valid"):
    """Output shape (N, OH, OW, F) of a Conv2D, with Keras's padding rules."""
    return _C.conv2d_output_shape(input_shape, kernel_shape, strides, padding)


@_named
def conv2d_forward(x, kernel, bias=None, strides=(1, 1), padding="valid", relu=False):
    """Keras Conv2D (channels-last): x (N,H,W,C), kernel (KH,KW,C,F) -> (N,OH,OW,F);
    relu=True fuses max(y, 0) into the output tiles."""
    return _C.conv2d_forward(_f32(x), _f32(kernel), _f32(bias), strides, padding, relu=relu)


@_named
def conv2d_backward_input(dy, kernel, input_shape, strides=(1, 1), padding="valid"):
    """The gradient of a Conv2D's input, of shape input_shape."""
    return _C.conv2d_backward_input(_f32(dy), _f32(kernel), tuple(input_shape), strides, padding)


@_named
def conv2d_backward_weight(dy, x, kernel_size, strides=(1, 1), padding="valid", use_bias=True):
    """(dkernel, dbias): the gradients of a Conv2D's kernel and bias."""
    return _C.conv2d_backward_weight(_f32(dy), _f32(x), kernel_size, strides, padding, use_bias)


@_named
def conv2d_relu_maxpool2d_forward(x, kernel, bias=None, strides=(1, 1), padding="valid"):
    """(y, pos): 2x2 max pooling (stride 2, "valid") of relu(conv2d(x, kernel) + bias) in
    one pass, for kernels of at most 32 entries (KH*KW*C); pos (uint8) is the winner's
    place 2a + b in its window."""
    return _C.conv2d_relu_maxpool2d_forward(_f32(x), _f32(kernel), _f32(bias), strides, padding)


@_named
def conv2d_relu_maxpool2d_backward_weight(dy, y, pos, x, kernel_size, strides=(1, 1),
                                          padding="valid", use_bias=True):
    """(dkernel, dbias) of the fused op for the pooled gradient dy."""
    pos = np.asarray(pos)
    if not np.issubdtype(pos.dtype, np.integer) or (pos.size and (pos.min() < 0 or pos.max() > 3)):
        raise ValueError("conv2d_relu_maxpool2d_backward_weight: pos must hold integers 0..3")
    return _C.conv2d_relu_maxpool2d_backward_weight(
        _f32(dy), _f32(y), _kernel_array(pos, np.uint8), _f32(x), kernel_size, strides,
        padding, use_bias)


@_named
def maxpool2x2_relu_scatter(dy, y, pos):
    """The gradient before ReLU + 2x2 max pooling (as conv2d_relu_maxpool2d_forward gives
    y and pos): dy at each window's winner where y > 0, else 0; shape (N, 2PH, 2PW, F)."""
    pos = np.asarray(pos)
    if not np.issubdtype(pos.dtype, np.integer) or (pos.size and (pos.min() < 0 or pos.max() > 3)):
        raise ValueError("maxpool2x2_relu_scatter: pos must hold integers 0..3")
    return _C.maxpool2x2_relu_scatter(_f32(dy), _f32(y), _kernel_array(pos, np.uint8))


@_named
def maxpool2d_forward(x, pool_size=(2, 2), strides=None, padding="valid"):
    """(y, argmax): Keras MaxPooling2D and the winning position ih*W + iw of each output."""
    return _C.maxpool2d_forward(_f32(x), pool_size, strides, padding)


@_named
def maxpool2d_backward(dy, argmax, input_shape, pool_size=(2, 2), strides=None, padding="valid"):
    """The gradient of a MaxPooling2D's input: dy routed to the argmax positions."""
    return _C.maxpool2d_backward(_f32(dy), _i32(argmax), tuple(input_shape), pool_size,
                                 strides, padding)


@_named
def relu_forward(x):
    return _C.relu_forward(_f32(x))


@_named
def relu_backward(dy, y):
    """dy where the ReLU output y is positive, else 0."""
    return _C.relu_backward(_f32(dy), _f32(y))


@_named
def sigmoid_forward(x):
    return _C.sigmoid_forward(_f32(x))


@_named
def sigmoid_backward(dy, y):
    return _C.sigmoid_backward(_f32(dy), _f32(y))


@_named
def tanh_forward(x):
    return _C.tanh_forward(_f32(x))


@_named
def tanh_backward(dy, y):
    return _C.tanh_backward(_f32(dy), _f32(y))


@_named
def softmax_forward(x):
    """Softmax over the last axis."""
    return _C.softmax_forward(_f32(x))


@_named
def softmax_backward(dy, y):
    return _C.softmax_backward(_f32(dy), _f32(y))


@_named
def dropout_forward(x, rate, seed, offset=0):
    """Inverted dropout with a mask that is a pure function of (seed, offset + element index)."""
    return _C.dropout_forward(_f32(x), rate, seed, offset=offset)


@_named
def dropout_backward(dy, rate, seed, offset=0):
    return _C.dropout_backward(_f32(dy), rate, seed, offset=offset)


@_named
def softmax_cross_entropy_forward(logits, targets):
    """(softmax(logits), per-sample cross-entropy against target distributions)."""
    return _C.softmax_cross_entropy_forward(_f32(logits), _f32(targets))


@_named
def softmax_cross_entropy_backward(probs, targets, scale=None):
    """The gradient of scale * sum(loss) with respect to the logits (scale: 1/N)."""
    return _C.softmax_cross_entropy_backward(_f32(probs), _f32(targets), scale)


@_named
def sparse_softmax_cross_entropy_forward(logits, labels):
    return _C.sparse_softmax_cross_entropy_forward(_f32(logits), _i32(labels))


@_named
def sparse_softmax_cross_entropy_backward(probs, labels, scale=None):
    return _C.sparse_softmax_cross_entropy_backward(_f32(probs), _i32(labels), scale)


def _inplace(name, a):
    if not (isinstance(a, np.ndarray) and a.dtype == np.float32 and a.flags.c_contiguous
            and a.flags.aligned):
        raise _InputError(f"`{name}` is updated in place, so it must be a C-contiguous, "
                          f"aligned float32 numpy array in native byte order")
    return a


@_named
def adam_update(param, m, v, grad, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
                epsilon=1e-7, step=1):
    """One Keras Adam step, updating param, m and v in place."""
    _C.adam_update(_inplace("param", param), _inplace("m", m), _inplace("v", v), _f32(grad),
                   learning_rate, beta_1, beta_2, epsilon, step)


@_named
def sgd_update(param, momentum_buf, grad, learning_rate=0.01, momentum=0.0, nesterov=False):
    """One Keras SGD step in place (momentum_buf may be None without momentum)."""
    buf = None if momentum_buf is None else _inplace("momentum_buf", momentum_buf)
    _C.sgd_update(_inplace("param", param), buf, _f32(grad), learning_rate, momentum, nesterov)


@_named
def rmsprop_update(param, velocity, momentum_buf, grad, learning_rate=0.001, rho=0.9,
                   momentum=0.0, epsilon=1e-7):
    """One Keras RMSprop step in place (momentum_buf may be None without momentum)."""
    buf = None if momentum_buf is None else _inplace("momentum_buf", momentum_buf)
    _C.rmsprop_update(_inplace("param", param), _inplace("velocity", velocity), buf,
                      _f32(grad), learning_rate, rho, momentum, epsilon)


@_named
def adamax_update(param, m, u, grad, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
                  epsilon=1e-7, step=1):
    """One Keras Adamax step, updating param, m and u in place."""
    _C.adamax_update(_inplace("param", param), _inplace("m", m), _inplace("u", u), _f32(grad),
                     learning_rate, beta_1, beta_2, epsilon, step)


@_named
def adagrad_update(param, accumulator, grad, learning_rate=0.001, epsilon=1e-7):
    """One Keras Adagrad step in place."""
    _C.adagrad_update(_inplace("param", param), _inplace("accumulator", accumulator),
                      _f32(grad), learning_rate, epsilon)


@_named
def adadelta_update(param, accumulated_grad, accumulated_delta, grad, learning_rate=0.001,
                    rho=0.95, epsilon=1e-7):
    """One Keras Adadelta step in place."""
    _C.adadelta_update(_inplace("param", param), _inplace("accumulated_grad", accumulated_grad),
                       _inplace("accumulated_delta", accumulated_delta), _f32(grad),
                       learning_rate, rho, epsilon)


@_named
def lion_update(param, m, grad, learning_rate=0.001, beta_1=0.9, beta_2=0.99):
    """One Keras Lion step in place."""
    _C.lion_update(_inplace("param", param), _inplace("m", m), _f32(grad), learning_rate,
                   beta_1, beta_2)


@_named
def nadam_update(param, m, v, grad, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, u_t=0.0, u_next=0.0, u_product=1.0, step=1):
    """One Keras Nadam step in place (u_t, u_next, u_product: Keras's momentum schedule)."""
    _C.nadam_update(_inplace("param", param), _inplace("m", m), _inplace("v", v), _f32(grad),
                    learning_rate, beta_1, beta_2, epsilon, u_t, u_next, u_product, step)


@_named
def ftrl_update(param, accumulator, linear, grad, learning_rate=0.001,
                learning_rate_power=-0.5, l1=0.0, l2=0.0, l2_shrinkage=0.0, beta=0.0):
    """One Keras FTRL step in place."""
    _C.ftrl_update(_inplace("param", param), _inplace("accumulator", accumulator),
                   _inplace("linear", linear), _f32(grad), learning_rate, learning_rate_power,
                   l1, l2, l2_shrinkage, beta)


@_named
def adam_amsgrad_update(param, m, v, v_hat, grad, learning_rate=0.001, beta_1=0.9,
                        beta_2=0.999, epsilon=1e-7, step=1):
    """One Keras Adam(amsgrad=True) step, updating param, m, v and v_hat in place."""
    _C.adam_amsgrad_update(_inplace("param", param), _inplace("m", m), _inplace("v", v),
                           _inplace("v_hat", v_hat), _f32(grad), learning_rate, beta_1,
                           beta_2, epsilon, step)


@_named
def rmsprop_centered_update(param, velocity, momentum_buf, average_grad, grad,
                            learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7):
    """One Keras RMSprop(centered=True) step in place (momentum_buf may be None without
    momentum)."""
    buf = None if momentum_buf is None else _inplace("momentum_buf", momentum_buf)
    _C.rmsprop_centered_update(_inplace("param", param), _inplace("velocity", velocity), buf,
                               _inplace("average_grad", average_grad), _f32(grad),
                               learning_rate, rho, momentum, epsilon)


@_named
def adafactor_update(param, r, c, v, grad, shapes, rho_t=0.001, beta_2_t=0.0,
                     epsilon_1=1e-30, epsilon_2=1e-3, clip_threshold=1.0):
    """One Keras Adafactor step in place over the variables of `shapes` packed in `param`
    (r, c, v the size of param; see fastnn/_C_optim_extra.pxi for the layout)."""
    _C.adafactor_update(_inplace("param", param), _inplace("r", r), _inplace("c", c),
                        _inplace("v", v), _f32(grad), shapes, rho_t, beta_2_t, epsilon_1,
                        epsilon_2, clip_threshold)


def _opt(a):
    return None if a is None else _f32(a)


# ---- BatchNormalization (csrc/batchnorm.c) ----------------------------------------------
@_named
def batchnorm_stats(x, axis=-1):
    """(mean, var): per-channel mean and biased variance of x along `axis`."""
    return _C.batchnorm_stats(_f32(x), axis)


@_named
def batchnorm_forward(x, mean, var, gamma=None, beta=None, axis=-1, epsilon=1e-3, relu=False):
    """(x - mean) * gamma / sqrt(var + epsilon) + beta along `axis` (relu=True fuses max(y, 0))."""
    return _C.batchnorm_forward(_f32(x), _f32(mean), _f32(var), _opt(gamma), _opt(beta), axis,
                                epsilon, relu)


@_named
def batchnorm_backward(dy, x, y, mean, var, gamma=None, axis=-1, epsilon=1e-3,
                       batch_stats=True):
    """(dx, dgamma, dbeta); y is the ReLU-fused forward output (else None); batch_stats:
    mean and var were the batch's own (training)."""
    return _C.batchnorm_backward(_f32(dy), _f32(x), _opt(y), _f32(mean), _f32(var), _opt(gamma),
                                 axis, epsilon, batch_stats)


# ---- image preprocessing and augmentation (csrc/image_ops.c) --------------------------------
@_named
def scale_shift(x, scale, shift=None):
    """x * scale + shift over x's trailing scale.size values."""
    return _C.scale_shift(_f32(x), _f32(scale), _opt(shift))


@_named
def resize_forward(x, size, interpolation="bilinear", crop=None):
    """Images (N, H, W, C) resampled to `size` (half-pixel centres), from the crop window
    (top, left, height, width) when given."""
    return _C.resize_forward(_f32(x), size, interpolation, crop)


@_named
def resize_backward(dy, x_shape, interpolation="bilinear", crop=None):
    return _C.resize_backward(_f32(dy), x_shape, interpolation, crop)


@_named
def warp_forward(x, transforms, size=None, interpolation="bilinear", fill_mode="reflect",
                 fill_value=0.0):
    """Projective warp of images by Keras's (N, 8) transforms, with its fill modes."""
    return _C.warp_forward(_f32(x), _f32(transforms), size, interpolation, fill_mode,
                           fill_value)


@_named
def warp_backward(dy, transforms, x_shape, interpolation="bilinear", fill_mode="reflect"):
    return _C.warp_backward(_f32(dy), _f32(transforms), x_shape, interpolation, fill_mode)


@_named
def brightness_forward(x, delta, value_range):
    """clip(x + delta[n], *value_range) per image n."""
    return _C.brightness_forward(_f32(x), _f32(delta), value_range)


@_named
def brightness_backward(dy, x, delta, value_range):
    return _C.brightness_backward(_f32(dy), _f32(x), _f32(delta), value_range)


@_named
def contrast_forward(x, factor, value_range):
    """clip((x - m) * factor[n] + m, *value_range), m each image's per-channel mean."""
    return _C.contrast_forward(_f32(x), _f32(factor), value_range)


@_named
def contrast_backward(dy, x, factor, value_range):
    return _C.contrast_backward(_f32(dy), _f32(x), _f32(factor), value_range)


# ---- average pooling and the other activations (csrc/pool2d.c, csrc/activations.c) ----------
@_named
def avgpool2d_forward(x, pool_size=(2, 2), strides=None, padding="valid"):
    """Keras AveragePooling2D: the mean of each window ("same" counts only image pixels)."""
    return _C.avgpool2d_forward(_f32(x), pool_size, strides, padding)


@_named
def avgpool2d_backward(dy, input_shape, pool_size=(2, 2), strides=None, padding="valid"):
    """The gradient of an AveragePooling2D's input: each dy spread over its window."""
    return _C.avgpool2d_backward(_f32(dy), tuple(input_shape), pool_size, strides, padding)


@_named
def activation_forward(x, kind, p0=0.0, p1=0.0, p2=0.0):
    """f(x) for one of _C.ACTIVATION_KINDS ("gelu", "elu" with alpha p0, ...)."""
    return _C.activation_forward(_f32(x), kind, p0, p1, p2)


@_named
def activation_backward(dy, x, y, kind, p0=0.0, p1=0.0, p2=0.0):
    """dy * f'(x), given the forward input x and output y."""
    return _C.activation_backward(_f32(dy), _f32(x), _f32(y), kind, p0, p1, p2)


@_named
def log_softmax_forward(x):
    """log(softmax(x)) over the last axis."""
    return _C.log_softmax_forward(_f32(x))


@_named
def log_softmax_backward(dy, y):
    return _C.log_softmax_backward(_f32(dy), _f32(y))
@_named
def gconv2d_forward(x, kernel, bias=None, strides=(1, 1), padding="valid",
                    dilation_rate=(1, 1), groups=1):
    """Grouped, dilated Conv2D: x (N,H,W,C), kernel (KH,KW,C/groups,F) -> (N,OH,OW,F)
    (a depthwise kernel (KH,KW,C,M) is (KH,KW,1,C*M) with groups=C)."""
    return _C.gconv2d_forward(_f32(x), _f32(kernel), _f32(bias), strides, padding,
                              dilation_rate, groups)


@_named
def gconv2d_backward_input(dy, kernel, input_shape, strides=(1, 1), padding="valid",
                           dilation_rate=(1, 1), groups=1):
    return _C.gconv2d_backward_input(_f32(dy), _f32(kernel), tuple(input_shape), strides,
                                     padding, dilation_rate, groups)


@_named
def gconv2d_backward_weight(dy, x, kernel_shape, strides=(1, 1), padding="valid",
                            dilation_rate=(1, 1), groups=1, use_bias=True):
    """(dkernel, dbias or None) of a grouped, dilated Conv2D."""
    return _C.gconv2d_backward_weight(_f32(dy), _f32(x), kernel_shape, strides, padding,
                                      dilation_rate, groups, use_bias)
# ---- sequence models (csrc/embedding.c, csrc/rnn.c) -------------------------------------
@_named
def embedding_forward(ids, table):
    """table[ids]: rows of a (V, D) table for integer ids of any shape."""
    return _C.embedding_forward(_i32(ids), _f32(table))


@_named
def embedding_backward(dy, ids, input_dim):
    """The (input_dim, D) table gradient: dy's rows scatter-added at ids."""
    return _C.embedding_backward(_f32(dy), _i32(ids), int(input_dim))


@_named
def rnn_forward(x, kernel, recurrent_kernel, bias=None, h0=None, c0=None, cell="lstm",
                activation="tanh", recurrent_activation="sigmoid", go_backwards=False,
                return_sequences=False, mask=None, zero_output_for_mask=False, rec_mask=None):
    """A SimpleRNN/LSTM/GRU over x (N, T, K): (y, h, c, state); see fastnn._C.rnn_forward.
    mask (N, T): Keras's timestep mask (True: keep); rec_mask (N, gates, units): recurrent
    dropout's scaled per-gate masks on h."""
    return _C.rnn_forward(_f32(x), _f32(kernel), _f32(recurrent_kernel), _opt(bias), _opt(h0),
                          _opt(c0), cell=cell, activation=activation,
                          recurrent_activation=recurrent_activation,
                          go_backwards=go_backwards, return_sequences=return_sequences,
                          mask=mask, zero_output_for_mask=zero_output_for_mask,
                          rec_mask=_opt(rec_mask))


@_named
def rnn_backward(dy, dh, dc, state, x, kernel, recurrent_kernel, bias=None, h0=None, c0=None,
                 cell="lstm", activation="tanh", recurrent_activation="sigmoid",
                 go_backwards=False, return_sequences=False, need_dx=True, mask=None,
                 zero_output_for_mask=False, rec_mask=None):
    """(dx, dh0, dc0, dkernel, drecurrent_kernel, dbias) for rnn_forward's `state`."""
    return _C.rnn_backward(_f32(dy), _opt(dh), _opt(dc), _f32(state), _f32(x), _f32(kernel),
                           _f32(recurrent_kernel), _opt(bias), _opt(h0), _opt(c0), cell=cell,
                           activation=activation, recurrent_activation=recurrent_activation,
                           go_backwards=go_backwards, return_sequences=return_sequences,
                           need_dx=need_dx, mask=mask, zero_output_for_mask=zero_output_for_mask,
                           rec_mask=_opt(rec_mask))


# ---- LayerNormalization, GroupNormalization, UnitNormalization (csrc/norm.c) -------------
@_named
def layernorm_forward(x, gamma=None, beta=None, epsilon=1e-3, rms_scaling=False):
    """(y, mean, rstd): each row of x's last axis normalized, then * gamma + beta."""
    return _C.layernorm_forward(_f32(x), _opt(gamma), _opt(beta), epsilon, rms_scaling)


@_named
def layernorm_backward(dy, x, mean, rstd, gamma=None, rms_scaling=False):
    """(dx, dgamma, dbeta) of layernorm_forward, from its mean and rstd."""
    return _C.layernorm_backward(_f32(dy), _f32(x), _f32(mean), _f32(rstd), _opt(gamma),
                                 rms_scaling)


@_named
def groupnorm_forward(x, groups, gamma=None, beta=None, epsilon=1e-3):
    """(y, mean, rstd): x (N, ..., C) normalized per sample and group of channels."""
    return _C.groupnorm_forward(_f32(x), groups, _opt(gamma), _opt(beta), epsilon)


@_named
def groupnorm_backward(dy, x, mean, rstd, groups, gamma=None):
    """(dx, dgamma, dbeta) of groupnorm_forward, from its mean and rstd."""
    return _C.groupnorm_backward(_f32(dy), _f32(x), _f32(mean), _f32(rstd), groups,
                                 _opt(gamma))


@_named
def unitnorm_forward(x, epsilon=1e-12):
    """Each row of x's last axis scaled to unit L2 norm."""
    return _C.unitnorm_forward(_f32(x), epsilon)


@_named
def unitnorm_backward(dy, x, epsilon=1e-12):
    """dx of unitnorm_forward."""
    return _C.unitnorm_backward(_f32(dy), _f32(x), epsilon)


# Every public function above, so the list cannot drift from the module (a tripwire in
# tests/test_tripwires.py also checks it against the kernels and their NumPy twins).
__all__ = sorted(name for name, value in list(globals().items())
                 if callable(value) and not name.startswith("_") and
                 getattr(value, "__module__", None) == __name__)
