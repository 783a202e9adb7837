"""Layers whose output is their input: Identity (a placeholder) and
ActivityRegularization (adds an L1/L2 penalty on the activations to the loss)."""
from fastnn import regularizers
from fastnn.layers.layer import Layer


class Identity(Layer):
    """Returns its input unchanged (a placeholder where no operation is wanted).

    >>> import numpy as np
    >>> Identity()(np.ones((1, 2)))
    array([[1., 1.]], dtype=float32)
    """

    supports_masking = True

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def forward(self, x, training=False):
        return x

    def backward(self, dy, need_dx=True):
        return dy if need_dx else None


class ActivityRegularization(Identity):
    """Adds l1 * sum(|x|) + l2 * sum(x^2) of its input to the training loss (Keras's
    activity regularization), and passes the input on.

    Args:
        l1: float >= 0, the L1 factor. Defaults to 0.
        l2: float >= 0, the L2 factor. Defaults to 0.
    """

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        kwargs.pop("activity_regularizer", None)  # Keras's config never holds it
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1, self.l2 = l1, l2

    def get_config(self):
        config = super().get_config()
        config.pop("activity_regularizer", None)
        return {**config, "l1": self.l1, "l2": self.l2}
