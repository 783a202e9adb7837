"""NumPy twins of the image preprocessing and augmentation kernels: scale/shift,
resize, projective warp, brightness and contrast (_C_image.pxi)."""
import numpy as np

from fastnn._reference._common import _store
from fastnn._shapes import normalize_pair


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
