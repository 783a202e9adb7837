"""What fastnn hands back where Keras on TensorFlow hands back an eager tensor.

Keras programs call TensorFlow's `.numpy()` on those values: `model(x[:1]).numpy()` and
`loss_fn(y, predictions).numpy()` in TensorFlow's quickstart, `images.numpy()` on a
dataset's batch in its image tutorials.  fastnn's values are NumPy arrays; the ones a
program gets from a model or layer called on data, a loss called on arrays, iterating a
dataset or the runner's `tf.*` functions are `EagerArray`s: NumPy arrays in every way
that also have `.numpy()`.
"""
import numpy as np


class EagerArray(np.ndarray):
    """A NumPy array with TensorFlow's `.numpy()` (see the module's docstring)."""

    def numpy(self):
        """The value as a plain NumPy array (a 0-d value as a NumPy scalar, as
        TensorFlow gives it)."""
        plain = self.view(np.ndarray)
        return plain[()] if plain.ndim == 0 else plain

    def __repr__(self):
        return repr(self.view(np.ndarray))


def eager(value):
    """`value` with its arrays and numeric NumPy scalars as EagerArrays (lists, tuples and
    dicts of them too); anything else, and arrays of other subclasses, as they are."""
    if type(value) is np.ndarray:
        return value.view(EagerArray)
    if isinstance(value, (np.number, np.bool_)):  # (a string scalar stays a str)
        return np.asarray(value).view(EagerArray)
    if isinstance(value, dict):
        return {k: eager(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return type(value)(eager(v) for v in value)
    return value
