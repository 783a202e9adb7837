"""NumPy twins of the C kernels: same names and signatures as fastnn._C, written for
clarity.  They are the test oracle, the NumPy baseline of the benchmarks, and the
documentation of the maths.  Arguments `work` are accepted and ignored; `out`
arguments are honoured.  They compute in the dtype they are given (float64 in the
finite-difference tests).
"""
import numpy as np

from fastnn._shapes import normalize_pair, normalize_padding, window_geometry


def _store(out, value):
    if out is None:
        return value
    out[...] = value
    return out


# ---- GEMM and Dense ---------------------------------------------------------------

def sgemm(a, b, c=None, alpha=1.0, beta=0.0, trans_a=False, trans_b=False, work=None):
    opa = a.T if trans_a else a
    opb = b.T if trans_b else b
    result = alpha * (opa @ opb)
    if beta != 0.0:
        result = result + beta * c
    return _store(c, result.astype(a.dtype, copy=False))


def dense_forward(x, kernel, bias=None, out=None, work=None, relu=False):
    y = x @ kernel
    if bias is not None:
        y = y + bias
    return _store(out, np.maximum(y, 0) if relu else y)


def dense_backward_input(dy, kernel, out=None, work=None):
    return _store(out, dy @ kernel.T)


def dense_backward_weight(dy, x, use_bias=True, out_kernel=None, out_bias=None, work=None):
    dw = _store(out_kernel, x.T @ dy)
    db = _store(out_bias, dy.sum(axis=0)) if use_bias else None
    return dw, db


# ---- Conv2D: one matrix product per kernel offset (kh, kw) ------------------------

def _conv_geometry(x_shape, kernel_hw, strides, padding, op):
    strides = normalize_pair(strides, "strides", op)
    pad = normalize_padding(padding, op)
    OH, OW, PT, PL = window_geometry(x_shape[1], x_shape[2], kernel_hw, strides, pad, op)
    return strides, OH, OW, PT, PL


def _padded(x, PT, PL, OH, OW, KH, KW, SH, SW, fill=0.0):
    """x zero-padded so every window of the OH x OW output lies inside."""
    N, H, W, C = x.shape
    Hp, Wp = max(H + PT, (OH - 1) * SH + KH), max(W + PL, (OW - 1) * SW + KW)
    xp = np.full((N, Hp, Wp, C), fill, dtype=x.dtype)
    xp[:, PT:PT + H, PL:PL + W, :] = x
    return xp


def _window(xp, kh, kw, OH, OW, SH, SW):
    """The input pixels kernel offset (kh, kw) sees, for every output pixel."""
    return xp[:, kh:kh + (OH - 1) * SH + 1:SH, kw:kw + (OW - 1) * SW + 1:SW, :]


def conv2d_output_shape(input_shape, kernel_shape, strides=(1, 1), padding="valid"):
    _, OH, OW, _, _ = _conv_geometry(input_shape, kernel_shape[:2], strides, padding, "conv2d")
    return (input_shape[0], OH, OW, kernel_shape[3])


def conv2d_forward(x, kernel, bias=None, strides=(1, 1), padding="valid", out=None, work=None,
                   relu=False):
    KH, KW, C, F = kernel.shape
    (SH, SW), OH, OW, PT, PL = _conv_geometry(x.shape, (KH, KW), strides, padding, "conv2d")
    xp = _padded(x, PT, PL, OH, OW, KH, KW, SH, SW)
    y = np.zeros((x.shape[0], OH, OW, F), dtype=x.dtype)
    for kh in range(KH):
        for kw in range(KW):
            y += _window(xp, kh, kw, OH, OW, SH, SW) @ kernel[kh, kw]
    if bias is not None:
        y += bias
    return _store(out, np.maximum(y, 0) if relu else y)


def conv2d_backward_input(dy, kernel, input_shape, strides=(1, 1), padding="valid",
                          out=None, work=None):
    KH, KW, C, F = kernel.shape
    (SH, SW), OH, OW, PT, PL = _conv_geometry(input_shape, (KH, KW), strides, padding, "conv2d")
    N, H, W, _ = input_shape
    dxp = _padded(np.zeros(input_shape, dtype=dy.dtype), PT, PL, OH, OW, KH, KW, SH, SW)
    for kh in range(KH):
        for kw in range(KW):
            _window(dxp, kh, kw, OH, OW, SH, SW)[...] += dy @ kernel[kh, kw].T
    return _store(out, dxp[:, PT:PT + H, PL:PL + W, :])


def conv2d_backward_weight(dy, x, kernel_size, strides=(1, 1), padding="valid",
                           use_bias=True, out_kernel=None, out_bias=None, work=None):
    KH, KW = normalize_pair(kernel_size, "kernel_size", "conv2d")
    (SH, SW), OH, OW, PT, PL = _conv_geometry(x.shape, (KH, KW), strides, padding, "conv2d")
    C, F = x.shape[3], dy.shape[3]
    xp = _padded(x, PT, PL, OH, OW, KH, KW, SH, SW)
    dy2 = dy.reshape(-1, F)
    dw = np.empty((KH, KW, C, F), dtype=dy.dtype)
    for kh in range(KH):
        for kw in range(KW):
            dw[kh, kw] = _window(xp, kh, kw, OH, OW, SH, SW).reshape(-1, C).T @ dy2
    db = _store(out_bias, dy2.sum(axis=0)) if use_bias else None
    return _store(out_kernel, dw), db


# ---- Conv2D + ReLU + 2x2 max pooling, fused ----------------------------------------

def _pool_windows(z):
    """The 2x2 windows (stride 2, valid) of z (N, OH, OW, F) as (N, OH//2, OW//2, 4, F),
    window place k = 2a + b."""
    N, OH, OW, F = z.shape
    PH, PW = OH // 2, OW // 2
    return np.stack([z[:, a:2 * PH:2, b:2 * PW:2] for a in (0, 1) for b in (0, 1)], axis=3)


def conv2d_relu_maxpool2d_forward(x, kernel, bias=None, strides=(1, 1), padding="valid",
                                  out=None, out_pos=None, work=None):
    z = _pool_windows(conv2d_forward(x, kernel, bias, strides, padding, relu=True))
    best, pos = z[:, :, :, 0], np.zeros(z.shape[:3] + z.shape[4:], dtype=np.uint8)
    for k in (1, 2, 3):  # MaxPooling2D's rule: strictly greater, or the first NaN
        v = z[:, :, :, k]
        wins = (v > best) | (np.isnan(v) & ~np.isnan(best))
        best, pos = np.where(wins, v, best), np.where(wins, k, pos).astype(np.uint8)
    return _store(out, best), _store(out_pos, pos)


def conv2d_relu_maxpool2d_backward_weight(dy, y, pos, x, kernel_size, strides=(1, 1),
                                          padding="valid", use_bias=True, out_kernel=None,
                                          out_bias=None, work=None):
    """The pooled gradient reaches its window's winner where y > 0 (ReLU), then it is
    Conv2D's weight gradient."""
    KH, KW = normalize_pair(kernel_size, "kernel_size", "conv2d")
    _, OH, OW, _, _ = _conv_geometry(x.shape, (KH, KW), strides, padding, "conv2d")
    g = np.where(y > 0, dy, 0).astype(dy.dtype)
    dz = np.zeros((x.shape[0], OH, OW, dy.shape[3]), dtype=dy.dtype)
    PH, PW = OH // 2, OW // 2
    for k in range(4):
        dz[:, k // 2:2 * PH:2, k % 2:2 * PW:2] = np.where(pos == k, g, 0)
    return conv2d_backward_weight(dz, x, (KH, KW), strides, padding, use_bias, out_kernel,
                                  out_bias)


# ---- MaxPooling2D -----------------------------------------------------------------

def _pool_geometry(x_shape, pool_size, strides, padding):
    KH, KW = normalize_pair(pool_size, "pool_size", "maxpool2d")
    SH, SW = normalize_pair(strides if strides is not None else (KH, KW), "strides", "maxpool2d")
    pad = normalize_padding(padding, "maxpool2d")
    OH, OW, PT, PL = window_geometry(x_shape[1], x_shape[2], (KH, KW), (SH, SW), pad, "maxpool2d")
    return KH, KW, SH, SW, OH, OW, PT, PL


def maxpool2d_forward(x, pool_size=(2, 2), strides=None, padding="valid", out=None,
                      out_argmax=None):
    N, H, W, C = x.shape
    KH, KW, SH, SW, OH, OW, PT, PL = _pool_geometry(x.shape, pool_size, strides, padding)
    # Pad with a marker position of -1; the first valid pixel of a window always wins
    # over padding, later pixels win only when strictly greater or the first NaN.
    xp = _padded(x, PT, PL, OH, OW, KH, KW, SH, SW, fill=-np.inf)
    pos = _padded(np.arange(H * W).reshape(1, H, W, 1), PT, PL, OH, OW, KH, KW, SH, SW, fill=-1)
    best = np.full((N, OH, OW, C), -np.inf, dtype=x.dtype)
    argmax = np.full((N, OH, OW, C), -1, dtype=np.int32)
    for kh in range(KH):
        for kw in range(KW):
            v = _window(xp, kh, kw, OH, OW, SH, SW)
            p = np.broadcast_to(_window(pos, kh, kw, OH, OW, SH, SW), v.shape)
            wins = (p >= 0) & ((v > best) | (np.isnan(v) & ~np.isnan(best)) | (argmax < 0))
            best = np.where(wins, v, best)
            argmax = np.where(wins, p, argmax).astype(np.int32)
    return _store(out, best), _store(out_argmax, argmax)


def maxpool2d_backward(dy, argmax, input_shape, pool_size=(2, 2), strides=None,
                       padding="valid", out=None):
    N, H, W, C = input_shape
    dx = np.zeros((N, H * W, C), dtype=dy.dtype)
    n = np.arange(N).reshape(N, 1, 1, 1)
    c = np.arange(C).reshape(1, 1, 1, C)
    np.add.at(dx, (np.broadcast_to(n, dy.shape), argmax, np.broadcast_to(c, dy.shape)), dy)
    return _store(out, dx.reshape(input_shape))


# ---- activations ------------------------------------------------------------------

def relu_forward(x, out=None):
    return _store(out, np.maximum(x, 0))


def relu_backward(dy, y, out=None):
    return _store(out, np.where(y > 0, dy, 0).astype(dy.dtype))


def sigmoid_forward(x, out=None):
    return _store(out, 1 / (1 + np.exp(-x)))


def sigmoid_backward(dy, y, out=None):
    return _store(out, dy * y * (1 - y))


def tanh_forward(x, out=None):
    return _store(out, np.tanh(x))


def tanh_backward(dy, y, out=None):
    return _store(out, dy * (1 - y * y))


def softmax_forward(x, out=None):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return _store(out, e / e.sum(axis=-1, keepdims=True))


def softmax_backward(dy, y, out=None):
    return _store(out, y * (dy - (dy * y).sum(axis=-1, keepdims=True)))


# ---- dropout ----------------------------------------------------------------------

def _fmix32(h):
    """MurmurHash3's 32-bit finalizer, on uint32 arrays (wrapping arithmetic)."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def dropout_bits(seed, index):
    """24 random bits per element: two finalizer rounds over the index and the seed."""
    with np.errstate(over="ignore"):
        seed = int(seed)
        key_lo = _fmix32(np.uint32(seed & 0xFFFFFFFF))
        key_hi = _fmix32(np.uint32(((seed >> 32) + 0x7F4A7C15) & 0xFFFFFFFF))
        i = np.asarray(index, dtype=np.uint64).astype(np.uint32)
        h = _fmix32((i * np.uint32(0x9E3779B1)) ^ key_lo)
        return (_fmix32(h ^ key_hi) >> np.uint32(8)).astype(np.uint32)


def _keep_scale(shape, rate, seed, dtype, offset=0):
    # the threshold and scale use the float32 rate, as the C kernel receives it (a rate
    # just below 1 in float64 is 1 in float32: everything is dropped)
    rate = float(np.float32(rate))
    keep = dropout_bits(seed, offset + np.arange(int(np.prod(shape)))) >= np.uint32(rate * 2 ** 24)
    scale = np.float32(1.0 / (1.0 - rate)) if rate < 1 else 0
    return np.where(keep, np.asarray(scale, dtype=dtype), 0).reshape(shape).astype(dtype)


def dropout_forward(x, rate, seed, out=None, offset=0):
    """Element i is kept when the bits of element offset + i clear the rate."""
    return _store(out, x * _keep_scale(x.shape, rate, seed, x.dtype, offset))


def dropout_backward(dy, rate, seed, out=None, offset=0):
    return _store(out, dy * _keep_scale(dy.shape, rate, seed, dy.dtype, offset))


# ---- fused softmax + cross-entropy ------------------------------------------------

def _log_softmax(z):
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax_cross_entropy_forward(logits, targets, out_probs=None, out_loss=None):
    logp = _log_softmax(logits)
    return _store(out_probs, np.exp(logp)), _store(out_loss, -(targets * logp).sum(axis=1))


def softmax_cross_entropy_backward(probs, targets, scale=None, out=None):
    scale = 1.0 / probs.shape[0] if scale is None else scale
    return _store(out, scale * (probs * targets.sum(axis=1, keepdims=True) - targets))


def sparse_softmax_cross_entropy_forward(logits, labels, out_probs=None, out_loss=None):
    logp = _log_softmax(logits)
    loss = -logp[np.arange(len(labels)), labels]
    return _store(out_probs, np.exp(logp)), _store(out_loss, loss)


def sparse_softmax_cross_entropy_backward(probs, labels, scale=None, out=None):
    scale = 1.0 / probs.shape[0] if scale is None else scale
    onehot = np.zeros_like(probs)
    onehot[np.arange(len(labels)), labels] = 1
    return _store(out, scale * (probs - onehot))


# ---- optimizer updates (in place) -------------------------------------------------

def adam_update(param, m, v, grad, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
                epsilon=1e-7, step=1):
    dt = param.dtype.type
    b1, b2 = dt(beta_1), dt(beta_2)
    alpha = dt(float(dt(learning_rate)) * np.sqrt(1 - float(b2) ** step) / (1 - float(b1) ** step))
    m += (grad - m) * dt(1 - beta_1)  # (1 - beta) in double, then float32, as Keras
    v += (grad * grad - v) * dt(1 - beta_2)
    param -= m * alpha / (np.sqrt(v) + dt(epsilon))


def sgd_update(param, momentum_buf, grad, learning_rate=0.01, momentum=0.0, nesterov=False):
    dt = param.dtype.type
    lr, mu = dt(learning_rate), dt(momentum)
    if momentum == 0.0:
        param -= lr * grad
        return
    momentum_buf[...] = mu * momentum_buf - lr * grad
    param += mu * momentum_buf - lr * grad if nesterov else momentum_buf


def rmsprop_update(param, velocity, momentum_buf, grad, learning_rate=0.001, rho=0.9,
                   momentum=0.0, epsilon=1e-7):
    dt = param.dtype.type
    lr, mu, one_m_rho, rho = dt(learning_rate), dt(momentum), dt(1 - rho), dt(rho)
    velocity[...] = rho * velocity + one_m_rho * (grad * grad)
    increment = lr * grad / np.sqrt(velocity + dt(epsilon))
    if momentum == 0.0:
        param -= increment
        return
    momentum_buf[...] = mu * momentum_buf + increment
    param -= momentum_buf


# ---- more optimizer updates (issue 15; in place, Keras's maths) ---------------------------

def adamax_update(param, m, u, grad, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
                  epsilon=1e-7, step=1):
    dt = param.dtype.type
    b1 = dt(beta_1)
    m += (grad - m) * (1 - b1)
    u[...] = np.maximum(dt(beta_2) * u, np.abs(grad))
    param -= (dt(learning_rate) * m) / ((1 - b1 ** dt(step)) * (u + dt(epsilon)))


def adagrad_update(param, accumulator, grad, learning_rate=0.001, epsilon=1e-7):
    dt = param.dtype.type
    accumulator += grad * grad
    param -= (dt(learning_rate) * grad) / np.sqrt(accumulator + dt(epsilon))


def adadelta_update(param, accumulated_grad, accumulated_delta, grad, learning_rate=0.001,
                    rho=0.95, epsilon=1e-7):
    dt = param.dtype.type
    rho, eps = dt(rho), dt(epsilon)
    accumulated_grad[...] = rho * accumulated_grad + (1 - rho) * grad * grad
    delta = -np.sqrt(accumulated_delta + eps) * grad / np.sqrt(accumulated_grad + eps)
    accumulated_delta[...] = rho * accumulated_delta + (1 - rho) * delta * delta
    param += dt(learning_rate) * delta


def lion_update(param, m, grad, learning_rate=0.001, beta_1=0.9, beta_2=0.99):
    dt = param.dtype.type
    b1, b2 = dt(beta_1), dt(beta_2)
    param -= dt(learning_rate) * np.sign(m * b1 + grad * (1 - b1))
    m[...] = m * b2 + grad * (1 - b2)


def nadam_update(param, m, v, grad, learning_rate=0.001, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, u_t=0.0, u_next=0.0, u_product=1.0, step=1):
    dt = param.dtype.type
    b1, b2 = dt(beta_1), dt(beta_2)
    u_t, u_next, u_product = dt(u_t), dt(u_next), dt(u_product)
    m += (grad - m) * (1 - b1)
    v += (grad * grad - v) * (1 - b2)
    m_hat = u_next * m / (1 - u_product * u_next) + (1 - u_t) * grad / (1 - u_product)
    v_hat = v / (1 - b2 ** dt(step))
    param -= (m_hat * dt(learning_rate)) / (np.sqrt(v_hat) + dt(epsilon))


def ftrl_update(param, accumulator, linear, grad, learning_rate=0.001,
                learning_rate_power=-0.5, l1=0.0, l2=0.0, l2_shrinkage=0.0, beta=0.0):
    dt = param.dtype.type
    lr, p = dt(learning_rate), dt(-learning_rate_power)
    l2_total = dt(l2) + dt(beta) / (2 * lr)
    used = grad + 2 * dt(l2_shrinkage) * param
    new_acc = accumulator + grad * grad
    linear += used - (new_acc ** p - accumulator ** p) / lr * param
    quadratic = new_acc ** p / lr + 2 * l2_total
    param[...] = (np.clip(linear, -dt(l1), dt(l1)) - linear) / quadratic
    accumulator[...] = new_acc


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
# ---- BatchNormalization (imagea) ---------------------------------------------------

def _bn_axes(x, axis):
    axis = axis % x.ndim
    return axis, tuple(i for i in range(x.ndim) if i != axis), \
        tuple(-1 if i == axis else 1 for i in range(x.ndim))


def batchnorm_stats(x, axis=-1, out_mean=None, out_var=None, work=None):
    _, red, _ = _bn_axes(x, axis)
    mean = x.mean(axis=red)
    var = ((x - mean.reshape(_bn_axes(x, axis)[2])) ** 2).mean(axis=red)
    return _store(out_mean, mean), _store(out_var, var)


def batchnorm_forward(x, mean, var, gamma=None, beta=None, axis=-1, epsilon=1e-3, relu=False,
                      out=None, work=None):
    _, _, shape = _bn_axes(x, axis)
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + epsilon)
    if gamma is not None:
        y = y * gamma.reshape(shape)
    if beta is not None:
        y = y + beta.reshape(shape)
    if relu:
        y = np.where(y < 0, 0, y)
    return _store(out, y.astype(x.dtype, copy=False))


def batchnorm_backward(dy, x, y, mean, var, gamma=None, axis=-1, epsilon=1e-3, batch_stats=True,
                       out=None, out_gamma=None, out_beta=None, work=None):
    _, red, shape = _bn_axes(x, axis)
    g = dy if y is None else np.where(y > 0, dy, 0)
    inv = 1 / np.sqrt(var.reshape(shape) + epsilon)
    xhat = (x - mean.reshape(shape)) * inv
    dbeta = g.sum(axis=red)
    dgamma = (g * xhat).sum(axis=red)
    scale = inv if gamma is None else inv * gamma.reshape(shape)
    if batch_stats:
        m = x.size // mean.size
        dx = scale * (g - dbeta.reshape(shape) / m - xhat * dgamma.reshape(shape) / m)
    else:
        dx = scale * g
    return (_store(out, dx.astype(x.dtype, copy=False)), _store(out_gamma, dgamma),
            _store(out_beta, dbeta))


# ---- AveragePooling2D (imagea) -----------------------------------------------------

def _avg_counts(H, W, geometry):
    """How many image pixels each window holds (padding is not counted)."""
    KH, KW, SH, SW, OH, OW, PT, PL = geometry
    ones = _padded(np.ones((1, H, W, 1)), PT, PL, OH, OW, KH, KW, SH, SW)
    return sum(_window(ones, kh, kw, OH, OW, SH, SW) for kh in range(KH) for kw in range(KW))


def avgpool2d_forward(x, pool_size=(2, 2), strides=None, padding="valid", out=None):
    g = _pool_geometry(x.shape, pool_size, strides, padding)
    KH, KW, SH, SW, OH, OW, PT, PL = g
    xp = _padded(x, PT, PL, OH, OW, KH, KW, SH, SW)
    total = sum(_window(xp, kh, kw, OH, OW, SH, SW) for kh in range(KH) for kw in range(KW))
    return _store(out, (total / _avg_counts(x.shape[1], x.shape[2], g)).astype(x.dtype))


def avgpool2d_backward(dy, input_shape, pool_size=(2, 2), strides=None, padding="valid",
                       out=None):
    N, H, W, C = input_shape
    g = _pool_geometry(input_shape, pool_size, strides, padding)
    KH, KW, SH, SW, OH, OW, PT, PL = g
    share = dy / _avg_counts(H, W, g)
    HP, WP = max(H + PT, (OH - 1) * SH + KH), max(W + PL, (OW - 1) * SW + KW)
    dxp = np.zeros((N, HP, WP, C), dtype=dy.dtype)
    for kh in range(KH):
        for kw in range(KW):
            dxp[:, kh:kh + (OH - 1) * SH + 1:SH, kw:kw + (OW - 1) * SW + 1:SW] += share
    return _store(out, dxp[:, PT:PT + H, PL:PL + W])


# ---- more activations (imagea) ------------------------------------------------------

def _erf(x):
    from math import erf
    return np.vectorize(erf, otypes=[np.float64])(x).astype(x.dtype, copy=False)


def _softplus(v):
    return np.maximum(v, 0) + np.log1p(np.exp(-np.abs(v)))


def _sigmoid(v):
    return 1 / (1 + np.exp(-v))


_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772, 1.0507009873554805
_GELU_K = np.sqrt(2 / np.pi)


def _activation(kind, v, p0, p1, p2):
    if kind == "elu":
        return np.where(v > 0, v, p0 * np.expm1(np.minimum(v, 0)))
    if kind == "selu":
        return _SELU_SCALE * np.where(v > 0, v, _SELU_ALPHA * np.expm1(np.minimum(v, 0)))
    if kind == "gelu":
        return 0.5 * v * (1 + _erf(v / np.sqrt(2)))
    if kind == "gelu_tanh":
        return 0.5 * v * (1 + np.tanh(_GELU_K * (v + 0.044715 * v ** 3)))
    if kind == "silu":
        return v * _sigmoid(v)
    if kind == "softplus":
        return _softplus(v)
    if kind == "softsign":
        return v / (1 + np.abs(v))
    if kind == "hard_sigmoid":
        return np.clip((v + 3) / 6, 0, 1)
    if kind == "hard_silu":
        return v * np.clip((v + 3) / 6, 0, 1)
    if kind == "leaky_relu":
        return np.where(v > 0, v, p0 * v)
    if kind == "relu6":
        return np.clip(v, 0, 6)
    if kind == "exponential":
        return np.exp(v)
    if kind == "mish":
        return v * np.tanh(_softplus(v))
    if kind == "relu":  # Keras's relu(x, negative_slope=p1, max_value=p0, threshold=p2)
        pos = np.where(v > p2, v, 0)
        if np.isfinite(p0):
            pos = np.clip(pos, 0, p0)
        return pos - p1 * np.maximum(p2 - v, 0)
    raise ValueError(f"activation_forward: unknown activation kind {kind!r}")


def activation_forward(x, kind, p0=0.0, p1=0.0, p2=0.0, out=None):
    return _store(out, _activation(kind, x, p0, p1, p2).astype(x.dtype, copy=False))


def activation_backward(dy, x, y, kind, p0=0.0, p1=0.0, p2=0.0, out=None):
    """dy times the derivative, by central differences of the float64 forward (the
    derivatives are in csrc/activations.c; kinks are measure-zero)."""
    x64 = x.astype(np.float64)
    h = 1e-5 * np.maximum(1.0, np.abs(x64))
    d = (_activation(kind, x64 + h, p0, p1, p2) - _activation(kind, x64 - h, p0, p1, p2)) / (2 * h)
    return _store(out, (dy * d).astype(dy.dtype, copy=False))


def log_softmax_forward(x, out=None):
    shifted = x - x.max(axis=-1, keepdims=True)
    y = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return _store(out, y.astype(x.dtype, copy=False))


def log_softmax_backward(dy, y, out=None):
    return _store(out, dy - np.exp(y) * dy.sum(axis=-1, keepdims=True))
# ---- image preprocessing and augmentation (csrc/image_ops.c) ---------------------------

def scale_shift(x, scale, shift=None, out=None):
    """y = x * scale + shift, broadcast over x's trailing scale.size values."""
    flat = x.reshape(-1, scale.size)
    y = flat * scale + (0 if shift is None else shift)
    return _store(out, y.reshape(x.shape).astype(x.dtype))


def _resize_matrix(out_size, in_size, window, start, total, bilinear, dtype):
    """(out_size, total) matrix of the taps of each output index (half-pixel centres)."""
    m = np.zeros((out_size, total), dtype)
    s = np.float32(window) / np.float32(out_size)
    for o in range(out_size):
        if bilinear:
            f = np.float32((np.float32(o) + np.float32(0.5)) * s - np.float32(0.5))
            lo, hi, t = max(int(np.floor(f)), 0), min(int(np.ceil(f)), window - 1), f - np.floor(f)
            m[o, start + lo] += 1 - t
            m[o, start + hi] += t
        else:
            m[o, start + min(int(np.floor((np.float32(o) + np.float32(0.5)) * s)), window - 1)] = 1
    return m


def _resize_matrices(x_shape, size, interpolation, crop, dtype):
    oh, ow = normalize_pair(size, "size", "resize")
    top, left, ch, cw = (0, 0, x_shape[1], x_shape[2]) if crop is None else crop
    bil = interpolation == "bilinear"
    return (_resize_matrix(oh, x_shape[1], ch, top, x_shape[1], bil, dtype),
            _resize_matrix(ow, x_shape[2], cw, left, x_shape[2], bil, dtype))


def resize_forward(x, size, interpolation="bilinear", crop=None, out=None):
    """y[n] = Ry x[n] Rx^T per channel: Ry, Rx the row and column interpolation matrices."""
    ry, rx = _resize_matrices(x.shape, size, interpolation, crop, x.dtype)
    return _store(out, np.einsum("ah,nhwc,bw->nabc", ry, x, rx).astype(x.dtype))


def resize_backward(dy, x_shape, interpolation="bilinear", crop=None, out=None):
    ry, rx = _resize_matrices(tuple(x_shape), dy.shape[1:3], interpolation, crop, dy.dtype)
    return _store(out, np.einsum("ah,nabc,bw->nhwc", ry, dy, rx).astype(dy.dtype))


def _map_coord(v, length, mode):
    """TensorFlow's fill-mode coordinate map (ImageProjectiveTransformV3)."""
    if mode == "constant":
        return v
    if length <= 1 and mode in ("reflect", "wrap"):
        return np.zeros_like(v)
    v = v.copy()
    if mode == "reflect":
        sz2 = 2 * length
        neg = v < 0
        w = np.trunc(-v / sz2) * sz2 + v
        v = np.where(neg, np.where(w < -length, w + sz2, -w - 1), v)
        big = v > length - 1
        w = v - np.trunc(v / sz2) * sz2
        v = np.where(big, np.where(w >= length, sz2 - w - 1, w), v)
    elif mode == "wrap":
        sz = length - 1
        v = np.where(v < 0, v + length * (np.trunc(-v / sz) + 1),
                     np.where(v > length - 1, v - length * np.trunc(v / sz), v))
    return np.clip(v, 0, length - 1)


def _warp_taps(transforms, x_shape, size, interpolation, fill_mode):
    """Per image: a list of (flat pixel index or -1, weight) arrays over the output grid,
    and a mask of the pixels whose projection is degenerate (all fill)."""
    n, h, w = x_shape[:3]
    oh, ow = (h, w) if size is None else normalize_pair(size, "size", "warp")
    t = transforms
    gy, gx = np.meshgrid(np.arange(oh, dtype=t.dtype), np.arange(ow, dtype=t.dtype),
                         indexing="ij")
    out = []
    for i in range(n):
        a = t[i]
        k = a[6] * gx + a[7] * gy + 1
        dead = k == 0
        k = np.where(dead, 1, k)
        x = _map_coord((a[0] * gx + a[1] * gy + a[2]) / k, w, fill_mode)
        y = _map_coord((a[3] * gx + a[4] * gy + a[5]) / k, h, fill_mode)
        if interpolation == "nearest":
            # C's roundf: half away from zero (np.round rounds half to even)
            rx, ry = np.floor(np.abs(x) + 0.5) * np.sign(x), np.floor(np.abs(y) + 0.5) * np.sign(y)
            pts = [(rx, ry, np.ones_like(x))]
        else:
            x0, y0 = np.floor(x), np.floor(y)
            pts = [(x0, y0, (x0 + 1 - x) * (y0 + 1 - y)), (x0 + 1, y0, (x - x0) * (y0 + 1 - y)),
                   (x0, y0 + 1, (x0 + 1 - x) * (y - y0)), (x0 + 1, y0 + 1, (x - x0) * (y - y0))]
        taps = []
        for cx, cy, wt in pts:
            inside = (cx >= 0) & (cx < w) & (cy >= 0) & (cy < h) & ~dead
            idx = np.where(inside, cy * w + cx, -1).astype(np.int64)
            taps.append((idx, np.where(dead, 0, wt)))
        out.append((taps, dead))
    return out, (oh, ow)


def warp_forward(x, transforms, size=None, interpolation="bilinear", fill_mode="reflect",
                 fill_value=0.0, out=None):
    """Each output pixel is the weighted sum of its taps; a tap outside the image reads
    fill_value, as does a pixel whose projection is degenerate."""
    per_image, (oh, ow) = _warp_taps(transforms, x.shape, size, interpolation, fill_mode)
    c = x.shape[3]
    y = np.zeros((x.shape[0], oh, ow, c), x.dtype)
    for i, (taps, dead) in enumerate(per_image):
        flat = x[i].reshape(-1, c)
        for idx, wt in taps:
            vals = np.where((idx >= 0)[..., None], flat[np.maximum(idx, 0)], fill_value)
            y[i] += wt[..., None] * vals
        y[i][dead] = fill_value
    return _store(out, y)


def warp_backward(dy, transforms, x_shape, interpolation="bilinear", fill_mode="reflect",
                  out=None):
    per_image, _ = _warp_taps(transforms, tuple(x_shape), dy.shape[1:3], interpolation,
                              fill_mode)
    n, h, w, c = x_shape
    dx = np.zeros((n, h * w, c), dy.dtype)
    for i, (taps, _) in enumerate(per_image):
        for idx, wt in taps:
            keep = idx >= 0
            np.add.at(dx[i], idx[keep], wt[keep][:, None] * dy[i][keep])
    return _store(out, dx.reshape(x_shape))


def _per_image(v, x):
    return v.reshape((-1,) + (1,) * (x.ndim - 1))


def brightness_forward(x, delta, value_range, out=None):
    return _store(out, np.clip(x + _per_image(delta, x), *value_range).astype(x.dtype))


def brightness_backward(dy, x, delta, value_range, out=None):
    z = x + _per_image(delta, x)
    return _store(out, np.where((z >= value_range[0]) & (z <= value_range[1]), dy, 0))


def contrast_workspace_size(N, C):
    return 2 * N * C


def _contrast_pre(x, factor):
    m = x.mean(axis=(1, 2), keepdims=True)
    return (x - m) * _per_image(factor, x) + m


def contrast_forward(x, factor, value_range, out=None, work=None):
    return _store(out, np.clip(_contrast_pre(x, factor), *value_range).astype(x.dtype))


def contrast_backward(dy, x, factor, value_range, out=None, work=None):
    z = _contrast_pre(x, factor)
    g = np.where((z >= value_range[0]) & (z <= value_range[1]), dy, 0)
    f = _per_image(factor, x)
    return _store(out, (f * g + (1 - f) * g.mean(axis=(1, 2), keepdims=True)).astype(dy.dtype))


# ---- grouped and dilated convolution (csrc/conv2d_grouped.c) ----------------------------
# A dilated kernel is the plain kernel with DH-1 (DW-1) zero rows (columns) between taps;
# a grouped convolution is G plain ones on the groups' channel slices.

def _dilate(kernel, dilation_rate):
    dh, dw = normalize_pair(dilation_rate, "dilation_rate", "gconv2d")
    kh, kw = kernel.shape[:2]
    out = np.zeros(((kh - 1) * dh + 1, (kw - 1) * dw + 1) + kernel.shape[2:], kernel.dtype)
    out[::dh, ::dw] = kernel
    return out


def gconv2d_output_shape(input_shape, kernel_shape, strides=(1, 1), padding="valid",
                         dilation_rate=(1, 1), groups=1):
    dh, dw = normalize_pair(dilation_rate, "dilation_rate", "gconv2d")
    eff = ((kernel_shape[0] - 1) * dh + 1, (kernel_shape[1] - 1) * dw + 1) + tuple(kernel_shape[2:])
    return conv2d_output_shape(input_shape, eff, strides, padding)


def gconv2d_workspace_size(*args, **kwargs):
    return 0


def gconv2d_forward(x, kernel, bias=None, strides=(1, 1), padding="valid",
                    dilation_rate=(1, 1), groups=1, out=None):
    k = _dilate(kernel, dilation_rate)
    cg, fg = kernel.shape[2], kernel.shape[3] // groups
    y = np.concatenate([conv2d_forward(x[..., g * cg:(g + 1) * cg], k[..., g * fg:(g + 1) * fg],
                                       None, strides, padding) for g in range(groups)], axis=-1)
    return _store(out, y if bias is None else y + bias)


def gconv2d_backward_input(dy, kernel, input_shape, strides=(1, 1), padding="valid",
                           dilation_rate=(1, 1), groups=1, out=None):
    k = _dilate(kernel, dilation_rate)
    cg, fg = kernel.shape[2], kernel.shape[3] // groups
    shape = tuple(input_shape[:3]) + (cg,)
    return _store(out, np.concatenate([
        conv2d_backward_input(dy[..., g * fg:(g + 1) * fg], k[..., g * fg:(g + 1) * fg], shape,
                              strides, padding) for g in range(groups)], axis=-1))


def gconv2d_backward_weight(dy, x, kernel_shape, strides=(1, 1), padding="valid",
                            dilation_rate=(1, 1), groups=1, use_bias=True, out_kernel=None,
                            out_bias=None, work=None):
    dh, dw = normalize_pair(dilation_rate, "dilation_rate", "gconv2d")
    kh, kw, cg, f = kernel_shape
    fg = f // groups
    eff = ((kh - 1) * dh + 1, (kw - 1) * dw + 1)
    parts = [conv2d_backward_weight(dy[..., g * fg:(g + 1) * fg], x[..., g * cg:(g + 1) * cg],
                                    eff, strides, padding, False)[0] for g in range(groups)]
    dk = np.concatenate(parts, axis=-1)[::dh, ::dw]
    db = dy.sum(axis=(0, 1, 2)) if use_bias else None
    if out_bias is not None and db is not None:
        out_bias[...] = db
        db = out_bias
    return _store(out_kernel, dk), db


# ---- Adam(amsgrad), centered RMSprop, Adafactor (optim_extra.c; in place, Keras's maths) ---

def adam_amsgrad_update(param, m, v, v_hat, grad, learning_rate=0.001, beta_1=0.9,
                        beta_2=0.999, epsilon=1e-7, step=1):
    dt = param.dtype.type
    b1, b2 = dt(beta_1), dt(beta_2)
    alpha = dt(float(dt(learning_rate)) * np.sqrt(1 - float(b2) ** step) / (1 - float(b1) ** step))
    m += (grad - m) * dt(1 - beta_1)  # (1 - beta) in double, then float32, as Keras
    v += (grad * grad - v) * dt(1 - beta_2)
    np.maximum(v_hat, v, out=v_hat)
    param -= m * alpha / (np.sqrt(v_hat) + dt(epsilon))


def rmsprop_centered_update(param, velocity, momentum_buf, average_grad, grad,
                            learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7):
    dt = param.dtype.type
    lr, mu, one_m_rho, rho = dt(learning_rate), dt(momentum), dt(1 - rho), dt(rho)
    velocity[...] = rho * velocity + one_m_rho * (grad * grad)
    average_grad[...] = rho * average_grad + one_m_rho * grad
    increment = lr * grad / np.sqrt(velocity - average_grad * average_grad + dt(epsilon))
    if momentum == 0.0:
        param -= increment
        return
    momentum_buf[...] = mu * momentum_buf + increment
    param -= momentum_buf


def adafactor_update(param, r, c, v, grad, shapes, rho_t=0.001, beta_2_t=0.0,
                     epsilon_1=1e-30, epsilon_2=1e-3, clip_threshold=1.0):
    dt = param.dtype.type
    beta, one_m, eps1 = dt(beta_2_t), dt(1) - dt(beta_2_t), dt(epsilon_1)
    offset = 0
    for shape in shapes:
        shape = tuple(int(d) for d in shape)
        n = int(np.prod(shape, dtype=np.int64))
        if n == 0:
            continue
        w, g = param[offset:offset + n].reshape(shape), grad[offset:offset + n].reshape(shape)
        vv = v[offset:offset + n].reshape(shape)
        alpha = np.maximum(dt(epsilon_2), dt(np.sqrt(np.mean(w.astype(np.float64) ** 2)))) * \
            dt(rho_t)
        sq = g * g + eps1
        if len(shape) >= 2:
            rows, cols = shape[:-1], shape[:-2] + shape[-1:]
            rr = r[offset:offset + int(np.prod(rows))].reshape(rows)
            cc = c[offset:offset + int(np.prod(cols))].reshape(cols)
            rr[...] = beta * rr + one_m * np.mean(sq, axis=-1, dtype=np.float64).astype(dt)
            cc[...] = beta * cc + one_m * np.mean(sq, axis=-2, dtype=np.float64).astype(dt)
            rmean = np.mean(rr, axis=-1, keepdims=True, dtype=np.float64).astype(dt)
            vv[...] = (rr / rmean)[..., None] * cc[..., None, :]
        else:
            vv[...] = beta * vv + one_m * sq
        u = g / np.sqrt(vv)
        rms_u = dt(np.sqrt(np.mean(u.astype(np.float64) ** 2)))
        w -= alpha * (u / np.maximum(dt(1), rms_u / dt(clip_threshold)))
        offset += n
# ---- LayerNormalization, GroupNormalization, UnitNormalization (csrc/norm.c) ------------

def layernorm_forward(x, gamma=None, beta=None, epsilon=1e-3, rms_scaling=False, out=None,
                      out_mean=None, out_rstd=None):
    mean = x.mean(axis=-1)
    rstd = 1 / np.sqrt(((x - mean[..., None]) ** 2).mean(axis=-1) + epsilon)
    y = (x - (0 if rms_scaling else mean[..., None])) * rstd[..., None]
    if gamma is not None:
        y = y * gamma
    if beta is not None:
        y = y + beta
    return (_store(out, y.astype(x.dtype, copy=False)), _store(out_mean, mean),
            _store(out_rstd, rstd))


def layernorm_backward(dy, x, mean, rstd, gamma=None, rms_scaling=False, out=None,
                       out_gamma=None, out_beta=None, work=None):
    K = x.shape[-1]
    xh = (x - mean[..., None]) * rstd[..., None]          # the centred, scaled input
    xo = x * rstd[..., None] if rms_scaling else xh         # what gamma multiplies
    g = dy if gamma is None else dy * gamma
    c1 = 0 if rms_scaling else g.sum(axis=-1, keepdims=True) / K
    c2 = (g * xo).sum(axis=-1, keepdims=True) / K
    dx = rstd[..., None] * (g - c1 - xh * c2)
    rows = tuple(range(x.ndim - 1))
    return (_store(out, dx.astype(x.dtype, copy=False)), _store(out_gamma, (dy * xo).sum(axis=rows)),
            _store(out_beta, dy.sum(axis=rows)))


def _groups(x, groups):
    """x (N, ..., C) as (N, S, G, C / G)."""
    N, C = x.shape[0], x.shape[-1]
    return x.reshape(N, -1, groups, C // groups)


def groupnorm_forward(x, groups, gamma=None, beta=None, epsilon=1e-3, out=None, out_mean=None,
                      out_rstd=None, work=None):
    xg = _groups(x, groups)
    mean = xg.mean(axis=(1, 3))
    rstd = 1 / np.sqrt(((xg - mean[:, None, :, None]) ** 2).mean(axis=(1, 3)) + epsilon)
    y = ((xg - mean[:, None, :, None]) * rstd[:, None, :, None]).reshape(x.shape)
    if gamma is not None:
        y = y * gamma
    if beta is not None:
        y = y + beta
    return (_store(out, y.astype(x.dtype, copy=False)), _store(out_mean, mean),
            _store(out_rstd, rstd))


def groupnorm_backward(dy, x, mean, rstd, groups, gamma=None, out=None, out_gamma=None,
                       out_beta=None, work=None):
    xh = (_groups(x, groups) - mean[:, None, :, None]) * rstd[:, None, :, None]
    g = _groups(dy if gamma is None else dy * gamma, groups)
    c1 = g.mean(axis=(1, 3), keepdims=True)
    c2 = (g * xh).mean(axis=(1, 3), keepdims=True)
    dx = (rstd[:, None, :, None] * (g - c1 - xh * c2)).reshape(x.shape)
    xh = xh.reshape(x.shape)
    rows = tuple(range(x.ndim - 1))
    return (_store(out, dx.astype(x.dtype, copy=False)), _store(out_gamma, (dy * xh).sum(axis=rows)),
            _store(out_beta, dy.sum(axis=rows)))


def _inv_norm(x, epsilon):
    """min(1 / ||row||, 1 / epsilon) per row of the last axis, and whether it was capped."""
    with np.errstate(divide="ignore"):
        inv = 1 / np.sqrt((x * x).sum(axis=-1, keepdims=True))
    return np.minimum(inv, 1 / epsilon), ~(inv < 1 / epsilon)


def unitnorm_forward(x, epsilon=1e-12, out=None):
    inv, _ = _inv_norm(x, epsilon)
    return _store(out, (x * inv).astype(x.dtype, copy=False))


def unitnorm_backward(dy, x, epsilon=1e-12, out=None):
    inv, capped = _inv_norm(x, epsilon)
    t = np.where(capped, 0, (dy * x).sum(axis=-1, keepdims=True) * inv * inv)
    return _store(out, (inv * (dy - x * t)).astype(x.dtype, copy=False))
