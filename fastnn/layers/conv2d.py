"""Conv2D: 2-D convolution, channels-last, kernel (kh, kw, in_channels, filters)."""
from fastnn import regularizers as _regularizers
from fastnn import _C, activations, constraints, initializers, regularizers
from fastnn._shapes import normalize_pair, normalize_padding, unknown_spatial
from fastnn.layers.dense import positive_int
from fastnn.layers.layer import Layer, reject_unsupported


class Conv2D(Layer):
    """2D convolution layer (cross-correlation, as in Keras).

    Args:
        filters: positive int, the number of output channels.
        kernel_size: int or tuple of 2 ints, the window's height and width.
        strides: int or tuple of 2 ints. Defaults to (1, 1).
        padding: "valid" (no padding) or "same" (output size = ceil(input / stride)),
            case-insensitive. Defaults to "valid".
        data_format: only "channels_last" (or None) is supported.
        dilation_rate: int or tuple of 2 ints (with strides 1). Defaults to (1, 1).
        groups: positive int dividing the input channels and `filters`: the channels
            split into `groups` independent convolutions, kernel (kh, kw, in / groups,
            filters). Dilated and grouped convolutions run on a direct kernel
            (csrc/conv2d_grouped.c); the others on the GEMM path.
        activation: activation name or None. Defaults to None.
        use_bias: defaults to True.
        kernel_initializer: defaults to "glorot_uniform"; bias_initializer "zeros".

    Input shape: (batch, height, width, channels).
    Output shape: (batch, new_height, new_width, filters).

    >>> import numpy as np
    >>> Conv2D(8, 3, activation="relu")(np.ones((2, 28, 28, 1))).shape
    (2, 26, 26, 8)
    """

    keras_aliases = ("Convolution2D",)

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        op = f"Conv2D '{self.name}'"
        self.filters = positive_int(filters, "filters", self.name)
        self.kernel_size = normalize_pair(kernel_size, "kernel_size", op)
        self.strides = normalize_pair(strides, "strides", op)
        self.padding = normalize_padding(padding, op)
        if data_format not in (None, "channels_last"):
            raise ValueError(f"{op}: fastnn supports data_format='channels_last' only, "
                             f"received data_format={data_format!r}")
        self.dilation_rate = normalize_pair(dilation_rate, "dilation_rate", op)
        self.groups = positive_int(groups, "groups", self.name)
        if self.dilation_rate != (1, 1) and self.strides != (1, 1):
            raise ValueError(f"`strides > 1` not supported in conjunction with `dilation_rate "
                             f"> 1`. Received: strides={self.strides} and "
                             f"dilation_rate={self.dilation_rate}")
        if self.filters % self.groups:
            raise ValueError(f"The number of filters must be evenly divisible by the number of "
                             f"groups. Received: groups={self.groups}, filters={self.filters}.")
        # dilation 1 and groups 1 run on the GEMM path (conv2d.c, Winograd, the fused
        # conv+pool plans); the others on the direct grouped kernel (conv2d_grouped.c)
        self.plain = self.dilation_rate == (1, 1) and self.groups == 1
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def check_input_shape(self, input_shape):
        if len(input_shape) != 4:
            raise self.incompatible(input_shape, f"expected ndim=4, found ndim={len(input_shape)}")
        if self.built and input_shape[-1] != self.kernel.shape[2] * self.groups:
            raise self.incompatible(input_shape, f"expected axis -1 of input shape to have value "
                                    f"{self.kernel.shape[2] * self.groups}")
        if input_shape[-1] % self.groups:
            raise ValueError(f"The number of input channels must be evenly divisible by the "
                             f"number of groups. Received groups={self.groups}, but the input "
                             f"has {input_shape[-1]} channels (full input shape is "
                             f"{tuple(input_shape)}).")
        self.compute_output_shape(input_shape)

    def build(self, input_shape):
        self.kernel = self.add_weight(self.kernel_size + (input_shape[-1] // self.groups,
                                                          self.filters),
                                      self.kernel_initializer, "kernel",
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = self.add_weight((self.filters,), self.bias_initializer, "bias",
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint) if self.use_bias else None

    def compute_output_shape(self, input_shape):
        unknown = unknown_spatial(self.compute_output_shape, input_shape)
        if unknown is not None:
            return unknown
        n, h, w, c = input_shape
        if not self.plain:
            try:
                _, oh, ow, f = _C.gconv2d_output_shape(
                    (1, h, w, c), self.kernel_size + (c // self.groups, self.filters),
                    self.strides, self.padding, self.dilation_rate, self.groups)
            except ValueError as e:
                raise ValueError(f"Layer '{self.name}': {e}. Received input shape "
                                 f"{tuple(input_shape)}") from None
            return (n, oh, ow, f)
        try:
            _, oh, ow, f = _C.conv2d_output_shape((1, h, w, c), self.kernel_size + (c, self.filters),
                                                  self.strides, self.padding)
        except ValueError as e:
            raise ValueError(f"Layer '{self.name}': {e}. Received input shape {tuple(input_shape)}") from None
        return (n, oh, ow, f)

    def _work(self, x_shape):
        size = _C.conv2d_workspace_size(x_shape, self.kernel.shape, self.strides, self.padding)
        return self.buffer("work", (size,))

    def _grouped(self):
        return dict(strides=self.strides, padding=self.padding,
                    dilation_rate=self.dilation_rate, groups=self.groups)

    can_defer_activation = True  # a model may leave the activation to its loss (logits)

    def forward(self, x, training=False, defer_activation=False):
        self._x = x
        self._deferred = defer_activation
        y = self.buffer("y", self.compute_output_shape(x.shape))
        if not self.plain:
            _C.gconv2d_forward(x, self.kernel.value, None if self.bias is None else
                               self.bias.value, out=y, work=self._gwork(x.shape),
                               **self._grouped())
            self._y = y if defer_activation else self.activation.forward(y)
            return self._y
        fuse_relu = self.activation is activations.relu and not defer_activation
        _C.conv2d_forward(x, self.kernel.value, None if self.bias is None else self.bias.value,
                          self.strides, self.padding, out=y, work=self._work(x.shape),
                          relu=fuse_relu)
        self._y = y if defer_activation or fuse_relu else self.activation.forward(y)
        return self._y

    def backward(self, dy, need_dx=True, activation_done=False):
        """`activation_done`: dy is already the gradient before the activation (a fused
        plan step took the activation's gradient itself)."""
        if not self._deferred and not activation_done:
            dy = self.activation.backward(dy, self._y)
        if not self.plain:
            return self._grouped_backward(dy, need_dx)
        x, work = self._x, self._work(self._x.shape)
        _C.conv2d_backward_weight(dy, x, self.kernel_size, self.strides, self.padding,
                                  self.use_bias, out_kernel=self.kernel.grad,
                                  out_bias=None if self.bias is None else self.bias.grad, work=work)
        if not need_dx:
            return None
        return _C.conv2d_backward_input(dy, self.kernel.value, x.shape, self.strides, self.padding,
                                        out=self.buffer("dx", x.shape), work=work)

    def _gwork(self, x_shape):
        """The grouped path's workspace (the GEMM path's patches, or weight partials)."""
        size = _C.gconv2d_workspace_size(x_shape, self.kernel.shape, **self._grouped())
        return self.buffer("gwork", (size,))

    def _grouped_backward(self, dy, need_dx):
        x, k = self._x, self.kernel
        work = self._gwork(x.shape)
        _C.gconv2d_backward_weight(dy, x, k.shape, use_bias=self.use_bias, out_kernel=k.grad,
                                   out_bias=None if self.bias is None else self.bias.grad,
                                   work=work, **self._grouped())
        if not need_dx:
            return None
        return _C.gconv2d_backward_input(dy, k.value, x.shape, out=self.buffer("dx", x.shape),
                                         work=work, **self._grouped())

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "data_format": "channels_last",
                "dilation_rate": self.dilation_rate, "groups": self.groups,
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "activity_regularizer": _regularizers.serialize(self.activity_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint)}
