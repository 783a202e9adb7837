"""Sequence utilities: pad_sequences, with Keras's semantics."""
import numpy as np


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre",
                  value=0.0):
    """Pads (or truncates) sequences to one length: a NumPy array (num_samples, maxlen, ...).

    Args:
        sequences: a list of sequences (lists or arrays; each element may itself be an
            array, whose shape must then be the same in every sequence).
        maxlen: the length of the result; None: the longest sequence's length.
        dtype: of the result. Defaults to "int32" (use object for strings).
        padding: "pre" (default) or "post": where the `value`s go.
        truncating: "pre" (default) or "post": drop steps at the start or the end of
            sequences longer than maxlen.
        value: the padding value. Defaults to 0.

    >>> pad_sequences([[1, 2, 3], [4]], maxlen=2)
    array([[2, 3],
           [0, 4]], dtype=int32)
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError("`sequences` must be iterable.")
    if padding not in ("pre", "post"):
        raise ValueError(f'Padding type "{padding}" not understood')
    if truncating not in ("pre", "post"):
        raise ValueError(f'Truncating type "{truncating}" not understood')
    lengths, step_shape = [], None
    for seq in sequences:
        try:
            lengths.append(len(seq))
        except TypeError as e:
            raise ValueError(f"`sequences` must be a list of iterables. Found non-iterable: "
                             f"{seq}") from e
        if step_shape is None and len(seq):
            step_shape = np.asarray(seq).shape[1:]  # from the first non-empty sequence
    step_shape = step_shape or ()
    if maxlen is None:
        maxlen = max(lengths) if lengths else 0
    if isinstance(maxlen, bool) or not isinstance(maxlen, (int, np.integer)) or maxlen < 0:
        raise ValueError(f"`maxlen` must be a non-negative int or None, received {maxlen!r}")
    textual = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.bytes_)
    if isinstance(value, str) and dtype is not object and not textual:
        raise ValueError(f"`dtype` {dtype} is not compatible with `value`'s type: "
                         f"{type(value)}\nYou should set `dtype=object` for variable length "
                         f"strings.")
    out = np.full((len(lengths), int(maxlen)) + tuple(step_shape), value, dtype=dtype)
    for row, (seq, n) in enumerate(zip(sequences, lengths)):
        keep = min(n, int(maxlen))
        if keep == 0:
            continue
        part = seq[n - keep:] if truncating == "pre" else seq[:keep]
        part = np.asarray(part, dtype=dtype)
        if part.shape[1:] != tuple(step_shape):
            raise ValueError(f"Shape of sample {part.shape[1:]} of sequence at position {row} "
                             f"is different from expected shape {tuple(step_shape)}")
        if padding == "pre":
            out[row, out.shape[1] - keep:] = part
        else:
            out[row, :keep] = part
    return out
