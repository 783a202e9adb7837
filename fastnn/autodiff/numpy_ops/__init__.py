"""keras.ops.numpy: NumPy-named ops with their vector-Jacobian products.

Each op computes with vectorized NumPy (matmul on fastnn's GEMM for float32 matrices) and
returns a NumPy array; the vjp of each is written next to it.  Gradients of broadcast
operands are summed back to the operand's shape (`unbroadcast`).

One module per family; this package re-exports every op (`numpy_ops.sum`, ...):
  arithmetic.py  elementwise arithmetic and functions, erf, clip, where
  products.py    matmul (fastnn's GEMM), dot, vdot, inner, outer, einsum, tensordot
  reductions.py  sum, mean, max, min, prod, var, std, logsumexp, cumsum, average, median
  shapes.py      reshape, transpose, expand_dims, concatenate, stack, split, tile, pad, ...
  indexing.py    getitem, take, slices, scatters, triangles and diagonals, sort, diff, ...
  logic.py       comparisons, logic, indices, rounding (no gradient)
  creation.py    zeros, ones, full, eye, arange, linspace, ... (constants)
"""
from fastnn.autodiff.numpy_ops.arithmetic import (abs, absolute, add, arccos, arccosh, arcsin,
                                                  arcsinh, arctan, arctan2, arctanh, cbrt, clip,
                                                  cos, cosh, divide, divide_no_nan, erf, erfc, exp,
                                                  exp2, expm1, hypot, log, log10, log1p, log2,
                                                  logaddexp, maximum, minimum, multiply, negative,
                                                  power, reciprocal, rsqrt, sin, sinc, sinh, sqrt,
                                                  square, squared_difference, subtract, tan, tanh,
                                                  true_divide, where, _erf)
from fastnn.autodiff.numpy_ops.products import dot, einsum, inner, matmul, outer, tensordot, vdot
from fastnn.autodiff.numpy_ops.reductions import (amax, amin, average, cumprod, cumsum, logsumexp,
                                                  max, mean, median, min, prod, std, sum, var)
from fastnn.autodiff.numpy_ops.shapes import (append, array_split, broadcast_to, concatenate,
                                              expand_dims, flip, hstack, moveaxis, pad, ravel,
                                              repeat, reshape, roll, split, squeeze, stack,
                                              swapaxes, tile, transpose, vstack)
from fastnn.autodiff.numpy_ops.indexing import (copy, diag, diagonal, diff, get_item, getitem,
                                                nan_to_num, scatter, scatter_update, slice,
                                                slice_update, sort, take, take_along_axis, trace,
                                                tril, triu, unstack)
from fastnn.autodiff.numpy_ops.logic import (all, allclose, any, argmax, argmin, argsort, bincount,
                                             ceil, count_nonzero, digitize, equal, floor,
                                             floor_divide, greater, greater_equal, isclose,
                                             isfinite, isinf, isnan, less, less_equal, logical_and,
                                             logical_not, logical_or, logical_xor, mod, nonzero,
                                             not_equal, round, searchsorted, sign, trunc)
from fastnn.autodiff.numpy_ops.creation import (arange, array, empty, empty_like, eye, full,
                                                full_like, identity, linspace, meshgrid, ndim,
                                                ones, ones_like, size, tri, zeros, zeros_like)

__all__ = [
    "add", "subtract", "multiply", "divide", "true_divide", "power", "maximum", "minimum",
    "arctan2", "hypot", "logaddexp", "divide_no_nan", "squared_difference", "negative", "abs",
    "absolute", "square", "sqrt", "rsqrt", "cbrt", "reciprocal", "exp", "exp2", "expm1", "log",
    "log1p", "log2", "log10", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh",
    "tanh", "arcsinh", "arccosh", "arctanh", "sinc", "erf", "erfc", "clip", "where", "matmul",
    "dot", "vdot", "inner", "outer", "einsum", "tensordot", "sum", "mean", "max", "min", "amax",
    "amin", "prod", "var", "std", "logsumexp", "cumsum", "cumprod", "average", "median", "reshape",
    "ravel", "transpose", "moveaxis", "swapaxes", "expand_dims", "squeeze", "broadcast_to",
    "concatenate", "stack", "hstack", "vstack", "append", "split", "array_split", "tile", "repeat",
    "flip", "roll", "pad", "getitem", "get_item", "take", "unstack", "take_along_axis", "slice",
    "slice_update", "scatter_update", "scatter", "tril", "triu", "diagonal", "trace", "diag",
    "sort", "copy", "nan_to_num", "diff", "equal", "not_equal", "less", "less_equal", "greater",
    "greater_equal", "logical_and", "logical_or", "logical_xor", "logical_not", "isnan", "isinf",
    "isfinite", "isclose", "sign", "floor", "ceil", "trunc", "round", "floor_divide", "mod", "any",
    "all", "count_nonzero", "argmax", "argmin", "argsort", "nonzero", "searchsorted", "bincount",
    "digitize", "allclose", "zeros", "ones", "full", "empty", "zeros_like", "ones_like",
    "full_like", "empty_like", "eye", "identity", "tri", "arange", "linspace", "meshgrid", "array",
    "ndim", "size"]
# nn_ops uses numpy_ops._erf
__all__ += ["_erf"]
