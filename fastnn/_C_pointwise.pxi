# Included by _C.pyx: activations, dropout, fused softmax + cross-entropy and
# optimizer updates (elementwise and row-wise ops).

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

cdef _dropout_args(str op, rate, seed, offset, n):
    try:
        rate, seed, offset = float(rate), int(seed), int(offset)
    except (TypeError, ValueError):
        raise ValueError(f"{op}: `rate` must be a float, `seed` and `offset` ints, "
                         f"received rate={rate!r}, seed={seed!r}, offset={offset!r}") from None
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"{op}: `rate` must be in [0, 1], received rate={rate}")
    if not 0 <= seed < 2 ** 64:
        raise ValueError(f"{op}: `seed` must be in [0, 2**64), received seed={seed}")
    if offset < 0 or offset + n > 2 ** 32:
        raise ValueError(f"{op}: element indices offset + i must lie in [0, 2**32), "
                         f"received offset={offset} for {n} elements")
    return rate, seed, offset


def dropout_bits(seed, index):
    """The 24 random bits element `index` draws for `seed` (for tests and the twin)."""
    return fnn_dropout_bits(<uint64_t>seed, <uint64_t>index)


def dropout_forward(x, rate, seed, out=None, offset=0):
    """Inverted dropout: y = x / (1 - rate) where kept, 0 where dropped.  Element i draws
    the mask of element `offset + i` (a data-parallel rank's offset in the global batch)."""
    op = "dropout_forward"
    f32(op, "x", x)
    _nonempty(op, "x", x)
    cdef float r
    cdef uint64_t sd
    cdef int64_t first
    r, sd, first = _dropout_args(op, rate, seed, offset, x.size)
    y = _output(op, "out", out, x.shape)
    cdef float *Y = fp(y)
    cdef float *X = fp(x)
    cdef int64_t n = x.size
    with nogil:
        fnn_dropout_forward(Y, X, n, r, sd, first)
    return y


def dropout_backward(dy, rate, seed, out=None, offset=0):
    op = "dropout_backward"
    f32(op, "dy", dy)
    _nonempty(op, "dy", dy)
    cdef float r
    cdef uint64_t sd
    cdef int64_t first
    r, sd, first = _dropout_args(op, rate, seed, offset, dy.size)
    dx = _output(op, "out", out, dy.shape)
    cdef float *DX = fp(dx)
    cdef float *DY = fp(dy)
    cdef int64_t n = dy.size
    with nogil:
        fnn_dropout_backward(DX, DY, n, r, sd, first)
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
    if _bounds_overlap(w, g):
        raise ValueError(f"{op}: `param` must not overlap `grad`")
    seen = []
    for name, s in slots:
        f32(op, name, s)
        _same_shape(op, "param", w, name, s)
        if not s.flags.writeable:
            raise ValueError(f"{op}: `{name}` is read-only")
        if _bounds_overlap(s, w) or _bounds_overlap(s, g):
            raise ValueError(f"{op}: `{name}` must not overlap the parameter or gradient")
        for other_name, other in seen:  # m is v: each step would overwrite the other
            if _bounds_overlap(s, other):
                raise ValueError(f"{op}: `{name}` must not overlap `{other_name}`")
        seen.append((name, s))


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
    cdef float lr = learning_rate, eps = epsilon
    cdef double b1 = beta_1, b2 = beta_2
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
    cdef float lr = learning_rate, mu = momentum, eps = epsilon
    cdef double r = rho
    with nogil:
        fnn_rmsprop_update(W, V, M, G, n, lr, r, mu, eps)
