"""Activations by name, each a forward/backward pair on the C kernels.

forward(x) overwrites x with the activation (layers own their buffers); backward(dy, y)
overwrites dy with the gradient, using only the forward output y.
"""
import numpy as np

from fastnn import _C


class Activation:
    def __init__(self, name, forward, backward):
        self.name, self._forward, self._backward = name, forward, backward

    def forward(self, x):
        return x if self._forward is None else self._forward(x, out=x)

    def backward(self, dy, y):
        return dy if self._backward is None else self._backward(dy, y, out=dy)

    def __call__(self, x):
        """Apply to any array, Keras style: returns a new float32 array."""
        return self.forward(np.array(x, dtype=np.float32))

    def __repr__(self):
        return f"<activation {self.name}>"


linear = Activation("linear", None, None)
relu = Activation("relu", _C.relu_forward, _C.relu_backward)
sigmoid = Activation("sigmoid", _C.sigmoid_forward, _C.sigmoid_backward)
tanh = Activation("tanh", _C.tanh_forward, _C.tanh_backward)
softmax = Activation("softmax", _C.softmax_forward, _C.softmax_backward)

_BY_NAME = {a.name: a for a in (linear, relu, sigmoid, tanh, softmax)}


def get(identifier):
    """An activation from a name, None ('linear') or an Activation."""
    if identifier is None:
        return linear
    if isinstance(identifier, Activation):
        return identifier
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]
    if callable(identifier):
        raise ValueError(f"fastnn needs both directions of an activation, so a plain callable "
                         f"like {identifier!r} is not supported; use one of {sorted(_BY_NAME)}")
    raise ValueError(f"Could not interpret activation function identifier: {identifier!r}. "
                     f"Available activations: {sorted(_BY_NAME)}")


def serialize(activation):
    return activation.name
