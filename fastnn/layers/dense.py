"""Dense: y = activation(x . kernel + bias), kernel (in, units) as in Keras."""
import numpy as np

from fastnn import _C, activations, constraints, initializers, regularizers
from fastnn.layers.layer import Layer, reject_unsupported


def positive_int(value, name, layer):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"Received an invalid value for `{name}`, expected a positive "
                         f"integer. Received: {name}={value!r} (layer {layer})")
    return value


class Dense(Layer):
    """Just your regular densely-connected NN layer.

    Args:
        units: positive int, dimensionality of the output space.
        activation: activation name (e.g. "relu") or None (linear). Defaults to None.
        use_bias: whether to add a bias vector. Defaults to True.
        kernel_initializer: defaults to "glorot_uniform".
        bias_initializer: defaults to "zeros".

    Input shape: (batch_size, input_dim). Output shape: (batch_size, units).

    >>> import numpy as np
    >>> Dense(4, activation="relu")(np.ones((2, 3))).shape
    (2, 4)
    """

    supports_masking = True  # a timestep mask passes through (Keras 3)

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, lora_alpha=None,
                 quantization_config=None, **kwargs):
        super().__init__(**kwargs)
        reject_unsupported(self, lora_rank=lora_rank, quantization_config=quantization_config)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.units = positive_int(units, "units", self.name)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def check_input_shape(self, input_shape):
        if len(input_shape) < 2 or len(input_shape) > 3:  # (batch, features) or a sequence
            err = self.incompatible(input_shape, f"expected ndim=2, found ndim={len(input_shape)}")
            raise ValueError(f"{err}. Add a Flatten layer before Dense to feed it images.")
        if self.built and input_shape[-1] != self.kernel.shape[0]:
            raise self.incompatible(input_shape, f"expected axis -1 of input shape to have value "
                                    f"{self.kernel.shape[0]}")

    def build(self, input_shape):
        self.kernel = self.add_weight((input_shape[-1], self.units), self.kernel_initializer, "kernel",
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = self.add_weight((self.units,), self.bias_initializer, "bias",
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint) if self.use_bias else None

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    can_defer_activation = True  # a model may leave the activation to its loss (logits)

    def forward(self, x, training=False, defer_activation=False):
        self._lead = x.shape[:-1] if x.ndim != 2 else None  # a sequence: every step
        if self._lead is not None:
            x = np.ascontiguousarray(x).reshape(-1, x.shape[-1])
        self._x = x
        self._deferred = defer_activation
        y = self.buffer("y", (x.shape[0], self.units))
        work = self.buffer("work", (_C.dense_workspace_size(x.shape[0], x.shape[1], self.units),))
        fuse_relu = self.activation is activations.relu and not defer_activation
        _C.dense_forward(x, self.kernel.value, None if self.bias is None else self.bias.value,
                         out=y, work=work, relu=fuse_relu)
        self._y = y if defer_activation or fuse_relu else self.activation.forward(y)
        return self._y if self._lead is None else self._y.reshape(self._lead + (self.units,))

    def backward(self, dy, need_dx=True):
        if self._lead is not None:
            dy = np.ascontiguousarray(dy).reshape(-1, self.units)
        if not self._deferred:
            dy = self.activation.backward(dy, self._y)
        x = self._x
        work = self.buffer("work", (_C.dense_workspace_size(x.shape[0], x.shape[1], self.units),))
        _C.dense_backward_weight(dy, x, self.use_bias, out_kernel=self.kernel.grad,
                                 out_bias=None if self.bias is None else self.bias.grad, work=work)
        if not need_dx:
            return None
        dx = _C.dense_backward_input(dy, self.kernel.value, out=self.buffer("dx", x.shape),
                                     work=work)
        return dx if self._lead is None else dx.reshape(self._lead + (x.shape[-1],))

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint), "quantization_config": None}
