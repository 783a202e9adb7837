"""NumPy twins of the pooling kernels: MaxPooling2D and AveragePooling2D
(_C_windows.pxi, _C_normalization.pxi)."""
import numpy as np

from fastnn._reference._common import _padded, _store, _window
from fastnn._shapes import normalize_pair, normalize_padding, window_geometry


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


def maxpool2x2_relu_scatter(dy, y, pos, out=None):
    N, PH, PW, F = dy.shape
    g = np.where(y > 0, dy, 0).astype(np.float32)
    dz = np.zeros((N, PH, 2, PW, 2, F), np.float32)
    for k in range(4):
        dz[:, :, k // 2, :, k % 2] = np.where(pos == k, g, 0)
    return _store(out, dz.reshape(N, 2 * PH, 2 * PW, F))


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
