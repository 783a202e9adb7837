"""The activation layers with arguments: ReLU, LeakyReLU, PReLU, ELU, Softmax."""
import numpy as np

from fastnn import _C, initializers
from fastnn.layers.layer import Layer, reject_unsupported


def _number(value):
    return not isinstance(value, bool) and isinstance(value, (int, float, np.floating,
                                                              np.integer))


class _Elementwise(Layer):
    """y = f(x) by fnn_activation_forward's `kind`; backward from the kept input x."""

    kind, params = None, (0.0, 0.0, 0.0)

    def forward(self, x, training=False):
        self._x = x
        self._y = _C.activation_forward(x, self.kind, *self.params, out=self.buffer("y", x.shape))
        return self._y

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        return _C.activation_backward(dy, self._x, self._y, self.kind, *self.params, out=dy)


class ReLU(_Elementwise):
    """Rectified Linear Unit activation function layer.

    `f(x) = max_value` if `x >= max_value`, `x` if `threshold <= x < max_value`, and
    `negative_slope * (x - threshold)` otherwise (Keras's formula).

    Args:
        max_value: float >= 0, the largest output, or None (unbounded). Defaults to None.
        negative_slope: float >= 0, slope below the threshold. Defaults to 0.
        threshold: float >= 0, the threshold. Defaults to 0.

    >>> import numpy as np
    >>> ReLU(max_value=2.0, negative_slope=0.5)(np.array([-2.0, 1.0, 5.0]))
    array([-1.,  1.,  2.], dtype=float32)
    """

    kind = "relu"

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        if max_value is not None and (not _number(max_value) or max_value < 0):
            raise ValueError(f"max_value of a ReLU layer cannot be a negative value. "
                             f"Received: max_value={max_value}")
        if negative_slope is None or not _number(negative_slope) or negative_slope < 0:
            raise ValueError(f"negative_slope of a ReLU layer cannot be None or a negative "
                             f"value. Received: negative_slope={negative_slope}")
        if threshold is None or not _number(threshold) or threshold < 0:
            raise ValueError(f"threshold of a ReLU layer cannot be None or a negative value. "
                             f"Received: threshold={threshold}")
        self.max_value = None if max_value is None else float(max_value)
        self.negative_slope, self.threshold = float(negative_slope), float(threshold)
        self.params = (np.inf if max_value is None else self.max_value, self.negative_slope,
                       self.threshold)
        # max(x, 0): the plan may fuse it into the BatchNormalization before it
        self.is_plain_relu = (self.max_value is None and self.negative_slope == 0
                              and self.threshold == 0)

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}


class LeakyReLU(_Elementwise):
    """Leaky version of a Rectified Linear Unit: `x` for `x > 0`, else `negative_slope * x`.

    Args:
        negative_slope: float >= 0. Defaults to 0.3 (Keras 3's layer default).

    >>> import numpy as np
    >>> LeakyReLU()(np.array([-10.0, 5.0]))
    array([-3.,  5.], dtype=float32)
    """

    kind = "leaky_relu"

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:  # Keras 2's name, which Keras 3 still accepts
            negative_slope = kwargs.pop("alpha")
        super().__init__(**kwargs)
        if negative_slope is None or not _number(negative_slope) or negative_slope < 0:
            raise ValueError(f"The negative_slope value of a Leaky ReLU layer cannot be None "
                             f"or negative value. Expected a float. Received: "
                             f"negative_slope={negative_slope}")
        self.negative_slope = float(negative_slope)
        self.params = (self.negative_slope, 0.0, 0.0)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ELU(_Elementwise):
    """Exponential Linear Unit: `x` for `x > 0`, else `alpha * (exp(x) - 1)`.

    Args:
        alpha: float, the scale of the negative part. Defaults to 1.0.

    >>> import numpy as np
    >>> ELU()(np.array([0.0, 2.0]))
    array([0., 2.], dtype=float32)
    """

    kind = "elu"

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        if not _number(alpha):
            raise ValueError(f"Argument `alpha` of layer '{self.name}' must be a float. "
                             f"Received: alpha={alpha!r}")
        self.alpha = float(alpha)
        self.params = (self.alpha, 0.0, 0.0)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class PReLU(Layer):
    """Parametric Rectified Linear Unit: `x` for `x > 0`, else `alpha * x`, with `alpha` a
    learned weight of the input's shape (without the batch axis).

    Args:
        alpha_initializer: initializer of the weights. Defaults to "zeros".
        shared_axes: axes (1-based, as Keras) along which alpha is shared, e.g. [1, 2]
            for one alpha per channel of an image. Defaults to None.

    >>> import numpy as np
    >>> PReLU()(np.array([[-1.0, 2.0]]))
    array([[-0.,  2.]], dtype=float32)
    """

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None,
                 shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        reject_unsupported(self, alpha_regularizer=alpha_regularizer,
                           alpha_constraint=alpha_constraint)
        self.alpha_initializer = initializers.get(alpha_initializer)
        if shared_axes is None:
            self.shared_axes = None
        elif isinstance(shared_axes, (list, tuple)):
            self.shared_axes = [int(a) for a in shared_axes]
        else:
            self.shared_axes = [int(shared_axes)]

    def check_input_shape(self, input_shape):
        if len(input_shape) < 2:
            raise self.incompatible(input_shape, "expected min_ndim=2")
        for a in self.shared_axes or ():
            if not 1 <= a < len(input_shape):
                raise ValueError(f"Layer '{self.name}': shared_axes {self.shared_axes} must "
                                 f"name axes 1..{len(input_shape) - 1} of the input, received "
                                 f"an input of shape {tuple(input_shape)}")
        if self.built:
            dims = tuple(input_shape[1:])
            if len(dims) != len(self.alpha.shape) or any(
                    a != 1 and a != d for a, d in zip(self.alpha.shape, dims)):
                raise self.incompatible(input_shape, f"expected a shape matching its alpha "
                                        f"weight {self.alpha.shape} (without the batch axis)")

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for a in self.shared_axes or ():
            shape[a - 1] = 1
        if None in shape:
            raise ValueError(f"Layer '{self.name}': PReLU needs a defined size on every "
                             f"non-shared axis, received input shape {tuple(input_shape)}")
        self.alpha = self.add_weight(tuple(shape), self.alpha_initializer, "alpha")

    def forward(self, x, training=False):
        self._x = x
        y = self.buffer("y", x.shape)
        np.multiply(x, np.where(x > 0, 1.0, self.alpha.value).astype(np.float32), out=y)
        return y

    def backward(self, dy, need_dx=True):
        x = self._x
        grad = dy * np.minimum(x, 0)
        axes = tuple(i for i in range(x.ndim) if i == 0 or self.alpha.shape[i - 1] == 1
                     and x.shape[i] != 1)
        self.alpha.grad[...] = grad.sum(axis=axes, keepdims=True).reshape(self.alpha.shape)
        if not need_dx:
            return None
        np.multiply(dy, np.where(x > 0, 1.0, self.alpha.value), out=dy, casting="unsafe")
        return dy

    def get_config(self):
        return {**super().get_config(),
                "alpha_initializer": initializers.serialize(self.alpha_initializer),
                "alpha_regularizer": None, "alpha_constraint": None,
                "shared_axes": self.shared_axes}


class Softmax(Layer):
    """Softmax activation layer: `exp(x) / sum(exp(x))` along `axis`.

    Args:
        axis: int, the axis to normalize. Defaults to -1.

    Called with `mask=` (True: keep), masked positions get probability 0.

    >>> import numpy as np
    >>> Softmax()(np.array([[0.0, 0.0]]))
    array([[0.5, 0.5]], dtype=float32)
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            if len(axis) != 1:
                raise ValueError(f"Softmax '{self.name}': fastnn supports one axis, received "
                                 f"axis={axis!r}")
            axis = axis[0]
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"Softmax '{self.name}': axis must be an int, received {axis!r}")
        self.axis = int(axis)

    def check_input_shape(self, input_shape):
        if not -len(input_shape) < self.axis < len(input_shape) or \
                self.axis % len(input_shape) == 0:
            raise ValueError(f"Softmax '{self.name}': axis {self.axis} is out of range for "
                             f"an input of shape {tuple(input_shape)} (the batch axis cannot "
                             f"be normalized)")

    def forward(self, x, training=False, mask=None):
        self._last = self.axis % x.ndim == x.ndim - 1
        moved = x if self._last else np.ascontiguousarray(np.moveaxis(x, self.axis, -1))
        if mask is not None:
            keep = np.broadcast_to(np.asarray(mask) > 0.5 if np.asarray(mask).dtype != bool
                                   else mask, x.shape)
            keep = keep if self._last else np.moveaxis(keep, self.axis, -1)
            moved = np.where(keep, moved, np.float32(-1e9)).astype(np.float32)
        y = _C.softmax_forward(moved, out=self.buffer("y", moved.shape))
        if mask is not None:
            y *= keep
        self._y = y
        return y if self._last else np.moveaxis(y, -1, self.axis)

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        d = dy if self._last else np.ascontiguousarray(np.moveaxis(dy, self.axis, -1))
        dx = _C.softmax_backward(d, self._y, out=self.buffer("dx", d.shape))
        return dx if self._last else np.ascontiguousarray(np.moveaxis(dx, -1, self.axis))

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
