"""`keras.random` on NumPy: float32 draws from fastnn's generator.

`seed=None` draws from fastnn's global generator (seeded by
`keras.utils.set_random_seed`); an int seed gives the same values at every call, as in
Keras; a `SeedGenerator` advances its own stream at every call.
"""
import numpy as np

from fastnn import random as _random


class SeedGenerator:
    """A random stream of its own: `keras.random.normal(shape, seed=SeedGenerator(1))`."""

    def __init__(self, seed=None, name=None, **kwargs):
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"Argument `seed` must be an integer. Received: seed={seed!r}")
        self.seed = seed
        self.name = name
        self._generator = np.random.default_rng(seed if seed is not None
                                                else _random.draw_seed())

    def get_config(self):
        return {"seed": self.seed}


def _generator(seed):
    if seed is None:
        return _random.generator()
    if isinstance(seed, SeedGenerator):
        return seed._generator
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"Argument `seed` must be either an integer or an instance of "
                         f"`SeedGenerator`. Received: seed={seed!r}")
    return np.random.default_rng(int(seed))


def _float(values, dtype):
    return np.asarray(values, dtype=dtype or "float32")


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    return _float(_generator(seed).normal(mean, stddev, size=tuple(shape)), dtype)


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    return _float(_generator(seed).uniform(minval, maxval, size=tuple(shape)), dtype)


def randint(shape, minval, maxval, dtype="int32", seed=None):
    return _generator(seed).integers(minval, maxval, size=tuple(shape)).astype(dtype)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal draws, redrawn until within two standard deviations of the mean."""
    gen = _generator(seed)
    out = gen.normal(0.0, 1.0, size=tuple(shape))
    bad = np.abs(out) > 2
    while bad.any():
        out[bad] = gen.normal(0.0, 1.0, size=int(bad.sum()))
        bad = np.abs(out) > 2
    return _float(mean + stddev * out, dtype)


def shuffle(x, axis=0, seed=None):
    x = np.asarray(x)
    return np.take(x, _generator(seed).permutation(x.shape[axis]), axis=axis)


def categorical(logits, num_samples, dtype="int32", seed=None):
    """`num_samples` class indices per row of `logits` (unnormalized log-probabilities)."""
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2:
        raise ValueError(f"`logits` should be a 2-D tensor with shape [batch_size, "
                         f"num_classes]. Received: logits={logits.shape}")
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    gen = _generator(seed)
    return np.stack([gen.choice(p.shape[1], size=num_samples, p=row) for row in p]).astype(dtype)


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Inverted dropout: zero a `rate` fraction, scale the rest by 1/(1-rate)."""
    x = np.asarray(inputs, dtype=np.float32)
    if not 0 <= rate <= 1:
        raise ValueError(f"Invalid value received for argument `rate`. Expected a float "
                         f"value between 0 and 1. Received: rate={rate}")
    if rate == 1:
        return np.zeros_like(x)
    keep = _generator(seed).uniform(size=noise_shape or x.shape) >= rate
    return (x * keep / (1 - rate)).astype(np.float32)
