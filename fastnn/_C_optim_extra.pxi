# Included by _C.pyx: Adam with AMSGrad, centered RMSprop and Adafactor (optim_extra.c),
# in place on flat float32 buffers; checks in _slots (_C_pointwise.pxi).

def adam_amsgrad_update(param, m, v, v_hat, grad, learning_rate=0.001, beta_1=0.9,
                        beta_2=0.999, epsilon=1e-7, step=1):
    """One Keras Adam(amsgrad=True) step in place (v_hat: the running max of v)."""
    op = "adam_amsgrad_update"
    _slots(op, param, grad, (("m", m), ("v", v), ("v_hat", v_hat)))
    _check_step(op, step)
    cdef float *W = fp(param)
    cdef float *M = fp(m)
    cdef float *V = fp(v)
    cdef float *VH = fp(v_hat)
    cdef float *G = fp(grad)
    cdef int64_t n = param.size, t = step
    cdef float lr = learning_rate, eps = epsilon
    cdef double b1 = beta_1, b2 = beta_2
    with nogil:
        fnn_adam_amsgrad_update(W, M, V, VH, G, n, lr, b1, b2, eps, t)


def rmsprop_centered_update(param, velocity, momentum_buf, average_grad, grad,
                            learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7):
    """One Keras RMSprop(centered=True) step in place; momentum_buf may be None when
    momentum == 0."""
    op = "rmsprop_centered_update"
    if momentum != 0.0 and momentum_buf is None:
        raise ValueError(f"{op}: momentum={momentum} needs a `momentum_buf`")
    slots = [("velocity", velocity), ("average_grad", average_grad)]
    if momentum != 0.0:
        slots.append(("momentum_buf", momentum_buf))
    _slots(op, param, grad, slots)
    cdef float *W = fp(param)
    cdef float *V = fp(velocity)
    cdef float *M = fp_or_null(momentum_buf) if momentum != 0.0 else NULL
    cdef float *A = fp(average_grad)
    cdef float *G = fp(grad)
    cdef int64_t n = param.size
    cdef float lr = learning_rate, mu = momentum, eps = epsilon
    cdef double r = rho
    with nogil:
        fnn_rmsprop_centered_update(W, V, M, A, G, n, lr, r, mu, eps)


def adafactor_update(param, r, c, v, grad, shapes, rho_t=0.001, beta_2_t=0.0,
                     epsilon_1=1e-30, epsilon_2=1e-3, clip_threshold=1.0):
    """One Keras Adafactor step in place over the variables of `shapes` packed one after
    another in `param` (r, c, v: buffers of param's size; a variable of rank >= 2 keeps its
    row and column moments at the start of its segment of r and c, a smaller one its full
    second moment in v).  rho_t = min(lr, 1/sqrt(t)); beta_2_t = 1 - t**beta_2_decay."""
    op = "adafactor_update"
    _slots(op, param, grad, (("r", r), ("c", c), ("v", v)))
    dims = np.zeros((len(shapes), 3), np.int64)
    cdef int64_t total = 0
    for k, shape in enumerate(shapes):
        shape = tuple(int(d) for d in shape)
        if any(d < 0 for d in shape):
            raise ValueError(f"{op}: shape {shape} has a negative dimension")
        size = int(np.prod(shape, dtype=np.int64))
        rank = len(shape)
        if rank >= 2:
            dims[k] = (int(np.prod(shape[:rank - 2], dtype=np.int64)), shape[rank - 2],
                       shape[rank - 1])
            if shape[rank - 2] == 0:
                dims[k] = (1, 0, 0)
        else:
            dims[k] = (1, 0, size)
        total += size
    if total != param.size:
        raise ValueError(f"{op}: the shapes hold {total} elements, `param` has {param.size}")
    if clip_threshold <= 0:
        raise ValueError(f"{op}: `clip_threshold` must be positive, received {clip_threshold}")
    cdef float *W = fp(param)
    cdef float *Rr = fp(r)
    cdef float *Cc = fp(c)
    cdef float *V = fp(v)
    cdef float *G = fp(grad)
    cdef const int64_t *D = <const int64_t *>cnp.PyArray_DATA(dims)
    cdef int64_t nv = len(shapes)
    cdef float rt = rho_t, bt = beta_2_t, e1 = epsilon_1, e2 = epsilon_2, ct = clip_threshold
    with nogil:
        fnn_adafactor_update(W, Rr, Cc, V, G, D, nv, rt, bt, e1, e2, ct)
