# Included by _C.pyx: the activations beyond relu/sigmoid/tanh/softmax (csrc/activations.c).

# The kinds of fnn_activation_forward, in fnn.h's enum order.
ACTIVATION_KINDS = ("elu", "selu", "gelu", "gelu_tanh", "silu", "softplus", "softsign",
                    "hard_sigmoid", "hard_silu", "leaky_relu", "relu6", "exponential", "mish",
                    "relu")
assert len(ACTIVATION_KINDS) == FNN_ACT_COUNT


cdef int _act_kind(str op, kind) except -1:
    if kind not in ACTIVATION_KINDS:
        raise ValueError(f"{op}: unknown activation kind {kind!r}; expected one of "
                         f"{ACTIVATION_KINDS}")
    return ACTIVATION_KINDS.index(kind)


def activation_forward(x, kind, float p0=0.0, float p1=0.0, float p2=0.0, out=None):
    """y = f(x) for the activation `kind` (parameters p0..p2, see csrc/activations.c);
    out may be x."""
    op = "activation_forward"
    cdef int k = _act_kind(op, kind)
    f32(op, "x", x)
    _nonempty(op, "x", x)
    y = _output(op, "out", out, x.shape)
    cdef float *Y = fp(y)
    cdef float *X = fp(x)
    cdef int64_t n = x.size
    with nogil:
        fnn_activation_forward(Y, X, n, k, p0, p1, p2)
    return y


def activation_backward(dy, x, y, kind, float p0=0.0, float p1=0.0, float p2=0.0, out=None):
    """dx = dy * f'(x) given the forward input x and output y; out may be dy."""
    op = "activation_backward"
    cdef int k = _act_kind(op, kind)
    f32(op, "dy", dy)
    f32(op, "x", x)
    f32(op, "y", y)
    _nonempty(op, "dy", dy)
    _same_shape(op, "dy", dy, "x", x)
    _same_shape(op, "dy", dy, "y", y)
    dx = _output(op, "out", out, dy.shape, F32, (x, y))
    cdef float *DX = fp(dx)
    cdef float *DY = fp(dy)
    cdef float *X = fp(x)
    cdef float *Y = fp(y)
    cdef int64_t n = dy.size
    with nogil:
        fnn_activation_backward(DX, DY, X, Y, n, k, p0, p1, p2)
    return dx


def log_softmax_forward(x, out=None):
    """log(softmax(x)) over the last axis."""
    op = "log_softmax_forward"
    f32(op, "x", x)
    _has_axis(op, "x", x)
    _nonempty(op, "x", x)
    y = _output(op, "out", out, x.shape)
    cdef float *Y = fp(y)
    cdef float *X = fp(x)
    cdef int64_t K = x.shape[x.ndim - 1], N = x.size // K
    with nogil:
        fnn_log_softmax_forward(Y, X, N, K)
    return y


def log_softmax_backward(dy, y, out=None):
    op = "log_softmax_backward"
    f32(op, "dy", dy)
    f32(op, "y", y)
    _has_axis(op, "dy", dy)
    _nonempty(op, "dy", dy)
    _same_shape(op, "dy", dy, "y", y)
    dx = _output(op, "out", out, dy.shape, F32, (y,))
    cdef float *DX = fp(dx)
    cdef float *DY = fp(dy)
    cdef float *Y = fp(y)
    cdef int64_t K = dy.shape[dy.ndim - 1], N = dy.size // K
    with nogil:
        fnn_log_softmax_backward(DX, DY, Y, N, K)
    return dx
