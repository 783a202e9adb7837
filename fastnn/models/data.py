"""Turning the user's arrays into what the training loop wants, with Keras's errors."""
import numpy as np


def as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def float_array(x, what):
    """A C-contiguous float32 copy-if-needed of x, or a clear error for non-numeric data."""
    if x is None:
        raise ValueError(f"`{what}` is None: provide a NumPy array")
    arr = np.asarray(x) if not isinstance(x, np.ndarray) else x
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(f"Failed to convert `{what}` to a float32 array: unsupported dtype "
                         f"{arr.dtype}. Expected numeric data (ints or floats).")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError(f"`{what}` is complex ({arr.dtype}); fastnn trains on real numbers")
    if arr.ndim == 0:
        raise ValueError(f"`{what}` must have a batch dimension, received a scalar")
    return np.ascontiguousarray(arr, dtype=np.float32)


def check_finite(arr, what):
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        bad = int(np.argwhere(~np.isfinite(arr.reshape(len(arr), -1)))[0][0])
        raise ValueError(f"`{what}` contains NaN or infinity (first at sample {bad}); "
                         f"fastnn does not train or evaluate on non-finite values")


def check_cardinality(xs, y):
    sizes = [len(a) for a in xs]
    if y is not None:
        sizes_y = len(y)
        if len(set(sizes)) > 1 or sizes[0] != sizes_y:
            raise ValueError("Data cardinality is ambiguous. Make sure all arrays contain the same "
                             "number of samples.'x' sizes: " + ", ".join(map(str, sizes)) +
                             f"\n'y' sizes: {sizes_y}")
    elif len(set(sizes)) > 1:
        raise ValueError("Data cardinality is ambiguous. Make sure all arrays contain the same "
                         "number of samples.'x' sizes: " + ", ".join(map(str, sizes)))
    if sizes[0] == 0:
        raise ValueError("The dataset is empty: `x` has 0 samples")
    return sizes[0]


def check_batch_size(batch_size):
    if batch_size is None:
        return 32
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive integer, received batch_size={batch_size!r}")
    return int(batch_size)


def train_validation_split(arrays, validation_split):
    """Keras's split: the LAST fraction (before any shuffling) is validation data."""
    if not 0 <= validation_split < 1:
        raise ValueError(f"`validation_split` must be in [0, 1), received {validation_split}")
    n = len(arrays[0])
    split_at = int(np.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise ValueError(f"Training data contains {n} samples, which is not sufficient to split "
                         f"it into a validation and training set as specified by "
                         f"`validation_split={validation_split}`. Either provide more data, or a "
                         f"different value for the `validation_split` argument.")
    return [a[:split_at] for a in arrays], [a[split_at:] for a in arrays]


def class_labels(y):
    """Integer class of each target (for class_weight): argmax of one-hot, else the value."""
    if y.ndim >= 2 and y.shape[-1] > 1:
        return np.argmax(y.reshape(len(y), -1), axis=1)
    return np.round(y.reshape(len(y))).astype(np.int64)


def sample_weights(y, class_weight, sample_weight):
    """Per-sample loss weights, or None when every sample counts the same."""
    w = None
    if sample_weight is not None:
        w = np.asarray(sample_weight, dtype=np.float32).reshape(-1)
        if len(w) != len(y):
            raise ValueError(f"`sample_weight` has {len(w)} entries for {len(y)} samples")
    if class_weight is not None:
        if not isinstance(class_weight, dict):
            raise ValueError("`class_weight` must be a dict mapping class index to weight")
        labels = class_labels(y)
        lookup = np.ones(max(int(labels.max()) + 1, max(class_weight) + 1), dtype=np.float32)
        for k, v in class_weight.items():
            lookup[int(k)] = v
        cw = lookup[labels]
        w = cw if w is None else w * cw
    return w


class BatchGatherer:
    """Rows idx of an array into a buffer reused for every batch of the same size."""

    def __init__(self):
        self._buffers = {}

    def take(self, arr, idx, slot):
        shape = (len(idx),) + arr.shape[1:]
        buf = self._buffers.get((slot, shape))
        if buf is None:
            buf = self._buffers[(slot, shape)] = np.empty(shape, dtype=arr.dtype)
        return np.take(arr, idx, axis=0, out=buf)
