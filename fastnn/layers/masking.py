"""Masking: marks the timesteps whose features all equal `mask_value` as masked (Keras's
timestep mask), and zeroes them in its output, as Keras 3 does."""
import numpy as np

from fastnn.layers.layer import Layer


class Masking(Layer):
    """Masks a sequence using a mask value to skip timesteps.

    For each timestep of the input (batch, timesteps, features), the step is masked when
    every feature equals `mask_value`; the layer's mask (batch, timesteps) then reaches
    the layers after it that use masks (SimpleRNN, LSTM, GRU, Bidirectional,
    GlobalAveragePooling1D, ...), through those that pass it on (Dense, Dropout,
    TimeDistributed).  The output is the input with the masked steps set to 0.

    Args:
        mask_value: the padding value (default 0.0).

    >>> import numpy as np
    >>> x = np.array([[[1., 2.], [0., 0.], [3., 0.]]])
    >>> m = Masking()
    >>> m(x)[0].tolist(), m.compute_mask(x).tolist()
    ([[1.0, 2.0], [0.0, 0.0], [3.0, 0.0]], [[True, False, True]])
    """

    supports_masking = True

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(mask_value, bool) or not isinstance(mask_value, (int, float, np.number)):
            raise ValueError(f"Masking '{self.name}': mask_value must be a number, received "
                             f"{mask_value!r}")
        self.mask_value = mask_value

    def check_input_shape(self, input_shape):
        if len(input_shape) < 2:
            raise self.incompatible(input_shape, f"expected ndim>=2, found ndim={len(input_shape)}")

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def compute_mask(self, x, mask=None):
        if isinstance(x, (list, tuple)):
            x = x[0]
        return np.any(np.asarray(x) != np.float32(self.mask_value), axis=-1)

    def forward(self, x, training=False):
        self._keep = np.any(x != np.float32(self.mask_value), axis=-1, keepdims=True)
        y = self.buffer("y", x.shape)
        y[...] = 0.0  # where, not a product: an infinite mask_value gives 0, not NaN
        np.copyto(y, x, where=self._keep)
        return y

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        dx = self.buffer("dx", dy.shape)
        dx[...] = 0.0
        np.copyto(dx, dy, where=self._keep)
        return dx

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}
