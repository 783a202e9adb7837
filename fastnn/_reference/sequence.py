"""NumPy twins of the sequence kernels: Embedding and the recurrent cells (SimpleRNN,
LSTM, GRU) forward and backward through time (_C_sequence.pxi)."""
import numpy as np

from fastnn._reference._common import _store


# ---- sequence models: Embedding and the recurrent cells ----------------------------

def embedding_forward(ids, table, out=None):
    return _store(out, table[np.asarray(ids)])


def embedding_backward(dy, ids, input_dim, out=None):
    dtable = np.zeros((input_dim, dy.shape[-1]), dy.dtype)
    np.add.at(dtable, np.asarray(ids).reshape(-1), dy.reshape(-1, dy.shape[-1]))
    return _store(out, dtable)


def _rnn_act(name):
    return {"linear": lambda z: z, "tanh": np.tanh, "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
            "relu": lambda z: np.maximum(z, 0),
            "hard_sigmoid": lambda z: np.clip(z + 3, 0, 6) / 6}[name]


def _gates(cell):
    return {"simple": 1, "lstm": 4, "gru": 3, "gru_reset_before": 3}[cell]


def _rec_product(h, recurrent_kernel, rec_mask):
    """h @ R, or with recurrent dropout gate by gate: (h * m_g) @ R_g."""
    if rec_mask is None:
        return h @ recurrent_kernel
    U = recurrent_kernel.shape[0]
    return np.concatenate([(h * rec_mask[:, g]) @ recurrent_kernel[:, g * U:(g + 1) * U]
                           for g in range(rec_mask.shape[1])], axis=1)


def _rnn_cell_step(cell, x_t, h, c, kernel, recurrent_kernel, bias, act, sig, rec_mask=None):
    """One step of a cell: (h_t, c_t) from x_t (N, K) and the previous h, c (N, U);
    rec_mask (N, G, U): recurrent dropout's per-gate masks on h (GRU's z h term keeps h)."""
    U = recurrent_kernel.shape[0]
    if cell == "simple":
        z = x_t @ kernel + _rec_product(h, recurrent_kernel, rec_mask)
        return act(z if bias is None else z + bias), c
    if cell == "lstm":
        z = x_t @ kernel + _rec_product(h, recurrent_kernel, rec_mask)
        if bias is not None:
            z = z + bias
        i, f, g, o = sig(z[:, :U]), sig(z[:, U:2 * U]), act(z[:, 2 * U:3 * U]), sig(z[:, 3 * U:])
        c = f * c + i * g
        return o * act(c), c
    if cell == "gru_reset_before":  # GRU, reset_after=False: one bias (3U), r before R_h
        xz = x_t @ kernel + (0 if bias is None else bias)
        hz = h @ recurrent_kernel[:, :2 * U]
        z = sig(xz[:, :U] + hz[:, :U])
        r = sig(xz[:, U:2 * U] + hz[:, U:])
        hh = act(xz[:, 2 * U:] + (r * h) @ recurrent_kernel[:, 2 * U:])
        return z * h + (1 - z) * hh, c
    xz = x_t @ kernel  # GRU, reset_after: bias[0] on the input side, bias[1] recurrent
    hz = _rec_product(h, recurrent_kernel, rec_mask)
    if bias is not None:
        xz, hz = xz + bias[0], hz + bias[1]
    z = sig(xz[:, :U] + hz[:, :U])
    r = sig(xz[:, U:2 * U] + hz[:, U:2 * U])
    hh = act(xz[:, 2 * U:] + r * hz[:, 2 * U:])
    return z * h + (1 - z) * hh, c


def _rnn_keep(mask, N, T, dtype):
    """Keras's mask as (N, T) 0/1 floats (all ones without a mask)."""
    return np.ones((N, T), dtype) if mask is None else (np.asarray(mask) != 0).astype(dtype)


def rnn_forward(x, kernel, recurrent_kernel, bias=None, h0=None, c0=None, cell="lstm",
                activation="tanh", recurrent_activation="sigmoid", go_backwards=False,
                return_sequences=False, mask=None, zero_output_for_mask=False, rec_mask=None,
                out=None, out_h=None, out_c=None, state=None, work=None):
    """Step by step; returns (y, h, c, state) as fastnn._C.rnn_forward (state: None).
    With a mask, as Keras: a masked step keeps h and c, and its output is zeros
    (zero_output_for_mask) or the previous step's output (zeros at first)."""
    N, T, _ = x.shape
    U = recurrent_kernel.shape[0]
    act, sig = _rnn_act(activation), _rnn_act(recurrent_activation)
    keep = _rnn_keep(mask, N, T, x.dtype)
    h = np.zeros((N, U), x.dtype) if h0 is None else h0
    c = np.zeros((N, U), x.dtype) if c0 is None else c0
    prev = np.zeros((N, U), x.dtype)
    ys = []
    for t in (range(T - 1, -1, -1) if go_backwards else range(T)):
        k = keep[:, t:t + 1]
        hn, cn = _rnn_cell_step(cell, x[:, t], h, c, kernel, recurrent_kernel, bias, act, sig,
                                rec_mask)
        h, c = k * hn + (1 - k) * h, k * cn + (1 - k) * c
        prev = k * hn + (1 - k) * (0 * prev if zero_output_for_mask else prev)
        ys.append(prev)
    y = np.stack(ys, axis=1) if return_sequences else ys[-1]
    return (_store(out if return_sequences else None, y), _store(out_h, h),
            _store(out_c, c) if cell == "lstm" else None, None)


def rnn_backward(dy, dh, dc, state, x, kernel, recurrent_kernel, bias=None, h0=None, c0=None,
                 cell="lstm", activation="tanh", recurrent_activation="sigmoid",
                 go_backwards=False, return_sequences=False, need_dx=True, mask=None,
                 zero_output_for_mask=False, rec_mask=None, out_dx=None, out_dh0=None,
                 out_dc0=None, out_kernel=None, out_recurrent_kernel=None, out_bias=None,
                 work=None):
    """Backward through time by reverse-mode differentiation of rnn_cell_step, written
    out per cell: recompute the forward, keep each step's gates, walk the steps back.
    The mask's blends (h = k hn + (1 - k) h, out = k hn + (1 - k) out_prev) are
    differentiated as written: d_out flows back through masked steps' outputs."""
    N, T, K = x.shape
    U = recurrent_kernel.shape[0]
    act, sig = _rnn_act(activation), _rnn_act(recurrent_activation)
    dact = {"linear": lambda y: np.ones_like(y), "tanh": lambda y: 1 - y * y,
            "sigmoid": lambda y: y * (1 - y), "relu": lambda y: (y > 0).astype(y.dtype),
            "hard_sigmoid": lambda y: ((y > 0) & (y < 1)).astype(y.dtype) / 6}
    da, ds = dact[activation], dact[recurrent_activation]
    keep = _rnn_keep(mask, N, T, x.dtype)
    order = list(range(T - 1, -1, -1) if go_backwards else range(T))
    h = np.zeros((N, U), x.dtype) if h0 is None else h0
    c = np.zeros((N, U), x.dtype) if c0 is None else c0
    saved = []  # per step: (t, h_prev, c_prev, gates, the cell's new c)
    for t in order:
        xz, hz = x[:, t] @ kernel, _rec_product(h, recurrent_kernel, rec_mask)
        k = keep[:, t:t + 1]
        cn = c
        if cell == "gru_reset_before":
            if bias is not None:
                xz = xz + bias
            z, r = sig(xz[:, :U] + hz[:, :U]), sig(xz[:, U:2 * U] + hz[:, U:2 * U])
            rh = r * h
            hh = act(xz[:, 2 * U:] + rh @ recurrent_kernel[:, 2 * U:])
            saved.append((t, h, c, (z, r, hh, rh), cn))
            hn = z * h + (1 - z) * hh
        elif cell == "gru":
            if bias is not None:
                xz, hz = xz + bias[0], hz + bias[1]
            z, r = sig(xz[:, :U] + hz[:, :U]), sig(xz[:, U:2 * U] + hz[:, U:2 * U])
            hh = act(xz[:, 2 * U:] + r * hz[:, 2 * U:])
            saved.append((t, h, c, (z, r, hh, hz[:, 2 * U:]), cn))
            hn = z * h + (1 - z) * hh
        else:
            a = xz + hz + (0 if bias is None else bias)
            if cell == "simple":
                hn = act(a)
                saved.append((t, h, c, (hn,), cn))
            else:
                i, f, g, o = sig(a[:, :U]), sig(a[:, U:2 * U]), act(a[:, 2 * U:3 * U]), sig(a[:, 3 * U:])
                cn = f * c + i * g
                saved.append((t, h, c, (i, f, g, o), cn))
                hn = o * act(cn)
        h, c = k * hn + (1 - k) * h, k * cn + (1 - k) * c
    dx = np.zeros_like(x)
    dW, dR = np.zeros_like(kernel), np.zeros_like(recurrent_kernel)
    db = None if bias is None else np.zeros_like(bias)
    dh_ = np.zeros((N, U), x.dtype) if dh is None else dh.copy()
    dc_ = np.zeros((N, U), x.dtype) if dc is None or cell != "lstm" else dc.copy()
    dout = np.zeros((N, U), x.dtype) if return_sequences else dy.copy()

    def back_h(dgr):  # the gradient reaching h_{t-1} through the recurrent product
        if rec_mask is None:
            return dgr @ recurrent_kernel.T
        return sum((dgr[:, g * U:(g + 1) * U] @ recurrent_kernel[:, g * U:(g + 1) * U].T)
                   * rec_mask[:, g] for g in range(rec_mask.shape[1]))
    for step in range(T - 1, -1, -1):
        t, hp, cp, gates, cn = saved[step]
        k = keep[:, t:t + 1]
        if return_sequences:
            dout = dout + dy[:, step]
        dhn = k * (dh_ + dout)           # into this step's cell output
        dh_pass, dc_pass = (1 - k) * dh_, (1 - k) * dc_
        dcn = k * dc_
        dout = (1 - k) * (0 * dout if zero_output_for_mask else dout)
        if cell == "simple":
            (hn,) = gates
            dg = dhn * da(hn)
            dgr = dg
            dh_ = back_h(dgr)
        elif cell == "lstm":
            i, f, g, o = gates
            ac = act(cn)
            dcc = dcn + dhn * o * da(ac)
            dg = np.concatenate([dcc * g * ds(i), dcc * cp * ds(f), dcc * i * da(g),
                                 dhn * ac * ds(o)], axis=1)
            dc_ = dcc * f + dc_pass
            dgr = dg
            dh_ = back_h(dgr)
        elif cell == "gru_reset_before":
            z, r, hh, rh = gates
            dz = dhn * (hp - hh) * ds(z)
            dah = dhn * (1 - z) * da(hh)
            drh = dah @ recurrent_kernel[:, 2 * U:].T  # d(r h_{t-1})
            dr = drh * hp * ds(r)
            dg = np.concatenate([dz, dr, dah], axis=1)
            dgr = dg
            dh_ = dhn * z + drh * r + np.concatenate([dz, dr], 1) @ recurrent_kernel[:, :2 * U].T
        else:
            z, r, hh, rh = gates
            dz = dhn * (hp - hh) * ds(z)
            dah = dhn * (1 - z) * da(hh)
            dr = dah * rh * ds(r)
            dg = np.concatenate([dz, dr, dah], axis=1)
            dgr = np.concatenate([dz, dr, dah * r], axis=1)
            dh_ = dhn * z + back_h(dgr)
        dh_ = dh_ + dh_pass
        dx[:, t] = dg @ kernel.T
        dW += x[:, t].T @ dg
        if cell == "gru_reset_before":
            dR[:, :2 * U] += hp.T @ dg[:, :2 * U]
            dR[:, 2 * U:] += gates[3].T @ dg[:, 2 * U:]
        elif rec_mask is None:
            dR += hp.T @ dgr
        else:
            for g in range(rec_mask.shape[1]):
                dR[:, g * U:(g + 1) * U] += (hp * rec_mask[:, g]).T @ dgr[:, g * U:(g + 1) * U]
        if bias is not None:
            if cell == "gru":
                db[0] += dg.sum(0)
                db[1] += dgr.sum(0)
            else:
                db += dg.sum(0)
    return (_store(out_dx, dx) if need_dx else None, _store(out_dh0, dh_),
            _store(out_dc0, dc_) if cell == "lstm" else None, _store(out_kernel, dW),
            _store(out_recurrent_kernel, dR), None if db is None else _store(out_bias, db))
