"""NumPy twins of the normalization kernels: BatchNormalization, LayerNormalization,
GroupNormalization and UnitNormalization (_C_normalization.pxi, _C_norm.pxi)."""
import numpy as np

from fastnn._reference._common import _store


# ---- BatchNormalization (imagea) ---------------------------------------------------

def _bn_axes(x, axis):
    axis = axis % x.ndim
    return axis, tuple(i for i in range(x.ndim) if i != axis), \
        tuple(-1 if i == axis else 1 for i in range(x.ndim))


def batchnorm_stats(x, axis=-1, out_mean=None, out_var=None, work=None):
    _, red, _ = _bn_axes(x, axis)
    mean = x.mean(axis=red)
    var = ((x - mean.reshape(_bn_axes(x, axis)[2])) ** 2).mean(axis=red)
    return _store(out_mean, mean), _store(out_var, var)


def batchnorm_forward(x, mean, var, gamma=None, beta=None, axis=-1, epsilon=1e-3, relu=False,
                      out=None, work=None):
    _, _, shape = _bn_axes(x, axis)
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + epsilon)
    if gamma is not None:
        y = y * gamma.reshape(shape)
    if beta is not None:
        y = y + beta.reshape(shape)
    if relu:
        y = np.where(y < 0, 0, y)
    return _store(out, y.astype(x.dtype, copy=False))


def batchnorm_backward(dy, x, y, mean, var, gamma=None, axis=-1, epsilon=1e-3, batch_stats=True,
                       out=None, out_gamma=None, out_beta=None, work=None):
    _, red, shape = _bn_axes(x, axis)
    g = dy if y is None else np.where(y > 0, dy, 0)
    inv = 1 / np.sqrt(var.reshape(shape) + epsilon)
    xhat = (x - mean.reshape(shape)) * inv
    dbeta = g.sum(axis=red)
    dgamma = (g * xhat).sum(axis=red)
    scale = inv if gamma is None else inv * gamma.reshape(shape)
    if batch_stats:
        m = x.size // mean.size
        dx = scale * (g - dbeta.reshape(shape) / m - xhat * dgamma.reshape(shape) / m)
    else:
        dx = scale * g
    return (_store(out, dx.astype(x.dtype, copy=False)), _store(out_gamma, dgamma),
            _store(out_beta, dbeta))


# ---- LayerNormalization, GroupNormalization, UnitNormalization (csrc/norm.c) ------------

def layernorm_forward(x, gamma=None, beta=None, epsilon=1e-3, rms_scaling=False, out=None,
                      out_mean=None, out_rstd=None):
    mean = x.mean(axis=-1)
    rstd = 1 / np.sqrt(((x - mean[..., None]) ** 2).mean(axis=-1) + epsilon)
    y = (x - (0 if rms_scaling else mean[..., None])) * rstd[..., None]
    if gamma is not None:
        y = y * gamma
    if beta is not None:
        y = y + beta
    return (_store(out, y.astype(x.dtype, copy=False)), _store(out_mean, mean),
            _store(out_rstd, rstd))


def layernorm_backward(dy, x, mean, rstd, gamma=None, rms_scaling=False, out=None,
                       out_gamma=None, out_beta=None, work=None):
    K = x.shape[-1]
    xh = (x - mean[..., None]) * rstd[..., None]          # the centred, scaled input
    xo = x * rstd[..., None] if rms_scaling else xh         # what gamma multiplies
    g = dy if gamma is None else dy * gamma
    c1 = 0 if rms_scaling else g.sum(axis=-1, keepdims=True) / K
    c2 = (g * xo).sum(axis=-1, keepdims=True) / K
    dx = rstd[..., None] * (g - c1 - xh * c2)
    rows = tuple(range(x.ndim - 1))
    return (_store(out, dx.astype(x.dtype, copy=False)), _store(out_gamma, (dy * xo).sum(axis=rows)),
            _store(out_beta, dy.sum(axis=rows)))


def _groups(x, groups):
    """x (N, ..., C) as (N, S, G, C / G)."""
    N, C = x.shape[0], x.shape[-1]
    return x.reshape(N, -1, groups, C // groups)


def groupnorm_forward(x, groups, gamma=None, beta=None, epsilon=1e-3, out=None, out_mean=None,
                      out_rstd=None, work=None):
    xg = _groups(x, groups)
    mean = xg.mean(axis=(1, 3))
    rstd = 1 / np.sqrt(((xg - mean[:, None, :, None]) ** 2).mean(axis=(1, 3)) + epsilon)
    y = ((xg - mean[:, None, :, None]) * rstd[:, None, :, None]).reshape(x.shape)
    if gamma is not None:
        y = y * gamma
    if beta is not None:
        y = y + beta
    return (_store(out, y.astype(x.dtype, copy=False)), _store(out_mean, mean),
            _store(out_rstd, rstd))


def groupnorm_backward(dy, x, mean, rstd, groups, gamma=None, out=None, out_gamma=None,
                       out_beta=None, work=None):
    xh = (_groups(x, groups) - mean[:, None, :, None]) * rstd[:, None, :, None]
    g = _groups(dy if gamma is None else dy * gamma, groups)
    c1 = g.mean(axis=(1, 3), keepdims=True)
    c2 = (g * xh).mean(axis=(1, 3), keepdims=True)
    dx = (rstd[:, None, :, None] * (g - c1 - xh * c2)).reshape(x.shape)
    xh = xh.reshape(x.shape)
    rows = tuple(range(x.ndim - 1))
    return (_store(out, dx.astype(x.dtype, copy=False)), _store(out_gamma, (dy * xh).sum(axis=rows)),
            _store(out_beta, dy.sum(axis=rows)))


def _inv_norm(x, epsilon):
    """min(1 / ||row||, 1 / epsilon) per row of the last axis, and whether it was capped."""
    with np.errstate(divide="ignore"):
        inv = 1 / np.sqrt((x * x).sum(axis=-1, keepdims=True))
    return np.minimum(inv, 1 / epsilon), ~(inv < 1 / epsilon)


def unitnorm_forward(x, epsilon=1e-12, out=None):
    inv, _ = _inv_norm(x, epsilon)
    return _store(out, (x * inv).astype(x.dtype, copy=False))


def unitnorm_backward(dy, x, epsilon=1e-12, out=None):
    inv, capped = _inv_norm(x, epsilon)
    t = np.where(capped, 0, (dy * x).sum(axis=-1, keepdims=True) * inv * inv)
    return _store(out, (inv * (dy - x * t)).astype(x.dtype, copy=False))
