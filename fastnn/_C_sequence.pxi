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

RNN_CELLS = {"simple": FNN_RNN_SIMPLE, "lstm": FNN_RNN_LSTM, "gru": FNN_RNN_GRU,
             "gru_reset_before": FNN_RNN_GRU_BEFORE}  # the last: GRU(reset_after=False)
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
    s.mask = NULL
    s.zero_output_for_mask = 0
    s.rec_mask = NULL
    return s


cdef float _RNN_SIZING = 0.0  # a stand-in rec_mask: sizes the workspace for recurrent dropout


cdef _rnn_rec_mask(str op, str cell, rec_mask, int64_t N, int64_t U):
    if rec_mask is None:
        return None
    if cell == "gru_reset_before":
        raise ValueError(f"{op}: rec_mask (recurrent dropout) is not supported with cell "
                         f"'gru_reset_before' (GRU reset_after=False) yet")
    G = rnn_gates(cell)
    f32(op, "rec_mask", rec_mask, 3)
    if tuple(rec_mask.shape) != (N, G, U):
        raise ValueError(f"{op}: rec_mask must have shape {(int(N), G, int(U))} (batch, gates, "
                         f"units), received {rec_mask.shape}")
    return rec_mask


cdef _rnn_mask(str op, mask, int64_t N, int64_t T):
    """A Keras mask (N, T) (nonzero: keep) as N * T contiguous uint8, or None."""
    if mask is None:
        return None
    m = np.asarray(mask)
    if m.dtype == np.uint8 and m.ndim == 1 and m.size == N * T and m.flags.c_contiguous:
        return m  # already converted (_rnn_mask_u8)
    if m.shape != (N, T):
        raise ValueError(f"{op}: mask must have shape {(int(N), int(T))} (batch, timesteps), "
                         f"received {m.shape}")
    if m.dtype != np.bool_ and m.dtype.kind not in "iuf":
        raise TypeError(f"{op}: mask must be boolean, received dtype {m.dtype}")
    return np.ascontiguousarray(m != 0).view(np.uint8).reshape(-1)


def _rnn_mask_u8(mask, int64_t N, int64_t T):
    """The layer's mask converted once per forward (the backward reuses it), or None."""
    return _rnn_mask("rnn mask", mask, N, T)


cdef _rnn_last_weight(mask, int64_t N, int64_t T, bint go_backwards, bint zero_output_for_mask):
    """Per row, 1 where the last output (return_sequences=False) is the carried h and 0
    where it is zeros: its last step is masked and zero_output_for_mask, or no step is
    unmasked."""
    keep = mask.view(np.bool_).reshape(N, T)
    w = keep[:, 0 if go_backwards else T - 1].copy()
    if not zero_output_for_mask:
        w |= keep.any(axis=1)
    return w.astype(np.float32)[:, None]


def rnn_gates(str cell):
    return {"simple": 1, "lstm": 4, "gru": 3, "gru_reset_before": 3}[cell]


def rnn_state_size(str cell, int64_t N, int64_t T, int64_t K, int64_t U):
    cdef fnn_rnn_shape s = _rnn_shape("rnn_state_size", cell, N, T, K, U)
    return fnn_rnn_state_size(&s)


def rnn_workspace_size(str cell, int64_t N, int64_t T, int64_t K, int64_t U,
                       bint recurrent_dropout=False):
    cdef fnn_rnn_shape s = _rnn_shape("rnn_workspace_size", cell, N, T, K, U)
    if recurrent_dropout:
        s.rec_mask = &_RNN_SIZING
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
                out_c=None, state=None, work=None, mask=None, bint zero_output_for_mask=False,
                rec_mask=None):
    """A recurrent layer over x (N, T, K): returns (y, h, c, state), y (N, T, U) when
    return_sequences else the last output (N, U) (h itself without a mask), c the final
    LSTM carry (else None), state what rnn_backward needs (see csrc/rnn.c for the maths).
    mask (N, T): Keras's, True where a step is kept; masked steps carry the states.
    rec_mask (N, G, U) float32: recurrent dropout, gate g's recurrent product reading
    h * rec_mask[:, g] (scaled masks, the same at every step)."""
    op = "rnn_forward"
    cdef int64_t N, T, K, U
    N, T, K, U = _rnn_check(op, cell, x, kernel, recurrent_kernel, bias)
    cdef fnn_rnn_shape s = _rnn_shape(op, cell, N, T, K, U, activation, recurrent_activation,
                                      go_backwards, return_sequences)
    h0 = _state_arg(op, "h0", h0, N, U)
    c0 = _state_arg(op, "c0", c0, N, U) if cell == "lstm" else None
    m = _rnn_mask(op, mask, N, T)
    s.zero_output_for_mask = zero_output_for_mask
    rec_mask = _rnn_rec_mask(op, cell, rec_mask, N, U)
    if rec_mask is not None:
        s.rec_mask = fp(rec_mask)
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
    cdef const uint8_t[::1] mv
    if m is not None:
        mv = m
        s.mask = &mv[0]
    with nogil:
        fnn_rnn_forward(Y, H, C, ST, X, H0, C0, Wt, R, B, &s, Wk, ws)
    if m is not None and not return_sequences:
        y = np.multiply(h, _rnn_last_weight(m, N, T, go_backwards, zero_output_for_mask),
                        out=_output(op, "out", out, (N, U), F32, ins + (h, c, st)))
    return y, h, c, st


def rnn_backward(dy, dh, dc, state, x, kernel, recurrent_kernel, bias=None, h0=None, c0=None,
                 str cell="lstm", str activation="tanh", str recurrent_activation="sigmoid",
                 bint go_backwards=False, bint return_sequences=False, bint need_dx=True,
                 out_dx=None, out_dh0=None, out_dc0=None, out_kernel=None,
                 out_recurrent_kernel=None, out_bias=None, work=None, mask=None,
                 bint zero_output_for_mask=False, rec_mask=None):
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
    m = _rnn_mask(op, mask, N, T)
    s.zero_output_for_mask = zero_output_for_mask
    rec_mask = _rnn_rec_mask(op, cell, rec_mask, N, U)
    if rec_mask is not None:
        s.rec_mask = fp(rec_mask)
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
    else:
        dhT = dy if m is None else dy * _rnn_last_weight(m, N, T, go_backwards, zero_output_for_mask)
        if dh is not None:
            dhT = dhT + dh
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
    cdef const uint8_t[::1] mv
    if m is not None:
        mv = m
        s.mask = &mv[0]
    with nogil:
        fnn_rnn_backward(DX, DH0, DC0, DW, DR, DB, DY, DHT, DCT, ST, X, C0, Wt, R, &s, Wk, ws)
    return dx, dh0, dc0, dw, dr, db
