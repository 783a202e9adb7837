"""Reductions of keras.ops.numpy (sum, mean, max, min, prod, var, std, logsumexp,
cumsum, ...) with their vector-Jacobian products."""
import builtins

import numpy as np

from fastnn.autodiff.numpy_ops.arithmetic import divide, multiply, sqrt, square, subtract
from fastnn.autodiff.numpy_ops.creation import ones_like
from fastnn.autodiff.numpy_ops.shapes import _axis, reshape
from fastnn.autodiff.registry import defop, expand_reduced, normalize_axis


# ---- reductions --------------------------------------------------------------------------
@defop()
def sum(x, axis=None, keepdims=False):
    x = np.asarray(x)
    out = np.sum(x, axis=_axis(axis), keepdims=keepdims)

    def vjp(g, needs):
        return (np.broadcast_to(expand_reduced(g, x.shape, axis, keepdims), x.shape),)
    return out, vjp


@defop()
def mean(x, axis=None, keepdims=False):
    x = np.asarray(x)
    out = np.mean(x, axis=_axis(axis), keepdims=keepdims)
    count = x.size // builtins.max(np.size(out), 1) if x.size else 1

    def vjp(g, needs):
        return (np.broadcast_to(expand_reduced(g, x.shape, axis, keepdims) / count, x.shape)
                .astype(x.dtype, copy=False),)
    return out, vjp


def _extreme(fn):
    def impl(x, axis=None, keepdims=False, initial=None):
        x = np.asarray(x)
        if initial is not None:
            out = fn(x, axis=_axis(axis), keepdims=keepdims, initial=initial)
        else:
            out = fn(x, axis=_axis(axis), keepdims=keepdims)

        def vjp(g, needs):
            o = expand_reduced(out, x.shape, axis, keepdims)
            hit = (x == o)
            count = np.sum(hit, axis=_axis(axis), keepdims=True) if axis is not None or x.ndim \
                else 1
            return (hit * (expand_reduced(g, x.shape, axis, keepdims) / np.maximum(count, 1)),)
        return out, vjp
    return impl


max = defop("max", aliases=("amax",))(_extreme(np.max))
min = defop("min", aliases=("amin",))(_extreme(np.min))
amax, amin = max, min


@defop()
def prod(x, axis=None, keepdims=False, dtype=None):
    x = np.asarray(x)
    out = np.prod(x, axis=_axis(axis), keepdims=keepdims)

    def vjp(g, needs):
        # the product of the other elements, without dividing (exact where x has zeros)
        if axis is None:
            flat = x.reshape(-1)
            left = np.concatenate([[1], np.cumprod(flat[:-1])]).astype(x.dtype)
            right = np.concatenate([np.cumprod(flat[::-1][:-1])[::-1], [1]]).astype(x.dtype)
            return ((left * right).reshape(x.shape) * g,)
        if isinstance(axis, (tuple, list)) and len(axis) != 1:
            raise NotImplementedError("keras.ops.prod: fastnn differentiates a product over "
                                      "one axis or all of them")
        ax = (axis[0] if isinstance(axis, (tuple, list)) else axis) % x.ndim
        xm = np.moveaxis(x, ax, -1)
        ones = np.ones(xm.shape[:-1] + (1,), x.dtype)
        left = np.concatenate([ones, np.cumprod(xm[..., :-1], -1)], -1)
        right = np.concatenate([np.cumprod(xm[..., ::-1][..., :-1], -1)[..., ::-1], ones], -1)
        others = np.moveaxis(left * right, -1, ax)
        return (others * expand_reduced(g, x.shape, axis, keepdims),)
    return out, vjp


def var(x, axis=None, keepdims=False):
    m = mean(x, axis=axis, keepdims=True)
    return mean(square(subtract(x, m)), axis=axis, keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    return sqrt(var(x, axis=axis, keepdims=keepdims))


@defop()
def logsumexp(x, axis=None, keepdims=False):
    x = np.asarray(x)
    m = np.max(x, axis=_axis(axis), keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    s = np.log(np.sum(np.exp(x - m), axis=_axis(axis), keepdims=True)) + m
    out = s if keepdims else np.squeeze(s, axis=normalize_axis(axis, x.ndim))

    def vjp(g, needs):
        return (np.exp(x - s) * expand_reduced(g, x.shape, axis, keepdims),)
    return out, vjp


@defop()
def cumsum(x, axis=None, dtype=None):
    x = np.asarray(x)
    out = np.cumsum(x if axis is not None else x.reshape(-1), axis=axis or 0)

    def vjp(g, needs):
        ax = axis if axis is not None else 0
        r = np.flip(np.cumsum(np.flip(g, ax), axis=ax), ax)
        return (r.reshape(x.shape),)
    return out, vjp


@defop(grad=False)
def cumprod(x, axis=None, dtype=None):
    return np.cumprod(x, axis=axis)


def average(x, axis=None, weights=None):
    if weights is None:
        return mean(x, axis=axis)
    if np.ndim(weights) == 1 and np.ndim(x) > 1 and axis is not None:
        shape = [1] * np.ndim(x)
        shape[axis] = -1
        weights = reshape(weights, shape)
    return divide(sum(multiply(x, weights), axis=axis), sum(multiply(ones_like(x), weights),
                                                             axis=axis))


@defop(grad=False)
def median(x, axis=None, keepdims=False):
    return np.median(x, axis=_axis(axis), keepdims=keepdims)
