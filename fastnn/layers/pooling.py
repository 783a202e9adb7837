"""MaxPooling2D: the maximum over each window, channels-last."""
import numpy as np

from fastnn import _C
from fastnn._shapes import normalize_pair, normalize_padding, unknown_spatial, window_geometry
from fastnn.layers.layer import Layer


class MaxPooling2D(Layer):
    """Max pooling operation for 2D spatial data.

    Args:
        pool_size: int or tuple of 2 ints. Defaults to (2, 2).
        strides: int, tuple of 2 ints, or None (= pool_size). Defaults to None.
        padding: "valid" or "same" (padding never wins the max). Defaults to "valid".
        data_format: only "channels_last" (or None) is supported.

    Input shape: (batch, height, width, channels).

    >>> import numpy as np
    >>> MaxPooling2D()(np.ones((1, 26, 26, 4))).shape
    (1, 13, 13, 4)
    """

    keras_aliases = ("MaxPool2D",)

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        op = f"{type(self).__name__} '{self.name}'"
        self.pool_size = normalize_pair(pool_size, "pool_size", op)
        self.strides = normalize_pair(strides if strides is not None else self.pool_size,
                                      "strides", op)
        self.padding = normalize_padding(padding, op)
        if data_format not in (None, "channels_last"):
            raise ValueError(f"{op}: fastnn supports data_format='channels_last' only")

    def check_input_shape(self, input_shape):
        if len(input_shape) != 4:
            raise self.incompatible(input_shape, f"expected ndim=4, found ndim={len(input_shape)}")
        self.compute_output_shape(input_shape)

    def compute_output_shape(self, input_shape):
        unknown = unknown_spatial(self.compute_output_shape, input_shape)
        if unknown is not None:
            return unknown
        n, h, w, c = input_shape
        try:
            oh, ow, _, _ = window_geometry(h, w, self.pool_size, self.strides, self.padding,
                                           f"Layer '{self.name}'")
        except ValueError as e:
            raise ValueError(f"{e}. Received input shape {tuple(input_shape)}") from None
        return (n, oh, ow, c)

    def forward(self, x, training=False):
        shape = self.compute_output_shape(x.shape)
        self._x_shape = x.shape
        y, self._argmax = _C.maxpool2d_forward(x, self.pool_size, self.strides, self.padding,
                                               out=self.buffer("y", shape),
                                               out_argmax=self.buffer("argmax", shape, np.int32))
        return y

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        return _C.maxpool2d_backward(dy, self._argmax, self._x_shape, self.pool_size,
                                     self.strides, self.padding,
                                     out=self.buffer("dx", self._x_shape))

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size,
                "padding": self.padding, "strides": self.strides,
                "data_format": "channels_last"}


class AveragePooling2D(MaxPooling2D):
    """Average pooling operation for 2D spatial data.

    Args:
        pool_size: int or tuple of 2 ints (required, as in Keras 3).
        strides: int, tuple of 2 ints, or None (= pool_size). Defaults to None.
        padding: "valid" or "same"; with "same" a window's average counts only the
            image pixels it covers, not the padding (as Keras). Defaults to "valid".
        data_format: only "channels_last" (or None) is supported.

    >>> import numpy as np
    >>> AveragePooling2D(2)(np.arange(16.0).reshape(1, 4, 4, 1))[0, :, :, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]], dtype=float32)
    """

    keras_aliases = ("AvgPool2D",)

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)

    def forward(self, x, training=False):
        self._x_shape = x.shape
        return _C.avgpool2d_forward(x, self.pool_size, self.strides, self.padding,
                                    out=self.buffer("y", self.compute_output_shape(x.shape)))

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        return _C.avgpool2d_backward(dy, self._x_shape, self.pool_size, self.strides,
                                     self.padding, out=self.buffer("dx", self._x_shape))


class _GlobalPooling2D(Layer):
    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise ValueError(f"{type(self).__name__} '{self.name}': fastnn supports "
                             f"data_format='channels_last' only")
        self.keepdims = bool(keepdims)

    def check_input_shape(self, input_shape):
        if len(input_shape) != 4:
            raise self.incompatible(input_shape, f"expected ndim=4, found ndim={len(input_shape)}")

    def compute_output_shape(self, input_shape):
        n, c = input_shape[0], input_shape[-1]
        return (n, 1, 1, c) if self.keepdims else (n, c)

    def _shape(self, x):
        return (x.shape[0],) + self.compute_output_shape(x.shape)[1:]

    def get_config(self):
        return {**super().get_config(), "data_format": "channels_last", "keepdims": self.keepdims}


class GlobalAveragePooling2D(_GlobalPooling2D):
    """Global average pooling for 2D data: the mean over height and width per channel.

    Args:
        data_format: only "channels_last" (or None).
        keepdims: keep the spatial axes (size 1): output (batch, 1, 1, channels) instead
            of (batch, channels). Defaults to False.

    >>> import numpy as np
    >>> GlobalAveragePooling2D()(np.ones((2, 5, 5, 3))).shape
    (2, 3)
    """

    keras_aliases = ("GlobalAvgPool2D",)

    def forward(self, x, training=False):
        self._x_shape = x.shape
        y = self.buffer("y", (x.shape[0], 1, 1, x.shape[3]))
        _C.avgpool2d_forward(x, x.shape[1:3], (1, 1), "valid", out=y)
        return y.reshape(self._shape(x))

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        n, h, w, c = self._x_shape
        return _C.avgpool2d_backward(np.ascontiguousarray(dy).reshape(n, 1, 1, c),
                                     self._x_shape, (h, w), (1, 1), "valid",
                                     out=self.buffer("dx", self._x_shape))


class GlobalMaxPooling2D(_GlobalPooling2D):
    """Global max pooling for 2D data: the maximum over height and width per channel.

    Args:
        data_format: only "channels_last" (or None).
        keepdims: keep the spatial axes (size 1). Defaults to False.

    >>> import numpy as np
    >>> GlobalMaxPooling2D(keepdims=True)(np.ones((2, 5, 5, 3))).shape
    (2, 1, 1, 3)
    """

    keras_aliases = ("GlobalMaxPool2D",)

    def forward(self, x, training=False):
        self._x_shape = x.shape
        shape = (x.shape[0], 1, 1, x.shape[3])
        y, self._argmax = _C.maxpool2d_forward(x, x.shape[1:3], (1, 1), "valid",
                                               out=self.buffer("y", shape),
                                               out_argmax=self.buffer("argmax", shape, np.int32))
        return y.reshape(self._shape(x))

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        n, h, w, c = self._x_shape
        return _C.maxpool2d_backward(np.ascontiguousarray(dy).reshape(n, 1, 1, c), self._argmax,
                                     self._x_shape, (h, w), (1, 1), "valid",
                                     out=self.buffer("dx", self._x_shape))
