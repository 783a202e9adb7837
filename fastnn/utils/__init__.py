"""Keras-style utilities: `from fastnn.utils import to_categorical`."""
from fastnn import random as _random
from fastnn.utils.numerical import to_categorical
from fastnn.utils.plotting import plot_history
from fastnn.utils.progbar import Progbar
from fastnn.utils.py_dataset import PyDataset, Sequence
from fastnn.utils.sequence import pad_sequences


def set_random_seed(seed):
    """Seed fastnn's generator (weight initialization, shuffling, dropout seeds) and NumPy's
    global one, like `keras.utils.set_random_seed`."""
    import random
    import numpy as np
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"Expected `seed` argument to be an integer. Received: seed={seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    _random.set_seed(seed)


__all__ = ["Progbar", "PyDataset", "Sequence", "pad_sequences", "plot_history", "set_random_seed",
           "to_categorical"]
