"""`keras.ops` until fastnn's differentiable ops (`fastnn.autodiff`) land: only the
conversions a script applies to `predict`'s output.  Every other op raises
"fastnn does not provide keras.ops.X yet"."""
import numpy as np


def convert_to_numpy(x):
    """`x` as a NumPy array (fastnn's tensors already are)."""
    return np.asarray(x)


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """`x` as an array of `dtype` (fastnn's tensors are NumPy arrays)."""
    if sparse or ragged:
        raise ValueError("fastnn has no sparse or ragged tensors")
    return np.asarray(x, dtype=dtype)
