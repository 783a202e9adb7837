# Included by _C.pyx: the optimizer updates beyond Adam/SGD/RMSprop (optimizers.c), each
# in place on a flat float32 parameter with its slots; checks in _slots (_C_pointwise.pxi).

cdef _check_step(str op, step):
    if step < 1:
        raise ValueError(f"{op}: `step` counts from 1, received step={step}")


def adamax_update(param, m, u, grad, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
                  epsilon=1e-7, step=1):
    """One Keras Adamax step in place (m: first moment, u: exponentially weighted max)."""
    op = "adamax_update"
    _slots(op, param, grad, (("m", m), ("u", u)))
    _check_step(op, step)
    cdef float *W = fp(param)
    cdef float *M = fp(m)
    cdef float *U = fp(u)
    cdef float *G = fp(grad)
    cdef int64_t n = param.size, t = step
    cdef float lr = learning_rate, b1 = beta_1, b2 = beta_2, eps = epsilon
    with nogil:
        fnn_adamax_update(W, M, U, G, n, lr, b1, b2, eps, t)


def adagrad_update(param, accumulator, grad, learning_rate=0.001, epsilon=1e-7):
    """One Keras Adagrad step in place."""
    op = "adagrad_update"
    _slots(op, param, grad, (("accumulator", accumulator),))
    cdef float *W = fp(param)
    cdef float *A = fp(accumulator)
    cdef float *G = fp(grad)
    cdef int64_t n = param.size
    cdef float lr = learning_rate, eps = epsilon
    with nogil:
        fnn_adagrad_update(W, A, G, n, lr, eps)


def adadelta_update(param, accumulated_grad, accumulated_delta, grad, learning_rate=0.001,
                    rho=0.95, epsilon=1e-7):
    """One Keras Adadelta step in place."""
    op = "adadelta_update"
    _slots(op, param, grad, (("accumulated_grad", accumulated_grad),
                             ("accumulated_delta", accumulated_delta)))
    if _bounds_overlap(accumulated_grad, accumulated_delta):
        raise ValueError(f"{op}: the two accumulators must not overlap")
    cdef float *W = fp(param)
    cdef float *AG = fp(accumulated_grad)
    cdef float *AD = fp(accumulated_delta)
    cdef float *G = fp(grad)
    cdef int64_t n = param.size
    cdef float lr = learning_rate, r = rho, eps = epsilon
    with nogil:
        fnn_adadelta_update(W, AG, AD, G, n, lr, r, eps)


def lion_update(param, m, grad, learning_rate=0.001, beta_1=0.9, beta_2=0.99):
    """One Keras Lion step in place."""
    op = "lion_update"
    _slots(op, param, grad, (("m", m),))
    cdef float *W = fp(param)
    cdef float *M = fp(m)
    cdef float *G = fp(grad)
    cdef int64_t n = param.size
    cdef float lr = learning_rate, b1 = beta_1, b2 = beta_2
    with nogil:
        fnn_lion_update(W, M, G, n, lr, b1, b2)


def nadam_update(param, m, v, grad, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, u_t=0.0, u_next=0.0, u_product=1.0, step=1):
    """One Keras Nadam step in place; u_t, u_next and u_product (through step t) as
    fastnn.optimizers.Nadam computes them."""
    op = "nadam_update"
    _slots(op, param, grad, (("m", m), ("v", v)))
    _check_step(op, step)
    cdef float *W = fp(param)
    cdef float *M = fp(m)
    cdef float *V = fp(v)
    cdef float *G = fp(grad)
    cdef int64_t n = param.size, t = step
    cdef float lr = learning_rate, b1 = beta_1, b2 = beta_2, eps = epsilon
    cdef float ut = u_t, un = u_next, up = u_product
    with nogil:
        fnn_nadam_update(W, M, V, G, n, lr, b1, b2, eps, ut, un, up, t)


def ftrl_update(param, accumulator, linear, grad, learning_rate=0.001,
                learning_rate_power=-0.5, l1=0.0, l2=0.0, l2_shrinkage=0.0, beta=0.0):
    """One Keras FTRL step in place."""
    op = "ftrl_update"
    _slots(op, param, grad, (("accumulator", accumulator), ("linear", linear)))
    if _bounds_overlap(accumulator, linear):
        raise ValueError(f"{op}: `accumulator` and `linear` must not overlap")
    if learning_rate <= 0:
        raise ValueError(f"{op}: FTRL needs a positive learning rate, received {learning_rate}")
    cdef float *W = fp(param)
    cdef float *A = fp(accumulator)
    cdef float *L = fp(linear)
    cdef float *G = fp(grad)
    cdef int64_t n = param.size
    cdef float lr = learning_rate, p = learning_rate_power, a1 = l1, a2 = l2
    cdef float s = l2_shrinkage, b = beta
    with nogil:
        fnn_ftrl_update(W, A, L, G, n, lr, p, a1, a2, s, b)
