"""Flatten: (batch, ...) -> (batch, prod(...)), in channels-last order like Keras."""
import numpy as np

from fastnn.layers.layer import Layer


class Flatten(Layer):
    """Flattens the input. Does not affect the batch size.

    >>> import numpy as np
    >>> Flatten()(np.ones((2, 5, 5, 64))).shape
    (2, 1600)
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise ValueError(f"Flatten '{self.name}': fastnn supports data_format='channels_last' only")

    def check_input_shape(self, input_shape):
        if len(input_shape) < 2:
            raise self.incompatible(input_shape, "expected min_ndim=2")

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        return (input_shape[0], None if None in rest else int(np.prod(rest)))

    def forward(self, x, training=False):
        self._x_shape = x.shape
        return x.reshape(x.shape[0], -1)  # a view: no copy

    def backward(self, dy, need_dx=True):
        return dy.reshape(self._x_shape) if need_dx else None

    def get_config(self):
        return {**super().get_config(), "data_format": "channels_last"}
