# Included by _C.pyx: Conv2D and MaxPooling2D wrappers (windowed ops).

# ---- Conv2D -----------------------------------------------------------------------

cdef fnn_conv2d_shape _conv_shape(str op, tuple x_shape, tuple w_shape, strides, padding) except *:
    cdef fnn_conv2d_shape s
    if len(x_shape) != 4:
        raise ValueError(f"{op}: input must have 4 dimensions (N, H, W, C), received shape {x_shape}")
    if len(w_shape) != 4:
        raise ValueError(f"{op}: kernel must have 4 dimensions (KH, KW, C, F), received shape {w_shape}")
    if x_shape[3] != w_shape[2]:
        raise ValueError(f"{op}: input {x_shape} has {x_shape[3]} channels but kernel "
                         f"{w_shape} expects {w_shape[2]}")
    if min(x_shape) < 1 or min(w_shape) < 1:
        raise ValueError(f"{op}: empty input {x_shape} or kernel {w_shape}")
    sh, sw = normalize_pair(strides, "strides", op)
    pad = normalize_padding(padding, op)
    oh, ow, pt, pl = window_geometry(x_shape[1], x_shape[2], w_shape[:2], (sh, sw), pad, op)
    s.N, s.H, s.W, s.C = x_shape
    s.KH, s.KW, s.F = w_shape[0], w_shape[1], w_shape[3]
    s.SH, s.SW, s.PT, s.PL, s.OH, s.OW = sh, sw, pt, pl, oh, ow
    return s


def conv2d_output_shape(input_shape, kernel_shape, strides=(1, 1), padding="valid"):
    cdef fnn_conv2d_shape s = _conv_shape("conv2d", tuple(input_shape), tuple(kernel_shape),
                                          strides, padding)
    return (s.N, s.OH, s.OW, s.F)


def conv2d_workspace_size(input_shape, kernel_shape, strides=(1, 1), padding="valid"):
    cdef fnn_conv2d_shape s = _conv_shape("conv2d", tuple(input_shape), tuple(kernel_shape),
                                          strides, padding)
    return fnn_conv2d_workspace_size(&s)


_WINOGRAD_MODES = ("never", "auto", "always")


def conv2d_set_winograd(str mode):
    """Path of 3x3 stride-1 convolutions: "never" (the GEMM path; tests and A/B
    benchmarks), "auto" (Winograd F(2x2, 3x3) where it pays; the default) or "always"
    (Winograd whenever the shape allows it; tests).  Process-wide; returns the previous
    mode."""
    if mode not in _WINOGRAD_MODES:
        raise ValueError(f"conv2d_set_winograd: mode must be one of {_WINOGRAD_MODES}, "
                         f"received {mode!r}")
    return _WINOGRAD_MODES[fnn_conv2d_set_winograd(_WINOGRAD_MODES.index(mode))]


def conv2d_forward(x, kernel, bias=None, strides=(1, 1), padding="valid", out=None, work=None,
                   bint relu=False):
    """y = conv(x, kernel) + bias (then max(y, 0) if relu);  x (N,H,W,C), kernel
    (KH,KW,C,F) -> y (N,OH,OW,F)."""
    op = "conv2d_forward"
    f32(op, "x", x, 4)
    f32(op, "kernel", kernel, 4)
    cdef fnn_conv2d_shape s = _conv_shape(op, x.shape, kernel.shape, strides, padding)
    if bias is not None:
        f32(op, "bias", bias, 1)
        if bias.shape[0] != s.F:
            raise ValueError(f"{op}: bias {bias.shape} does not match kernel {kernel.shape}")
    y = _output(op, "out", out, (s.N, s.OH, s.OW, s.F), F32, (x, kernel, bias))
    work = _workspace(op, work, fnn_conv2d_workspace_size(&s), (x, kernel, bias, y))
    cdef float *Y = fp(y)
    cdef float *X = fp(x)
    cdef float *Wt = fp(kernel)
    cdef float *B = fp_or_null(bias)
    cdef float *Wk = fp(work)
    cdef size_t ws = work.size
    with nogil:
        fnn_conv2d_forward(Y, X, Wt, B, &s, relu, Wk, ws)
    return y


def conv2d_backward_input(dy, kernel, input_shape, strides=(1, 1), padding="valid",
                          out=None, work=None):
    """dx (input_shape) = adjoint of conv2d_forward (without bias) applied to dy."""
    op = "conv2d_backward_input"
    f32(op, "dy", dy, 4)
    f32(op, "kernel", kernel, 4)
    cdef fnn_conv2d_shape s = _conv_shape(op, tuple(input_shape), kernel.shape, strides, padding)
    if dy.shape != (s.N, s.OH, s.OW, s.F):
        raise ValueError(f"{op}: dy must have shape {(s.N, s.OH, s.OW, s.F)} for input "
                         f"{tuple(input_shape)} and kernel {kernel.shape}, received {dy.shape}")
    dx = _output(op, "out", out, (s.N, s.H, s.W, s.C), F32, (dy, kernel))
    work = _workspace(op, work, fnn_conv2d_workspace_size(&s), (dy, kernel, dx))
    cdef float *DX = fp(dx)
    cdef float *DY = fp(dy)
    cdef float *Wt = fp(kernel)
    cdef float *Wk = fp(work)
    cdef size_t ws = work.size
    with nogil:
        fnn_conv2d_backward_input(DX, DY, Wt, &s, Wk, ws)
    return dx


def conv2d_backward_weight(dy, x, kernel_size, strides=(1, 1), padding="valid",
                           bint use_bias=True, out_kernel=None, out_bias=None, work=None):
    """(dkernel (KH,KW,C,F), dbias (F,) or None) for dy (N,OH,OW,F) and x (N,H,W,C)."""
    op = "conv2d_backward_weight"
    f32(op, "dy", dy, 4)
    f32(op, "x", x, 4)
    kh, kw = normalize_pair(kernel_size, "kernel_size", op)
    cdef fnn_conv2d_shape s = _conv_shape(op, x.shape, (kh, kw, x.shape[3], dy.shape[3]),
                                          strides, padding)
    if dy.shape != (s.N, s.OH, s.OW, s.F):
        raise ValueError(f"{op}: dy must have shape {(s.N, s.OH, s.OW, s.F)} for x {x.shape}, "
                         f"received {dy.shape}")
    dw = _output(op, "out_kernel", out_kernel, (s.KH, s.KW, s.C, s.F), F32, (dy, x))
    db = _output(op, "out_bias", out_bias, (s.F,), F32, (dy, x, dw)) if use_bias else None
    work = _workspace(op, work, fnn_conv2d_workspace_size(&s), (dy, x, dw, db))
    cdef float *DW = fp(dw)
    cdef float *DB = fp_or_null(db)
    cdef float *DY = fp(dy)
    cdef float *X = fp(x)
    cdef float *Wk = fp(work)
    cdef size_t ws = work.size
    with nogil:
        fnn_conv2d_backward_weight(DW, DB, DY, X, &s, Wk, ws)
    return dw, db


# ---- Conv2D + ReLU + 2x2 max pooling, fused ------------------------------------------

cdef fnn_conv2d_shape _conv_pool_shape(str op, tuple x_shape, tuple w_shape, strides,
                                       padding, bint winograd_ok=True) except *:
    cdef fnn_conv2d_shape s = _conv_shape(op, x_shape, w_shape, strides, padding)
    if s.KH * s.KW * s.C > FNN_CONV_POOL_MAX_ENTRIES and not (
            winograd_ok and fnn_conv2d_relu_maxpool2d_winograd(&s, 0)):
        raise ValueError(f"{op}: the fused kernel takes kernels of at most "
                         f"{FNN_CONV_POOL_MAX_ENTRIES} entries (KH*KW*C), or 3x3 stride-1 "
                         f"convolutions on the Winograd path with an even output; received "
                         f"kernel {w_shape} for input {x_shape}")
    if s.OH < 2 or s.OW < 2:
        raise ValueError(f"{op}: the convolution's {s.OH}x{s.OW} output is smaller than the "
                         f"2x2 pool window")
    return s


def conv2d_relu_maxpool2d_workspace_size(input_shape, kernel_shape, strides=(1, 1),
                                         padding="valid"):
    cdef fnn_conv2d_shape s = _conv_pool_shape("conv2d_relu_maxpool2d", tuple(input_shape),
                                               tuple(kernel_shape), strides, padding)
    return fnn_conv2d_relu_maxpool2d_workspace_size(&s)


def conv2d_relu_maxpool2d_uses_winograd(input_shape, kernel_shape, padding="valid"):
    """Whether conv2d_relu_maxpool2d_forward runs these shapes (stride 1) on the Winograd
    path (3x3, enough channels, an even output), given a large enough workspace."""
    cdef fnn_conv2d_shape s = _conv_shape("conv2d_relu_maxpool2d_uses_winograd",
                                          tuple(input_shape), tuple(kernel_shape), (1, 1),
                                          padding)
    return bool(fnn_conv2d_relu_maxpool2d_winograd(&s, 0))


def conv2d_relu_maxpool2d_forward(x, kernel, bias=None, strides=(1, 1), padding="valid",
                                  out=None, out_pos=None, work=None):
    """(y, pos) = 2x2 max pooling (stride 2, valid) of relu(conv(x, kernel) + bias), the
    convolution's output never stored; pos (uint8) is the winner's place 2a + b in its
    window.  Kernels of at most 32 entries (KH*KW*C), or 3x3 stride-1 ones with an even
    output that the Winograd path takes (conv2d_relu_maxpool2d_uses_winograd)."""
    op = "conv2d_relu_maxpool2d_forward"
    f32(op, "x", x, 4)
    f32(op, "kernel", kernel, 4)
    cdef fnn_conv2d_shape s = _conv_pool_shape(op, x.shape, kernel.shape, strides, padding)
    if bias is not None:
        f32(op, "bias", bias, 1)
        if bias.shape[0] != s.F:
            raise ValueError(f"{op}: bias {bias.shape} does not match kernel {kernel.shape}")
    shape = (s.N, s.OH // 2, s.OW // 2, s.F)
    y = _output(op, "out", out, shape, F32, (x, kernel, bias))
    pos = _output(op, "out_pos", out_pos, shape, U8, (x, kernel, bias, y))
    work = _workspace(op, work, fnn_conv2d_relu_maxpool2d_workspace_size(&s), (x, kernel, bias, y, pos))
    cdef float *Y = fp(y)
    cdef uint8_t *POS = <uint8_t *>cnp.PyArray_DATA(pos)
    cdef float *X = fp(x)
    cdef float *Wt = fp(kernel)
    cdef float *B = fp_or_null(bias)
    cdef float *Wk = fp(work)
    cdef size_t ws = work.size
    with nogil:
        fnn_conv2d_relu_maxpool2d_forward(Y, POS, X, Wt, B, &s, Wk, ws)
    return y, pos


def conv2d_relu_maxpool2d_backward_weight(dy, y, pos, x, kernel_size, strides=(1, 1),
                                          padding="valid", bint use_bias=True, out_kernel=None,
                                          out_bias=None, work=None):
    """(dkernel, dbias or None) of the fused op for the pooled gradient dy, given its
    forward outputs y and pos and its input x."""
    op = "conv2d_relu_maxpool2d_backward_weight"
    f32(op, "dy", dy, 4)
    f32(op, "y", y, 4)
    _array(op, "pos", pos, U8, 4)
    f32(op, "x", x, 4)
    kh, kw = normalize_pair(kernel_size, "kernel_size", op)
    cdef fnn_conv2d_shape s = _conv_pool_shape(op, x.shape, (kh, kw, x.shape[3], dy.shape[3]),
                                               strides, padding, False)
    shape = (s.N, s.OH // 2, s.OW // 2, s.F)
    if dy.shape != shape or y.shape != shape or pos.shape != shape:
        raise ValueError(f"{op}: dy {dy.shape}, y {y.shape} and pos {pos.shape} must all have "
                         f"shape {shape} for x {x.shape}")
    if pos.size and pos.max() > 3:
        raise ValueError(f"{op}: pos holds {pos.max()}, outside a 2x2 window (0..3)")
    dw = _output(op, "out_kernel", out_kernel, (s.KH, s.KW, s.C, s.F), F32, (dy, y, pos, x))
    db = _output(op, "out_bias", out_bias, (s.F,), F32, (dy, y, pos, x, dw)) if use_bias else None
    work = _workspace(op, work, fnn_conv2d_relu_maxpool2d_workspace_size(&s), (dy, y, pos, x, dw, db))
    cdef float *DW = fp(dw)
    cdef float *DB = fp_or_null(db)
    cdef float *DY = fp(dy)
    cdef float *Yp = fp(y)
    cdef uint8_t *POS = <uint8_t *>cnp.PyArray_DATA(pos)
    cdef float *X = fp(x)
    cdef float *Wk = fp(work)
    cdef size_t ws = work.size
    with nogil:
        fnn_conv2d_relu_maxpool2d_backward_weight(DW, DB, DY, Yp, POS, X, &s, Wk, ws)
    return dw, db


def maxpool2x2_relu_scatter(dy, y, pos, out=None):
    """dz (N, 2PH, 2PW, F), the gradient before ReLU + 2x2 max pooling: dy (N, PH, PW, F)
    at each window's winner (pos, 0..3 = 2a + b) where the pooled y > 0, 0 elsewhere."""
    op = "maxpool2x2_relu_scatter"
    f32(op, "dy", dy, 4)
    f32(op, "y", y, 4)
    _array(op, "pos", pos, U8, 4)
    if y.shape != dy.shape or pos.shape != dy.shape:
        raise ValueError(f"{op}: dy {dy.shape}, y {y.shape} and pos {pos.shape} must have one "
                         f"shape")
    if pos.size and pos.max() > 3:
        raise ValueError(f"{op}: pos holds {pos.max()}, outside a 2x2 window (0..3)")
    n, ph, pw, f = dy.shape
    dz = _output(op, "out", out, (n, 2 * ph, 2 * pw, f), F32, (dy, y, pos))
    cdef float *DZ = fp(dz)
    cdef float *DY = fp(dy)
    cdef float *Yp = fp(y)
    cdef uint8_t *POS = <uint8_t *>cnp.PyArray_DATA(pos)
    cdef int64_t N = n, PH = ph, PW = pw, F = f
    with nogil:
        fnn_maxpool2x2_relu_scatter(DZ, DY, Yp, POS, N, PH, PW, F)
    return dz


# ---- MaxPooling2D -----------------------------------------------------------------

cdef fnn_pool2d_shape _pool_shape(str op, tuple x_shape, pool_size, strides, padding) except *:
    cdef fnn_pool2d_shape s
    if len(x_shape) != 4:
        raise ValueError(f"{op}: input must have 4 dimensions (N, H, W, C), received shape {x_shape}")
    if min(x_shape) < 1:
        raise ValueError(f"{op}: input is empty (shape {x_shape})")
    if x_shape[1] * x_shape[2] >= 2 ** 31:
        raise ValueError(f"{op}: images of {x_shape[1]}x{x_shape[2]} pixels are too large")
    kh, kw = normalize_pair(pool_size, "pool_size", op)
    sh, sw = normalize_pair(strides if strides is not None else (kh, kw), "strides", op)
    pad = normalize_padding(padding, op)
    oh, ow, pt, pl = window_geometry(x_shape[1], x_shape[2], (kh, kw), (sh, sw), pad, op)
    s.N, s.H, s.W, s.C = x_shape
    s.KH, s.KW, s.SH, s.SW, s.PT, s.PL, s.OH, s.OW = kh, kw, sh, sw, pt, pl, oh, ow
    return s


def maxpool2d_forward(x, pool_size=(2, 2), strides=None, padding="valid", out=None,
                      out_argmax=None):
    """(y (N,OH,OW,C), argmax int32 (N,OH,OW,C) holding ih*W + iw of each winner)."""
    op = "maxpool2d_forward"
    f32(op, "x", x, 4)
    cdef fnn_pool2d_shape s = _pool_shape(op, x.shape, pool_size, strides, padding)
    shape = (s.N, s.OH, s.OW, s.C)
    y = _output(op, "out", out, shape, F32, (x,))
    am = _output(op, "out_argmax", out_argmax, shape, I32, (x, y))
    cdef float *Y = fp(y)
    cdef int32_t *A = ip(am)
    cdef float *X = fp(x)
    with nogil:
        fnn_maxpool2d_forward(Y, A, X, &s)
    return y, am


def maxpool2d_backward(dy, argmax, input_shape, pool_size=(2, 2), strides=None,
                       padding="valid", out=None):
    """dx (input_shape): dy scattered to the argmax positions (summed where they repeat)."""
    op = "maxpool2d_backward"
    f32(op, "dy", dy, 4)
    _array(op, "argmax", argmax, I32, 4)
    cdef fnn_pool2d_shape s = _pool_shape(op, tuple(input_shape), pool_size, strides, padding)
    shape = (s.N, s.OH, s.OW, s.C)
    if dy.shape != shape or argmax.shape != shape:
        raise ValueError(f"{op}: dy {dy.shape} and argmax {argmax.shape} must both have shape "
                         f"{shape} for input {tuple(input_shape)}")
    amin, amax = (argmax.min(), argmax.max())
    if amin < 0 or amax >= s.H * s.W:
        raise ValueError(f"{op}: argmax holds positions outside the {s.H}x{s.W} image "
                         f"(range [{amin}, {amax}])")
    dx = _output(op, "out", out, (s.N, s.H, s.W, s.C), F32, (dy, argmax))
    cdef float *DX = fp(dx)
    cdef float *DY = fp(dy)
    cdef int32_t *A = ip(argmax)
    with nogil:
        fnn_maxpool2d_backward(DX, DY, A, &s)
    return dx
