"""fastnn's random state: one NumPy generator for initializers, shuffling and dropout seeds.

(Where a data-parallel rank's part of a batch starts in the global batch is not state
here: a training step passes it, as `batch_offset=`, to the layers that draw per sample.)"""
import numpy as np

_generator = np.random.default_rng()


def generator():
    return _generator


def set_seed(seed):
    global _generator
    _generator = np.random.default_rng(seed)


def draw_seed():
    """A fresh 63-bit seed (for a dropout layer's counter-based RNG)."""
    return int(_generator.integers(0, 2 ** 63 - 1))


def use_generator(gen):
    """Make `gen` the generator of fastnn's random draws (returns nothing)."""
    global _generator
    _generator = gen
