"""NumPy twins of the activation kernels: ReLU, sigmoid, tanh, softmax, the
parametrised activations and log-softmax (_C_pointwise.pxi, _C_activations.pxi)."""
import numpy as np

from fastnn._reference._common import _store


# ---- activations ------------------------------------------------------------------

def relu_forward(x, out=None):
    return _store(out, np.maximum(x, 0))


def relu_backward(dy, y, out=None):
    return _store(out, np.where(y > 0, dy, 0).astype(dy.dtype))


def sigmoid_forward(x, out=None):
    return _store(out, 1 / (1 + np.exp(-x)))


def sigmoid_backward(dy, y, out=None):
    return _store(out, dy * y * (1 - y))


def tanh_forward(x, out=None):
    return _store(out, np.tanh(x))


def tanh_backward(dy, y, out=None):
    return _store(out, dy * (1 - y * y))


def softmax_forward(x, out=None):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return _store(out, e / e.sum(axis=-1, keepdims=True))


def softmax_backward(dy, y, out=None):
    return _store(out, y * (dy - (dy * y).sum(axis=-1, keepdims=True)))


# ---- more activations (imagea) ------------------------------------------------------

def _erf(x):
    from math import erf
    return np.vectorize(erf, otypes=[np.float64])(x).astype(x.dtype, copy=False)


def _softplus(v):
    return np.maximum(v, 0) + np.log1p(np.exp(-np.abs(v)))


def _sigmoid(v):
    return 1 / (1 + np.exp(-v))


_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772, 1.0507009873554805
_GELU_K = np.sqrt(2 / np.pi)


def _activation(kind, v, p0, p1, p2):
    if kind == "elu":
        return np.where(v > 0, v, p0 * np.expm1(np.minimum(v, 0)))
    if kind == "selu":
        return _SELU_SCALE * np.where(v > 0, v, _SELU_ALPHA * np.expm1(np.minimum(v, 0)))
    if kind == "gelu":
        return 0.5 * v * (1 + _erf(v / np.sqrt(2)))
    if kind == "gelu_tanh":
        return 0.5 * v * (1 + np.tanh(_GELU_K * (v + 0.044715 * v ** 3)))
    if kind == "silu":
        return v * _sigmoid(v)
    if kind == "softplus":
        return _softplus(v)
    if kind == "softsign":
        return v / (1 + np.abs(v))
    if kind == "hard_sigmoid":
        return np.clip((v + 3) / 6, 0, 1)
    if kind == "hard_silu":
        return v * np.clip((v + 3) / 6, 0, 1)
    if kind == "leaky_relu":
        return np.where(v > 0, v, p0 * v)
    if kind == "relu6":
        return np.clip(v, 0, 6)
    if kind == "exponential":
        return np.exp(v)
    if kind == "mish":
        return v * np.tanh(_softplus(v))
    if kind == "relu":  # Keras's relu(x, negative_slope=p1, max_value=p0, threshold=p2)
        pos = np.where(v > p2, v, 0)
        if np.isfinite(p0):
            pos = np.clip(pos, 0, p0)
        return pos - p1 * np.maximum(p2 - v, 0)
    raise ValueError(f"activation_forward: unknown activation kind {kind!r}")


def activation_forward(x, kind, p0=0.0, p1=0.0, p2=0.0, out=None):
    return _store(out, _activation(kind, x, p0, p1, p2).astype(x.dtype, copy=False))


def activation_backward(dy, x, y, kind, p0=0.0, p1=0.0, p2=0.0, out=None):
    """dy times the derivative, by central differences of the float64 forward (the
    derivatives are in csrc/activations.c; kinks are measure-zero)."""
    x64 = x.astype(np.float64)
    h = 1e-5 * np.maximum(1.0, np.abs(x64))
    d = (_activation(kind, x64 + h, p0, p1, p2) - _activation(kind, x64 - h, p0, p1, p2)) / (2 * h)
    return _store(out, (dy * d).astype(dy.dtype, copy=False))


def log_softmax_forward(x, out=None):
    shifted = x - x.max(axis=-1, keepdims=True)
    y = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return _store(out, y.astype(x.dtype, copy=False))


def log_softmax_backward(dy, y, out=None):
    return _store(out, dy - np.exp(y) * dy.sum(axis=-1, keepdims=True))
