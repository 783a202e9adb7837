# Included by _C.pyx: sequence models (csrc/embedding.c, csrc/rnn.c).

# ---- Embedding ----------------------------------------------------------------------

cdef int64_t _first_bad_id(const int32_t *ids, int64_t n, int64_t V) noexcept nogil:
    cdef int64_t i
    for i in range(n):
        if ids[i] < 0 or ids[i] >= V:
            return i
    return -1


cdef _check_ids(str op, ids, int64_t V):
    _array(op, "ids", ids, I32, -1)
    cdef int64_t n = ids.size, bad
    cdef const int32_t *I = ip(ids)
    with nogil:
        bad = _first_bad_id(I, n, V)
    if bad >= 0:
        raise ValueError(f"{op}: index {ids.reshape(-1)[int(bad)]} is out of range for an "
                         f"embedding of input_dim={V} (valid: 0 to {V - 1})")


def embedding_forward(ids, table, out=None):
    """y[..., :] = table[ids[...], :];  ids int32 (any shape), table (V, D)."""
    op = "embedding_forward"
    f32(op, "table", table, 2)
    cdef int64_t V = table.shape[0], D = table.shape[1]
    _check_ids(op, ids, V)
    y = _output(op, "out", out, tuple(ids.shape) + (D,), F32, (table,))
    cdef float *Y = fp(y)
    cdef const int32_t *I = ip(ids)
    cdef const float *Tb = fp(table)
    cdef int64_t n = ids.size
    with nogil:
        fnn_embedding_forward(Y, I, Tb, n, V, D)
    return y


def embedding_backward(dy, ids, int64_t input_dim, out=None):
    """dtable (input_dim, D) = scatter-add of dy's rows (..., D) at ids (...)."""
    op = "embedding_backward"
    f32(op, "dy", dy)
    if input_dim < 1:
        raise ValueError(f"{op}: input_dim must be positive, received {input_dim}")
    _check_ids(op, ids, input_dim)
    if dy.ndim != ids.ndim + 1 or tuple(dy.shape[:-1]) != tuple(ids.shape):
        raise ValueError(f"{op}: dy {dy.shape} does not match ids {ids.shape}: expected "
                         f"ids.shape + (D,)")
    cdef int64_t D = dy.shape[dy.ndim - 1], n = ids.size
    dt = _output(op, "out", out, (input_dim, D), F32, (dy,))
    cdef float *DT = fp(dt)
    cdef const float *DY = fp(dy)
    cdef const int32_t *I = ip(ids)
    with nogil:
        fnn_embedding_backward(DT, DY, I, n, input_dim, D)
    return dt


# ---- recurrent layers ---------------------------------------------------------------

RNN_CELLS = {"simple": FNN_RNN_SIMPLE, "lstm": FNN_RNN_LSTM, "gru": FNN_RNN_GRU}
RNN_ACTIVATIONS = {"linear": FNN_RNN_ACT_LINEAR, "tanh": FNN_RNN_ACT_TANH, "sigmoid": FNN_RNN_ACT_SIGMOID,
                   "relu": FNN_RNN_ACT_RELU, "hard_sigmoid": FNN_RNN_ACT_HARD_SIGMOID}


cdef fnn_rnn_shape _rnn_shape(str op, str cell, int64_t N, int64_t T, int64_t K, int64_t U,
                              str activation="tanh", str recurrent_activation="sigmoid",
                              bint go_backwards=False, bint return_sequences=False) except *:
    cdef fnn_rnn_shape s
    if cell not in RNN_CELLS:
        raise ValueError(f"{op}: cell must be one of {sorted(RNN_CELLS)}, received {cell!r}")
    for name, value in (("activation", activation), ("recurrent_activation", recurrent_activation)):
        if value not in RNN_ACTIVATIONS:
            raise ValueError(f"{op}: {name} must be one of {sorted(RNN_ACTIVATIONS)}, "
                             f"received {value!r}")
    if N < 1 or T < 1 or K < 1 or U < 1:
        raise ValueError(f"{op}: sizes must be positive, received N={N}, T={T}, K={K}, U={U}")
    s.N, s.T, s.K, s.U = N, T, K, U
    s.cell = RNN_CELLS[cell]
    s.activation = RNN_ACTIVATIONS[activation]
    s.recurrent_activation = RNN_ACTIVATIONS[recurrent_activation]
    s.reverse = go_backwards
    s.return_sequences = return_sequences
    return s


def rnn_gates(str cell):
    return {"simple": 1, "lstm": 4, "gru": 3}[cell]


def rnn_state_size(str cell, int64_t N, int64_t T, int64_t K, int64_t U):
    cdef fnn_rnn_shape s = _rnn_shape("rnn_state_size", cell, N, T, K, U)
    return fnn_rnn_state_size(&s)


def rnn_workspace_size(str cell, int64_t N, int64_t T, int64_t K, int64_t U):
    cdef fnn_rnn_shape s = _rnn_shape("rnn_workspace_size", cell, N, T, K, U)
    return fnn_rnn_workspace_size(&s)


cdef tuple _rnn_check(str op, str cell, x, kernel, recurrent_kernel, bias):
    if cell not in RNN_CELLS:
        raise ValueError(f"{op}: cell must be one of {sorted(RNN_CELLS)}, received {cell!r}")
    f32(op, "x", x, 3)
    f32(op, "kernel", kernel, 2)
    f32(op, "recurrent_kernel", recurrent_kernel, 2)
    _nonempty(op, "x", x)
    cdef int64_t N = x.shape[0], T = x.shape[1], K = x.shape[2]
    cdef int64_t G = rnn_gates(cell)
    cdef int64_t U = recurrent_kernel.shape[0]
    if U < 1 or recurrent_kernel.shape[1] != G * U:
        raise ValueError(f"{op}: recurrent_kernel must have shape (units, {G} * units) for "
                         f"cell {cell!r}, received {recurrent_kernel.shape}")
    if kernel.shape[0] != K or kernel.shape[1] != G * U:
        raise ValueError(f"{op}: kernel must have shape {(K, G * U)} for x {x.shape}, received "
                         f"{kernel.shape}")
    if bias is not None:
        want = (2, int(G * U)) if cell == "gru" else (int(G * U),)
        f32(op, "bias", bias, len(want))
        if tuple(bias.shape) != want:
            raise ValueError(f"{op}: bias must have shape {want}, received {bias.shape}")
    return N, T, K, U


cdef _state_arg(str op, str name, a, int64_t N, int64_t U):
    if a is None:
        return None
    f32(op, name, a, 2)
    if a.shape[0] != N or a.shape[1] != U:
        raise ValueError(f"{op}: `{name}` must have shape {(N, U)}, received {a.shape}")
    return a


def rnn_forward(x, kernel, recurrent_kernel, bias=None, h0=None, c0=None, str cell="lstm",
                str activation="tanh", str recurrent_activation="sigmoid",
                bint go_backwards=False, bint return_sequences=False, out=None, out_h=None,
                out_c=None, state=None, work=None):
    """A recurrent layer over x (N, T, K): returns (y, h, c, state), y (N, T, U) when
    return_sequences else h (N, U), c the final LSTM carry (else None), state what
    rnn_backward needs (see csrc/rnn.c for the maths)."""
    op = "rnn_forward"
    cdef int64_t N, T, K, U
    N, T, K, U = _rnn_check(op, cell, x, kernel, recurrent_kernel, bias)
    cdef fnn_rnn_shape s = _rnn_shape(op, cell, N, T, K, U, activation, recurrent_activation,
                                      go_backwards, return_sequences)
    h0 = _state_arg(op, "h0", h0, N, U)
    c0 = _state_arg(op, "c0", c0, N, U) if cell == "lstm" else None
    ins = (x, kernel, recurrent_kernel, bias, h0, c0)
    h = _output(op, "out_h", out_h, (N, U), F32, ins)
    c = _output(op, "out_c", out_c, (N, U), F32, ins + (h,)) if cell == "lstm" else None
    y = _output(op, "out", out, (N, T, U), F32, ins + (h, c)) if return_sequences else h
    st = _output(op, "state", state, (<Py_ssize_t>fnn_rnn_state_size(&s),), F32,
                 ins + (h, c, y if return_sequences else None))
    work = _workspace(op, work, fnn_rnn_workspace_size(&s))
    cdef float *Y = fp(y) if return_sequences else NULL
    cdef float *H = fp(h)
    cdef float *C = fp_or_null(c)
    cdef float *ST = fp(st)
    cdef const float *X = fp(x)
    cdef const float *H0 = fp_or_null(h0)
    cdef const float *C0 = fp_or_null(c0)
    cdef const float *Wt = fp(kernel)
    cdef const float *R = fp(recurrent_kernel)
    cdef const float *B = fp_or_null(bias)
    cdef float *Wk = fp(work)
    cdef size_t ws = work.size
    with nogil:
        fnn_rnn_forward(Y, H, C, ST, X, H0, C0, Wt, R, B, &s, Wk, ws)
    return y, h, c, st


def rnn_backward(dy, dh, dc, state, x, kernel, recurrent_kernel, bias=None, h0=None, c0=None,
                 str cell="lstm", str activation="tanh", str recurrent_activation="sigmoid",
                 bint go_backwards=False, bint return_sequences=False, bint need_dx=True,
                 out_dx=None, out_dh0=None, out_dc0=None, out_kernel=None,
                 out_recurrent_kernel=None, out_bias=None, work=None):
    """Gradients of a recurrent layer: dy (N, T, U) if return_sequences else (N, U) (the
    last output's), dh and dc (N, U) those of the returned final states (None: zero).
    Returns (dx or None, dh0, dc0 or None, dkernel, drecurrent_kernel, dbias or None).
    h0 and bias are not read (the twin recomputes the forward from them)."""
    op = "rnn_backward"
    cdef int64_t N, T, K, U
    N, T, K, U = _rnn_check(op, cell, x, kernel, recurrent_kernel, bias)
    cdef fnn_rnn_shape s = _rnn_shape(op, cell, N, T, K, U, activation, recurrent_activation,
                                      go_backwards, return_sequences)
    f32(op, "dy", dy, 3 if return_sequences else 2)
    want = (int(N), int(T), int(U)) if return_sequences else (int(N), int(U))
    if tuple(dy.shape) != want:
        raise ValueError(f"{op}: dy must have shape {want}, received {dy.shape}")
    f32(op, "state", state, 1)
    if <size_t>state.size != fnn_rnn_state_size(&s):
        raise ValueError(f"{op}: state has {state.size} floats, expected {fnn_rnn_state_size(&s)}"
                         f" (the state rnn_forward returned for these shapes)")
    dh = _state_arg(op, "dh", dh, N, U)
    dc = _state_arg(op, "dc", dc, N, U) if cell == "lstm" else None
    c0 = _state_arg(op, "c0", c0, N, U) if cell == "lstm" else None
    h0 = _state_arg(op, "h0", h0, N, U)
    ins = (dy, dh, dc, state, x, kernel, recurrent_kernel, c0)
    dx = _output(op, "out_dx", out_dx, (N, T, K), F32, ins) if need_dx else None
    dh0 = _output(op, "out_dh0", out_dh0, (N, U), F32, ins + (dx,))
    dc0 = _output(op, "out_dc0", out_dc0, (N, U), F32, ins + (dx, dh0)) if cell == "lstm" else None
    outs = (dx, dh0, dc0)
    dw = _output(op, "out_kernel", out_kernel, tuple(kernel.shape), F32, ins + outs)
    dr = _output(op, "out_recurrent_kernel", out_recurrent_kernel, tuple(recurrent_kernel.shape),
                 F32, ins + outs + (dw,))
    db = _output(op, "out_bias", out_bias, tuple(bias.shape), F32, ins + outs + (dw, dr)) \
        if bias is not None else None
    work = _workspace(op, work, fnn_rnn_workspace_size(&s))
    if return_sequences and dh is None:
        dhT = None
    elif return_sequences:
        dhT = dh
    elif dh is None:
        dhT = dy
    else:
        dhT = dy + dh
    cdef float *DX = fp_or_null(dx)
    cdef float *DH0 = fp(dh0)
    cdef float *DC0 = fp_or_null(dc0)
    cdef float *DW = fp(dw)
    cdef float *DR = fp(dr)
    cdef float *DB = fp_or_null(db)
    cdef const float *DY = fp(dy) if return_sequences else NULL
    cdef const float *DHT = fp_or_null(dhT)
    cdef const float *DCT = fp_or_null(dc)
    cdef const float *ST = fp(state)
    cdef const float *X = fp(x)
    cdef const float *C0 = fp_or_null(c0)
    cdef const float *Wt = fp(kernel)
    cdef const float *R = fp(recurrent_kernel)
    cdef float *Wk = fp(work)
    cdef size_t ws = work.size
    with nogil:
        fnn_rnn_backward(DX, DH0, DC0, DW, DR, DB, DY, DHT, DCT, ST, X, C0, Wt, R, &s, Wk, ws)
    return dx, dh0, dc0, dw, dr, db
