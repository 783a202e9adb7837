# cython: language_level=3
"""fastnn._C: the C kernels (csrc/) behind checked wrappers.

Every wrapper does the same four things: type (float32 / int32 numpy arrays, strict:
no silent conversion, fastnn.ops converts), check (ranks, shapes, contiguity, aliasing;
a bad call raises TypeError or ValueError naming the op and the shapes), allocate (the
outputs and the workspace, unless given with out=/work=), call the kernel without the
GIL.  Each wrapper has a NumPy twin with the same name in fastnn._reference.
"""
import numpy as np
cimport numpy as cnp
from libc.stdint cimport int64_t, int32_t, uint8_t, uint64_t

from fastnn._shapes import normalize_pair, normalize_padding, window_geometry

cnp.import_array()


# ---- argument checks --------------------------------------------------------------

cdef enum:
    F32 = cnp.NPY_FLOAT32
    I32 = cnp.NPY_INT32
    U8 = cnp.NPY_UINT8


cdef _array(str op, str name, a, int typenum, int ndim):
    """a, checked: a numpy array of this dtype and rank, C-contiguous (C-API, no attributes)."""
    if not cnp.PyArray_Check(a):
        raise TypeError(f"{op}: `{name}` must be a numpy array, received {type(a).__name__}")
    cdef cnp.ndarray arr = <cnp.ndarray>a
    if cnp.PyArray_TYPE(arr) != typenum:
        raise TypeError(f"{op}: `{name}` must have dtype {np.dtype(cnp.PyArray_TypeObjectFromType(typenum)).name}, "
                        f"received {a.dtype} (fastnn.ops converts automatically)")
    if ndim >= 0 and cnp.PyArray_NDIM(arr) != ndim:
        raise ValueError(f"{op}: `{name}` must have {ndim} dimensions, received shape {a.shape}")
    if not cnp.PyArray_IS_C_CONTIGUOUS(arr):
        raise ValueError(f"{op}: `{name}` must be C-contiguous (fastnn.ops copies automatically)")
    if not cnp.PyArray_ISNOTSWAPPED(arr):  # same type number, bytes the C code cannot read
        raise TypeError(f"{op}: `{name}` must be in native byte order, received dtype "
                        f"{a.dtype.str} (fastnn.ops converts automatically)")
    if not cnp.PyArray_ISALIGNED(arr):
        raise ValueError(f"{op}: `{name}` must be aligned to its {a.dtype.itemsize}-byte items "
                         f"(fastnn.ops copies automatically)")
    global _kernels_ran
    _kernels_ran = True
    _threads_ready(op)
    return a


cdef _threads_ready(str op):
    """An exception, not libgomp's exit(1), when the kernel's threads cannot be started."""
    cdef int err = fnn_threads_prepare()
    if err:
        import os
        raise RuntimeError(f"{op}: cannot start {fnn_get_num_threads()} threads "
                           f"({os.strerror(err)}): the process is out of memory or threads. "
                           f"Use fewer threads with fastnn.set_num_threads(n)")


cdef f32(str op, str name, a, int ndim=-1):
    return _array(op, name, a, F32, ndim)


cdef _nonempty(str op, str name, a):
    if cnp.PyArray_SIZE(<cnp.ndarray>a) == 0:
        raise ValueError(f"{op}: `{name}` is empty (shape {a.shape}); there is nothing to compute")


cdef _has_axis(str op, str name, a):
    if cnp.PyArray_NDIM(<cnp.ndarray>a) == 0:
        raise ValueError(f"{op}: `{name}` must have at least one axis, received a 0-d array")


cdef bint _shape_is(cnp.ndarray a, tuple shape):
    cdef int i, nd = cnp.PyArray_NDIM(a)
    if nd != len(shape):
        return False
    for i in range(nd):
        if cnp.PyArray_DIM(a, i) != <cnp.npy_intp>shape[i]:
            return False
    return True


cdef _same_shape(str op, str n1, a, str n2, b):
    cdef cnp.ndarray x = <cnp.ndarray>a, y = <cnp.ndarray>b
    cdef int i, nd = cnp.PyArray_NDIM(x)
    cdef bint same = nd == cnp.PyArray_NDIM(y)
    for i in range(nd if same else 0):
        same = same and cnp.PyArray_DIM(x, i) == cnp.PyArray_DIM(y, i)
    if not same:
        raise ValueError(f"{op}: `{n1}` and `{n2}` must have the same shape, "
                         f"received {a.shape} and {b.shape}")


cdef bint _overlap(cnp.ndarray a, b):
    """Whether two C-contiguous arrays share any byte (exact for contiguous blocks)."""
    if b is None:
        return False
    cdef char *a0 = <char *>cnp.PyArray_DATA(a)
    cdef char *b0 = <char *>cnp.PyArray_DATA(<cnp.ndarray>b)
    return a0 < b0 + cnp.PyArray_NBYTES(<cnp.ndarray>b) and b0 < a0 + cnp.PyArray_NBYTES(a)


cdef bint _bounds_overlap(a, b):
    """Whether the byte spans of two arrays intersect, whatever their strides: the bounds
    test np.may_share_memory makes by default, without its Python call."""
    cdef cnp.ndarray x = a, y = b  # checked: a TypeError for anything else
    if x is None or y is None or cnp.PyArray_SIZE(x) == 0 or cnp.PyArray_SIZE(y) == 0:
        return False
    cdef const char *x0
    cdef const char *x1
    cdef const char *y0
    cdef const char *y1
    x0, x1 = _byte_span(x)
    y0, y1 = _byte_span(y)
    return x0 < y1 and y0 < x1


cdef inline (const char *, const char *) _byte_span(cnp.ndarray a):
    """[first, one past the last) byte an array with at least one element touches."""
    cdef const char *lo = <const char *>cnp.PyArray_DATA(a)
    cdef const char *hi = lo + cnp.PyArray_ITEMSIZE(a)
    cdef int d
    cdef Py_ssize_t extent
    for d in range(cnp.PyArray_NDIM(a)):
        extent = (cnp.PyArray_DIM(a, d) - 1) * cnp.PyArray_STRIDE(a, d)
        if extent < 0:
            lo += extent
        else:
            hi += extent
    return lo, hi


cdef _output(str op, str name, out, tuple shape, int typenum=F32, tuple inputs=()):
    """Return `out` checked (shape, dtype, contiguous, writeable, no overlap), or a new array."""
    if out is None:
        return np.empty(shape, dtype={F32: np.float32, I32: np.int32, U8: np.uint8}[typenum])
    _array(op, name, out, typenum, len(shape))
    cdef cnp.ndarray o = <cnp.ndarray>out
    if not _shape_is(o, shape):
        raise ValueError(f"{op}: `{name}` must have shape {shape}, received {out.shape}")
    if not cnp.PyArray_ISWRITEABLE(o):
        raise ValueError(f"{op}: `{name}` is read-only")
    for a in inputs:
        if _overlap(o, a):
            raise ValueError(f"{op}: `{name}` must not overlap an input")
    return out


cdef _workspace(str op, work, size_t need, tuple others=()):
    """`work` checked (size, and no byte shared with the call's inputs and outputs
    `others`, whatever their strides), or a new one."""
    if work is None or need == 0:
        return np.empty(max(<Py_ssize_t>need, 1), dtype=np.float32)
    f32(op, "work", work, 1)
    if <size_t>cnp.PyArray_SIZE(<cnp.ndarray>work) < need:
        raise ValueError(f"{op}: `work` needs {need} floats, received {work.size}")
    if not cnp.PyArray_ISWRITEABLE(<cnp.ndarray>work):
        raise ValueError(f"{op}: `work` is read-only")
    for o in others:
        if o is not None and _bounds_overlap(work, o):
            raise ValueError(f"{op}: `work` must not overlap an input or output")
    return work


cdef inline float *fp(a):
    return <float *>cnp.PyArray_DATA(a)


cdef inline float *fp_or_null(a):
    return NULL if a is None else <float *>cnp.PyArray_DATA(a)


cdef inline int32_t *ip(a):
    return <int32_t *>cnp.PyArray_DATA(a)


# ---- configuration ----------------------------------------------------------------

# Whether any kernel was called (its arguments checked) in this process: libgomp cannot
# run a parallel region in a child forked after the parent ran one (it waits forever on
# its pool threads, which the child does not have); see fastnn/_fork.py.
cdef bint _kernels_ran = False
cdef bint _single_threaded_child = False


def kernels_ran():
    return _kernels_ran


def fork_child_single_threaded():
    """Called in a forked child (os.register_at_fork) of a parent that ran kernels:
    from now on the kernels run on one thread, whatever is asked."""
    global _single_threaded_child
    _single_threaded_child = True
    fnn_set_num_threads(1)


def is_single_threaded_child():
    return _single_threaded_child


def has_openmp():
    return bool(fnn_has_openmp())


def max_threads():
    """The most threads set_num_threads accepts: max(1024, processors).  Far more threads
    than that only exhaust the process's memory maps (libgomp crashed at 100000)."""
    return fnn_max_threads()


def set_num_threads(n):
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"set_num_threads: the thread count must be an int, received {n!r}")
    if n < 1 or n > fnn_max_threads():
        raise ValueError(f"set_num_threads: the thread count must be between 1 and "
                         f"{fnn_max_threads()}, received {n}")
    if _single_threaded_child and n > 1:
        import warnings
        warnings.warn(f"set_num_threads({n}) ignored: this process was forked after fastnn "
                      f"ran multi-threaded kernels, and libgomp (GNU OpenMP) hangs on threads "
                      f"in such a child; fastnn stays at 1 thread here. Start processes with "
                      f"multiprocessing's 'spawn' or 'forkserver' method to use threads.",
                      RuntimeWarning, stacklevel=2)
        n = 1
    fnn_set_num_threads(n)


def get_num_threads():
    return fnn_get_num_threads()


def max_hardware_threads():
    return fnn_max_hardware_threads()


def gemm_isa():
    return fnn_gemm_isa().decode()


def gemm_isa_list():
    return fnn_gemm_isa_list().decode().split()


def gemm_blocking():
    """The chosen micro-kernel's {"mr", "nr", "mc", "kc", "nc"}."""
    cdef int mr, nr
    cdef int64_t mc, kc, nc
    fnn_gemm_blocking(&mr, &nr, &mc, &kc, &nc)
    return {"mr": mr, "nr": nr, "mc": mc, "kc": kc, "nc": nc}


def gemm_peak_flops(int64_t iters, int nthreads):
    """Flops done by register-resident FMA chains (time the call to get the peak rate)."""
    if iters < 1 or nthreads < 1:
        raise ValueError("gemm_peak_flops: iters and nthreads must be >= 1")
    cdef double flops
    if nthreads > fnn_max_threads():
        raise ValueError(f"gemm_peak_flops: at most {fnn_max_threads()} threads")
    old = fnn_get_num_threads()
    fnn_set_num_threads(nthreads)  # check that the threads can start, as for a kernel
    try:
        _threads_ready("gemm_peak_flops")
    finally:
        fnn_set_num_threads(old)
    with nogil:
        flops = fnn_gemm_peak_flops(iters, nthreads)
    fnn_threads_forget()  # the pool now has nthreads threads
    return flops


def select_isa(str name):
    if fnn_gemm_select_isa(name.encode()) != 0:
        raise ValueError(f"FASTNN_ISA={name!r} is not available on this CPU; "
                         f"choose one of {gemm_isa_list()}")


# ---- GEMM -------------------------------------------------------------------------

cdef int64_t _row_stride(str op, str name, a) except -1:
    """Leading dimension (in floats) of a 2-D float32 array whose rows are contiguous.
    (NumPy's C API throughout: sgemm's checks cost well under a microsecond.)"""
    if (not cnp.PyArray_Check(a) or cnp.PyArray_TYPE(<cnp.ndarray>a) != cnp.NPY_FLOAT32
            or not cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>a) or cnp.PyArray_NDIM(<cnp.ndarray>a) != 2):
        raise TypeError(f"{op}: `{name}` must be a 2-D float32 numpy array (native byte order)")
    cdef cnp.ndarray x = <cnp.ndarray>a
    if not cnp.PyArray_ISALIGNED(x):
        raise ValueError(f"{op}: `{name}` must be aligned to its 4-byte items")
    global _kernels_ran
    _kernels_ran = True
    cdef int64_t rows = cnp.PyArray_DIM(x, 0), cols = cnp.PyArray_DIM(x, 1)
    cdef int64_t s0 = cnp.PyArray_STRIDE(x, 0)
    if rows == 0 or cols == 0:
        return max(cols, 1)
    if cols > 1 and cnp.PyArray_STRIDE(x, 1) != 4:
        raise ValueError(f"{op}: the rows of `{name}` must be contiguous (strides {a.strides})")
    if rows == 1:  # one row: the row stride is never used
        return cols
    # a column (n, 1) sliced from a wider array has a row stride > 1 too
    if s0 % 4 or s0 // 4 < max(cols, 1):
        raise ValueError(f"{op}: `{name}` has an unsupported row stride (strides {a.strides})")
    return s0 // 4


cdef bint _rows_overlap(cnp.ndarray a, int64_t lda, cnp.ndarray b, int64_t ldb):
    """Whether the memory spans of two row-strided 2-D float32 arrays intersect (the
    bounds test np.may_share_memory makes by default)."""
    if cnp.PyArray_SIZE(a) == 0 or cnp.PyArray_SIZE(b) == 0:
        return False
    cdef const char *a0 = <const char *>cnp.PyArray_DATA(a)
    cdef const char *b0 = <const char *>cnp.PyArray_DATA(b)
    cdef const char *a1 = a0 + 4 * ((cnp.PyArray_DIM(a, 0) - 1) * lda + cnp.PyArray_DIM(a, 1))
    cdef const char *b1 = b0 + 4 * ((cnp.PyArray_DIM(b, 0) - 1) * ldb + cnp.PyArray_DIM(b, 1))
    return a0 < b1 and b0 < a1


def sgemm_workspace_size(int64_t M, int64_t N, int64_t K):
    return fnn_sgemm_workspace_size(M, N, K)


def sgemm(a, b, c=None, float alpha=1.0, float beta=0.0, bint trans_a=False,
          bint trans_b=False, work=None):
    """c = alpha * op(a) @ op(b) + beta * c; rows of a, b, c contiguous, any row stride."""
    op = "sgemm"
    cdef int64_t lda = _row_stride(op, "a", a), ldb = _row_stride(op, "b", b), ldc
    cdef cnp.ndarray xa = <cnp.ndarray>a, xb = <cnp.ndarray>b
    cdef int64_t M = cnp.PyArray_DIM(xa, 1 if trans_a else 0)
    cdef int64_t K = cnp.PyArray_DIM(xa, 0 if trans_a else 1)
    cdef int64_t Kb = cnp.PyArray_DIM(xb, 1 if trans_b else 0)
    cdef int64_t N = cnp.PyArray_DIM(xb, 0 if trans_b else 1)
    if K != Kb:
        raise ValueError(f"{op}: inner dimensions differ: op(a) is {(M, K)}, op(b) is {(Kb, N)} "
                         f"(a {a.shape}, b {b.shape}, trans_a={trans_a}, trans_b={trans_b})")
    if c is None:
        if beta != 0.0:
            raise ValueError(f"{op}: beta={beta} needs an existing `c`")
        c = np.empty((M, N), dtype=np.float32)
    ldc = _row_stride(op, "c", c)
    if cnp.PyArray_DIM(<cnp.ndarray>c, 0) != M or cnp.PyArray_DIM(<cnp.ndarray>c, 1) != N:
        raise ValueError(f"{op}: `c` must have shape {(M, N)}, received {c.shape}")
    if not cnp.PyArray_ISWRITEABLE(<cnp.ndarray>c):
        raise ValueError(f"{op}: `c` is read-only")
    if _rows_overlap(c, ldc, a, lda) or _rows_overlap(c, ldc, b, ldb):
        raise ValueError(f"{op}: `c` must not overlap `a` or `b`")
    cdef size_t need = fnn_sgemm_workspace_size(M, N, K)
    work = _workspace(op, work, need, (a, b, c))
    cdef size_t wsize = cnp.PyArray_SIZE(<cnp.ndarray>work)
    cdef float *C = fp(c)
    cdef const float *A = fp(a)
    cdef const float *B = fp(b)
    cdef float *Wk = fp(work)
    with nogil:
        fnn_sgemm(C, A, B, M, N, K, lda, ldb, ldc, trans_a, trans_b, alpha, beta, Wk, wsize)
    return c


# ---- Dense ------------------------------------------------------------------------

cdef tuple _dense_dims(str op, x, w, b):
    f32(op, "x", x, 2)
    f32(op, "kernel", w, 2)
    _nonempty(op, "x", x)
    if x.shape[1] != w.shape[0]:
        raise ValueError(f"{op}: x {x.shape} does not match kernel {w.shape}: "
                         f"expected x.shape[1] == kernel.shape[0]")
    if b is not None:
        f32(op, "bias", b, 1)
        if b.shape[0] != w.shape[1]:
            raise ValueError(f"{op}: bias {b.shape} does not match kernel {w.shape}")
    return x.shape[0], w.shape[0], w.shape[1]


def dense_workspace_size(int64_t N, int64_t K, int64_t U):
    return fnn_dense_workspace_size(N, K, U)


def dense_forward(x, kernel, bias=None, out=None, work=None, bint relu=False):
    """y = x @ kernel + bias (then max(y, 0) if relu);  x (N, K), kernel (K, U) -> y (N, U)."""
    op = "dense_forward"
    cdef int64_t N, K, U
    N, K, U = _dense_dims(op, x, kernel, bias)
    y = _output(op, "out", out, (N, U), F32, (x, kernel, bias))
    work = _workspace(op, work, fnn_dense_workspace_size(N, K, U), (x, kernel, bias, y))
    cdef float *Y = fp(y)
    cdef float *X = fp(x)
    cdef float *Wt = fp(kernel)
    cdef float *B = fp_or_null(bias)
    cdef float *Wk = fp(work)
    cdef size_t ws = work.size
    with nogil:
        fnn_dense_forward(Y, X, Wt, B, N, K, U, relu, Wk, ws)
    return y


def dense_backward_input(dy, kernel, out=None, work=None):
    """dx = dy @ kernel.T;  dy (N, U), kernel (K, U) -> dx (N, K)."""
    op = "dense_backward_input"
    f32(op, "dy", dy, 2)
    f32(op, "kernel", kernel, 2)
    _nonempty(op, "dy", dy)
    if dy.shape[1] != kernel.shape[1]:
        raise ValueError(f"{op}: dy {dy.shape} does not match kernel {kernel.shape}: "
                         f"expected dy.shape[1] == kernel.shape[1]")
    cdef int64_t N = dy.shape[0], K = kernel.shape[0], U = kernel.shape[1]
    dx = _output(op, "out", out, (N, K), F32, (dy, kernel))
    work = _workspace(op, work, fnn_dense_workspace_size(N, K, U), (dy, kernel, dx))
    cdef float *DX = fp(dx)
    cdef float *DY = fp(dy)
    cdef float *Wt = fp(kernel)
    cdef float *Wk = fp(work)
    cdef size_t ws = work.size
    with nogil:
        fnn_dense_backward_input(DX, DY, Wt, N, K, U, Wk, ws)
    return dx


def dense_backward_weight(dy, x, bint use_bias=True, out_kernel=None, out_bias=None, work=None):
    """(dkernel, dbias) = (x.T @ dy, dy.sum(0));  dbias is None when use_bias is False."""
    op = "dense_backward_weight"
    f32(op, "dy", dy, 2)
    f32(op, "x", x, 2)
    _nonempty(op, "dy", dy)
    if dy.shape[0] != x.shape[0]:
        raise ValueError(f"{op}: dy {dy.shape} and x {x.shape} have different batch sizes")
    cdef int64_t N = x.shape[0], K = x.shape[1], U = dy.shape[1]
    dw = _output(op, "out_kernel", out_kernel, (K, U), F32, (dy, x))
    db = _output(op, "out_bias", out_bias, (U,), F32, (dy, x, dw)) if use_bias else None
    work = _workspace(op, work, fnn_dense_workspace_size(N, K, U), (dy, x, dw, db))
    cdef float *DW = fp(dw)
    cdef float *DB = fp_or_null(db)
    cdef float *DY = fp(dy)
    cdef float *X = fp(x)
    cdef float *Wk = fp(work)
    cdef size_t ws = work.size
    with nogil:
        fnn_dense_backward_weight(DW, DB, DY, X, N, K, U, Wk, ws)
    return dw, db


# The other op families, one file each (Cython includes: still one module).
include "_C_windows.pxi"
include "_C_pointwise.pxi"
include "_C_optimizers.pxi"
include "_C_sequence.pxi"
include "_C_normalization.pxi"
include "_C_activations.pxi"
include "_C_image.pxi"
include "_C_conv_grouped.pxi"
include "_C_optim_extra.pxi"
include "_C_norm.pxi"
include "_C_isa.pxi"
include "_C_dense_chain.pxi"
