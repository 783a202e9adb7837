"""UpSampling2D, ZeroPadding2D, Cropping2D: spatial resampling of image batches, on the
image kernels (csrc/image_ops.c): upsampling is a resize, zero padding an integer
translation warp with a constant 0 fill, cropping a window copy (all exact, with their
adjoints as gradients)."""
import numpy as np

from fastnn import _C
from fastnn._shapes import unknown_spatial
from fastnn.layers.layer import Layer
from fastnn.layers.preprocessing import _check_data_format


def standardize_tuple(value, n, name, allow_zero=False):
    """Keras's argument_validation.standardize_tuple, with its error text."""
    msg = f"The `{name}` argument must be a tuple of {n} integers. Received {name}={value}"
    if isinstance(value, int) and not isinstance(value, bool):
        values = (value,) * n
    else:
        try:
            values = tuple(value)
        except TypeError:
            raise ValueError(msg) from None
        if len(values) != n:
            raise ValueError(msg)
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise ValueError(f"{msg}including element {v} of type {type(v)}")
        values = tuple(int(v) for v in values)
    bad = {v for v in values if (v < 0 if allow_zero else v <= 0)}
    if bad:
        raise ValueError(f"{msg}, including values {bad} that do not satisfy "
                         f"`value {'>= 0' if allow_zero else '> 0'}`")
    return values


def _pairs(value, name):
    """An int, 2 ints, or 2 pairs -> ((top, bottom), (left, right)) (Keras's rule)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"`{name}` cannot be negative. Received: {name}={value}.")
        return ((value, value), (value, value))
    if hasattr(value, "__len__"):
        if len(value) != 2:
            raise ValueError(f"`{name}` should have two elements. Received: {name}={value}.")
        return (standardize_tuple(value[0], 2, f"1st entry of {name}", allow_zero=True),
                standardize_tuple(value[1], 2, f"2nd entry of {name}", allow_zero=True))
    raise ValueError(f"`{name}` should be either an int, a tuple of 2 ints "
                     f"(symmetric_height_crop, symmetric_width_crop), or a tuple of 2 tuples "
                     f"of 2 ints ((top_crop, bottom_crop), (left_crop, right_crop)). "
                     f"Received: {name}={value}.")


class _Spatial(Layer):
    def check_input_shape(self, input_shape):
        if len(input_shape) != 4:
            raise self.incompatible(input_shape, f"expected ndim=4, found "
                                    f"ndim={len(input_shape)}")
        self.compute_output_shape(input_shape)


class UpSampling2D(_Spatial):
    """Upsamples images by integer factors `size` (rows, columns): "nearest" repeats
    pixels, "bilinear" resizes as TensorFlow does.

    >>> import numpy as np
    >>> UpSampling2D(2)(np.arange(4.0).reshape(1, 2, 2, 1))[0, :, :, 0]
    array([[0., 0., 1., 1.],
           [0., 0., 1., 1.],
           [2., 2., 3., 3.],
           [2., 2., 3., 3.]], dtype=float32)
    """

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        _check_data_format(self, data_format)
        self.size = standardize_tuple(size, 2, "size")
        if not isinstance(interpolation, str) or \
                interpolation.lower() not in ("nearest", "bilinear"):
            raise ValueError(f"UpSampling2D '{self.name}': interpolation={interpolation!r} is "
                             f"not supported by fastnn (use 'nearest' or 'bilinear')")
        self.interpolation = interpolation.lower()

    def compute_output_shape(self, input_shape):
        unknown = unknown_spatial(self.compute_output_shape, input_shape)
        if unknown is not None:
            return unknown
        n, h, w, c = input_shape
        return (n, None if h is None else h * self.size[0],
                None if w is None else w * self.size[1], c)

    def forward(self, x, training=False):
        self._x_shape = x.shape
        out = self.buffer("y", self.compute_output_shape(x.shape))
        return _C.resize_forward(x, out.shape[1:3], self.interpolation, out=out)

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        return _C.resize_backward(dy, self._x_shape, self.interpolation,
                                  out=self.buffer("dx", self._x_shape))

    def get_config(self):
        return {**super().get_config(), "size": self.size, "data_format": "channels_last",
                "interpolation": self.interpolation}


class ZeroPadding2D(_Spatial):
    """Pads images with zero rows and columns: padding an int, (rows, columns) or
    ((top, bottom), (left, right)).

    >>> import numpy as np
    >>> ZeroPadding2D(1)(np.ones((2, 3, 3, 4))).shape
    (2, 5, 5, 4)
    """

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        _check_data_format(self, data_format)
        self.padding = _pairs(padding, "padding")

    def compute_output_shape(self, input_shape):
        unknown = unknown_spatial(self.compute_output_shape, input_shape)
        if unknown is not None:
            return unknown
        n, h, w, c = input_shape
        (t, b), (l, r) = self.padding
        return (n, None if h is None else h + t + b, None if w is None else w + l + r, c)

    def _transforms(self, n):
        t = np.zeros((n, 8), np.float32)
        t[:, 0] = t[:, 4] = 1
        t[:, 2], t[:, 5] = -self.padding[1][0], -self.padding[0][0]
        return t

    def forward(self, x, training=False):
        self._x_shape = x.shape
        out = self.buffer("y", self.compute_output_shape(x.shape))
        return _C.warp_forward(x, self._transforms(x.shape[0]), out.shape[1:3], "nearest",
                               "constant", 0.0, out=out)

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        return _C.warp_backward(dy, self._transforms(dy.shape[0]), self._x_shape, "nearest",
                                "constant", out=self.buffer("dx", self._x_shape))

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "data_format": "channels_last"}


class Cropping2D(_Spatial):
    """Crops rows and columns off the image edges: cropping an int, (rows, columns) or
    ((top, bottom), (left, right)).

    >>> import numpy as np
    >>> Cropping2D(((1, 0), (2, 1)))(np.ones((2, 5, 6, 3))).shape
    (2, 4, 3, 3)
    """

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        _check_data_format(self, data_format)
        self.cropping = _pairs(cropping, "cropping")

    def compute_output_shape(self, input_shape):
        unknown = unknown_spatial(self.compute_output_shape, input_shape)
        if unknown is not None:
            return unknown
        n, h, w, c = input_shape
        (t, b), (l, r) = self.cropping
        if (h is not None and t + b >= h) or (w is not None and l + r >= w):
            raise ValueError(f"Values in `cropping` argument should be smaller than the "
                             f"corresponding spatial dimension of the input. Received: "
                             f"input_shape={tuple(input_shape)}, cropping={self.cropping}")
        return (n, None if h is None else h - t - b, None if w is None else w - l - r, c)

    def forward(self, x, training=False):
        self._x_shape = x.shape
        out = self.buffer("y", self.compute_output_shape(x.shape))
        self._box = (self.cropping[0][0], self.cropping[1][0]) + out.shape[1:3]
        return _C.resize_forward(x, out.shape[1:3], "nearest", self._box, out=out)

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        return _C.resize_backward(dy, self._x_shape, "nearest", self._box,
                                  out=self.buffer("dx", self._x_shape))

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping,
                "data_format": "channels_last"}
