# Included by _C.pyx: grouped and dilated convolution (csrc/conv2d_grouped.c), the path of
# Conv2D with dilation_rate or groups, DepthwiseConv2D and SeparableConv2D.

cdef fnn_gconv2d_shape _gconv_shape(str op, tuple x_shape, tuple w_shape, strides, padding,
                                    dilation, groups) except *:
    cdef fnn_gconv2d_shape s
    if len(x_shape) != 4 or len(w_shape) != 4:
        raise ValueError(f"{op}: input (N, H, W, C) and kernel (KH, KW, C/groups, F) must "
                         f"have 4 dimensions, received {x_shape} and {w_shape}")
    if min(x_shape) < 1 or min(w_shape) < 1:
        raise ValueError(f"{op}: empty input {x_shape} or kernel {w_shape}")
    g = int(groups)
    if g < 1 or x_shape[3] % g or w_shape[3] % g or x_shape[3] // g != w_shape[2]:
        raise ValueError(f"{op}: input {x_shape} and kernel {w_shape} do not fit groups={g} "
                         f"(C and F divisible by groups, kernel.shape[2] == C / groups)")
    sh, sw = normalize_pair(strides, "strides", op)
    dh, dw = normalize_pair(dilation, "dilation_rate", op)
    pad = normalize_padding(padding, op)
    eh, ew = (w_shape[0] - 1) * dh + 1, (w_shape[1] - 1) * dw + 1
    oh, ow, pt, pl = window_geometry(x_shape[1], x_shape[2], (eh, ew), (sh, sw), pad, op)
    s.N, s.H, s.W, s.C = x_shape
    s.KH, s.KW, s.F = w_shape[0], w_shape[1], w_shape[3]
    s.SH, s.SW, s.DH, s.DW, s.PT, s.PL, s.OH, s.OW, s.G = sh, sw, dh, dw, pt, pl, oh, ow, g
    return s


def gconv2d_output_shape(input_shape, kernel_shape, strides=(1, 1), padding="valid",
                         dilation_rate=(1, 1), groups=1):
    cdef fnn_gconv2d_shape s = _gconv_shape("gconv2d", tuple(input_shape), tuple(kernel_shape),
                                            strides, padding, dilation_rate, groups)
    return (s.N, s.OH, s.OW, s.F)


def gconv2d_workspace_size(input_shape, kernel_shape, strides=(1, 1), padding="valid",
                           dilation_rate=(1, 1), groups=1):
    cdef fnn_gconv2d_shape s = _gconv_shape("gconv2d", tuple(input_shape), tuple(kernel_shape),
                                            strides, padding, dilation_rate, groups)
    return _gconv_work_size(&s)


cdef size_t _gconv_work_size(const fnn_gconv2d_shape *s):
    """Floats of workspace for any gconv2d call of this shape (the direct path's weight
    partials, or the GEMM path's patches and packing buffers)."""
    cdef size_t a = fnn_gconv2d_workspace_size(s)
    cdef size_t b = fnn_gconv2d_gemm_workspace_size(s) if fnn_gconv2d_uses_gemm(s) else 0
    return a if a > b else b


def gconv2d_uses_gemm(input_shape, kernel_shape, strides=(1, 1), padding="valid",
                      dilation_rate=(1, 1), groups=1):
    """Whether this shape takes the GEMM path (groups with many channels each)."""
    cdef fnn_gconv2d_shape s = _gconv_shape("gconv2d", tuple(input_shape), tuple(kernel_shape),
                                            strides, padding, dilation_rate, groups)
    return bool(fnn_gconv2d_uses_gemm(&s))


def gconv2d_forward(x, kernel, bias=None, strides=(1, 1), padding="valid",
                    dilation_rate=(1, 1), groups=1, out=None, work=None):
    """y = grouped, dilated conv(x, kernel) + bias;  x (N,H,W,C), kernel (KH,KW,C/G,F).
    Groups with many channels each take the GEMM path (work: gconv2d_workspace_size
    floats, allocated when None)."""
    op = "gconv2d_forward"
    f32(op, "x", x, 4)
    f32(op, "kernel", kernel, 4)
    cdef fnn_gconv2d_shape s = _gconv_shape(op, x.shape, kernel.shape, strides, padding,
                                            dilation_rate, groups)
    if bias is not None:
        f32(op, "bias", bias, 1)
        if bias.shape[0] != s.F:
            raise ValueError(f"{op}: bias {bias.shape} does not match kernel {kernel.shape}")
    y = _output(op, "out", out, (s.N, s.OH, s.OW, s.F), F32, (x, kernel, bias))
    cdef float *Y = fp(y)
    cdef float *X = fp(x)
    cdef float *Wt = fp(kernel)
    cdef float *B = fp_or_null(bias)
    cdef float *Wk
    cdef size_t ws
    if fnn_gconv2d_uses_gemm(&s):
        work = _workspace(op, work, fnn_gconv2d_gemm_workspace_size(&s), (x, kernel, bias, y))
        Wk, ws = fp(work), work.size
        with nogil:
            fnn_gconv2d_forward_gemm(Y, X, Wt, B, &s, Wk, ws)
        return y
    with nogil:
        fnn_gconv2d_forward(Y, X, Wt, B, &s)
    return y


def gconv2d_backward_input(dy, kernel, input_shape, strides=(1, 1), padding="valid",
                           dilation_rate=(1, 1), groups=1, out=None, work=None):
    op = "gconv2d_backward_input"
    f32(op, "dy", dy, 4)
    f32(op, "kernel", kernel, 4)
    cdef fnn_gconv2d_shape s = _gconv_shape(op, tuple(input_shape), kernel.shape, strides,
                                            padding, dilation_rate, groups)
    if dy.shape != (s.N, s.OH, s.OW, s.F):
        raise ValueError(f"{op}: dy {dy.shape} does not match the output shape "
                         f"{(s.N, s.OH, s.OW, s.F)}")
    dx = _output(op, "out", out, tuple(input_shape), F32, (dy, kernel))
    cdef float *DX = fp(dx)
    cdef float *DY = fp(dy)
    cdef float *Wt = fp(kernel)
    cdef float *Wk
    cdef size_t ws
    if fnn_gconv2d_uses_gemm(&s):
        work = _workspace(op, work, fnn_gconv2d_gemm_workspace_size(&s), (dy, kernel, dx))
        Wk, ws = fp(work), work.size
        with nogil:
            fnn_gconv2d_backward_input_gemm(DX, DY, Wt, &s, Wk, ws)
        return dx
    with nogil:
        fnn_gconv2d_backward_input(DX, DY, Wt, &s)
    return dx


def gconv2d_backward_weight(dy, x, kernel_shape, strides=(1, 1), padding="valid",
                            dilation_rate=(1, 1), groups=1, bint use_bias=True,
                            out_kernel=None, out_bias=None, work=None):
    op = "gconv2d_backward_weight"
    f32(op, "dy", dy, 4)
    f32(op, "x", x, 4)
    kshape = tuple(int(d) for d in kernel_shape)
    cdef fnn_gconv2d_shape s = _gconv_shape(op, x.shape, kshape, strides, padding,
                                            dilation_rate, groups)
    if dy.shape != (s.N, s.OH, s.OW, s.F):
        raise ValueError(f"{op}: dy {dy.shape} does not match the output shape "
                         f"{(s.N, s.OH, s.OW, s.F)}")
    dw = _output(op, "out_kernel", out_kernel, kshape, F32, (dy, x))
    db = _output(op, "out_bias", out_bias, (s.F,), F32, (dy, x, dw)) if use_bias else None
    cdef bint gemm = fnn_gconv2d_uses_gemm(&s)
    work = _workspace(op, work, fnn_gconv2d_gemm_workspace_size(&s) if gemm else
                      fnn_gconv2d_workspace_size(&s), (dy, x, dw, db))
    cdef float *DW = fp(dw)
    cdef float *DB = fp_or_null(db)
    cdef float *DY = fp(dy)
    cdef float *X = fp(x)
    cdef float *Wk = fp(work)
    cdef size_t ws = work.size
    with nogil:
        if gemm:
            fnn_gconv2d_backward_weight_gemm(DW, DB, DY, X, &s, Wk, ws)
        else:
            fnn_gconv2d_backward_weight(DW, DB, DY, X, &s, Wk)
    return dw, db
