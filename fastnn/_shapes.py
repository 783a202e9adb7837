"""Output geometry of windowed ops (convolution, pooling), with Keras's padding rules.

Shared by the C wrappers (`fastnn._C`) and their NumPy twins (`fastnn._reference`), so
both agree on every output size and padding offset.
"""


def normalize_pair(value, name, op):
    """An int or a pair of ints -> a tuple of two positive ints."""
    given = value
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    try:
        pair = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{op}: `{name}` must be an int or a tuple of 2 ints, "
                         f"received {name}={given!r}") from None
    if len(pair) != 2 or any(p != v for p, v in zip(pair, value)) or min(pair) < 1:
        raise ValueError(f"{op}: `{name}` must be positive, as an int or a tuple of 2 ints; "
                         f"received {name}={given!r}")
    return pair


def normalize_padding(padding, op):
    p = str(padding).lower()
    if p not in ("valid", "same"):
        raise ValueError(f"{op}: `padding` must be 'valid' or 'same', received padding={padding!r}")
    return p


def window_geometry(H, W, window, strides, padding, op):
    """(OH, OW, PT, PL) for a window sliding over an H x W image.

    'valid': OH = floor((H - KH) / SH) + 1, no padding (the window must fit).
    'same' : OH = ceil(H / SH), total padding max((OH - 1) SH + KH - H, 0), the smaller
             half on top/left (TensorFlow's rule, which Keras uses).
    """
    KH, KW = window
    SH, SW = strides
    if padding == "valid":
        if KH > H or KW > W:
            raise ValueError(f"{op}: the window {KH}x{KW} is larger than the input "
                             f"{H}x{W} with padding='valid'")
        return (H - KH) // SH + 1, (W - KW) // SW + 1, 0, 0
    OH, OW = -(-H // SH), -(-W // SW)
    PT = max((OH - 1) * SH + KH - H, 0) // 2
    PL = max((OW - 1) * SW + KW - W, 0) // 2
    return OH, OW, PT, PL


_STAND_IN = 4099  # a size any window fits in, standing for an unknown one


def unknown_spatial(compute_output_shape, input_shape, axes=(1, 2)):
    """`compute_output_shape(input_shape)` for an input whose size along some of `axes`
    is None (images of any size, Keras's `Input((None, None, 3))`): the output's size
    along those axes is None too.  Returns None when every size is known (the caller
    computes the shape itself)."""
    unknown = [a for a in axes if input_shape[a] is None]
    if not unknown:
        return None
    shape = list(input_shape)
    for a in unknown:
        shape[a] = _STAND_IN
    out = list(compute_output_shape(tuple(shape)))
    for a in unknown:
        out[a] = None
    return tuple(out)
