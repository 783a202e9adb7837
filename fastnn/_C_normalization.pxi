# Included by _C.pyx: BatchNormalization (csrc/batchnorm.c).

# ---- BatchNormalization -----------------------------------------------------------

cdef tuple _bn_dims(str op, x, int axis):
    """(A, C, B, axis >= 0): x seen as (A, C, B) around its normalized axis."""
    f32(op, "x", x)
    _has_axis(op, "x", x)
    _nonempty(op, "x", x)
    cdef int nd = x.ndim
    if axis < -nd or axis >= nd:
        raise ValueError(f"{op}: axis {axis} is out of range for x of shape {x.shape}")
    if axis < 0:  # (C division: no % on negative numbers)
        axis += nd
    A = int(np.prod(x.shape[:axis], dtype=np.int64))
    B = int(np.prod(x.shape[axis + 1:], dtype=np.int64))
    return A, x.shape[axis], B, axis


cdef _bn_vector(str op, str name, v, int64_t C):
    if v is None:
        return None
    f32(op, name, v, 1)
    if v.shape[0] != C:
        raise ValueError(f"{op}: `{name}` must have shape ({C},) (the size of the normalized "
                         f"axis), received {v.shape}")
    return v


def batchnorm_workspace_size(int64_t A, int64_t C, int64_t B):
    return fnn_batchnorm_workspace_size(A, C, B)


def batchnorm_stats(x, int axis=-1, out_mean=None, out_var=None, work=None):
    """(mean, var): the biased moments of x over every axis but `axis`."""
    op = "batchnorm_stats"
    cdef int64_t A, C, B
    A, C, B, _ = _bn_dims(op, x, axis)
    mean = _output(op, "out_mean", out_mean, (C,), F32, (x,))
    var = _output(op, "out_var", out_var, (C,), F32, (x, mean))
    work = _workspace(op, work, fnn_batchnorm_workspace_size(A, C, B))
    cdef float *Mn = fp(mean)
    cdef float *V = fp(var)
    cdef float *X = fp(x)
    cdef float *Wk = fp(work)
    cdef size_t ws = work.size
    with nogil:
        fnn_batchnorm_stats(Mn, V, X, A, C, B, Wk, ws)
    return mean, var


def batchnorm_forward(x, mean, var, gamma=None, beta=None, int axis=-1, float epsilon=1e-3,
                      bint relu=False, out=None, work=None):
    """y = (x - mean) * gamma / sqrt(var + epsilon) + beta along `axis` (then max(y, 0)
    if relu); gamma / beta None mean 1 / 0.  out may be x."""
    op = "batchnorm_forward"
    cdef int64_t A, C, B
    A, C, B, _ = _bn_dims(op, x, axis)
    for name, v in (("mean", mean), ("var", var)):
        if v is None:
            raise ValueError(f"{op}: `{name}` is required")
        _bn_vector(op, name, v, C)
    _bn_vector(op, "gamma", gamma, C)
    _bn_vector(op, "beta", beta, C)
    y = _output(op, "out", out, x.shape, F32, (mean, var, gamma, beta))
    work = _workspace(op, work, fnn_batchnorm_workspace_size(A, C, B))
    cdef float *Y = fp(y)
    cdef float *X = fp(x)
    cdef float *Mn = fp(mean)
    cdef float *V = fp(var)
    cdef float *G = fp_or_null(gamma)
    cdef float *Bt = fp_or_null(beta)
    cdef float *Wk = fp(work)
    cdef size_t ws = work.size
    with nogil:
        fnn_batchnorm_forward(Y, X, Mn, V, G, Bt, A, C, B, epsilon, relu, Wk, ws)
    return y


def batchnorm_backward(dy, x, y, mean, var, gamma=None, int axis=-1, float epsilon=1e-3,
                       bint batch_stats=True, out=None, out_gamma=None, out_beta=None,
                       work=None):
    """(dx, dgamma, dbeta) of batchnorm_forward; `y` is its output when it ran with
    relu=True (else None); batch_stats: mean and var were x's own (training mode).
    out may be dy."""
    op = "batchnorm_backward"
    cdef int64_t A, C, B
    A, C, B, _ = _bn_dims(op, x, axis)
    f32(op, "dy", dy)
    _same_shape(op, "dy", dy, "x", x)
    if y is not None:
        f32(op, "y", y)
        _same_shape(op, "y", y, "x", x)
    for name, v in (("mean", mean), ("var", var)):
        if v is None:
            raise ValueError(f"{op}: `{name}` is required")
        _bn_vector(op, name, v, C)
    _bn_vector(op, "gamma", gamma, C)
    dx = _output(op, "out", out, x.shape, F32, (x, y, mean, var, gamma))
    dg = _output(op, "out_gamma", out_gamma, (C,), F32, (dy, x, y, mean, var, gamma, dx))
    db = _output(op, "out_beta", out_beta, (C,), F32, (dy, x, y, mean, var, gamma, dx, dg))
    work = _workspace(op, work, fnn_batchnorm_workspace_size(A, C, B))
    cdef float *DX = fp(dx)
    cdef float *DG = fp(dg)
    cdef float *DB = fp(db)
    cdef float *DY = fp(dy)
    cdef float *X = fp(x)
    cdef float *Yp = fp_or_null(y)
    cdef float *Mn = fp(mean)
    cdef float *V = fp(var)
    cdef float *G = fp_or_null(gamma)
    cdef float *Wk = fp(work)
    cdef size_t ws = work.size
    with nogil:
        fnn_batchnorm_backward(DX, DG, DB, DY, X, Yp, Mn, V, G, A, C, B, epsilon, batch_stats,
                               Wk, ws)
    return dx, dg, db
