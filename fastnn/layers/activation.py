"""Activation: applies an activation function to its input."""
import numpy as np

from fastnn import activations
from fastnn.layers.layer import Layer


class Activation(Layer):
    """Applies an activation function to an output.

    Args:
        activation: name of the activation ("relu", "sigmoid", "tanh", "softmax", "linear").

    >>> import numpy as np
    >>> Activation("relu")(np.array([[-1.0, 2.0]]))
    array([[0., 2.]], dtype=float32)
    """

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    can_defer_activation = True  # a model may run it as the identity, its loss taking logits

    def forward(self, x, training=False, defer_activation=False):
        self._deferred = defer_activation
        y = self.buffer("y", x.shape)
        np.copyto(y, x)
        self._y = y if defer_activation else self.activation.forward(y)
        return self._y

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        return dy if self._deferred else self.activation.backward(dy, self._y)

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}
