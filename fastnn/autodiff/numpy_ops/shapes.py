"""Shape ops of keras.ops.numpy (reshape, transpose, expand_dims, concatenate, stack,
split, tile, repeat, flip, roll, pad, ...) with their vector-Jacobian products."""
import builtins

import numpy as np

from fastnn.autodiff.registry import defop
from fastnn.autodiff.tape import unbroadcast


# ---- shapes --------------------------------------------------------------------------------
def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


@defop()
def reshape(x, newshape):
    x = np.asarray(x)
    newshape = (newshape,) if isinstance(newshape, int) else tuple(
        -1 if d is None else int(d) for d in newshape)
    out = np.reshape(x, newshape)

    def vjp(g, needs):
        return (np.reshape(g, x.shape),)
    return out, vjp


def ravel(x):
    return reshape(x, (-1,))


@defop()
def transpose(x, axes=None):
    x = np.asarray(x)
    out = np.transpose(x, axes)

    def vjp(g, needs):
        return (np.transpose(g, None if axes is None else np.argsort(axes)),)
    return out, vjp


@defop()
def moveaxis(x, source, destination):
    out = np.moveaxis(x, source, destination)

    def vjp(g, needs):
        return (np.moveaxis(g, destination, source),)
    return out, vjp


@defop()
def swapaxes(x, axis1, axis2):
    out = np.swapaxes(x, axis1, axis2)

    def vjp(g, needs):
        return (np.swapaxes(g, axis1, axis2),)
    return out, vjp


@defop()
def expand_dims(x, axis):
    x = np.asarray(x)
    out = np.expand_dims(x, axis)

    def vjp(g, needs):
        return (np.reshape(g, x.shape),)
    return out, vjp


@defop()
def squeeze(x, axis=None):
    x = np.asarray(x)
    out = np.squeeze(x, axis=_axis(axis))

    def vjp(g, needs):
        return (np.reshape(g, x.shape),)
    return out, vjp


@defop()
def broadcast_to(x, shape):
    x = np.asarray(x)
    out = np.broadcast_to(x, tuple(shape))

    def vjp(g, needs):
        return (unbroadcast(g, x.shape),)
    return out, vjp


@defop(inputs="list")
def concatenate(xs, axis=0):
    arrays = [np.asarray(x) for x in xs]
    out = np.concatenate(arrays, axis=axis)
    bounds = np.cumsum([a.shape[axis] for a in arrays])[:-1]

    def vjp(g, needs):
        return np.split(g, bounds, axis=axis)
    return out, vjp


@defop(inputs="list")
def stack(x, axis=0):
    out = np.stack([np.asarray(a) for a in x], axis=axis)

    def vjp(g, needs):
        return [np.take(g, i, axis=axis) for i in range(len(x))]
    return out, vjp


def hstack(xs):
    return concatenate(xs, axis=0 if builtins.all(np.ndim(x) == 1 for x in xs) else 1)


def vstack(xs):
    return concatenate([reshape(x, (1, -1)) if np.ndim(x) == 1 else x for x in xs], axis=0)


def append(x1, x2, axis=None):
    if axis is None:
        return concatenate([ravel(x1), ravel(x2)], axis=0)
    return concatenate([x1, x2], axis=axis)


@defop(multi=True)
def split(x, indices_or_sections, axis=0):
    x = np.asarray(x)
    outs = np.split(x, indices_or_sections, axis=axis)
    starts = np.cumsum([0] + [o.shape[axis] for o in outs])

    def piece_vjp(i):
        def vjp(g, needs):
            full = np.zeros(x.shape, g.dtype)
            idx = [builtins.slice(None)] * x.ndim
            idx[axis] = builtins.slice(starts[i], starts[i + 1])
            full[tuple(idx)] = g
            return (full,)
        return vjp
    return list(outs), [piece_vjp(i) for i in range(len(outs))]


def array_split(x, indices_or_sections, axis=0):
    if isinstance(indices_or_sections, int):
        n = np.shape(x)[axis]
        k, r = divmod(n, indices_or_sections)
        sizes = [k + 1] * r + [k] * (indices_or_sections - r)
        indices_or_sections = list(np.cumsum(sizes)[:-1])
    return split(x, indices_or_sections, axis=axis)


@defop()
def tile(x, repeats):
    x = np.asarray(x)
    out = np.tile(x, repeats)

    def vjp(g, needs):
        reps = tuple(int(r) for r in np.atleast_1d(repeats))
        reps = (1,) * (out.ndim - len(reps)) + reps
        shape = (1,) * (out.ndim - x.ndim) + x.shape
        split_shape = [v for r, d in zip(reps, shape) for v in (r, d)]
        gs = np.reshape(g, split_shape).sum(axis=tuple(range(0, 2 * out.ndim, 2)))
        return (gs.reshape(x.shape),)
    return out, vjp


@defop()
def repeat(x, repeats, axis=None):
    x = np.asarray(x)
    out = np.repeat(x, repeats, axis=axis)

    def vjp(g, needs):
        src = x.reshape(-1) if axis is None else x
        ax = 0 if axis is None else axis % x.ndim
        n = src.shape[ax]
        reps = np.broadcast_to(np.asarray(repeats), (n,))
        starts = np.concatenate([[0], np.cumsum(reps)[:-1]]).astype(np.intp)
        gg = np.add.reduceat(g, starts, axis=ax) if g.shape[ax] else np.zeros(src.shape, g.dtype)
        gg = np.where(np.reshape(reps, [-1 if i == ax else 1 for i in range(src.ndim)]) > 0,
                      gg, 0)
        return (gg.reshape(x.shape),)
    return out, vjp


@defop()
def flip(x, axis=None):
    out = np.flip(x, axis=_axis(axis))

    def vjp(g, needs):
        return (np.flip(g, axis=_axis(axis)),)
    return out, vjp


@defop()
def roll(x, shift, axis=None):
    out = np.roll(x, shift, axis=_axis(axis))

    def vjp(g, needs):
        neg = -np.asarray(shift) if not isinstance(shift, int) else -shift
        return (np.roll(g, neg, axis=_axis(axis)),)
    return out, vjp


@defop()
def pad(x, pad_width, mode="constant", constant_values=None):
    x = np.asarray(x)
    if mode != "constant":
        raise NotImplementedError(f"keras.ops.pad: mode={mode!r} is not provided by fastnn "
                                  f"(only 'constant')")
    width = np.broadcast_to(np.asarray(pad_width, dtype=np.intp), (x.ndim, 2))
    out = np.pad(x, width, constant_values=0 if constant_values is None else constant_values)

    def vjp(g, needs):
        return (g[tuple(builtins.slice(lo, lo + d) for (lo, _), d in zip(width, x.shape))],)
    return out, vjp
