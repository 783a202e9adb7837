"""`tf.strings` in fastnn's tensorflow stand-in: the string functions Keras text
tutorials call inside a TextVectorization `standardize` function or a `Dataset.map`
(keras.io's "text classification from scratch" strips `<br />` tags with them).

Each takes a Python string or an array (or list) of strings, str or bytes, and returns
the same shape: a NumPy array of str (bytes stay bytes) with TensorFlow's `.numpy()`.
Patterns are Python regular expressions (TensorFlow's RE2 syntax agrees with them on the
common forms: classes, escapes, groups, `\\1` in the rewrite)."""
import re

import numpy as np


def _map(fn, value, what):
    from fastnn._eager import eager
    if hasattr(value, "numpy") and callable(value.numpy) and not isinstance(value, np.ndarray):
        value = value.numpy()  # a TensorFlow tensor

    def one(s):
        if isinstance(s, bytes):
            return fn(s.decode("utf-8")).encode("utf-8")
        if isinstance(s, str):
            return fn(s)
        raise TypeError(f"{what} expects strings, received {type(s).__name__} {s!r:.60}")

    if isinstance(value, (str, bytes)):
        return one(value)
    arr = np.asarray(value)
    if arr.dtype.kind not in "USO":
        raise TypeError(f"{what} expects strings, received an array of dtype {arr.dtype}")
    flat = [one(s) for s in arr.reshape(-1).tolist()]
    kind = bytes if flat and all(isinstance(s, bytes) for s in flat) else str
    out = np.array(flat, dtype=object if not flat else None).reshape(arr.shape) \
        if kind is str or not flat else np.array(flat).reshape(arr.shape)
    return eager(out)


def lower(input, encoding="", name=None):
    """`tf.strings.lower`: every string in lower case."""
    return _map(str.lower, input, "tf.strings.lower")


def upper(input, encoding="", name=None):
    """`tf.strings.upper`: every string in upper case."""
    return _map(str.upper, input, "tf.strings.upper")


def strip(input, name=None):
    """`tf.strings.strip`: leading and trailing whitespace removed."""
    return _map(str.strip, input, "tf.strings.strip")


def regex_replace(input, pattern, rewrite, replace_global=True, name=None):
    """`tf.strings.regex_replace`: `pattern` replaced by `rewrite` (every match, or the
    first with replace_global=False)."""
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"tf.strings.regex_replace: invalid pattern {pattern!r}: {exc}") \
            from None
    count = 0 if replace_global else 1
    return _map(lambda s: compiled.sub(rewrite, s, count=count), input,
                "tf.strings.regex_replace")


FUNCTIONS = {"lower": lower, "upper": upper, "strip": strip, "regex_replace": regex_replace}
