"""NumPy twins of the convolution kernels: Conv2D (its Winograd path computes the same
function), Conv2D + ReLU + 2x2 max pooling fused, and grouped and dilated convolution
(_C_windows.pxi, _C_conv_grouped.pxi)."""
import numpy as np

from fastnn._reference._common import _padded, _store, _window
from fastnn._shapes import normalize_pair, normalize_padding, window_geometry


# ---- Conv2D: one matrix product per kernel offset (kh, kw) ------------------------

def _conv_geometry(x_shape, kernel_hw, strides, padding, op):
    strides = normalize_pair(strides, "strides", op)
    pad = normalize_padding(padding, op)
    OH, OW, PT, PL = window_geometry(x_shape[1], x_shape[2], kernel_hw, strides, pad, op)
    return strides, OH, OW, PT, PL


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
