"""NumPy twins of the GEMM and Dense kernels (csrc/dense.c, csrc/gemm/; _C.pyx)."""
import numpy as np

from fastnn._reference._common import _store


# ---- GEMM and Dense ---------------------------------------------------------------

def sgemm(a, b, c=None, alpha=1.0, beta=0.0, trans_a=False, trans_b=False, work=None):
    opa = a.T if trans_a else a
    opb = b.T if trans_b else b
    result = alpha * (opa @ opb)
    if beta != 0.0:
        result = result + beta * c
    return _store(c, result.astype(a.dtype, copy=False))


def dense_forward(x, kernel, bias=None, out=None, work=None, relu=False):
    y = x @ kernel
    if bias is not None:
        y = y + bias
    return _store(out, np.maximum(y, 0) if relu else y)


def dense_backward_input(dy, kernel, out=None, work=None):
    return _store(out, dy @ kernel.T)


def dense_backward_weight(dy, x, use_bias=True, out_kernel=None, out_bias=None, work=None):
    dw = _store(out_kernel, x.T @ dy)
    db = _store(out_bias, dy.sum(axis=0)) if use_bias else None
    return dw, db
