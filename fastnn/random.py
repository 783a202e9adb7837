"""fastnn's random state: one NumPy generator for initializers, shuffling and dropout seeds,
and where the current training batch starts in the global batch (data-parallel training)."""
import numpy as np

_generator = np.random.default_rng()
_batch_offset = 0


def generator():
    return _generator


def set_seed(seed):
    global _generator
    _generator = np.random.default_rng(seed)


def draw_seed():
    """A fresh 63-bit seed (for a dropout layer's counter-based RNG)."""
    return int(_generator.integers(0, 2 ** 63 - 1))


def batch_offset():
    """Index of the current training batch's first sample in the global batch.

    0 in one process.  In data-parallel training (`fastnn.distributed`) a rank trains on
    a slice of each global batch; per-sample random draws (dropout masks) are keyed by
    the sample's position in the global batch, so N ranks draw what one process would.
    """
    return _batch_offset


def set_batch_offset(offset):
    global _batch_offset
    _batch_offset = int(offset)


def use_generator(gen):
    """Make `gen` the generator of fastnn's random draws (returns nothing)."""
    global _generator
    _generator = gen
