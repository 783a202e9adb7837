"""1-D reshaping layers over the time axis: UpSampling1D, Cropping1D, ZeroPadding1D."""
import numpy as np

from fastnn.layers.layer import Layer


def _nonneg_pair(value, name, layer):
    pair = (value, value) if isinstance(value, (int, np.integer)) and not isinstance(value, bool) \
        else tuple(value) if isinstance(value, (tuple, list)) else None
    if pair is None or len(pair) != 2 or any(
            isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0 for v in pair):
        raise ValueError(f"{type(layer).__name__} '{layer.name}': `{name}` must be an int or a "
                         f"tuple of 2 non-negative ints, received {name}={value!r}")
    return tuple(int(v) for v in pair)


class _Time(Layer):
    def check_input_shape(self, input_shape):
        if len(input_shape) != 3:
            raise self.incompatible(input_shape, f"expected ndim=3, found ndim={len(input_shape)}")
        self.compute_output_shape(input_shape)


class UpSampling1D(_Time):
    """Repeats each time step `size` times along the time axis.

    >>> import numpy as np
    >>> UpSampling1D(3)(np.ones((1, 2, 4))).shape
    (1, 6, 4)
    """

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size <= 0:
            raise ValueError(f"UpSampling1D '{self.name}': `size` must be a positive int, "
                             f"received size={size!r}")
        self.size = int(size)

    def compute_output_shape(self, input_shape):
        n, t, c = input_shape
        return (n, None if t is None else t * self.size, c)

    def forward(self, x, training=False):
        return np.repeat(x, self.size, axis=1)

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        n, t, c = dy.shape
        return dy.reshape(n, t // self.size, self.size, c).sum(axis=2, dtype=np.float32)

    def get_config(self):
        return {**super().get_config(), "size": self.size}


class Cropping1D(_Time):
    """Removes `cropping` = (start, end) steps from the time axis (an int crops both).

    >>> import numpy as np
    >>> Cropping1D((1, 2))(np.ones((1, 5, 3))).shape
    (1, 2, 3)
    """

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = _nonneg_pair(cropping, "cropping", self)

    def compute_output_shape(self, input_shape):
        n, t, c = input_shape
        if t is None:
            return (n, None, c)
        out = t - sum(self.cropping)
        if out <= 0:
            raise ValueError(f"`cropping` parameter of `Cropping1D` layer must be smaller than "
                             f"the input length. Received: inputs.shape={tuple(input_shape)}, "
                             f"and cropping={self.cropping}")
        return (n, out, c)

    def forward(self, x, training=False):
        self._t = x.shape[1]
        a, b = self.cropping
        return np.ascontiguousarray(x[:, a:x.shape[1] - b])

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        a, _ = self.cropping
        dx = np.zeros((dy.shape[0], self._t, dy.shape[2]), np.float32)
        dx[:, a:a + dy.shape[1]] = dy
        return dx

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping}


class ZeroPadding1D(_Time):
    """Adds `padding` = (start, end) zero steps to the time axis (an int pads both).

    >>> import numpy as np
    >>> ZeroPadding1D(2)(np.ones((1, 3, 2))).shape
    (1, 7, 2)
    """

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise ValueError(f"ZeroPadding1D '{self.name}': fastnn supports "
                             f"data_format='channels_last' only")
        self.padding = _nonneg_pair(padding, "padding", self)

    def compute_output_shape(self, input_shape):
        n, t, c = input_shape
        return (n, None if t is None else t + sum(self.padding), c)

    def forward(self, x, training=False):
        a, b = self.padding
        return np.pad(x, ((0, 0), (a, b), (0, 0)))

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        a, b = self.padding
        return np.ascontiguousarray(dy[:, a:dy.shape[1] - b])

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "data_format": "channels_last"}
