"""MaxPooling2D: the maximum over each window, channels-last."""
import numpy as np

from fastnn import _C
from fastnn._shapes import normalize_pair, normalize_padding, window_geometry
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
        op = f"MaxPooling2D '{self.name}'"
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
