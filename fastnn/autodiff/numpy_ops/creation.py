"""keras.ops.numpy's constructors (zeros, ones, full, eye, arange, linspace, ...) and
small queries (ndim, size): constants, no gradient."""
import builtins

import numpy as np


# ---- creation (constants: no gradient) -------------------------------------------------------
def _dtype(dtype, default="float32"):
    from fastnn.autodiff.core_ops import standardize_dtype
    return standardize_dtype(dtype or default)


def zeros(shape, dtype=None):
    return np.zeros(shape, _dtype(dtype))


def ones(shape, dtype=None):
    return np.ones(shape, _dtype(dtype))


def full(shape, fill_value, dtype=None):
    from fastnn.autodiff.tape import value
    return np.full(shape, value(fill_value), _dtype(dtype))


def empty(shape, dtype=None):
    return np.empty(shape, _dtype(dtype))


def _like(x, dtype):
    from fastnn.autodiff.tape import value
    arr = value(x)
    return np.shape(arr), (_dtype(dtype) if dtype is not None else arr.dtype)


def zeros_like(x, dtype=None):
    return np.zeros(*_like(x, dtype))


def ones_like(x, dtype=None):
    return np.ones(*_like(x, dtype))


def full_like(x, fill_value, dtype=None):
    shape, dt = _like(x, dtype)
    return np.full(shape, fill_value, dt)


def empty_like(x, dtype=None):
    return zeros_like(x, dtype)


def eye(N, M=None, k=0, dtype=None):
    return np.eye(N, M, k, dtype=_dtype(dtype))


def identity(n, dtype=None):
    return np.identity(n, dtype=_dtype(dtype))


def tri(N, M=None, k=0, dtype=None):
    return np.tri(N, M, k, dtype=_dtype(dtype))


def arange(start, stop=None, step=None, dtype=None):
    if dtype is None:
        ints = builtins.all(isinstance(v, (int, np.integer)) for v in (start, stop, step)
                            if v is not None)
        dtype = "int32" if ints else "float32"
    if stop is None:
        start, stop = 0, start
    return np.arange(start, stop, 1 if step is None else step, dtype=_dtype(dtype))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    return np.linspace(start, stop, num, endpoint, retstep, _dtype(dtype), axis)


def meshgrid(*x, indexing="xy"):
    return np.meshgrid(*[np.asarray(a) for a in x], indexing=indexing)


def _values(xs):
    from fastnn.autodiff.tape import value
    return [value(x) for x in xs]


def array(x, dtype=None):
    from fastnn.autodiff.core_ops import convert_to_tensor
    return convert_to_tensor(x, dtype)


def ndim(x):
    from fastnn.autodiff.tape import value
    return np.ndim(value(x))


def size(x):
    from fastnn.autodiff.tape import value
    return int(np.size(value(x)))
