"""1-D pooling over time (channels-last): MaxPooling1D and AveragePooling1D (windows),
GlobalAveragePooling1D and GlobalMaxPooling1D (over all steps; mask-aware)."""
import numpy as np

from fastnn import _C
from fastnn._shapes import window_geometry
from fastnn.layers.conv1d import one_int, padding_1d
from fastnn.layers.layer import Layer


class _Pooling1D(Layer):
    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        op = f"{type(self).__name__} '{self.name}'"
        self.pool_size = one_int(pool_size, "pool_size", op)
        self.strides = one_int(strides if strides is not None else self.pool_size, "strides", op)
        self.padding = padding_1d(padding, op, causal=False)
        if data_format not in (None, "channels_last"):
            raise ValueError(f"{op}: fastnn supports data_format='channels_last' only")

    def check_input_shape(self, input_shape):
        if len(input_shape) != 3:
            raise self.incompatible(input_shape, f"expected ndim=3, found ndim={len(input_shape)}")
        self.compute_output_shape(input_shape)

    def _geometry(self, t):
        _, ot, _, pl = window_geometry(1, t, (1, self.pool_size), (1, self.strides),
                                       self.padding, f"Layer '{self.name}'")
        return ot, pl

    def compute_output_shape(self, input_shape):
        n, t, c = input_shape
        if t is None:
            return (n, None, c)
        try:
            ot, _ = self._geometry(t)
        except ValueError as e:
            raise ValueError(f"{e}. Received input shape {tuple(input_shape)}") from None
        return (n, ot, c)

    def get_config(self):
        return {**super().get_config(), "pool_size": (self.pool_size,), "padding": self.padding,
                "strides": (self.strides,), "data_format": "channels_last"}


class MaxPooling1D(_Pooling1D):
    """Max pooling for temporal data: the maximum over windows of `pool_size` steps.

    Args: pool_size (2), strides (None: pool_size), padding ("valid" or "same").

    >>> import numpy as np
    >>> MaxPooling1D()(np.ones((1, 6, 3))).shape
    (1, 3, 3)
    """

    keras_aliases = ("MaxPool1D",)

    def forward(self, x, training=False):
        n, t, c = x.shape
        ot, _ = self._geometry(t)
        self._x_shape = x.shape
        y, self._argmax = _C.maxpool2d_forward(
            x.reshape(n, 1, t, c), (1, self.pool_size), (1, self.strides), self.padding,
            out=self.buffer("y", (n, 1, ot, c)),
            out_argmax=self.buffer("argmax", (n, 1, ot, c), np.int32))
        return y.reshape(n, ot, c)

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        n, t, c = self._x_shape
        dy = np.ascontiguousarray(dy, np.float32)
        dx = _C.maxpool2d_backward(dy.reshape(n, 1, dy.shape[1], c), self._argmax,
                                   (n, 1, t, c), (1, self.pool_size), (1, self.strides),
                                   self.padding, out=self.buffer("dx", (n, 1, t, c)))
        return dx.reshape(n, t, c)


class AveragePooling1D(_Pooling1D):
    """Average pooling for temporal data; with "same" padding a window averages only the
    steps inside the input (padding is not counted), as Keras.

    >>> import numpy as np
    >>> AveragePooling1D(3, strides=1, padding="same")(np.ones((1, 4, 2))).shape
    (1, 4, 2)
    """

    keras_aliases = ("AvgPool1D",)

    def _windows(self, t):
        ot, pl = self._geometry(t)
        starts = np.arange(ot) * self.strides - pl
        lo, hi = np.maximum(starts, 0), np.minimum(starts + self.pool_size, t)
        return ot, lo, hi

    def forward(self, x, training=False):
        n, t, c = x.shape
        ot, lo, hi = self._windows(t)
        self._x_shape = x.shape
        csum = np.zeros((n, t + 1, c), np.float64)
        np.cumsum(x, axis=1, out=csum[:, 1:])
        y = (csum[:, hi] - csum[:, lo]) / (hi - lo)[None, :, None]
        return y.astype(np.float32)

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        n, t, c = self._x_shape
        ot, lo, hi = self._windows(t)
        share = dy / (hi - lo)[None, :, None]
        # dx[s] = sum of share over windows containing s: a difference array, then cumsum
        diff = np.zeros((n, t + 1, c), np.float64)
        np.add.at(diff, (slice(None), lo), share)
        np.subtract.at(diff, (slice(None), hi), share)
        return np.cumsum(diff[:, :t], axis=1).astype(np.float32)


class _GlobalPooling1D(Layer):
    supports_masking = True

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise ValueError(f"{type(self).__name__} '{self.name}': fastnn supports "
                             f"data_format='channels_last' only")
        self.keepdims = bool(keepdims)

    def check_input_shape(self, input_shape):
        if len(input_shape) != 3:
            raise self.incompatible(input_shape, f"expected ndim=3, found ndim={len(input_shape)}")

    def compute_output_shape(self, input_shape):
        n, _, c = input_shape
        return (n, 1, c) if self.keepdims else (n, c)

    def compute_mask(self, x, mask=None):
        return None

    def _out(self, y):
        return y[:, None, :] if self.keepdims else y

    def get_config(self):
        return {**super().get_config(), "data_format": "channels_last", "keepdims": self.keepdims}


class GlobalAveragePooling1D(_GlobalPooling1D):
    """The mean over the time axis: (batch, steps, features) -> (batch, features)
    ((batch, 1, features) with keepdims).  With a mask (batch, steps), the mean of the
    unmasked steps only, as Keras.

    >>> import numpy as np
    >>> GlobalAveragePooling1D()(np.ones((2, 5, 3))).shape
    (2, 3)
    """

    keras_aliases = ("GlobalAvgPool1D",)

    def forward(self, x, training=False, mask=None):
        self._x_shape = x.shape
        if mask is None:
            self._weights = None
            return self._out(x.mean(axis=1, dtype=np.float32))
        w = np.asarray(mask, np.float32)
        w = w / np.maximum(w.sum(axis=1, keepdims=True), 1e-7)  # masked steps weigh 0
        self._weights = w
        return self._out(np.einsum("nt,ntc->nc", w, x).astype(np.float32))

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        dy = dy.reshape(dy.shape[0], -1)
        n, t, c = self._x_shape
        if self._weights is None:
            return np.ascontiguousarray(np.broadcast_to(dy[:, None, :] / t, (n, t, c)),
                                        dtype=np.float32)
        return (self._weights[:, :, None] * dy[:, None, :]).astype(np.float32)


class GlobalMaxPooling1D(_GlobalPooling1D):
    """The maximum over the time axis (the first maximum gets the gradient).

    >>> import numpy as np
    >>> GlobalMaxPooling1D(keepdims=True)(np.ones((2, 5, 3))).shape
    (2, 1, 3)
    """

    keras_aliases = ("GlobalMaxPool1D",)

    def forward(self, x, training=False):
        self._x_shape = x.shape
        self._arg = np.argmax(x, axis=1)
        return self._out(np.take_along_axis(x, self._arg[:, None, :], axis=1)[:, 0])

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        dy = dy.reshape(dy.shape[0], -1)
        dx = np.zeros(self._x_shape, np.float32)
        np.put_along_axis(dx, self._arg[:, None, :], dy[:, None, :], axis=1)
        return dx
