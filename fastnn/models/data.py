"""Turning the user's arrays into what the training loop wants, with Keras's errors."""
import numbers

import numpy as np

from fastnn._validate import (check_finite, float_array, kernel_array,  # noqa: F401
                              numeric_array, string_array)


def as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def check_cardinality(xs, ys, allow_empty=False):
    """The number of samples, or Keras's error when the arrays disagree on it; `ys` is
    None, one array or a list of arrays (None entries skipped)."""
    sizes = [len(a) for a in xs]
    ys = [] if ys is None else [t for t in (ys if isinstance(ys, list) else [ys])
                                if t is not None]
    sizes_y = [len(t) for t in ys]
    if len(set(sizes + sizes_y)) > 1:
        message = ("Data cardinality is ambiguous. Make sure all arrays contain the same "
                   "number of samples.'x' sizes: " + ", ".join(map(str, sizes)))
        if sizes_y:
            message += "\n'y' sizes: " + ", ".join(map(str, sizes_y))
        raise ValueError(message)
    if sizes[0] == 0 and not allow_empty:
        raise ValueError("The dataset is empty: `x` has 0 samples")
    return sizes[0]


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_fit_arguments(epochs, initial_epoch, steps_per_epoch, validation_freq):
    """The loop-shaping arguments of fit, checked before any work is done."""
    if not _is_int(epochs):
        raise ValueError(f"`epochs` must be an integer, received epochs={epochs!r}")
    if not _is_int(initial_epoch) or initial_epoch < 0:
        raise ValueError(f"`initial_epoch` must be a non-negative integer, received "
                         f"initial_epoch={initial_epoch!r}")
    if steps_per_epoch is not None and (not _is_int(steps_per_epoch) or steps_per_epoch < 1):
        raise ValueError(f"`steps_per_epoch` must be a positive integer or None, received "
                         f"steps_per_epoch={steps_per_epoch!r}")
    if not _is_int(validation_freq) or validation_freq < 1:
        raise ValueError(f"`validation_freq` must be a positive integer, received "
                         f"validation_freq={validation_freq!r}")


def check_steps(steps, name):
    """`steps`-like arguments: None or a positive integer."""
    if steps is not None and (not _is_int(steps) or steps < 1):
        raise ValueError(f"`{name}` must be a positive integer or None, received "
                         f"{name}={steps!r}")


def unpack_validation_data(validation_data):
    """(x_val, y_val, sample_weight or None) from a 2- or 3-item tuple or list."""
    if isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3):
        return tuple(validation_data) + (None,) * (3 - len(validation_data))
    what = (f"a {type(validation_data).__name__} of {len(validation_data)} items"
            if isinstance(validation_data, (tuple, list)) else type(validation_data).__name__)
    raise ValueError(f"When passing a `validation_data` argument, it must contain either 2 items "
                     f"(x_val, y_val), or 3 items (x_val, y_val, val_sample_weights). However "
                     f"we received {what}.")


def check_batch_size(batch_size, name="batch_size"):
    if batch_size is None:
        return 32
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"`{name}` must be a positive integer, received {name}={batch_size!r}")
    return int(batch_size)


def train_validation_split(arrays, validation_split):
    """Keras's split: the LAST fraction (before any shuffling) is validation data."""
    if not isinstance(validation_split, numbers.Real) or not 0 <= validation_split < 1:
        raise ValueError(f"`validation_split` must be in [0, 1), received {validation_split!r}")
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
    """Per-sample loss weights, or None when every sample counts the same.

    class_weight maps a class index to a weight; as in Keras, a sample whose class is
    not in the dict weighs 1."""
    w = None
    if sample_weight is not None:
        sw = numeric_array(sample_weight, "sample_weight")
        if sw.ndim == 2 and sw.shape[1] == 1:
            sw = sw[:, 0]
        if sw.ndim != 1:
            raise ValueError(f"`sample_weight` must have shape ({len(y)},), one weight per "
                             f"sample, received shape {sw.shape}")
        if len(sw) != len(y):
            raise ValueError(f"`sample_weight` has {len(sw)} entries for {len(y)} samples")
        w = kernel_array(sw, np.float32, "sample_weight")
        check_finite(w, "sample_weight")
    if class_weight is not None:
        if not isinstance(class_weight, dict):
            raise ValueError("`class_weight` must be a dict mapping class index to weight")
        for k, v in class_weight.items():
            if not _is_int(k) and not (isinstance(k, numbers.Real) and float(k).is_integer()):
                raise ValueError(f"`class_weight` keys must be integer class indices, "
                                 f"received key {k!r}")
            if not isinstance(v, numbers.Real) or not np.isfinite(v):
                raise ValueError(f"`class_weight` values must be finite numbers, received "
                                 f"class_weight[{k!r}]={v!r}")
        classes, where = np.unique(class_labels(y), return_inverse=True)
        cw = np.array([class_weight.get(int(c), 1.0) for c in classes], np.float32)[where]
        w = cw if w is None else w * cw
    return w


def per_output_weights(names, ys, y, sample_weight):
    """Keras's per-output sample weights (a list in output order, or a dict keyed by
    output names; None or a missing name: weight 1) as one (N, outputs) array, which the
    batching slices like a single weight array; column k weighs output k."""
    if isinstance(sample_weight, dict):
        unknown = sorted(set(sample_weight) - set(names))
        if unknown:
            raise ValueError(f"`sample_weight` keys {unknown} do not correspond to any model "
                             f"output; the model's outputs are {names}")
        given = [sample_weight.get(name) for name in names]
    else:
        if len(sample_weight) != len(names):
            raise ValueError(f"`sample_weight` has {len(sample_weight)} entries, but the model "
                             f"has {len(names)} outputs {names}; pass one per output (None "
                             f"for none), or a dict keyed by output names")
        given = list(sample_weight)
    if all(w is None for w in given):
        return None
    columns = [np.ones(len(y), np.float32) if w is None else
               sample_weights(t if t is not None else y, None, w) for w, t in zip(given, ys)]
    return np.ascontiguousarray(np.stack(columns, axis=1))


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
