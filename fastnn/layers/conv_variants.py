"""DepthwiseConv2D, SeparableConv2D and Conv2DTranspose, with Keras's weight layouts:
depthwise kernel (kh, kw, in_channels, depth_multiplier), pointwise kernel
(1, 1, in_channels * depth_multiplier, filters), transposed kernel (kh, kw, filters,
in_channels).

The depthwise step runs on the grouped-convolution kernel (csrc/conv2d_grouped.c, groups =
channels); the pointwise step and the transposed convolution on Conv2D's GEMM kernels (a
transposed convolution's forward is a convolution's input gradient, and its input gradient
a convolution's forward)."""
from fastnn import regularizers as _regularizers
from fastnn import _C, activations, initializers
from fastnn._shapes import normalize_padding, normalize_pair, unknown_spatial
from fastnn.layers.dense import positive_int
from fastnn.layers.layer import Layer, reject_unsupported


class _ConvBase(Layer):
    """Argument checks shared by the three layers."""

    def _init_conv(self, kernel_size, strides, padding, data_format, dilation_rate,
                   activation, use_bias, bias_initializer, **unsupported):
        reject_unsupported(self, **unsupported)
        op = f"{type(self).__name__} '{self.name}'"
        self.kernel_size = normalize_pair(kernel_size, "kernel_size", op)
        self.strides = normalize_pair(strides, "strides", op)
        self.padding = normalize_padding(padding, op)
        self.dilation_rate = normalize_pair(dilation_rate, "dilation_rate", op)
        if data_format not in (None, "channels_last"):
            raise ValueError(f"{op}: fastnn supports data_format='channels_last' only, "
                             f"received data_format={data_format!r}")
        if self.dilation_rate != (1, 1) and self.strides != (1, 1):
            raise ValueError(f"`strides > 1` not supported in conjunction with `dilation_rate "
                             f"> 1`. Received: strides={self.strides} and "
                             f"dilation_rate={self.dilation_rate}")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.bias_initializer = initializers.get(bias_initializer)

    def check_input_shape(self, input_shape):
        if len(input_shape) != 4:
            raise self.incompatible(input_shape, f"expected ndim=4, found ndim={len(input_shape)}")
        if self.built and input_shape[-1] != self._channels:
            raise self.incompatible(input_shape, f"expected axis -1 of input shape to have value "
                                    f"{self._channels}")
        self.compute_output_shape(input_shape)

    def _activate(self, y):
        self._y = self.activation.forward(y)
        return self._y

    def _base_config(self):
        return {"kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "data_format": "channels_last",
                "dilation_rate": self.dilation_rate,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias}


class DepthwiseConv2D(_ConvBase):
    """Depthwise 2D convolution: each input channel convolved with its own
    `depth_multiplier` filters; output channel c * depth_multiplier + m.

    >>> import numpy as np
    >>> DepthwiseConv2D(3, depth_multiplier=2)(np.ones((1, 5, 5, 3))).shape
    (1, 3, 3, 6)
    """

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, depthwise_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self._init_conv(kernel_size, strides, padding, data_format, dilation_rate, activation,
                        use_bias, bias_initializer, depthwise_regularizer=depthwise_regularizer,
                        bias_regularizer=bias_regularizer,
                        depthwise_constraint=depthwise_constraint,
                        bias_constraint=bias_constraint)
        self.depth_multiplier = positive_int(depth_multiplier, "depth_multiplier", self.name)
        self.depthwise_initializer = initializers.get(depthwise_initializer)

    def build(self, input_shape):
        c = self._channels = input_shape[-1]
        self.kernel = self.add_weight(self.kernel_size + (c, self.depth_multiplier),
                                      self.depthwise_initializer, "kernel")
        self.bias = self.add_weight((c * self.depth_multiplier,), self.bias_initializer,
                                    "bias") if self.use_bias else None

    def _args(self, c):
        return dict(strides=self.strides, padding=self.padding,
                    dilation_rate=self.dilation_rate, groups=c)

    # With a depth multiplier M > 1 the input is first repeated to C*M channels (channel
    # c -> c*M .. c*M + M - 1): the grouped kernel then runs its one-channel-per-group
    # loop, which vectorizes (about 7x faster than M interleaved filters per channel).
    def _expand(self, x):
        m = self.depth_multiplier
        if m == 1:
            return x
        xe = self.buffer("xe", x.shape[:3] + (x.shape[3] * m,))
        xe.reshape(x.shape + (m,))[...] = x[..., None]
        return xe

    def _depthwise_forward(self, x, kernel, bias, out):
        xe = self._xe = self._expand(x)
        c = xe.shape[3]
        return _C.gconv2d_forward(xe, kernel.reshape(self.kernel_size + (1, c)), bias, out=out,
                                  **self._args(c))

    def _depthwise_backward(self, dy, x, kernel, need_dx):
        """Writes the depthwise kernel's gradient (bias excluded); returns dx or None."""
        xe, m = self._xe, self.depth_multiplier
        c = xe.shape[3]
        k = self.kernel_size + (1, c)
        size = _C.gconv2d_workspace_size(xe.shape, k, **self._args(c))
        _C.gconv2d_backward_weight(dy, xe, k, use_bias=False,
                                   out_kernel=kernel.grad.reshape(k),
                                   work=self.buffer("work", (size,)), **self._args(c))
        if not need_dx:
            return None
        dxe = _C.gconv2d_backward_input(dy, kernel.value.reshape(k), xe.shape,
                                        out=self.buffer("dxe", xe.shape), **self._args(c))
        if m == 1:
            return dxe
        dx = self.buffer("dx", x.shape)
        dxe.reshape(x.shape + (m,)).sum(axis=-1, out=dx)
        return dx

    def _kshape(self, c):
        return self.kernel_size + (1, c * self.depth_multiplier)

    def compute_output_shape(self, input_shape):
        unknown = unknown_spatial(self.compute_output_shape, input_shape)
        if unknown is not None:
            return unknown
        n, h, w, c = input_shape
        try:
            _, oh, ow, f = _C.gconv2d_output_shape((1, h, w, c), self._kshape(c), **self._args(c))
        except ValueError as e:
            raise ValueError(f"Layer '{self.name}': {e}. Received input shape "
                             f"{tuple(input_shape)}") from None
        return (n, oh, ow, f)

    def forward(self, x, training=False):
        self._x = x
        y = self._depthwise_forward(x, self.kernel.value,
                                    None if self.bias is None else self.bias.value,
                                    self.buffer("y", self.compute_output_shape(x.shape)))
        return self._activate(y)

    def backward(self, dy, need_dx=True):
        dy = self.activation.backward(dy, self._y)
        if self.bias is not None:
            self.bias.grad[...] = dy.sum(axis=(0, 1, 2), dtype="float64")
        return self._depthwise_backward(dy, self._x, self.kernel, need_dx)

    def get_config(self):
        return {**super().get_config(), "depth_multiplier": self.depth_multiplier,
                **self._base_config(),
                "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "depthwise_regularizer": None, "bias_regularizer": None,
                "activity_regularizer": _regularizers.serialize(self.activity_regularizer), "depthwise_constraint": None,
                "bias_constraint": None}


class SeparableConv2D(DepthwiseConv2D):
    """Depthwise separable 2D convolution: a depthwise convolution (strides, padding and
    dilation apply there) followed by a 1x1 convolution to `filters` channels.

    >>> import numpy as np
    >>> SeparableConv2D(8, 3, padding="same")(np.ones((1, 5, 5, 3))).shape
    (1, 5, 5, 8)
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, depthwise_constraint=None,
                 pointwise_constraint=None, bias_constraint=None, **kwargs):
        reject = dict(pointwise_regularizer=pointwise_regularizer,
                      pointwise_constraint=pointwise_constraint)
        super().__init__(kernel_size, strides, padding, depth_multiplier, data_format,
                         dilation_rate, activation, use_bias, depthwise_initializer,
                         bias_initializer, depthwise_regularizer, bias_regularizer,
                         depthwise_constraint, bias_constraint, **kwargs)
        reject_unsupported(self, **reject)
        self.filters = positive_int(filters, "filters", self.name)
        self.pointwise_initializer = initializers.get(pointwise_initializer)

    def build(self, input_shape):
        c = self._channels = input_shape[-1]
        m = self.depth_multiplier
        self.depthwise_kernel = self.add_weight(self.kernel_size + (c, m),
                                                self.depthwise_initializer, "depthwise_kernel")
        self.pointwise_kernel = self.add_weight((1, 1, c * m, self.filters),
                                                self.pointwise_initializer, "pointwise_kernel")
        self.bias = self.add_weight((self.filters,), self.bias_initializer, "bias") \
            if self.use_bias else None

    def compute_output_shape(self, input_shape):
        n, oh, ow, _ = super().compute_output_shape(input_shape)
        return (n, oh, ow, self.filters)

    def forward(self, x, training=False):
        self._x = x
        c = x.shape[3]
        mid = (x.shape[0],) + self.compute_output_shape(x.shape)[1:3] + (c * self.depth_multiplier,)
        self._z = self._depthwise_forward(x, self.depthwise_kernel.value, None,
                                          self.buffer("z", mid))
        pk = self.pointwise_kernel.value
        y = self.buffer("y", mid[:3] + (self.filters,))
        _C.conv2d_forward(self._z, pk, None if self.bias is None else self.bias.value, out=y,
                          work=self._pwork(mid))
        return self._activate(y)

    def _pwork(self, mid):
        size = _C.conv2d_workspace_size(mid, self.pointwise_kernel.shape)
        return self.buffer("pwork", (size,))

    def backward(self, dy, need_dx=True):
        dy = self.activation.backward(dy, self._y)
        x, z = self._x, self._z
        work = self._pwork(z.shape)
        _C.conv2d_backward_weight(dy, z, (1, 1), use_bias=self.use_bias,
                                  out_kernel=self.pointwise_kernel.grad,
                                  out_bias=None if self.bias is None else self.bias.grad,
                                  work=work)
        dz = _C.conv2d_backward_input(dy, self.pointwise_kernel.value, z.shape,
                                      out=self.buffer("dz", z.shape), work=work)
        return self._depthwise_backward(dz, x, self.depthwise_kernel, need_dx)

    def get_config(self):
        config = super().get_config()
        for key in ("depthwise_initializer", "bias_initializer", "depthwise_regularizer",
                    "bias_regularizer", "activity_regularizer", "depthwise_constraint",
                    "bias_constraint"):
            config.pop(key)
        return {**config, "filters": self.filters, **self._base_config(),
                "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
                "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "depthwise_regularizer": None, "pointwise_regularizer": None,
                "bias_regularizer": None, "activity_regularizer": _regularizers.serialize(self.activity_regularizer),
                "depthwise_constraint": None, "pointwise_constraint": None,
                "bias_constraint": None}


class Conv2DTranspose(_ConvBase):
    """Transposed 2D convolution (the input gradient of a convolution), kernel
    (kh, kw, filters, in_channels).  Output size: in * stride with padding="same";
    in * stride + max(kernel - stride, 0) with "valid".  output_padding and dilation
    other than their defaults are not supported by fastnn.

    >>> import numpy as np
    >>> Conv2DTranspose(4, 3, strides=2, padding="same")(np.ones((1, 5, 6, 2))).shape
    (1, 10, 12, 4)
    """

    keras_aliases = ("Convolution2DTranspose",)

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
                 output_padding=None, data_format=None, dilation_rate=(1, 1), activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self._init_conv(kernel_size, strides, padding, data_format, dilation_rate, activation,
                        use_bias, bias_initializer, kernel_regularizer=kernel_regularizer,
                        bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                        bias_constraint=bias_constraint, output_padding=output_padding)
        if self.dilation_rate != (1, 1):
            raise ValueError(f"Conv2DTranspose '{self.name}': dilation_rate other than 1 is "
                             f"not supported by fastnn")
        self.filters = positive_int(filters, "filters", self.name)
        self.kernel_initializer = initializers.get(kernel_initializer)

    def build(self, input_shape):
        self._channels = input_shape[-1]
        self.kernel = self.add_weight(self.kernel_size + (self.filters, input_shape[-1]),
                                      self.kernel_initializer, "kernel")
        self.bias = self.add_weight((self.filters,), self.bias_initializer, "bias") \
            if self.use_bias else None

    def compute_output_shape(self, input_shape):
        unknown = unknown_spatial(self.compute_output_shape, input_shape)
        if unknown is not None:
            return unknown
        n, h, w, _ = input_shape

        def size(d, k, s):
            if d is None:
                return None
            return d * s if self.padding == "same" else d * s + max(k - s, 0)
        return (n, size(h, self.kernel_size[0], self.strides[0]),
                size(w, self.kernel_size[1], self.strides[1]), self.filters)

    def forward(self, x, training=False):
        self._x = x
        shape = self.compute_output_shape(x.shape)
        y = _C.conv2d_backward_input(x, self.kernel.value, shape, self.strides, self.padding,
                                     out=self.buffer("y", shape), work=self._work(shape))
        if self.bias is not None:
            y += self.bias.value
        return self._activate(y)

    def _work(self, shape):
        size = _C.conv2d_workspace_size(shape, self.kernel.shape, self.strides, self.padding)
        return self.buffer("work", (size,))

    def backward(self, dy, need_dx=True):
        dy = self.activation.backward(dy, self._y)
        x, work = self._x, self._work(dy.shape)
        _C.conv2d_backward_weight(x, dy, self.kernel_size, self.strides, self.padding, False,
                                  out_kernel=self.kernel.grad, work=work)
        if self.bias is not None:
            self.bias.grad[...] = dy.sum(axis=(0, 1, 2), dtype="float64")
        if not need_dx:
            return None
        return _C.conv2d_forward(dy, self.kernel.value, None, self.strides, self.padding,
                                 out=self.buffer("dx", x.shape), work=work)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, **self._base_config(),
                "output_padding": None,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": None, "bias_regularizer": None,
                "activity_regularizer": _regularizers.serialize(self.activity_regularizer), "kernel_constraint": None, "bias_constraint": None}
