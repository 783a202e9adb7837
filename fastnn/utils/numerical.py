"""to_categorical, with Keras's behaviour."""
import numpy as np


def to_categorical(x, num_classes=None):
    """Converts a class vector (integers) to a binary class matrix.

    Args:
        x: array-like of class values in [0, num_classes).  A trailing dimension of 1
            is squeezed, like Keras.
        num_classes: total number of classes; inferred as max(x) + 1 if None.

    Returns:
        A float64 array (Keras returns float64 too) with a new last axis of size
        num_classes.

    >>> to_categorical([0, 2, 1], 3)
    array([[1., 0., 0.],
           [0., 0., 1.],
           [0., 1., 0.]])
    """
    x = np.asarray(x)
    if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise ValueError(f"to_categorical expects integer class labels, received dtype {x.dtype}")
    if x.size and (not np.all(np.isfinite(x)) or np.any(x != np.round(x))):
        raise ValueError("to_categorical expects integer class labels, received non-integer values")
    x = x.astype(np.int64)
    if x.ndim > 1 and x.shape[-1] == 1:
        x = x.reshape(x.shape[:-1])
    if num_classes is None:
        if x.size == 0:
            raise ValueError("to_categorical cannot infer num_classes from an empty array")
        num_classes = int(x.max()) + 1
    if isinstance(num_classes, bool) or int(num_classes) != num_classes or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, received {num_classes!r}")
    num_classes = int(num_classes)
    if x.size and (x.min() < 0 or x.max() >= num_classes):
        bad = x.min() if x.min() < 0 else x.max()
        raise ValueError(f"to_categorical received the label {bad}, outside [0, {num_classes}) "
                         f"for num_classes={num_classes}")
    out = np.zeros(x.shape + (num_classes,), dtype=np.float64)
    np.put_along_axis(out, x[..., None], 1.0, axis=-1)
    return out
