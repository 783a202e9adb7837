"""keras.ops.nn: activations, softmax, normalization, cross-entropies, convolution and
pooling.  Convolution and max pooling run fastnn's C kernels for float32 (their NumPy
twins for other float types); composite ops (cross-entropies, normalizations, attention)
are written with other ops, so the tape differentiates them."""
import numpy as np

from fastnn import _C, _reference as ref
from fastnn.autodiff import numpy_ops as N, tape as _tape
from fastnn.autodiff.registry import defop, nograd, simple
from fastnn.autodiff.tape import value as _value

EPSILON = 1e-7  # keras.config.epsilon()


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(np.result_type(x, np.float32))


def _softplus(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


_SQRT_2_OVER_PI = np.sqrt(2 / np.pi)
_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946

def _c_ready(a):
    return isinstance(a, np.ndarray) and a.dtype == np.float32 and a.flags.c_contiguous \
        and a.flags.aligned and a.size


@defop()
def relu(x):
    """max(x, 0); float32 arrays on fastnn's ReLU kernels."""
    if _c_ready(x):
        out = _C.relu_forward(x)

        def vjp(g, needs):
            g = np.ascontiguousarray(g, dtype=np.float32)
            if g.shape != out.shape:
                return (g * (out > 0),)
            return (_C.relu_backward(g, out, out=_tape.grad_buffer(0, out.shape)),)
        return out, vjp
    out = np.maximum(x, 0).astype(np.result_type(x, np.float32), copy=False)
    return out, lambda g, needs: (g * (np.asarray(x) > 0),)


relu6 = simple("relu6", lambda x: np.clip(x, 0, 6).astype(x.dtype, copy=False),
               lambda x, o: ((x > 0) & (x < 6)).astype(x.dtype))
sigmoid = simple("sigmoid", _sigmoid, lambda x, o: o * (1 - o))
softplus = simple("softplus", _softplus, lambda x, o: _sigmoid(x))
softsign = simple("softsign", lambda x: x / (1 + np.abs(x)),
                  lambda x, o: 1 / np.square(1 + np.abs(x)))
silu = simple("silu", lambda x: x * _sigmoid(x),
              lambda x, o: _sigmoid(x) * (1 + x * (1 - _sigmoid(x))), aliases=("swish",))
swish = silu
log_sigmoid = simple("log_sigmoid", lambda x: -_softplus(-x), lambda x, o: _sigmoid(-x))
hard_sigmoid = simple("hard_sigmoid", lambda x: (np.clip(x + 3, 0, 6) / 6).astype(x.dtype),
                      lambda x, o: ((x > -3) & (x < 3)).astype(x.dtype) / 6)
hard_silu = simple("hard_silu", lambda x: x * np.clip(x + 3, 0, 6) / 6,
                   lambda x, o: np.where(x < -3, 0, np.where(x > 3, 1, (2 * x + 3) / 6))
                   .astype(x.dtype), aliases=("hard_swish",))
hard_swish = hard_silu
hard_tanh = simple("hard_tanh", lambda x: np.clip(x, -1, 1),
                   lambda x, o: ((x > -1) & (x < 1)).astype(x.dtype))
tanh_shrink = simple("tanh_shrink", lambda x: x - np.tanh(x), lambda x, o: np.square(np.tanh(x)))
sparse_plus = simple("sparse_plus", lambda x: np.where(x <= -1, 0, np.where(
    x >= 1, x, np.square(x + 1) / 4)).astype(x.dtype),
    lambda x, o: np.where(x <= -1, 0, np.where(x >= 1, 1, (x + 1) / 2)).astype(x.dtype))
selu = simple("selu", lambda x: _SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * np.expm1(
    np.minimum(x, 0))).astype(x.dtype), lambda x, o: _SELU_SCALE * np.where(
    x > 0, 1, _SELU_ALPHA * np.exp(np.minimum(x, 0))).astype(x.dtype))


@defop()
def elu(x, alpha=1.0):
    out = np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))).astype(x.dtype)
    return out, lambda g, needs: (g * np.where(x > 0, 1, out + alpha).astype(x.dtype),)


@defop()
def celu(x, alpha=1.0):
    out = np.maximum(x, 0) + np.minimum(0, alpha * np.expm1(np.minimum(x, 0) / alpha))
    return out.astype(x.dtype), lambda g, needs: (g * np.where(
        x > 0, 1, np.exp(np.minimum(x, 0) / alpha)).astype(x.dtype),)


@defop()
def leaky_relu(x, negative_slope=0.2):
    out = np.where(x > 0, x, negative_slope * x).astype(x.dtype)
    return out, lambda g, needs: (g * np.where(x > 0, 1, negative_slope).astype(x.dtype),)


@defop()
def gelu(x, approximate=True):
    """GELU; `approximate=True` (Keras's default) is the tanh form."""
    if approximate:
        inner = _SQRT_2_OVER_PI * (x + 0.044715 * x ** 3)
        t = np.tanh(inner)
        out = 0.5 * x * (1 + t)

        def vjp(g, needs):
            dinner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x ** 2)
            return (g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * dinner).astype(x.dtype),)
        return out.astype(x.dtype), vjp
    cdf = 0.5 * (1 + N._erf(x / np.sqrt(2)))
    out = x * cdf

    def vjp_exact(g, needs):
        pdf = np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)
        return (g * (cdf + x * pdf).astype(x.dtype),)
    return out.astype(x.dtype), vjp_exact


@defop()
def soft_shrink(x, threshold=0.5):
    out = np.where(x > threshold, x - threshold, np.where(x < -threshold, x + threshold, 0))
    return out.astype(x.dtype), lambda g, needs: (g * (np.abs(x) > threshold),)


@defop()
def hard_shrink(x, threshold=0.5):
    out = np.where(np.abs(x) > threshold, x, 0).astype(x.dtype)
    return out, lambda g, needs: (g * (np.abs(x) > threshold),)


@defop()
def squareplus(x, b=4):
    root = np.sqrt(np.square(x) + b)
    return ((x + root) / 2).astype(x.dtype), lambda g, needs: (g * (1 + x / root) / 2,)


@defop()
def threshold(x, threshold, default_value):
    out = np.where(x > threshold, x, default_value).astype(x.dtype)
    return out, lambda g, needs: (g * (x > threshold),)


def glu(x, axis=-1):
    a, b = N.split(x, 2, axis=axis)
    return N.multiply(a, sigmoid(b))


@defop()
def softmax(x, axis=-1):
    x = np.asarray(x)
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    out = e / np.sum(e, axis=axis, keepdims=True)

    def vjp(g, needs):
        return (out * (g - np.sum(g * out, axis=axis, keepdims=True)),)
    return out, vjp


@defop()
def log_softmax(x, axis=-1):
    x = np.asarray(x)
    shifted = x - np.max(x, axis=axis, keepdims=True)
    out = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))

    def vjp(g, needs):
        return (g - np.exp(out) * np.sum(g, axis=axis, keepdims=True),)
    return out, vjp


def _one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    from fastnn.autodiff.core_ops import standardize_dtype
    if sparse:
        raise ValueError("fastnn has no sparse tensors: sparse=True is not supported")
    idx = np.asarray(x).astype(np.int64)
    out = (idx[..., None] == np.arange(num_classes)).astype(standardize_dtype(dtype))
    return np.moveaxis(out, -1, axis) if axis not in (-1, out.ndim - 1) else out


one_hot = nograd("one_hot", _one_hot)


def _multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    num_classes = kwargs.pop("num_tokens", num_classes)
    oh = _one_hot(inputs, num_classes, -1, dtype)
    out = np.max(oh, axis=-2) if oh.ndim > 1 else oh
    return np.moveaxis(out, -1, axis) if axis != -1 else out


multi_hot = nograd("multi_hot", _multi_hot)


# ---- losses -----------------------------------------------------------------------------------
def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """-sum(target * log p) over `axis`; probabilities are renormalized and clipped to
    [1e-7, 1 - 1e-7] as Keras does, logits go through log_softmax."""
    if np.shape(target) != np.shape(output):
        raise ValueError(f"Arguments `target` and `output` must have the same shape. Received: "
                         f"target.shape={np.shape(_value(target))}, "
                         f"output.shape={np.shape(_value(output))}")
    if from_logits:
        log_prob = log_softmax(output, axis=axis)
    else:
        p = N.divide(output, N.sum(output, axis=axis, keepdims=True))
        log_prob = N.log(N.clip(p, EPSILON, 1 - EPSILON))
    return N.negative(N.sum(N.multiply(target, log_prob), axis=axis))


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """categorical_crossentropy with integer class indices as targets."""
    t = np.asarray(_value(target))
    out_shape = np.shape(_value(output))
    if t.ndim == len(out_shape) and t.shape[-1] == 1:
        t = t[..., 0]
    if t.shape != tuple(out_shape[:-1]):
        raise ValueError(f"Arguments `target` and `output` must have the same shape up until "
                         f"the last dimension: target.shape={t.shape}, output.shape={out_shape}")
    oh = _one_hot(t, out_shape[axis], axis=axis, dtype=_value(output).dtype.name)
    return categorical_crossentropy(oh, output, from_logits=from_logits, axis=axis)


@defop(name="binary_crossentropy_logits", inputs=2)
def _bce_logits(target, logits):
    t, x = np.asarray(target), np.asarray(logits)
    out = np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))

    def vjp(g, needs):
        return (-g * x if needs[0] else None, g * (_sigmoid(x) - t))
    return out, vjp


def binary_crossentropy(target, output, from_logits=False):
    """Elementwise binary cross-entropy (probabilities clipped to [1e-7, 1 - 1e-7]; logits
    by the stable formula max(x, 0) - x t + log(1 + exp(-|x|)))."""
    if np.shape(_value(target)) != np.shape(_value(output)):
        raise ValueError(f"Arguments `target` and `output` must have the same shape. Received: "
                         f"target.shape={np.shape(_value(target))}, "
                         f"output.shape={np.shape(_value(output))}")
    if from_logits:
        return _bce_logits(target, output)
    p = N.clip(output, EPSILON, 1 - EPSILON)
    return N.negative(N.add(N.multiply(target, N.log(p)),
                            N.multiply(N.subtract(1, target), N.log(N.subtract(1, p)))))


# ---- normalization ---------------------------------------------------------------------------
def moments(x, axes, keepdims=False, synchronized=False):
    """(mean, variance) over `axes`, variance as E[x^2] - E[x]^2 clipped at 0 like Keras."""
    m = N.mean(x, axis=axes, keepdims=True)
    v = N.maximum(N.subtract(N.mean(N.square(x), axis=axes, keepdims=True), N.square(m)), 0)
    if not keepdims:
        m, v = N.squeeze(m, axis=axes), N.squeeze(v, axis=axes)
    return m, v


def _along(p, axis, ndim):
    if p is None or np.ndim(_value(p)) != 1:
        return p
    shape = [1] * ndim
    shape[axis] = -1
    return N.reshape(p, shape)


def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    nd = np.ndim(_value(x))
    inv = N.rsqrt(N.add(_along(variance, axis, nd), epsilon))
    if scale is not None:
        inv = N.multiply(inv, _along(scale, axis, nd))
    y = N.multiply(N.subtract(x, _along(mean, axis, nd)), inv)
    return y if offset is None else N.add(y, _along(offset, axis, nd))


def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None, **kwargs):
    eps = 1e-3 if epsilon is None else epsilon
    m, v = moments(x, axes=axis, keepdims=True)
    y = N.multiply(N.subtract(x, m), N.rsqrt(N.add(v, eps)))
    if gamma is not None:
        y = N.multiply(y, gamma)
    return y if beta is None else N.add(y, beta)


def rms_normalization(x, scale=None, axis=-1, epsilon=None):
    eps = 1e-7 if epsilon is None else epsilon  # keras.config.epsilon()
    y = N.multiply(x, N.rsqrt(N.add(N.mean(N.square(x), axis=axis, keepdims=True), eps)))
    return y if scale is None else N.multiply(y, scale)


def norm(x, ord=None, axis=None, keepdims=False):
    """Vector norms (ord None/2, 1, inf, -inf, any p) and the Frobenius matrix norm."""
    if isinstance(axis, (tuple, list)) and len(axis) == 2 or axis is None and np.ndim(
            _value(x)) == 2 and ord is not None:
        if ord not in (None, "fro"):
            raise NotImplementedError(f"keras.ops.norm: ord={ord!r} for matrices is not "
                                      f"provided by fastnn (only 'fro')")
        return N.sqrt(N.sum(N.square(x), axis=axis, keepdims=keepdims))
    if ord is None or ord == 2:
        return N.sqrt(N.sum(N.square(x), axis=axis, keepdims=keepdims))
    if ord == 1:
        return N.sum(N.abs(x), axis=axis, keepdims=keepdims)
    if ord == np.inf:
        return N.max(N.abs(x), axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return N.min(N.abs(x), axis=axis, keepdims=keepdims)
    if isinstance(ord, (int, float)) and ord > 0:
        return N.power(N.sum(N.power(N.abs(x), ord), axis=axis, keepdims=keepdims), 1.0 / ord)
    raise NotImplementedError(f"keras.ops.norm: ord={ord!r} is not provided by fastnn")


def normalize(x, axis=-1, order=2, epsilon=None):
    eps = EPSILON if epsilon is None else epsilon
    return N.divide(x, N.maximum(norm(x, ord=order, axis=axis, keepdims=True), eps))


# ---- convolution and pooling -------------------------------------------------------------
def _pair(v, name):
    if isinstance(v, int):
        return (v, v)
    v = tuple(int(a) for a in v)
    return v if len(v) == 2 else v * 2 if len(v) == 1 else _bad(name, v)


def _bad(name, v):
    raise ValueError(f"`{name}` must be an int or a tuple of 2 ints, received {v}")


def _check_format(data_format, dilation_rate=1):
    if data_format not in (None, "channels_last"):
        raise NotImplementedError("fastnn's ops compute channels_last only: "
                                  f"data_format={data_format!r} is not supported")
    if dilation_rate not in (1, (1, 1), [1, 1], (1,), [1]):
        raise NotImplementedError(f"keras.ops.conv: dilation_rate={dilation_rate!r} is not "
                                  f"provided by fastnn")


@defop(name="conv", inputs=2)
def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """1-D (N, W, C) or 2-D (N, H, W, C) convolution with a kernel (..., C, F); float32 on
    fastnn's conv kernels."""
    _check_format(data_format, dilation_rate)
    x, w = np.asarray(inputs), np.asarray(kernel)
    one_d = x.ndim == 3
    if one_d:  # a 1-D conv is a 2-D conv of height 1
        x, w = x[:, None], w[None]
        strides = (1, strides if isinstance(strides, int) else tuple(strides)[0])
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(f"keras.ops.conv: fastnn convolves 3-D or 4-D inputs (channels last) "
                         f"with kernels of rank 3 or 4, received {np.shape(inputs)} and "
                         f"{np.shape(kernel)}")
    s, pad = _pair(strides, "strides"), padding.lower()
    fast = x.dtype == np.float32 and w.dtype == np.float32
    k = _C if fast else ref
    x = np.ascontiguousarray(x)
    w = np.ascontiguousarray(w)
    out = k.conv2d_forward(x, w, None, s, pad)

    def vjp(g, needs):
        g4 = np.ascontiguousarray(g[:, None] if one_d else g, dtype=x.dtype)
        dx = k.conv2d_backward_input(g4, w, x.shape, s, pad) if needs[0] else None
        dw = k.conv2d_backward_weight(g4, x, w.shape[:2], s, pad, False)[0] if needs[1] else None
        if one_d:
            dx = None if dx is None else dx[:, 0]
            dw = None if dw is None else dw[0]
        return dx, dw
    return (out[:, 0] if one_d else out), vjp


@defop(name="max_pool")
def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Max pooling of (N, H, W, C) (or (N, W, C)) windows on fastnn's pooling kernel."""
    _check_format(data_format)
    x = np.asarray(inputs)
    one_d = x.ndim == 3
    if one_d:
        x = x[:, None]
        pool_size = (1, pool_size if isinstance(pool_size, int) else tuple(pool_size)[0])
        strides = None if strides is None else (1, strides if isinstance(strides, int)
                                                else tuple(strides)[0])
    p = _pair(pool_size, "pool_size")
    s = p if strides is None else _pair(strides, "strides")
    k = _C if x.dtype == np.float32 else ref
    x = np.ascontiguousarray(x)
    out, argmax = k.maxpool2d_forward(x, p, s, padding.lower())

    def vjp(g, needs):
        g4 = np.ascontiguousarray(g[:, None] if one_d else g, dtype=x.dtype)
        dx = k.maxpool2d_backward(g4, argmax, x.shape, p, s, padding.lower())
        return (dx[:, 0] if one_d else dx,)
    return (out[:, 0] if one_d else out), vjp


@defop(name="average_pool")
def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Average pooling; with 'same' padding the padded positions are not counted (as TF)."""
    _check_format(data_format)
    x = np.asarray(inputs)
    one_d = x.ndim == 3
    if one_d:
        x = x[:, None]
        pool_size = (1, pool_size if isinstance(pool_size, int) else tuple(pool_size)[0])
        strides = None if strides is None else (1, strides if isinstance(strides, int)
                                                else tuple(strides)[0])
    p = _pair(pool_size, "pool_size")
    s = p if strides is None else _pair(strides, "strides")
    KH, KW, SH, SW, OH, OW, PT, PL = ref._pool_geometry(x.shape, p, s, padding.lower())
    xp = ref._padded(x, PT, PL, OH, OW, KH, KW, SH, SW)
    ones = ref._padded(np.ones((1,) + x.shape[1:3] + (1,), x.dtype), PT, PL, OH, OW, KH, KW,
                       SH, SW)
    total = np.zeros((x.shape[0], OH, OW, x.shape[3]), x.dtype)
    count = np.zeros((1, OH, OW, 1), x.dtype)
    for kh in range(KH):
        for kw in range(KW):
            total += ref._window(xp, kh, kw, OH, OW, SH, SW)
            count += ref._window(ones, kh, kw, OH, OW, SH, SW)
    out = total / count

    def vjp(g, needs):
        g4 = (g[:, None] if one_d else g) / count
        dxp = np.zeros(xp.shape, g4.dtype)
        for kh in range(KH):
            for kw in range(KW):
                ref._window(dxp, kh, kw, OH, OW, SH, SW)[...] += g4
        dx = dxp[:, PT:PT + x.shape[1], PL:PL + x.shape[2]]
        return (dx[:, 0] if one_d else dx,)
    return (out[:, 0] if one_d else out), vjp


def dot_product_attention(query, key, value, bias=None, mask=None, scale=None,
                          is_causal=False, flash_attention=None, attn_logits_soft_cap=None):
    """softmax(q k^T * scale + bias, masked) v for (batch, length, heads, head_dim) inputs."""
    if flash_attention or attn_logits_soft_cap is not None:
        raise NotImplementedError("keras.ops.dot_product_attention: flash_attention and "
                                  "attn_logits_soft_cap are not provided by fastnn")
    h = np.shape(_value(query))[-1]
    scale = 1.0 / np.sqrt(h) if scale is None else scale
    logits = N.multiply(N.einsum("btnh,bsnh->bnts", query, key), np.float32(scale))
    if bias is not None:
        logits = N.add(logits, bias)
    keep = None if mask is None else np.asarray(_value(mask)).astype(bool)
    if is_causal:
        t, s = np.shape(_value(logits))[-2:]
        causal = np.tril(np.ones((t, s), bool))
        keep = causal if keep is None else keep & causal
    if keep is not None:
        logits = N.where(keep, logits, np.float32(-1e9))
    probs = softmax(logits, axis=-1)
    return N.einsum("bnts,bsnh->btnh", probs, value)
