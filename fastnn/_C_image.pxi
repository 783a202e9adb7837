# Included by _C.pyx: the preprocessing and augmentation kernels (csrc/image_ops.c):
# per-position scale and shift, resizing, projective warps, brightness and contrast.

_INTERPOLATIONS = {"nearest": FNN_INTERP_NEAREST, "bilinear": FNN_INTERP_BILINEAR}
_FILL_MODES = {"reflect": FNN_FILL_REFLECT, "wrap": FNN_FILL_WRAP, "nearest": FNN_FILL_NEAREST,
               "constant": FNN_FILL_CONSTANT}


cdef int _choice(str op, str name, value, dict table) except -1:
    if value not in table:
        raise ValueError(f"{op}: `{name}` must be one of {sorted(table)}, received {value!r}")
    return table[value]


def scale_shift(x, scale, shift=None, out=None):
    """y = x * scale + shift, scale and shift broadcast over x's last scale.size values."""
    op = "scale_shift"
    f32(op, "x", x)
    f32(op, "scale", scale, 1)
    _nonempty(op, "x", x)
    if shift is not None:
        f32(op, "shift", shift, 1)
        _same_shape(op, "scale", scale, "shift", shift)
    cdef int64_t P = scale.size, tail = 1
    for d in reversed(x.shape):
        if tail >= P:
            break
        tail *= d
    if P == 0 or tail != P:
        raise ValueError(f"{op}: `scale` of {P} values must cover trailing axes of x "
                         f"{x.shape}")
    y = _output(op, "out", out, x.shape, F32, (scale, shift))  # may be x
    cdef float *Y = fp(y)
    cdef float *X = fp(x)
    cdef float *S = fp(scale)
    cdef float *B = fp_or_null(shift)
    cdef int64_t rows = x.size // P
    with nogil:
        fnn_scale_shift(Y, X, S, B, rows, P)
    return y


cdef tuple _resize_args(str op, tuple xs, size, crop):
    if len(xs) != 4 or min(xs) < 1:
        raise ValueError(f"{op}: images must be a non-empty (N, H, W, C) array, received "
                         f"shape {xs}")
    oh, ow = normalize_pair(size, "size", op)
    top, left, ch, cw = (0, 0, xs[1], xs[2]) if crop is None else tuple(int(v) for v in crop)
    if not (0 <= top and 0 <= left and ch >= 1 and cw >= 1 and top + ch <= xs[1]
            and left + cw <= xs[2]):
        raise ValueError(f"{op}: crop window {crop} does not fit images of shape {xs}")
    return oh, ow, top, left, ch, cw


def resize_forward(x, size, interpolation="bilinear", crop=None, out=None):
    """Resize the (top, left, height, width) window `crop` of x (all of x by default) to
    `size`, TensorFlow's half-pixel bilinear or nearest resampling."""
    op = "resize_forward"
    f32(op, "x", x, 4)
    cdef int mode = _choice(op, "interpolation", interpolation, _INTERPOLATIONS)
    cdef int64_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3]
    cdef int64_t OH, OW, T, L, CH, CW
    OH, OW, T, L, CH, CW = _resize_args(op, x.shape, size, crop)
    y = _output(op, "out", out, (N, OH, OW, C), F32, (x,))
    cdef float *Y = fp(y)
    cdef float *X = fp(x)
    with nogil:
        fnn_resize_forward(Y, X, N, H, W, C, T, L, CH, CW, OH, OW, mode)
    return y


def resize_backward(dy, x_shape, interpolation="bilinear", crop=None, out=None):
    """The adjoint of resize_forward: dx of shape x_shape (zero outside the window)."""
    op = "resize_backward"
    f32(op, "dy", dy, 4)
    cdef int mode = _choice(op, "interpolation", interpolation, _INTERPOLATIONS)
    xs = tuple(int(d) for d in x_shape)
    cdef int64_t OH, OW, T, L, CH, CW
    OH, OW, T, L, CH, CW = _resize_args(op, xs, dy.shape[1:3], crop)
    if dy.shape != (xs[0], OH, OW, xs[3]):
        raise ValueError(f"{op}: dy {dy.shape} does not match x_shape {xs}")
    dx = _output(op, "out", out, xs, F32, (dy,))
    cdef float *DX = fp(dx)
    cdef float *DY = fp(dy)
    cdef int64_t N = xs[0], H = xs[1], W = xs[2], C = xs[3]
    with nogil:
        fnn_resize_backward(DX, DY, N, H, W, C, T, L, CH, CW, OH, OW, mode)
    return dx


cdef _transforms(str op, transforms, int64_t N):
    f32(op, "transforms", transforms, 2)
    if transforms.shape != (N, 8):
        raise ValueError(f"{op}: `transforms` must have shape ({N}, 8), received "
                         f"{transforms.shape}")
    if not np.isfinite(transforms).all():
        raise ValueError(f"{op}: `transforms` must be finite")


def warp_forward(x, transforms, size=None, interpolation="bilinear", fill_mode="reflect",
                 fill_value=0.0, out=None):
    """y[n] = x[n] sampled at the projective map transforms[n] of each output pixel
    (Keras's affine_transform); size (OH, OW) defaults to x's."""
    op = "warp_forward"
    f32(op, "x", x, 4)
    _nonempty(op, "x", x)
    cdef int64_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3]
    _transforms(op, transforms, N)
    cdef int ip = _choice(op, "interpolation", interpolation, _INTERPOLATIONS)
    cdef int fm = _choice(op, "fill_mode", fill_mode, _FILL_MODES)
    cdef int64_t OH, OW
    OH, OW = normalize_pair(size if size is not None else (H, W), "size", op)
    cdef float fv = float(fill_value)
    y = _output(op, "out", out, (N, OH, OW, C), F32, (x, transforms))
    cdef float *Y = fp(y)
    cdef float *X = fp(x)
    cdef float *T = fp(transforms)
    with nogil:
        fnn_warp_forward(Y, X, T, N, H, W, C, OH, OW, ip, fm, fv)
    return y


def warp_backward(dy, transforms, x_shape, interpolation="bilinear", fill_mode="reflect",
                  out=None):
    """The adjoint of warp_forward in x."""
    op = "warp_backward"
    f32(op, "dy", dy, 4)
    _nonempty(op, "dy", dy)
    xs = tuple(int(d) for d in x_shape)
    if len(xs) != 4 or xs[0] != dy.shape[0] or xs[3] != dy.shape[3] or min(xs) < 1:
        raise ValueError(f"{op}: dy {dy.shape} does not match x_shape {xs}")
    cdef int64_t N = xs[0], H = xs[1], W = xs[2], C = xs[3], OH = dy.shape[1], OW = dy.shape[2]
    _transforms(op, transforms, N)
    cdef int ip = _choice(op, "interpolation", interpolation, _INTERPOLATIONS)
    cdef int fm = _choice(op, "fill_mode", fill_mode, _FILL_MODES)
    dx = _output(op, "out", out, xs, F32, (dy, transforms))
    cdef float *DX = fp(dx)
    cdef float *DY = fp(dy)
    cdef float *T = fp(transforms)
    with nogil:
        fnn_warp_backward(DX, DY, T, N, H, W, C, OH, OW, ip, fm)
    return dx


cdef tuple _per_image(str op, x, per, str name, value_range):
    f32(op, "x", x, 4)
    _nonempty(op, "x", x)
    f32(op, name, per, 1)
    if per.shape[0] != x.shape[0]:
        raise ValueError(f"{op}: `{name}` must have one value per image ({x.shape[0]}), "
                         f"received shape {per.shape}")
    lo, hi = (float(v) for v in value_range)
    if not lo <= hi:
        raise ValueError(f"{op}: value_range must be (low, high) with low <= high, received "
                         f"{value_range}")
    return lo, hi


def brightness_forward(x, delta, value_range, out=None):
    """y = clip(x + delta[n], *value_range) per image n."""
    op = "brightness_forward"
    cdef float lo, hi
    lo, hi = _per_image(op, x, delta, "delta", value_range)
    y = _output(op, "out", out, x.shape, F32, (delta,))
    cdef float *Y = fp(y)
    cdef float *X = fp(x)
    cdef float *D = fp(delta)
    cdef int64_t N = x.shape[0], P = x.size // x.shape[0]
    with nogil:
        fnn_brightness_forward(Y, X, D, N, P, lo, hi)
    return y


def brightness_backward(dy, x, delta, value_range, out=None):
    op = "brightness_backward"
    cdef float lo, hi
    lo, hi = _per_image(op, x, delta, "delta", value_range)
    f32(op, "dy", dy)
    _same_shape(op, "dy", dy, "x", x)
    dx = _output(op, "out", out, x.shape, F32, (x, delta))  # may be dy
    cdef float *DX = fp(dx)
    cdef float *DY = fp(dy)
    cdef float *X = fp(x)
    cdef float *D = fp(delta)
    cdef int64_t N = x.shape[0], P = x.size // x.shape[0]
    with nogil:
        fnn_brightness_backward(DX, DY, X, D, N, P, lo, hi)
    return dx


def contrast_workspace_size(int64_t N, int64_t C):
    return fnn_contrast_workspace_size(N, C)


def contrast_forward(x, factor, value_range, out=None, work=None):
    """y = clip((x - m) * factor[n] + m, *value_range), m image n's channel means."""
    op = "contrast_forward"
    cdef float lo, hi
    lo, hi = _per_image(op, x, factor, "factor", value_range)
    y = _output(op, "out", out, x.shape, F32, (x, factor))
    cdef int64_t N = x.shape[0], HW = x.shape[1] * x.shape[2], C = x.shape[3]
    work = _workspace(op, work, fnn_contrast_workspace_size(N, C))
    cdef float *Y = fp(y)
    cdef float *X = fp(x)
    cdef float *F = fp(factor)
    cdef float *Wk = fp(work)
    with nogil:
        fnn_contrast_forward(Y, X, F, N, HW, C, lo, hi, Wk)
    return y


def contrast_backward(dy, x, factor, value_range, out=None, work=None):
    op = "contrast_backward"
    cdef float lo, hi
    lo, hi = _per_image(op, x, factor, "factor", value_range)
    f32(op, "dy", dy)
    _same_shape(op, "dy", dy, "x", x)
    dx = _output(op, "out", out, x.shape, F32, (x, factor))  # may be dy
    cdef int64_t N = x.shape[0], HW = x.shape[1] * x.shape[2], C = x.shape[3]
    work = _workspace(op, work, fnn_contrast_workspace_size(N, C))
    cdef float *DX = fp(dx)
    cdef float *DY = fp(dy)
    cdef float *X = fp(x)
    cdef float *F = fp(factor)
    cdef float *Wk = fp(work)
    with nogil:
        fnn_contrast_backward(DX, DY, X, F, N, HW, C, lo, hi, Wk)
    return dx
