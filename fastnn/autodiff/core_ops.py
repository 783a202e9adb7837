"""keras.ops core and math ops: conversion, dtypes, shapes, control flow run eagerly,
stop_gradient, top_k, segment sums."""
import numpy as np

from fastnn.autodiff import tape as _tape
from fastnn.autodiff.registry import defop, nograd
from fastnn.autodiff.tape import Tensor, value

_DTYPES = {"float32", "float64", "float16", "int8", "int16", "int32", "int64", "uint8",
           "uint16", "uint32", "uint64", "bool"}


def standardize_dtype(dtype):
    """A NumPy dtype from a Keras dtype name ('float32', 'int32', ...) or NumPy dtype."""
    if dtype is None:
        return np.dtype("float32")
    if dtype == "bfloat16":
        raise ValueError("fastnn computes in float32: dtype='bfloat16' is not supported")
    try:
        dt = np.dtype(getattr(dtype, "name", dtype) if not isinstance(dtype, (str, type))
                      else dtype)
    except TypeError:
        raise ValueError(f"Invalid dtype: {dtype!r}") from None
    if dt.name not in _DTYPES:
        raise ValueError(f"Invalid dtype: {dtype!r}; fastnn supports {sorted(_DTYPES)}")
    return dt


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """x as a NumPy array: Python floats and lists become float32 (Keras's default float
    type), NumPy arrays keep their dtype unless `dtype` is given."""
    if sparse or ragged:
        raise ValueError("fastnn has no sparse or ragged tensors")
    if dtype is not None:
        return cast(x, dtype)
    if isinstance(x, Tensor) or isinstance(x, np.ndarray):
        return x
    return value(x)


def convert_to_numpy(x):
    return np.array(value(x))


def is_tensor(x):
    return isinstance(x, np.ndarray)


@defop(name="cast")
def _cast(x, dtype):
    x = np.asarray(x)
    out = x.astype(dtype)

    def vjp(g, needs):
        return (g.astype(x.dtype) if x.dtype.kind == "f" else None,)
    return out, vjp


def cast(x, dtype):
    """x converted to `dtype`; a float-to-float cast passes the gradient, a cast to an
    integer type cuts it (as in Keras)."""
    dt = standardize_dtype(dtype)
    if dt.kind != "f":
        return np.asarray(value(x)).astype(dt)
    return _cast(x, dt)


def saturate_cast(x, dtype):
    dt = standardize_dtype(dtype)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        return cast(np.clip(value(x), info.min, info.max), dt)
    return cast(x, dt)


def dtype(x):
    return value(x).dtype.name


def shape(x):
    """The static shape as a tuple of ints (None for a symbolic batch dimension)."""
    from fastnn.layers.layer import KerasTensor
    if isinstance(x, KerasTensor):
        return tuple(x.shape)
    return tuple(np.shape(value(x)))


def stop_gradient(variable):
    """The same values, seen as a constant by the tape."""
    v = value(variable)
    return np.array(v) if isinstance(variable, Tensor) else v


def cond(pred, true_fn, false_fn):
    """Eager: call one branch (its ops are recorded)."""
    return true_fn() if bool(np.asarray(value(pred))) else false_fn()


def switch(index, branches, *operands):
    i = int(np.clip(int(np.asarray(value(index))), 0, len(branches) - 1))
    return branches[i](*operands)


def fori_loop(lower, upper, body_fun, init_val):
    val = init_val
    for i in range(int(lower), int(upper)):
        val = body_fun(i, val)
    return val


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    single = not isinstance(loop_vars, (list, tuple))
    state = (loop_vars,) if single else tuple(loop_vars)
    n = 0
    while cond(*state) and (maximum_iterations is None or n < maximum_iterations):
        state = body(*state)
        state = (state,) if single else tuple(state)
        n += 1
    return state[0] if single else state


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    from fastnn.autodiff import numpy_ops
    n = length if xs is None else np.shape(value(xs))[0]
    carry, ys = init, []
    order = range(n - 1, -1, -1) if reverse else range(n)
    for i in order:
        carry, y = f(carry, None if xs is None else xs[i])
        ys.append(y)
    if reverse:
        ys = ys[::-1]
    return carry, (numpy_ops.stack(ys) if ys and ys[0] is not None else None)


def map(f, xs):
    from fastnn.autodiff import numpy_ops
    return numpy_ops.stack([f(xs[i]) for i in range(np.shape(value(xs))[0])])


vectorized_map = map


@defop(multi=True)
def top_k(x, k, sorted=True):
    """The k largest values along the last axis and their indices; the values carry the
    gradient (to the positions they came from)."""
    x = np.asarray(x)
    idx = np.argsort(-x, axis=-1, kind="stable")[..., :k]
    vals = np.take_along_axis(x, idx, axis=-1)

    def vjp(g, needs):
        full = np.zeros(x.shape, g.dtype)
        np.put_along_axis(full, idx, g, axis=-1)
        return (full,)
    return (vals, idx.astype(np.int32)), (vjp, None)


in_top_k = nograd("in_top_k", lambda targets, predictions, k: np.any(
    np.argsort(-np.asarray(predictions), axis=-1, kind="stable")[..., :k]
    == np.asarray(targets)[..., None], axis=-1), 2)


@defop(name="segment_sum")
def _segment_sum(data, segment_ids=None, num_segments=None, sorted=False):
    d = np.asarray(data)
    ids = np.asarray(segment_ids).astype(np.intp)
    n = int(num_segments) if num_segments is not None else int(ids.max()) + 1
    out = np.zeros((n,) + d.shape[1:], d.dtype)
    np.add.at(out, ids, d)
    return out, lambda g, needs: (g[ids],)


def segment_sum(data, segment_ids, num_segments=None, sorted=False):
    return _segment_sum(data, segment_ids=segment_ids, num_segments=num_segments)


def custom_gradient(f):
    """`@ops.custom_gradient`: f(*args) returns (output, grad_fn) with grad_fn(upstream)
    giving one gradient per argument."""
    def wrapper(*args):
        tape = _tape.current()
        with _tape.paused():
            out, grad_fn = f(*args)
        if tape is None:
            return out
        slots = tuple(tape.slot_of(a) for a in args)
        if max(slots, default=-1) < 0:
            return out

        def vjp(g, needs):
            grads = grad_fn(g)
            grads = grads if isinstance(grads, (list, tuple)) else (grads,)
            return tuple(None if gi is None else np.asarray(value(gi)) for gi in grads)
        return tape.record(vjp, slots, np.asarray(value(out)))
    return wrapper
