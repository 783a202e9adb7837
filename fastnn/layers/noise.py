"""Regularization layers that draw noise while training, identity otherwise:
GaussianNoise, GaussianDropout, AlphaDropout and SpatialDropout1D/2D/3D.

Their draws come from the counter-based hash Dropout's kernel uses (csrc/dropout.c),
computed here with NumPy: element i of a step's noise is a pure function of (the
layer's seed, its step count, i), so a run is reproducible, a resumed run draws what
the uninterrupted one would, and a data-parallel rank draws its part of the global
batch's noise (`batch_offset`).  The backward pass reuses the step's noise.
"""
import math

import numpy as np

from fastnn import random
from fastnn.layers.layer import Layer

_M1, _M2, _GOLDEN, _KEY_HI = 0x85EBCA6B, 0xC2B2AE35, 0x9E3779B1, 0x7F4A7C15


def _fmix32(h):
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(_M1)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(_M2)
    return h ^ (h >> np.uint32(16))


def hash_bits(seed, first, n):
    """24 random bits for each of elements first .. first + n - 1: _C.dropout_bits."""
    with np.errstate(over="ignore"):
        key_lo = _fmix32(np.uint32(seed & 0xFFFFFFFF))
        key_hi = _fmix32(np.uint32(((seed >> 32) + _KEY_HI) & 0xFFFFFFFF))
        i = (np.arange(n, dtype=np.uint64) + np.uint64(first)).astype(np.uint32)
        return _fmix32(_fmix32(i * np.uint32(_GOLDEN) ^ key_lo) ^ key_hi) >> np.uint32(8)


def uniforms(seed, first, n):
    """Uniform floats in [0, 1) on a 2^-24 grid (float64)."""
    return hash_bits(seed, first, n) / 16777216.0


def normals(seed, first, n):
    """Standard normal draws (float64) by Box-Muller from two hashed uniforms each."""
    u = hash_bits(seed, 2 * first, 2 * n).reshape(n, 2)
    radius = np.sqrt(-2.0 * np.log((u[:, 0] + 0.5) / 16777216.0))
    return radius * np.cos(2.0 * math.pi * (u[:, 1] / 16777216.0))


def _check_rate(rate, what="rate"):
    if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating)) or \
            not 0 <= rate <= 1:
        raise ValueError(f"Invalid value received for argument `{what}`. Expected a float "
                         f"value between 0 and 1. Received: {what}={rate!r}")
    return float(rate)


class _Noise(Layer):
    """The seed and step count of a noise layer (Dropout's scheme), identity outside
    training; subclasses give `draw(x, seed, first)` -> the output and the factor its
    backward multiplies dy by."""

    supports_masking = True
    uses_batch_offset = True  # the step says where this batch starts in the global batch

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise ValueError(f"{type(self).__name__} '{self.name}': `seed` must be an int or "
                             f"None, received seed={seed!r}")
        self.seed = seed
        self._base_seed = random.draw_seed() if seed is None else int(seed) % 2 ** 63
        self._calls = 0

    def active(self):
        return True

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def forward(self, x, training=False, batch_offset=0):
        self._factor = None
        if not (training and self.active()):
            return x
        self._calls += 1
        seed = (self._base_seed * 1000003 + self._calls) % 2 ** 64
        y, self._factor = self.draw(x, seed, batch_offset)
        return y.astype(np.float32, copy=False)

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        if self._factor is None:
            return dy
        return (dy * self._factor).astype(np.float32, copy=False)

    def skip_batch(self):
        self._calls += 1  # the draw this layer's forward would have made

    def random_state(self):
        return {"seed": self._base_seed, "calls": self._calls}

    def set_random_state(self, state):
        self._base_seed, self._calls = int(state["seed"]), int(state["calls"])


class GaussianNoise(_Noise):
    """Adds zero-centered Gaussian noise of standard deviation `stddev` while training.

    Args:
        stddev: float in [0, 1].
        seed: optional int.

    >>> import numpy as np
    >>> GaussianNoise(0.1)(np.ones((1, 2)))  # identity outside training
    array([[1., 1.]], dtype=float32)
    """

    def __init__(self, stddev, seed=None, **kwargs):
        stddev = _check_rate(stddev, "stddev")
        super().__init__(seed=seed, **kwargs)
        self.stddev = stddev

    def active(self):
        return self.stddev > 0

    def draw(self, x, seed, offset):
        per = x.size // max(x.shape[0], 1)
        noise = normals(seed, offset * per, x.size).reshape(x.shape)
        return x + np.float32(self.stddev) * noise.astype(np.float32), None

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(_Noise):
    """Multiplies by Gaussian noise of mean 1 and standard deviation
    sqrt(rate / (1 - rate)) while training.

    Args:
        rate: float in [0, 1], the drop probability of the Dropout it stands for.
        seed: optional int.
    """

    def __init__(self, rate, seed=None, **kwargs):
        rate = _check_rate(rate)
        super().__init__(seed=seed, **kwargs)
        self.rate = rate

    def active(self):
        return self.rate > 0

    def draw(self, x, seed, offset):
        stddev = math.sqrt(self.rate / (1.0 - self.rate)) if self.rate < 1 else math.inf
        per = x.size // max(x.shape[0], 1)
        factor = (1.0 + stddev * normals(seed, offset * per, x.size)).astype(np.float32)
        factor = factor.reshape(x.shape)
        return x * factor, factor

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


def _noise_shape(noise_shape, x_shape, op):
    if noise_shape is None:
        return tuple(x_shape)
    shape = tuple(x_shape[i] if v is None else int(v) for i, v in enumerate(noise_shape))
    try:
        np.broadcast_shapes(shape, tuple(x_shape))
    except ValueError:
        raise ValueError(f"{op}: noise_shape {tuple(noise_shape)} does not broadcast to the "
                         f"input's shape {tuple(x_shape)}") from None
    return shape


def _keep_mask(rate, seed, offset, shape):
    """Bernoulli(1 - rate) over `shape` (its first axis the batch), as float32 0/1: a draw
    is kept when its hashed uniform is >= rate (Dropout's rule)."""
    per = int(np.prod(shape[1:]))
    u = uniforms(seed, offset * per, int(np.prod(shape))).reshape(shape)
    return (u >= rate).astype(np.float32)


class AlphaDropout(_Noise):
    """Dropout that keeps the self-normalizing property of SELU: dropped values are set
    to SELU's negative saturation, then an affine map restores the mean and variance.

    Args:
        rate: float in [0, 1].
        noise_shape: optional shape (None entries take the input's) to share draws.
        seed: optional int.
    """

    ALPHA, SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        rate = _check_rate(rate)
        super().__init__(seed=seed, **kwargs)
        self.rate = rate
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)

    def active(self):
        return self.rate > 0

    def draw(self, x, seed, offset):
        kept = _keep_mask(self.rate, seed, offset,
                          _noise_shape(self.noise_shape, x.shape, f"AlphaDropout '{self.name}'"))
        alpha_p = -self.ALPHA * self.SCALE
        a = ((1 - self.rate) * (1 + self.rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * self.rate
        y = np.float32(a) * (x * kept + np.float32(alpha_p) * (1 - kept)) + np.float32(b)
        return y, np.float32(a) * np.broadcast_to(kept, x.shape)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed,
                "noise_shape": None if self.noise_shape is None else list(self.noise_shape)}


class _SpatialDropout(_Noise):
    """Dropout of whole feature maps: one draw per (sample, channel)."""

    ndim = None

    def __init__(self, rate, data_format=None, seed=None, name=None, dtype=None, **kwargs):
        rate = _check_rate(rate)
        super().__init__(seed=seed, name=name, dtype=dtype, **kwargs)
        if data_format not in (None, "channels_last", "channels_first"):
            raise ValueError(f"The `data_format` argument must be one of 'channels_first', "
                             f"'channels_last'. Received: data_format={data_format!r}")
        self.rate = rate
        self.data_format = data_format or "channels_last"

    def active(self):
        return self.rate > 0

    def check_input_shape(self, input_shape):
        if len(input_shape) != self.ndim:
            raise self.incompatible(input_shape,
                                    f"expected ndim={self.ndim}, found ndim={len(input_shape)}")

    def draw(self, x, seed, offset):
        shape = [1] * x.ndim
        shape[0] = x.shape[0]
        axis = 1 if self.data_format == "channels_first" else x.ndim - 1
        shape[axis] = x.shape[axis]
        scale = np.float32(1.0 / (1.0 - self.rate)) if self.rate < 1 else np.float32(0)
        factor = _keep_mask(self.rate, seed, offset, tuple(shape)) * scale
        return x * factor, factor

    def get_config(self):  # Keras 3 writes only these
        config = {"rate": self.rate, "seed": self.seed, "name": self.name, "dtype": "float32"}
        if self.ndim != 3:
            config["data_format"] = self.data_format
        return config


class SpatialDropout1D(_SpatialDropout):
    """Drops whole channels of a (batch, steps, channels) input while training.

    Args:
        rate: float in [0, 1].
        seed: optional int.
    """

    ndim = 3

    def __init__(self, rate, seed=None, name=None, dtype=None, **kwargs):
        super().__init__(rate, seed=seed, name=name, dtype=dtype, **kwargs)


class SpatialDropout2D(_SpatialDropout):
    """Drops whole feature maps of a 4-D input while training.

    Args:
        rate: float in [0, 1].
        data_format: "channels_last" (default) or "channels_first".
        seed: optional int.
    """

    ndim = 4


class SpatialDropout3D(_SpatialDropout):
    """Drops whole feature volumes of a 5-D input while training.

    Args:
        rate: float in [0, 1].
        data_format: "channels_last" (default) or "channels_first".
        seed: optional int.
    """

    ndim = 5
