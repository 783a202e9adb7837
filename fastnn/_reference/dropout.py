"""NumPy twins of the dropout kernels and their counter-based random bits
(_C_pointwise.pxi)."""
import numpy as np

from fastnn._reference._common import _store


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
