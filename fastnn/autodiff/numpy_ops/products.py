"""Matrix products of keras.ops.numpy: matmul (float32 matrices on fastnn's GEMM), dot,
vdot, inner, outer, einsum and tensordot, with their vector-Jacobian products."""
import builtins
import threading

import numpy as np

from fastnn import _C
from fastnn.autodiff.numpy_ops.arithmetic import multiply
from fastnn.autodiff.numpy_ops.reductions import sum
from fastnn.autodiff.numpy_ops.shapes import expand_dims, ravel
from fastnn.autodiff.registry import defop
from fastnn.autodiff.tape import grad_buffer, unbroadcast


# ---- matrix products ------------------------------------------------------------------------
_WORK = threading.local()  # the GEMM's packing workspace, kept per Python thread


def _gemm_work(a, b, trans_a, trans_b):
    m = a.shape[1] if trans_a else a.shape[0]
    k = a.shape[0] if trans_a else a.shape[1]
    n = b.shape[0] if trans_b else b.shape[1]
    need = _C.sgemm_workspace_size(m, n, k)
    work = getattr(_WORK, "buf", None)
    if work is None or work.size < need:
        work = _WORK.buf = np.empty(builtins.max(need, 1), np.float32)
    return work, (m, n)


def _gemm2d(a, b, trans_a=False, trans_b=False, k=None):
    """op(a) @ op(b) for float32 matrices on fastnn's GEMM (its workspace reused; `k`: the
    gradient position of a vjp, whose result may go to a reused buffer); NumPy for
    anything else."""
    if a.dtype == np.float32 and b.dtype == np.float32 and a.ndim == 2 and b.ndim == 2 \
            and a.size and b.size:
        a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
        work, shape = _gemm_work(a, b, trans_a, trans_b)
        out = None if k is None else grad_buffer(k, shape)
        if out is not None and (out is a or out is b):
            out = None
        return _C.sgemm(a, b, out, 1.0, 0.0, trans_a, trans_b, work=work)
    return np.matmul(a.T if trans_a else a, b.T if trans_b else b)


@defop(inputs=2)
def matmul(x1, x2):
    """Matrix product with NumPy's rules (1-D operands, broadcast batch dimensions);
    float32 matrices run on fastnn's GEMM."""
    a, b = np.asarray(x1), np.asarray(x2)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul: operands must have at least one dimension, received shapes "
                         f"{a.shape} and {b.shape}")
    if a.ndim == 2 and b.ndim == 2:
        out = _gemm2d(a, b)
    else:
        out = np.matmul(a, b)

    def vjp(g, needs):
        if a.ndim == 2 and b.ndim == 2:
            return (_gemm2d(g, b, trans_b=True, k=0) if needs[0] else None,
                    _gemm2d(a, g, trans_a=True, k=1) if needs[1] else None)
        if a.ndim == 1 and b.ndim == 1:
            return (g * b if needs[0] else None, g * a if needs[1] else None)
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = g
        if a.ndim == 1:
            g2 = np.expand_dims(g2, -2)
        if b.ndim == 1:
            g2 = np.expand_dims(g2, -1)
        da = db = None
        if needs[0]:
            da = unbroadcast(np.matmul(g2, np.swapaxes(b2, -1, -2)), a2.shape).reshape(a.shape)
        if needs[1]:
            db = unbroadcast(np.matmul(np.swapaxes(a2, -1, -2), g2), b2.shape).reshape(b.shape)
        return da, db
    return out, vjp


def dot(x1, x2):
    """NumPy's dot: matmul for matrices, a sum of products for vectors, a product for
    scalars."""
    if np.ndim(x1) == 0 or np.ndim(x2) == 0:
        return multiply(x1, x2)
    if np.ndim(x2) > 2:
        return tensordot(x1, x2, axes=([np.ndim(x1) - 1], [np.ndim(x2) - 2]))
    return matmul(x1, x2)


def vdot(x1, x2):
    return sum(multiply(ravel(x1), ravel(x2)))


def inner(x1, x2):
    if np.ndim(x1) == 0 or np.ndim(x2) == 0:
        return multiply(x1, x2)
    return tensordot(x1, x2, axes=([np.ndim(x1) - 1], [np.ndim(x2) - 1]))


def outer(x1, x2):
    return multiply(expand_dims(ravel(x1), 1), expand_dims(ravel(x2), 0))


def _einsum_parse(subscripts, n):
    if "->" in subscripts:
        lhs, out = subscripts.replace(" ", "").split("->")
    else:
        lhs = subscripts.replace(" ", "")
        letters = [c for c in lhs if c.isalpha()]
        out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    ins = lhs.split(",")
    if len(ins) != n or "." in subscripts:
        raise NotImplementedError("keras.ops.einsum: fastnn differentiates explicit subscripts "
                                  "(no '...'), one term per operand")
    return ins, out


@defop(name="einsum", inputs="list")
def _einsum(operands, subscripts):
    ins, out_sub = _einsum_parse(subscripts, len(operands))
    out = np.einsum(subscripts, *operands)

    def vjp(g, needs):
        grads = []
        for i, (op_i, sub_i) in enumerate(zip(operands, ins)):
            if not needs[i]:
                grads.append(None)
                continue
            if len(set(sub_i)) != len(sub_i):
                raise NotImplementedError("keras.ops.einsum: the gradient of an operand with a "
                                          "repeated index (a diagonal) is not provided by fastnn")
            others = [o for j, o in enumerate(operands) if j != i]
            other_subs = [s for j, s in enumerate(ins) if j != i]
            missing = [c for c in sub_i if c not in out_sub and builtins.all(c not in s for s in other_subs)]
            spec = ",".join([out_sub] + other_subs) + "->" + "".join(
                c for c in sub_i if c not in missing)
            gi = np.einsum(spec, g, *others)
            if missing:  # an index summed away that only this operand has: broadcast back
                shape = [op_i.shape[k] if c in missing else 1 for k, c in enumerate(sub_i)]
                gi = np.broadcast_to(np.expand_dims(gi, [k for k, c in enumerate(sub_i)
                                                         if c in missing]), op_i.shape) * \
                    np.ones(shape, gi.dtype)
            grads.append(gi)
        return grads
    return out, vjp


def einsum(subscripts, *operands, **kwargs):
    """Einstein summation over the operands (explicit subscripts, as NumPy writes them)."""
    return _einsum(list(operands), subscripts)


@defop(inputs=2)
def tensordot(x1, x2, axes=2):
    out = np.tensordot(x1, x2, axes)
    a, b = np.asarray(x1), np.asarray(x2)
    if isinstance(axes, int):
        ax_a, ax_b = list(range(a.ndim - axes, a.ndim)), list(range(axes))
    else:
        ax_a, ax_b = [list(np.atleast_1d(ax)) for ax in axes]
        ax_a = [int(i) % a.ndim for i in ax_a]
        ax_b = [int(i) % b.ndim for i in ax_b]

    def vjp(g, needs):
        free_a = [i for i in range(a.ndim) if i not in ax_a]
        free_b = [i for i in range(b.ndim) if i not in ax_b]
        na = len(free_a)
        da = db = None
        if needs[0]:
            t = np.tensordot(g, b, (list(range(na, g.ndim)), free_b))  # free_a..., ax_b order
            perm = free_a + [ax_a[ax_b.index(j)] for j in sorted(ax_b, key=ax_b.index)]
            da = np.transpose(t, np.argsort(perm))
        if needs[1]:
            t = np.tensordot(a, g, (free_a, list(range(na))))  # ax_a..., free_b
            perm = [ax_b[ax_a.index(i)] for i in ax_a] + free_b
            db = np.transpose(t, np.argsort(perm))
        return da, db
    return out, vjp
