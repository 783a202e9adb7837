"""Helpers the twins of several families share: storing into an `out` argument, and
the padded input and per-offset windows of the windowed ops (convolution, pooling)."""
import numpy as np


def _store(out, value):
    if out is None:
        return value
    out[...] = value
    return out


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
