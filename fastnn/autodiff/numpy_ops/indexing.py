"""Indexing ops of keras.ops.numpy (getitem, take, slices and scatters, triangles and
diagonals, sort, diff, ...) with their vector-Jacobian products."""
import builtins

import numpy as np

from fastnn.autodiff.numpy_ops.reductions import sum
from fastnn.autodiff.registry import defop


def _is_basic_index(key):
    items = key if isinstance(key, tuple) else (key,)
    return builtins.all(k is None or k is Ellipsis or isinstance(k, (builtins.slice, int, np.integer))
                        and not isinstance(k, bool) for k in items)


def _plain_key(key):
    from fastnn.autodiff.tape import value
    if isinstance(key, tuple):
        return tuple(_plain_key(k) for k in key)
    if isinstance(key, np.ndarray) or hasattr(key, "_slot") or type(key).__name__ == "Variable":
        return value(key)
    return key


@defop(name="get_item")
def getitem(x, key):
    """x[key]: basic slicing and NumPy advanced indexing (repeated indices sum their
    gradients)."""
    x = np.asarray(x)
    key = _plain_key(key)
    out = x[key]

    def vjp(g, needs):
        full = np.zeros(x.shape, g.dtype)
        if _is_basic_index(key):
            full[key] = g
        else:
            np.add.at(full, key, g)
        return (full,)
    return np.array(out) if np.ndim(out) == 0 else out, vjp


get_item = getitem


@defop()
def take(x, indices, axis=None):
    x = np.asarray(x)
    idx = np.asarray(indices)
    if idx.dtype.kind == "f":
        idx = idx.astype(np.intp)
    src = x.reshape(-1) if axis is None else x
    ax = 0 if axis is None else axis % x.ndim
    n = src.shape[ax]
    idx = np.where(idx < 0, idx + n, idx)
    out = np.take(src, idx, axis=ax)

    def vjp(g, needs):
        full = np.zeros(src.shape, g.dtype)
        key = (builtins.slice(None),) * ax + (idx,)
        np.add.at(full, key, g)
        return (full.reshape(x.shape),)
    return out, vjp


def unstack(x, num=None, axis=0):
    return [take(x, i, axis=axis) for i in range(np.shape(x)[axis])]


@defop()
def take_along_axis(x, indices, axis=None):
    x = np.asarray(x)
    idx = np.asarray(indices).astype(np.intp)
    src = x.reshape(-1) if axis is None else x
    ax = 0 if axis is None else axis
    out = np.take_along_axis(src, idx, axis=ax)

    def vjp(g, needs):
        full = np.zeros(src.shape, g.dtype)
        np.put_along_axis(full, idx, 0, axis=ax)  # shape check
        ix = list(np.indices(idx.shape, sparse=True))
        ix[ax % src.ndim] = idx
        np.add.at(full, tuple(ix), g)
        return (full.reshape(x.shape),)
    return out, vjp


@defop(inputs=1)
def slice(inputs, start_indices, shape):
    """inputs[start:start+shape] along every axis (keras.ops.slice)."""
    x = np.asarray(inputs)
    key = tuple(builtins.slice(int(s), int(s) + int(d)) for s, d in zip(start_indices, shape))
    out = x[key]

    def vjp(g, needs):
        full = np.zeros(x.shape, g.dtype)
        full[key] = g
        return (full,)
    return out, vjp


@defop(inputs=2, name="slice_update")
def _slice_update(inputs, updates, start_indices=None):
    """inputs with `updates` written at start_indices."""
    x, u = np.asarray(inputs), np.asarray(updates)
    key = tuple(builtins.slice(int(s), int(s) + d) for s, d in zip(start_indices, u.shape))
    out = x.copy()
    out[key] = u

    def vjp(g, needs):
        gx = g.copy()
        gx[key] = 0
        return gx, g[key]
    return out, vjp


def slice_update(inputs, start_indices, updates):
    return _slice_update(inputs, updates, start_indices=start_indices)


@defop(inputs=2, name="scatter_update")
def _scatter_update(inputs, updates, indices=None):
    x, u = np.asarray(inputs), np.asarray(updates)
    idx = tuple(np.asarray(indices).T)
    out = x.copy()
    out[idx] = u

    def vjp(g, needs):
        gx = g.copy()
        gx[idx] = 0
        return gx, g[idx]
    return out, vjp


def scatter_update(inputs, indices, updates, reduction=None):
    if reduction is not None:
        raise NotImplementedError("keras.ops.scatter_update: reduction is not provided by fastnn")
    return _scatter_update(inputs, updates, indices=indices)


@defop(inputs=1, name="scatter")
def _scatter(values, indices=None, shape=None):
    v = np.asarray(values)
    idx = tuple(np.asarray(indices).T)
    out = np.zeros(tuple(shape), v.dtype)
    np.add.at(out, idx, v)

    def vjp(g, needs):
        return (g[idx],)
    return out, vjp


def scatter(indices, values, shape):
    return _scatter(values, indices=indices, shape=shape)


@defop()
def tril(x, k=0):
    out = np.tril(x, k)
    return out, lambda g, needs: (np.tril(g, k),)


@defop()
def triu(x, k=0):
    out = np.triu(x, k)
    return out, lambda g, needs: (np.triu(g, k),)


@defop()
def diagonal(x, offset=0, axis1=0, axis2=1):
    x = np.asarray(x)
    out = np.diagonal(x, offset, axis1, axis2).copy()

    def vjp(g, needs):
        full = np.zeros(x.shape, g.dtype)
        view = np.moveaxis(full, (axis1, axis2), (-2, -1))
        n = g.shape[-1]
        r = np.arange(n) + (0 if offset >= 0 else -offset)
        c = np.arange(n) + (offset if offset >= 0 else 0)
        view[..., r, c] = g
        return (full,)
    return out, vjp


def trace(x, offset=0, axis1=0, axis2=1):
    return sum(diagonal(x, offset, axis1, axis2), axis=-1)


@defop()
def diag(x, k=0):
    x = np.asarray(x)
    out = np.diag(x, k)
    return out, lambda g, needs: (np.diag(g, k) if x.ndim == 2 else np.diag(g, k),)


@defop()
def sort(x, axis=-1):
    x = np.asarray(x)
    order = np.argsort(x, axis=axis, kind="stable")
    out = np.take_along_axis(x, order, axis=axis)

    def vjp(g, needs):
        full = np.zeros(x.shape, g.dtype)
        np.put_along_axis(full, order, g, axis=axis)
        return (full,)
    return out, vjp


@defop(name="copy")
def copy(x):
    return np.array(x, copy=True), lambda g, needs: (g,)


@defop()
def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    x = np.asarray(x)
    out = np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)
    return out, lambda g, needs: (g * np.isfinite(x),)


@defop()
def diff(a, n=1, axis=-1):
    x = np.asarray(a)
    if n != 1:
        raise NotImplementedError("keras.ops.diff: fastnn differentiates n=1")
    out = np.diff(x, 1, axis)

    def vjp(g, needs):
        pad_w = [(0, 0)] * x.ndim
        pad_w[axis] = (1, 0)
        gp = np.pad(g, pad_w)
        pad_w[axis] = (0, 1)
        gn = np.pad(g, pad_w)
        return (gp - gn,)
    return out, vjp
