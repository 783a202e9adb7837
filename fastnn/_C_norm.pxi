# Included by _C.pyx: LayerNormalization, GroupNormalization, UnitNormalization
# (csrc/norm.c).  Each normalizes over x's trailing axis (layer and unit: rows of the last
# axis; group: (N, positions, channels)); the layers move other axes there first.

cdef tuple _rows(str op, x):
    """(R, K): x seen as rows of its last axis."""
    f32(op, "x", x)
    _has_axis(op, "x", x)
    _nonempty(op, "x", x)
    K = x.shape[x.ndim - 1]
    return x.size // K, K


cdef tuple _lead(x):
    """x's shape without its last axis."""
    return tuple(x.shape[i] for i in range(x.ndim - 1))


cdef _vector_of(str op, str name, v, int64_t n, str what):
    if v is None:
        return None
    f32(op, name, v, 1)
    if v.shape[0] != n:
        raise ValueError(f"{op}: `{name}` must have shape ({n},) ({what}), received {v.shape}")
    return v


cdef _stats_like(str op, str name, v, tuple shape):
    if v is None:
        raise ValueError(f"{op}: `{name}` is required")
    f32(op, name, v)
    if v.shape != shape:
        raise ValueError(f"{op}: `{name}` must have shape {shape}, received {v.shape}")
    return v


def layernorm_forward(x, gamma=None, beta=None, float epsilon=1e-3, bint rms_scaling=False,
                      out=None, out_mean=None, out_rstd=None):
    """(y, mean, rstd): each row of x's last axis normalized, y = (x - mean) * rstd * gamma
    + beta (rms_scaling: y = x * rstd * gamma); mean, rstd have shape x.shape[:-1].
    out may be x."""
    op = "layernorm_forward"
    cdef int64_t R, K
    R, K = _rows(op, x)
    _vector_of(op, "gamma", gamma, K, "the size of x's last axis")
    _vector_of(op, "beta", beta, K, "the size of x's last axis")
    if not epsilon > 0:
        raise ValueError(f"{op}: epsilon must be > 0, received {epsilon}")
    y = _output(op, "out", out, x.shape, F32, (gamma, beta))
    mean = _output(op, "out_mean", out_mean, _lead(x), F32, (x, gamma, beta, y))
    rstd = _output(op, "out_rstd", out_rstd, _lead(x), F32, (x, gamma, beta, y, mean))
    cdef float *Y = fp(y)
    cdef float *Mn = fp(mean)
    cdef float *Rs = fp(rstd)
    cdef float *X = fp(x)
    cdef float *G = fp_or_null(gamma)
    cdef float *Bt = fp_or_null(beta)
    with nogil:
        fnn_layernorm_forward(Y, Mn, Rs, X, G, Bt, R, K, epsilon, rms_scaling)
    return y, mean, rstd


def layernorm_workspace_size(int64_t R, int64_t K):
    return fnn_layernorm_workspace_size(R, K)


def layernorm_backward(dy, x, mean, rstd, gamma=None, bint rms_scaling=False, out=None,
                       out_gamma=None, out_beta=None, work=None):
    """(dx, dgamma, dbeta) of layernorm_forward, from its saved mean and rstd.  out may
    be dy."""
    op = "layernorm_backward"
    cdef int64_t R, K
    R, K = _rows(op, x)
    f32(op, "dy", dy)
    _same_shape(op, "dy", dy, "x", x)
    _stats_like(op, "mean", mean, _lead(x))
    _stats_like(op, "rstd", rstd, _lead(x))
    _vector_of(op, "gamma", gamma, K, "the size of x's last axis")
    dx = _output(op, "out", out, x.shape, F32, (x, mean, rstd, gamma))
    dg = _output(op, "out_gamma", out_gamma, (K,), F32, (dy, x, mean, rstd, gamma, dx))
    db = _output(op, "out_beta", out_beta, (K,), F32, (dy, x, mean, rstd, gamma, dx, dg))
    work = _workspace(op, work, fnn_layernorm_workspace_size(R, K),
                      (dy, x, mean, rstd, gamma, dx, dg, db))
    cdef float *DX = fp(dx)
    cdef float *DG = fp(dg)
    cdef float *DB = fp(db)
    cdef float *DY = fp(dy)
    cdef float *X = fp(x)
    cdef float *Mn = fp(mean)
    cdef float *Rs = fp(rstd)
    cdef float *G = fp_or_null(gamma)
    cdef float *Wk = fp(work)
    cdef size_t ws = work.size
    with nogil:
        fnn_layernorm_backward(DX, DG, DB, DY, X, Mn, Rs, G, R, K, rms_scaling, Wk, ws)
    return dx, dg, db


cdef tuple _group_dims(str op, x, groups):
    """(N, S, C, G): x (N, ..., C) seen as (N, S, C) with G groups of channels."""
    f32(op, "x", x)
    if x.ndim < 2:
        raise ValueError(f"{op}: `x` must have a batch and a channel axis, received shape "
                         f"{x.shape}")
    _nonempty(op, "x", x)
    C = x.shape[x.ndim - 1]
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1 \
            or C % groups:
        raise ValueError(f"{op}: groups must be a positive divisor of the {C} channels, "
                         f"received {groups!r}")
    return x.shape[0], x.size // (x.shape[0] * C), C, int(groups)


def groupnorm_workspace_size(int64_t N, int64_t C):
    return fnn_groupnorm_workspace_size(N, C)


def groupnorm_forward(x, groups, gamma=None, beta=None, float epsilon=1e-3, out=None,
                      out_mean=None, out_rstd=None, work=None):
    """(y, mean, rstd): x (N, ..., C) normalized per sample and group of C / groups
    channels; mean, rstd (N, groups).  out may be x."""
    op = "groupnorm_forward"
    cdef int64_t N, S, C, G
    N, S, C, G = _group_dims(op, x, groups)
    _vector_of(op, "gamma", gamma, C, "the number of channels")
    _vector_of(op, "beta", beta, C, "the number of channels")
    if not epsilon > 0:
        raise ValueError(f"{op}: epsilon must be > 0, received {epsilon}")
    y = _output(op, "out", out, x.shape, F32, (gamma, beta))
    mean = _output(op, "out_mean", out_mean, (N, G), F32, (x, gamma, beta, y))
    rstd = _output(op, "out_rstd", out_rstd, (N, G), F32, (x, gamma, beta, y, mean))
    work = _workspace(op, work, fnn_groupnorm_workspace_size(N, C),
                      (x, gamma, beta, y, mean, rstd))
    cdef float *Y = fp(y)
    cdef float *Mn = fp(mean)
    cdef float *Rs = fp(rstd)
    cdef float *X = fp(x)
    cdef float *Gm = fp_or_null(gamma)
    cdef float *Bt = fp_or_null(beta)
    cdef float *Wk = fp(work)
    cdef size_t ws = work.size
    with nogil:
        fnn_groupnorm_forward(Y, Mn, Rs, X, Gm, Bt, N, S, C, G, epsilon, Wk, ws)
    return y, mean, rstd


def groupnorm_backward(dy, x, mean, rstd, groups, gamma=None, out=None, out_gamma=None,
                       out_beta=None, work=None):
    """(dx, dgamma, dbeta) of groupnorm_forward, from its saved mean and rstd.  out may
    be dy."""
    op = "groupnorm_backward"
    cdef int64_t N, S, C, G
    N, S, C, G = _group_dims(op, x, groups)
    f32(op, "dy", dy)
    _same_shape(op, "dy", dy, "x", x)
    _stats_like(op, "mean", mean, (N, G))
    _stats_like(op, "rstd", rstd, (N, G))
    _vector_of(op, "gamma", gamma, C, "the number of channels")
    dx = _output(op, "out", out, x.shape, F32, (x, mean, rstd, gamma))
    dg = _output(op, "out_gamma", out_gamma, (C,), F32, (dy, x, mean, rstd, gamma, dx))
    db = _output(op, "out_beta", out_beta, (C,), F32, (dy, x, mean, rstd, gamma, dx, dg))
    work = _workspace(op, work, fnn_groupnorm_workspace_size(N, C),
                      (dy, x, mean, rstd, gamma, dx, dg, db))
    cdef float *DX = fp(dx)
    cdef float *DG = fp(dg)
    cdef float *DB = fp(db)
    cdef float *DY = fp(dy)
    cdef float *X = fp(x)
    cdef float *Mn = fp(mean)
    cdef float *Rs = fp(rstd)
    cdef float *Gm = fp_or_null(gamma)
    cdef float *Wk = fp(work)
    cdef size_t ws = work.size
    with nogil:
        fnn_groupnorm_backward(DX, DG, DB, DY, X, Mn, Rs, Gm, N, S, C, G, Wk, ws)
    return dx, dg, db


def unitnorm_forward(x, float epsilon=1e-12, out=None):
    """Each row of x's last axis times min(1 / its L2 norm, 1 / epsilon).  out may be x."""
    op = "unitnorm_forward"
    cdef int64_t R, K
    R, K = _rows(op, x)
    if not epsilon > 0:
        raise ValueError(f"{op}: epsilon must be > 0, received {epsilon}")
    y = _output(op, "out", out, x.shape, F32, ())
    cdef float *Y = fp(y)
    cdef float *X = fp(x)
    with nogil:
        fnn_unitnorm_forward(Y, X, R, K, epsilon)
    return y


def unitnorm_backward(dy, x, float epsilon=1e-12, out=None):
    """dx of unitnorm_forward.  out may be dy."""
    op = "unitnorm_backward"
    cdef int64_t R, K
    R, K = _rows(op, x)
    f32(op, "dy", dy)
    _same_shape(op, "dy", dy, "x", x)
    if not epsilon > 0:
        raise ValueError(f"{op}: epsilon must be > 0, received {epsilon}")
    dx = _output(op, "out", out, x.shape, F32, (x,))
    cdef float *DX = fp(dx)
    cdef float *DY = fp(dy)
    cdef float *X = fp(x)
    with nogil:
        fnn_unitnorm_backward(DX, DY, X, R, K, epsilon)
    return dx
