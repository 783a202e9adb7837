"""The pieces of fastnn's `Dataset` (fastnn/utils/dataset.py) every part uses: the
cardinality constants (`AUTOTUNE`, `INFINITE`, `UNKNOWN`) and the helpers on an element's
nested structure (arrays, tuples, lists and dicts of them), with Keras's
`pack_x_y_sample_weight` / `unpack_x_y_sample_weight`.
"""
import numpy as np

AUTOTUNE = -1
INFINITE = -1   # cardinality() values, as tf.data.INFINITE_CARDINALITY / UNKNOWN_CARDINALITY
UNKNOWN = -2


# ---- nested structures: arrays, tuples, lists and dicts of them -------------------------
def flatten(element):
    if isinstance(element, dict):
        return [leaf for k in sorted(element) for leaf in flatten(element[k])]
    if isinstance(element, (tuple, list)):
        return [leaf for item in element for leaf in flatten(item)]
    return [element]


def pack_like(structure, leaves):
    """Rebuild `structure` with `leaves` (in `flatten`'s order)."""
    it = iter(leaves)

    def build(s):
        if isinstance(s, dict):
            built = {k: build(s[k]) for k in sorted(s)}
            return {k: built[k] for k in s}
        if isinstance(s, (tuple, list)):
            return type(s)(build(item) for item in s)
        return next(it)
    return build(structure)


def map_structure(fn, element):
    return pack_like(element, [fn(leaf) for leaf in flatten(element)])


def _as_array(value):
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "numpy") and callable(value.numpy):  # a TF or torch tensor
        return np.asarray(value.numpy())
    return np.asarray(value)


def _positive_int(name, value, allow=()):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or (
            value < 1 and value not in allow):
        raise ValueError(f"`{name}` must be a positive integer, received {name}={value!r}")
    return int(value)


def _structure(element):
    if isinstance(element, dict):
        return {k: _structure(v) for k, v in element.items()}
    if isinstance(element, (tuple, list)):
        return type(element)(_structure(v) for v in element)
    return None


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """Keras's packing of one batch: `x` (a tuple/list x as `(x,)`), `(x, y)` or
    `(x, y, sample_weight)`."""
    if y is None:
        return (x,) if isinstance(x, (tuple, list)) else x
    return (x, y) if sample_weight is None else (x, y, sample_weight)


def unpack_x_y_sample_weight(data):
    """`(x, y, sample_weight)` from `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)` (a list
    counts as a tuple), missing parts None."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) in (1, 2, 3):
        return tuple(data) + (None,) * (3 - len(data))
    raise ValueError(f"Data is expected to be in format `x`, `(x,)`, `(x, y)`, or "
                     f"`(x, y, sample_weight)`, found: {data}")
