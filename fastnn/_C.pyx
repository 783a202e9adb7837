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
from libc.stdint cimport int64_t, int32_t, uint64_t

from fastnn._shapes import normalize_pair, normalize_padding, window_geometry

cnp.import_array()


# ---- argument checks --------------------------------------------------------------

cdef enum:
    F32 = cnp.NPY_FLOAT32
    I32 = cnp.NPY_INT32


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
    return a


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


cdef _output(str op, str name, out, tuple shape, int typenum=F32, tuple inputs=()):
    """Return `out` checked (shape, dtype, contiguous, writeable, no overlap), or a new array."""
    if out is None:
        return np.empty(shape, dtype=np.float32 if typenum == F32 else np.int32)
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


cdef _workspace(str op, work, size_t need):
    if work is None or need == 0:
        return np.empty(max(<Py_ssize_t>need, 1), dtype=np.float32)
    f32(op, "work", work, 1)
    if <size_t>cnp.PyArray_SIZE(<cnp.ndarray>work) < need:
        raise ValueError(f"{op}: `work` needs {need} floats, received {work.size}")
    return work


cdef inline float *fp(a):
    return <float *>cnp.PyArray_DATA(a)


cdef inline float *fp_or_null(a):
    return NULL if a is None else <float *>cnp.PyArray_DATA(a)


cdef inline int32_t *ip(a):
    return <int32_t *>cnp.PyArray_DATA(a)


# ---- configuration ----------------------------------------------------------------

def has_openmp():
    return bool(fnn_has_openmp())


def set_num_threads(int n):
    if n < 1:
        raise ValueError(f"set_num_threads: the thread count must be >= 1, received {n}")
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
    with nogil:
        flops = fnn_gemm_peak_flops(iters, nthreads)
    return flops


def select_isa(str name):
    if fnn_gemm_select_isa(name.encode()) != 0:
        raise ValueError(f"FASTNN_ISA={name!r} is not available on this CPU; "
                         f"choose one of {gemm_isa_list()}")


# ---- GEMM -------------------------------------------------------------------------

cdef int64_t _row_stride(str op, str name, a) except -1:
    """Leading dimension (in floats) of a 2-D float32 array whose rows are contiguous."""
    if not isinstance(a, np.ndarray) or a.dtype != np.float32 or a.ndim != 2:
        raise TypeError(f"{op}: `{name}` must be a 2-D float32 numpy array")
    if a.size == 0 or a.shape[1] == 1:  # empty or one column: any stride will do
        return max(a.shape[1], 1)
    if a.shape[1] > 1 and a.strides[1] != 4:
        raise ValueError(f"{op}: the rows of `{name}` must be contiguous (strides {a.strides})")
    if a.strides[0] % 4 or a.strides[0] < 0 or (a.shape[0] > 1 and a.strides[0] // 4 < a.shape[1]):
        raise ValueError(f"{op}: `{name}` has an unsupported row stride (strides {a.strides})")
    return max(a.strides[0] // 4, a.shape[1], 1)


def sgemm_workspace_size(int64_t M, int64_t N, int64_t K):
    return fnn_sgemm_workspace_size(M, N, K)


def sgemm(a, b, c=None, float alpha=1.0, float beta=0.0, bint trans_a=False,
          bint trans_b=False, work=None):
    """c = alpha * op(a) @ op(b) + beta * c; rows of a, b, c contiguous, any row stride."""
    op = "sgemm"
    cdef int64_t lda = _row_stride(op, "a", a), ldb = _row_stride(op, "b", b), ldc
    cdef int64_t M = a.shape[1] if trans_a else a.shape[0]
    cdef int64_t K = a.shape[0] if trans_a else a.shape[1]
    cdef int64_t Kb = b.shape[1] if trans_b else b.shape[0]
    cdef int64_t N = b.shape[0] if trans_b else b.shape[1]
    if K != Kb:
        raise ValueError(f"{op}: inner dimensions differ: op(a) is {(M, K)}, op(b) is {(Kb, N)} "
                         f"(a {a.shape}, b {b.shape}, trans_a={trans_a}, trans_b={trans_b})")
    if c is None:
        if beta != 0.0:
            raise ValueError(f"{op}: beta={beta} needs an existing `c`")
        c = np.empty((M, N), dtype=np.float32)
    ldc = _row_stride(op, "c", c)
    if c.shape != (M, N):
        raise ValueError(f"{op}: `c` must have shape {(M, N)}, received {c.shape}")
    if not c.flags.writeable:
        raise ValueError(f"{op}: `c` is read-only")
    if np.may_share_memory(c, a) or np.may_share_memory(c, b):
        raise ValueError(f"{op}: `c` must not overlap `a` or `b`")
    cdef size_t need = fnn_sgemm_workspace_size(M, N, K)
    work = _workspace(op, work, need)
    cdef size_t wsize = work.size
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
    work = _workspace(op, work, fnn_dense_workspace_size(N, K, U))
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
    work = _workspace(op, work, fnn_dense_workspace_size(N, K, U))
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
    work = _workspace(op, work, fnn_dense_workspace_size(N, K, U))
    cdef float *DW = fp(dw)
    cdef float *DB = fp_or_null(db)
    cdef float *DY = fp(dy)
    cdef float *X = fp(x)
    cdef float *Wk = fp(work)
    cdef size_t ws = work.size
    with nogil:
        fnn_dense_backward_weight(DW, DB, DY, X, N, K, U, Wk, ws)
    return dw, db


# ---- Conv2D -----------------------------------------------------------------------

cdef fnn_conv2d_shape _conv_shape(str op, tuple x_shape, tuple w_shape, strides, padding) except *:
    cdef fnn_conv2d_shape s
    if len(x_shape) != 4:
        raise ValueError(f"{op}: input must have 4 dimensions (N, H, W, C), received shape {x_shape}")
    if len(w_shape) != 4:
        raise ValueError(f"{op}: kernel must have 4 dimensions (KH, KW, C, F), received shape {w_shape}")
    if x_shape[3] != w_shape[2]:
        raise ValueError(f"{op}: input {x_shape} has {x_shape[3]} channels but kernel "
                         f"{w_shape} expects {w_shape[2]}")
    if min(x_shape) < 1 or min(w_shape) < 1:
        raise ValueError(f"{op}: empty input {x_shape} or kernel {w_shape}")
    sh, sw = normalize_pair(strides, "strides", op)
    pad = normalize_padding(padding, op)
    oh, ow, pt, pl = window_geometry(x_shape[1], x_shape[2], w_shape[:2], (sh, sw), pad, op)
    s.N, s.H, s.W, s.C = x_shape
    s.KH, s.KW, s.F = w_shape[0], w_shape[1], w_shape[3]
    s.SH, s.SW, s.PT, s.PL, s.OH, s.OW = sh, sw, pt, pl, oh, ow
    return s


def conv2d_output_shape(input_shape, kernel_shape, strides=(1, 1), padding="valid"):
    cdef fnn_conv2d_shape s = _conv_shape("conv2d", tuple(input_shape), tuple(kernel_shape),
                                          strides, padding)
    return (s.N, s.OH, s.OW, s.F)


def conv2d_workspace_size(input_shape, kernel_shape, strides=(1, 1), padding="valid"):
    cdef fnn_conv2d_shape s = _conv_shape("conv2d", tuple(input_shape), tuple(kernel_shape),
                                          strides, padding)
    return fnn_conv2d_workspace_size(&s)


def conv2d_forward(x, kernel, bias=None, strides=(1, 1), padding="valid", out=None, work=None,
                   bint relu=False):
    """y = conv(x, kernel) + bias (then max(y, 0) if relu);  x (N,H,W,C), kernel
    (KH,KW,C,F) -> y (N,OH,OW,F)."""
    op = "conv2d_forward"
    f32(op, "x", x, 4)
    f32(op, "kernel", kernel, 4)
    cdef fnn_conv2d_shape s = _conv_shape(op, x.shape, kernel.shape, strides, padding)
    if bias is not None:
        f32(op, "bias", bias, 1)
        if bias.shape[0] != s.F:
            raise ValueError(f"{op}: bias {bias.shape} does not match kernel {kernel.shape}")
    y = _output(op, "out", out, (s.N, s.OH, s.OW, s.F), F32, (x, kernel, bias))
    work = _workspace(op, work, fnn_conv2d_workspace_size(&s))
    cdef float *Y = fp(y)
    cdef float *X = fp(x)
    cdef float *Wt = fp(kernel)
    cdef float *B = fp_or_null(bias)
    cdef float *Wk = fp(work)
    cdef size_t ws = work.size
    with nogil:
        fnn_conv2d_forward(Y, X, Wt, B, &s, relu, Wk, ws)
    return y


def conv2d_backward_input(dy, kernel, input_shape, strides=(1, 1), padding="valid",
                          out=None, work=None):
    """dx (input_shape) = adjoint of conv2d_forward (without bias) applied to dy."""
    op = "conv2d_backward_input"
    f32(op, "dy", dy, 4)
    f32(op, "kernel", kernel, 4)
    cdef fnn_conv2d_shape s = _conv_shape(op, tuple(input_shape), kernel.shape, strides, padding)
    if dy.shape != (s.N, s.OH, s.OW, s.F):
        raise ValueError(f"{op}: dy must have shape {(s.N, s.OH, s.OW, s.F)} for input "
                         f"{tuple(input_shape)} and kernel {kernel.shape}, received {dy.shape}")
    dx = _output(op, "out", out, (s.N, s.H, s.W, s.C), F32, (dy, kernel))
    work = _workspace(op, work, fnn_conv2d_workspace_size(&s))
    cdef float *DX = fp(dx)
    cdef float *DY = fp(dy)
    cdef float *Wt = fp(kernel)
    cdef float *Wk = fp(work)
    cdef size_t ws = work.size
    with nogil:
        fnn_conv2d_backward_input(DX, DY, Wt, &s, Wk, ws)
    return dx


def conv2d_backward_weight(dy, x, kernel_size, strides=(1, 1), padding="valid",
                           bint use_bias=True, out_kernel=None, out_bias=None, work=None):
    """(dkernel (KH,KW,C,F), dbias (F,) or None) for dy (N,OH,OW,F) and x (N,H,W,C)."""
    op = "conv2d_backward_weight"
    f32(op, "dy", dy, 4)
    f32(op, "x", x, 4)
    kh, kw = normalize_pair(kernel_size, "kernel_size", op)
    cdef fnn_conv2d_shape s = _conv_shape(op, x.shape, (kh, kw, x.shape[3], dy.shape[3]),
                                          strides, padding)
    if dy.shape != (s.N, s.OH, s.OW, s.F):
        raise ValueError(f"{op}: dy must have shape {(s.N, s.OH, s.OW, s.F)} for x {x.shape}, "
                         f"received {dy.shape}")
    dw = _output(op, "out_kernel", out_kernel, (s.KH, s.KW, s.C, s.F), F32, (dy, x))
    db = _output(op, "out_bias", out_bias, (s.F,), F32, (dy, x, dw)) if use_bias else None
    work = _workspace(op, work, fnn_conv2d_workspace_size(&s))
    cdef float *DW = fp(dw)
    cdef float *DB = fp_or_null(db)
    cdef float *DY = fp(dy)
    cdef float *X = fp(x)
    cdef float *Wk = fp(work)
    cdef size_t ws = work.size
    with nogil:
        fnn_conv2d_backward_weight(DW, DB, DY, X, &s, Wk, ws)
    return dw, db


# ---- MaxPooling2D -----------------------------------------------------------------

cdef fnn_pool2d_shape _pool_shape(str op, tuple x_shape, pool_size, strides, padding) except *:
    cdef fnn_pool2d_shape s
    if len(x_shape) != 4:
        raise ValueError(f"{op}: input must have 4 dimensions (N, H, W, C), received shape {x_shape}")
    if min(x_shape) < 1:
        raise ValueError(f"{op}: input is empty (shape {x_shape})")
    if x_shape[1] * x_shape[2] >= 2 ** 31:
        raise ValueError(f"{op}: images of {x_shape[1]}x{x_shape[2]} pixels are too large")
    kh, kw = normalize_pair(pool_size, "pool_size", op)
    sh, sw = normalize_pair(strides if strides is not None else (kh, kw), "strides", op)
    pad = normalize_padding(padding, op)
    oh, ow, pt, pl = window_geometry(x_shape[1], x_shape[2], (kh, kw), (sh, sw), pad, op)
    s.N, s.H, s.W, s.C = x_shape
    s.KH, s.KW, s.SH, s.SW, s.PT, s.PL, s.OH, s.OW = kh, kw, sh, sw, pt, pl, oh, ow
    return s


def maxpool2d_forward(x, pool_size=(2, 2), strides=None, padding="valid", out=None,
                      out_argmax=None):
    """(y (N,OH,OW,C), argmax int32 (N,OH,OW,C) holding ih*W + iw of each winner)."""
    op = "maxpool2d_forward"
    f32(op, "x", x, 4)
    cdef fnn_pool2d_shape s = _pool_shape(op, x.shape, pool_size, strides, padding)
    shape = (s.N, s.OH, s.OW, s.C)
    y = _output(op, "out", out, shape, F32, (x,))
    am = _output(op, "out_argmax", out_argmax, shape, I32, (x, y))
    cdef float *Y = fp(y)
    cdef int32_t *A = ip(am)
    cdef float *X = fp(x)
    with nogil:
        fnn_maxpool2d_forward(Y, A, X, &s)
    return y, am


def maxpool2d_backward(dy, argmax, input_shape, pool_size=(2, 2), strides=None,
                       padding="valid", out=None):
    """dx (input_shape): dy scattered to the argmax positions (summed where they repeat)."""
    op = "maxpool2d_backward"
    f32(op, "dy", dy, 4)
    _array(op, "argmax", argmax, I32, 4)
    cdef fnn_pool2d_shape s = _pool_shape(op, tuple(input_shape), pool_size, strides, padding)
    shape = (s.N, s.OH, s.OW, s.C)
    if dy.shape != shape or argmax.shape != shape:
        raise ValueError(f"{op}: dy {dy.shape} and argmax {argmax.shape} must both have shape "
                         f"{shape} for input {tuple(input_shape)}")
    amin, amax = (argmax.min(), argmax.max())
    if amin < 0 or amax >= s.H * s.W:
        raise ValueError(f"{op}: argmax holds positions outside the {s.H}x{s.W} image "
                         f"(range [{amin}, {amax}])")
    dx = _output(op, "out", out, (s.N, s.H, s.W, s.C), F32, (dy, argmax))
    cdef float *DX = fp(dx)
    cdef float *DY = fp(dy)
    cdef int32_t *A = ip(argmax)
    with nogil:
        fnn_maxpool2d_backward(DX, DY, A, &s)
    return dx


# ---- activations ------------------------------------------------------------------

ctypedef void (*unary_fn)(float *, const float *, int64_t) noexcept nogil
ctypedef void (*unary_bwd_fn)(float *, const float *, const float *, int64_t) noexcept nogil


cdef _unary(str op, unary_fn fn, x, out):
    f32(op, "x", x)
    _nonempty(op, "x", x)
    y = _output(op, "out", out, x.shape)  # y may be x: elementwise in place is fine
    cdef float *Y = fp(y)
    cdef float *X = fp(x)
    cdef int64_t n = x.size
    with nogil:
        fn(Y, X, n)
    return y


cdef _unary_backward(str op, unary_bwd_fn fn, dy, y, out):
    f32(op, "dy", dy)
    f32(op, "y", y)
    _nonempty(op, "dy", dy)
    _same_shape(op, "dy", dy, "y", y)
    dx = _output(op, "out", out, dy.shape)  # may be dy (in place)
    cdef float *DX = fp(dx)
    cdef float *DY = fp(dy)
    cdef float *Y = fp(y)
    cdef int64_t n = dy.size
    with nogil:
        fn(DX, DY, Y, n)
    return dx


def relu_forward(x, out=None):
    return _unary("relu_forward", fnn_relu_forward, x, out)

def relu_backward(dy, y, out=None):
    return _unary_backward("relu_backward", fnn_relu_backward, dy, y, out)

def sigmoid_forward(x, out=None):
    return _unary("sigmoid_forward", fnn_sigmoid_forward, x, out)

def sigmoid_backward(dy, y, out=None):
    return _unary_backward("sigmoid_backward", fnn_sigmoid_backward, dy, y, out)

def tanh_forward(x, out=None):
    return _unary("tanh_forward", fnn_tanh_forward, x, out)

def tanh_backward(dy, y, out=None):
    return _unary_backward("tanh_backward", fnn_tanh_backward, dy, y, out)


def softmax_forward(x, out=None):
    """Softmax over the last axis."""
    op = "softmax_forward"
    f32(op, "x", x)
    _has_axis(op, "x", x)
    _nonempty(op, "x", x)
    y = _output(op, "out", out, x.shape)  # y may be x: each row is read before it is written
    cdef float *Y = fp(y)
    cdef float *X = fp(x)
    cdef int64_t K = x.shape[x.ndim - 1], N = x.size // K
    with nogil:
        fnn_softmax_forward(Y, X, N, K)
    return y


def softmax_backward(dy, y, out=None):
    op = "softmax_backward"
    f32(op, "dy", dy)
    _has_axis(op, "dy", dy)
    f32(op, "y", y)
    _nonempty(op, "dy", dy)
    _same_shape(op, "dy", dy, "y", y)
    dx = _output(op, "out", out, dy.shape, F32, (y,))  # dx may be dy
    cdef float *DX = fp(dx)
    cdef float *DY = fp(dy)
    cdef float *Y = fp(y)
    cdef int64_t K = dy.shape[dy.ndim - 1], N = dy.size // K
    with nogil:
        fnn_softmax_backward(DX, DY, Y, N, K)
    return dx


# ---- dropout ----------------------------------------------------------------------

cdef _dropout_args(str op, rate, seed):
    try:
        rate, seed = float(rate), int(seed)
    except (TypeError, ValueError):
        raise ValueError(f"{op}: `rate` must be a float and `seed` an int, "
                         f"received rate={rate!r}, seed={seed!r}") from None
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"{op}: `rate` must be in [0, 1], received rate={rate}")
    if not 0 <= seed < 2 ** 64:
        raise ValueError(f"{op}: `seed` must be in [0, 2**64), received seed={seed}")
    return rate, seed


def dropout_bits(seed, index):
    """The 24 random bits element `index` draws for `seed` (for tests and the twin)."""
    return fnn_dropout_bits(<uint64_t>seed, <uint64_t>index)


def dropout_forward(x, rate, seed, out=None):
    """Inverted dropout: y = x / (1 - rate) where kept, 0 where dropped."""
    op = "dropout_forward"
    f32(op, "x", x)
    _nonempty(op, "x", x)
    cdef float r
    cdef uint64_t sd
    r, sd = _dropout_args(op, rate, seed)
    y = _output(op, "out", out, x.shape)
    cdef float *Y = fp(y)
    cdef float *X = fp(x)
    cdef int64_t n = x.size
    with nogil:
        fnn_dropout_forward(Y, X, n, r, sd)
    return y


def dropout_backward(dy, rate, seed, out=None):
    op = "dropout_backward"
    f32(op, "dy", dy)
    _nonempty(op, "dy", dy)
    cdef float r
    cdef uint64_t sd
    r, sd = _dropout_args(op, rate, seed)
    dx = _output(op, "out", out, dy.shape)
    cdef float *DX = fp(dx)
    cdef float *DY = fp(dy)
    cdef int64_t n = dy.size
    with nogil:
        fnn_dropout_backward(DX, DY, n, r, sd)
    return dx


# ---- fused softmax + cross-entropy ------------------------------------------------

cdef tuple _logits(str op, z):
    f32(op, "logits", z, 2)
    _nonempty(op, "logits", z)
    return z.shape[0], z.shape[1]


def softmax_cross_entropy_forward(logits, targets, out_probs=None, out_loss=None):
    """(probs (N,K), loss (N,)) with loss_i = -sum_k t_ik log softmax(z)_ik."""
    op = "softmax_cross_entropy_forward"
    cdef int64_t N, K
    N, K = _logits(op, logits)
    f32(op, "targets", targets, 2)
    _same_shape(op, "logits", logits, "targets", targets)
    p = _output(op, "out_probs", out_probs, (N, K), F32, (logits, targets))
    loss = _output(op, "out_loss", out_loss, (N,), F32, (logits, targets, p))
    cdef float *P = fp(p)
    cdef float *L = fp(loss)
    cdef float *Z = fp(logits)
    cdef float *T = fp(targets)
    with nogil:
        fnn_softmax_cross_entropy_forward(P, L, Z, T, N, K)
    return p, loss


def softmax_cross_entropy_backward(probs, targets, scale=None, out=None):
    """dlogits = scale * (probs * sum(targets) - targets); scale defaults to 1/N."""
    op = "softmax_cross_entropy_backward"
    cdef int64_t N, K
    N, K = _logits(op, probs)
    f32(op, "targets", targets, 2)
    _same_shape(op, "probs", probs, "targets", targets)
    cdef float sc = 1.0 / N if scale is None else scale
    dz = _output(op, "out", out, (N, K), F32, (probs, targets))
    cdef float *DZ = fp(dz)
    cdef float *P = fp(probs)
    cdef float *T = fp(targets)
    with nogil:
        fnn_softmax_cross_entropy_backward(DZ, P, T, N, K, sc)
    return dz


cdef _labels(str op, labels, int64_t N, int64_t K):
    _array(op, "labels", labels, I32, 1)
    if labels.shape[0] != N:
        raise ValueError(f"{op}: {labels.shape[0]} labels for a batch of {N}")
    lo, hi = labels.min(), labels.max()
    if lo < 0 or hi >= K:
        raise ValueError(f"{op}: labels must be in [0, {K}) for {K} classes, "
                         f"received values in [{lo}, {hi}]")


def sparse_softmax_cross_entropy_forward(logits, labels, out_probs=None, out_loss=None):
    """(probs (N,K), loss (N,)) with loss_i = -log softmax(z)_i[label_i]."""
    op = "sparse_softmax_cross_entropy_forward"
    cdef int64_t N, K
    N, K = _logits(op, logits)
    _labels(op, labels, N, K)
    p = _output(op, "out_probs", out_probs, (N, K), F32, (logits,))
    loss = _output(op, "out_loss", out_loss, (N,), F32, (logits, p))
    cdef float *P = fp(p)
    cdef float *L = fp(loss)
    cdef float *Z = fp(logits)
    cdef int32_t *Lb = ip(labels)
    with nogil:
        fnn_sparse_softmax_cross_entropy_forward(P, L, Z, Lb, N, K)
    return p, loss


def sparse_softmax_cross_entropy_backward(probs, labels, scale=None, out=None):
    op = "sparse_softmax_cross_entropy_backward"
    cdef int64_t N, K
    N, K = _logits(op, probs)
    _labels(op, labels, N, K)
    cdef float sc = 1.0 / N if scale is None else scale
    dz = _output(op, "out", out, (N, K), F32, (probs,))
    cdef float *DZ = fp(dz)
    cdef float *P = fp(probs)
    cdef int32_t *Lb = ip(labels)
    with nogil:
        fnn_sparse_softmax_cross_entropy_backward(DZ, P, Lb, N, K, sc)
    return dz


# ---- optimizer updates (in place) -------------------------------------------------

cdef _slots(str op, w, g, slots):
    f32(op, "param", w)
    f32(op, "grad", g)
    _same_shape(op, "param", w, "grad", g)
    if not w.flags.writeable:
        raise ValueError(f"{op}: `param` is read-only")
    for name, s in slots:
        f32(op, name, s)
        _same_shape(op, "param", w, name, s)
        if not s.flags.writeable:
            raise ValueError(f"{op}: `{name}` is read-only")
        if np.may_share_memory(s, w) or np.may_share_memory(s, g):
            raise ValueError(f"{op}: `{name}` must not overlap the parameter or gradient")


def adam_update(param, m, v, grad, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
                epsilon=1e-7, step=1):
    """One Keras Adam step on `param` in place (m, v updated too); `step` counts from 1."""
    op = "adam_update"
    _slots(op, param, grad, (("m", m), ("v", v)))
    if step < 1:
        raise ValueError(f"{op}: `step` counts from 1, received step={step}")
    cdef float *W = fp(param)
    cdef float *M = fp(m)
    cdef float *V = fp(v)
    cdef float *G = fp(grad)
    cdef int64_t n = param.size, t = step
    cdef float lr = learning_rate, b1 = beta_1, b2 = beta_2, eps = epsilon
    with nogil:
        fnn_adam_update(W, M, V, G, n, lr, b1, b2, eps, t)


def sgd_update(param, momentum_buf, grad, learning_rate=0.01, momentum=0.0, nesterov=False):
    """One Keras SGD step in place; momentum_buf may be None when momentum == 0."""
    op = "sgd_update"
    if momentum != 0.0 and momentum_buf is None:
        raise ValueError(f"{op}: momentum={momentum} needs a `momentum_buf`")
    _slots(op, param, grad, (("momentum_buf", momentum_buf),) if momentum != 0.0 else ())
    cdef float *W = fp(param)
    cdef float *M = fp_or_null(momentum_buf) if momentum != 0.0 else NULL
    cdef float *G = fp(grad)
    cdef int64_t n = param.size
    cdef float lr = learning_rate, mu = momentum
    cdef int nest = bool(nesterov)
    with nogil:
        fnn_sgd_update(W, M, G, n, lr, mu, nest)


def rmsprop_update(param, velocity, momentum_buf, grad, learning_rate=0.001, rho=0.9,
                   momentum=0.0, epsilon=1e-7):
    """One Keras RMSprop step in place; momentum_buf may be None when momentum == 0."""
    op = "rmsprop_update"
    if momentum != 0.0 and momentum_buf is None:
        raise ValueError(f"{op}: momentum={momentum} needs a `momentum_buf`")
    slots = [("velocity", velocity)]
    if momentum != 0.0:
        slots.append(("momentum_buf", momentum_buf))
    _slots(op, param, grad, slots)
    cdef float *W = fp(param)
    cdef float *V = fp(velocity)
    cdef float *M = fp_or_null(momentum_buf) if momentum != 0.0 else NULL
    cdef float *G = fp(grad)
    cdef int64_t n = param.size
    cdef float lr = learning_rate, r = rho, mu = momentum, eps = epsilon
    with nogil:
        fnn_rmsprop_update(W, V, M, G, n, lr, r, mu, eps)
