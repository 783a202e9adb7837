"""NumPy's protocols routed to fastnn's ops: `a + b`, `np.exp(t)`, `np.sum(t)` on a Tensor,
a Variable or a KerasTensor run the op of the same name, so they are recorded (or become a
Functional layer).  A NumPy function with no fastnn op raises when a tape would need its
gradient, instead of silently cutting the gradient."""
import numpy as np

from fastnn.autodiff import core_ops, nn_ops, numpy_ops
from fastnn.autodiff import tape as _tape
from fastnn.autodiff.tape import NotDifferentiableError, Tensor

N = numpy_ops
UFUNCS = {
    np.add: N.add, np.subtract: N.subtract, np.multiply: N.multiply, np.true_divide: N.divide,
    np.power: N.power, np.float_power: N.power, np.negative: N.negative,
    np.positive: lambda x: x, np.absolute: N.abs, np.fabs: N.abs, np.square: N.square,
    np.sqrt: N.sqrt, np.cbrt: N.cbrt, np.reciprocal: N.reciprocal, np.exp: N.exp,
    np.exp2: N.exp2, np.expm1: N.expm1, np.log: N.log, np.log1p: N.log1p, np.log2: N.log2,
    np.log10: N.log10, np.sin: N.sin, np.cos: N.cos, np.tan: N.tan, np.arcsin: N.arcsin,
    np.arccos: N.arccos, np.arctan: N.arctan, np.sinh: N.sinh, np.cosh: N.cosh,
    np.tanh: N.tanh, np.arcsinh: N.arcsinh, np.arccosh: N.arccosh, np.arctanh: N.arctanh,
    np.maximum: N.maximum, np.minimum: N.minimum, np.fmax: N.maximum, np.fmin: N.minimum,
    np.matmul: N.matmul, np.arctan2: N.arctan2, np.hypot: N.hypot, np.logaddexp: N.logaddexp,
    np.equal: N.equal, np.not_equal: N.not_equal, np.less: N.less, np.less_equal: N.less_equal,
    np.greater: N.greater, np.greater_equal: N.greater_equal, np.logical_and: N.logical_and,
    np.logical_or: N.logical_or, np.logical_xor: N.logical_xor, np.logical_not: N.logical_not,
    np.isnan: N.isnan, np.isinf: N.isinf, np.isfinite: N.isfinite, np.sign: N.sign,
    np.floor: N.floor, np.ceil: N.ceil, np.trunc: N.trunc, np.rint: N.round,
    np.floor_divide: N.floor_divide, np.remainder: N.mod,
}

FUNCTIONS = {}
for _name in ("sum", "mean", "max", "amax", "min", "amin", "prod", "var", "std", "reshape",
              "transpose", "concatenate", "stack", "expand_dims", "squeeze", "where", "clip",
              "dot", "matmul", "tensordot", "tile", "repeat", "broadcast_to", "flip", "roll",
              "pad", "take", "take_along_axis", "moveaxis", "swapaxes", "split", "array_split",
              "cumsum", "sort", "tril", "triu", "diagonal", "trace", "ravel", "outer", "inner",
              "vdot", "average", "zeros_like", "ones_like", "full_like", "empty_like", "ndim",
              "size", "argmax", "argmin", "argsort", "any", "all", "allclose", "isclose", "copy",
              "nan_to_num", "hstack", "vstack", "append", "diff", "abs", "absolute", "round",
              "count_nonzero", "median", "cumprod", "nonzero", "diag", "einsum", "meshgrid"):
    FUNCTIONS[getattr(np, _name)] = getattr(N, _name)
FUNCTIONS[np.shape] = core_ops.shape
FUNCTIONS[np.linalg.norm] = nn_ops.norm


def _plain(x):
    if isinstance(x, Tensor):
        return x.view(np.ndarray)
    if isinstance(x, (list, tuple)):
        return type(x)(_plain(a) for a in x)
    return x


def _tracked(items):
    tape = _tape.current()
    if tape is None:
        return False
    for x in items:
        if isinstance(x, (list, tuple)):
            if _tracked(x):
                return True
        elif tape.slot_of(x) >= 0:
            return True
    return False


def ufunc(uf, method, inputs, kwargs):
    if method == "__call__" and not kwargs.get("out") and uf in UFUNCS:
        extra = {k: v for k, v in kwargs.items() if k != "out"}
        if not extra:
            return UFUNCS[uf](*inputs)
    if _tracked(inputs):
        raise NotDifferentiableError(
            f"numpy.{uf.__name__}{'' if method == '__call__' else '.' + method} applied to a "
            f"tensor the tape records is not differentiable by fastnn: use keras.ops")
    from fastnn.autodiff.tape import value
    plain = [value(x) if not isinstance(x, (int, float, complex, bool)) else x for x in inputs]
    kwargs = {k: (_plain(v) if k != "out" else v) for k, v in kwargs.items()}
    return getattr(uf, method)(*plain, **kwargs)


def function(func, types, args, kwargs):
    op = FUNCTIONS.get(func)
    if op is not None:
        try:
            return op(*args, **kwargs)
        except TypeError:
            if _tracked(args):
                raise
    elif _tracked(args) or _tracked(list(kwargs.values())):
        raise NotDifferentiableError(
            f"numpy.{func.__name__} applied to a tensor the tape records is not differentiable "
            f"by fastnn: use the keras.ops function of the same name (or ops.stop_gradient)")
    return func(*_plain(args), **{k: _plain(v) for k, v in kwargs.items()})
