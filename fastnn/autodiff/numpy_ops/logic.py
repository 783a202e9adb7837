"""keras.ops.numpy's ops whose results carry no gradient: comparisons, logic, indices,
rounding."""
import numpy as np

from fastnn.autodiff.numpy_ops.shapes import _axis
from fastnn.autodiff.registry import nograd


# ---- no gradient: comparisons, logic, indices, rounding -----------------------------------
equal = nograd("equal", np.equal, 2)
not_equal = nograd("not_equal", np.not_equal, 2)
less = nograd("less", np.less, 2)
less_equal = nograd("less_equal", np.less_equal, 2)
greater = nograd("greater", np.greater, 2)
greater_equal = nograd("greater_equal", np.greater_equal, 2)
logical_and = nograd("logical_and", np.logical_and, 2)
logical_or = nograd("logical_or", np.logical_or, 2)
logical_xor = nograd("logical_xor", np.logical_xor, 2)
logical_not = nograd("logical_not", np.logical_not)
isnan = nograd("isnan", np.isnan)
isinf = nograd("isinf", np.isinf)
isfinite = nograd("isfinite", np.isfinite)
isclose = nograd("isclose", lambda x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False: np.isclose(
    x1, x2, rtol, atol, equal_nan), 2)
sign = nograd("sign", np.sign)
floor = nograd("floor", np.floor)
ceil = nograd("ceil", np.ceil)
trunc = nograd("trunc", np.trunc)
round = nograd("round", lambda x, decimals=0: np.round(x, decimals))
floor_divide = nograd("floor_divide", np.floor_divide, 2)
mod = nograd("mod", np.mod, 2)
any = nograd("any", lambda x, axis=None, keepdims=False: np.any(x, axis=_axis(axis),
                                                                  keepdims=keepdims))
all = nograd("all", lambda x, axis=None, keepdims=False: np.all(x, axis=_axis(axis),
                                                                  keepdims=keepdims))
count_nonzero = nograd("count_nonzero", lambda x, axis=None: np.count_nonzero(x, axis=axis))
argmax = nograd("argmax", lambda x, axis=None, keepdims=False: np.argmax(x, axis=axis,
                                                                          keepdims=keepdims))
argmin = nograd("argmin", lambda x, axis=None, keepdims=False: np.argmin(x, axis=axis,
                                                                          keepdims=keepdims))
argsort = nograd("argsort", lambda x, axis=-1: np.argsort(x, axis=axis, kind="stable"))
nonzero = nograd("nonzero", np.nonzero)
searchsorted = nograd("searchsorted", lambda sorted_sequence, values, side="left":
                      np.searchsorted(sorted_sequence, values, side), 2)
bincount = nograd("bincount", lambda x, weights=None, minlength=0: np.bincount(
    x, weights, minlength))
digitize = nograd("digitize", lambda x, bins: np.digitize(x, bins), 2)
allclose = nograd("allclose", lambda x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False: np.allclose(
    x1, x2, rtol, atol, equal_nan), 2)
