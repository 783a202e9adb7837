"""Conv1D: 1-D convolution over time, channels-last, kernel (kernel_size, in, filters).

It runs on the Conv2D kernels with a height of 1: x (N, T, C) is viewed as (N, 1, T, C)
and the kernel as (1, k, C, F), no copies (with `dilation_rate` or `groups`, on Conv2D's
grouped/dilated kernels the same way).  "causal" padding is dilation * (k - 1) zeros on
the left, then a "valid" convolution (Keras's definition)."""
import numpy as np

from fastnn import regularizers as _regularizers
from fastnn import _C, activations, initializers
from fastnn.layers.dense import positive_int
from fastnn.layers.layer import Layer, reject_unsupported


def one_int(value, name, op):
    """Keras's 1-D argument: an int or a 1-tuple/list of one int."""
    v = value[0] if isinstance(value, (tuple, list)) and len(value) == 1 else value
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
        raise ValueError(f"{op}: The `{name}` argument must be a tuple of 1 integers. "
                         f"Received {name}={value!r}")
    return int(v)


def padding_1d(padding, op, causal=True):
    p = str(padding).lower()
    allowed = ("valid", "same", "causal") if causal else ("valid", "same")
    if p not in allowed:
        raise ValueError(f"{op}: `padding` must be one of {allowed}, received "
                         f"padding={padding!r}")
    return p


class Conv1D(Layer):
    """1D convolution layer (temporal convolution), cross-correlation as in Keras.

    Args:
        filters: positive int.
        kernel_size: int or tuple of 1 int.
        strides: int or tuple of 1 int. Defaults to 1.
        padding: "valid", "same" or "causal" (output[t] sees only inputs up to t).
        data_format: only "channels_last" (or None).
        dilation_rate: int or tuple of 1 int (with strides 1). Defaults to 1.
        groups: positive int dividing the input channels and `filters`: the channels
            split into `groups` independent convolutions, kernel (k, in / groups, filters).
        activation, use_bias, kernel_initializer ("glorot_uniform"), bias_initializer.

    Input shape: (batch, steps, channels).  Output shape: (batch, new_steps, filters).

    >>> import numpy as np
    >>> Conv1D(4, 3, padding="causal")(np.ones((2, 10, 1))).shape
    (2, 10, 4)
    """

    keras_aliases = ("Convolution1D",)

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        reject_unsupported(self, kernel_regularizer=kernel_regularizer,
                           bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                           bias_constraint=bias_constraint)
        op = f"Conv1D '{self.name}'"
        self.filters = positive_int(filters, "filters", self.name)
        self.kernel_size = one_int(kernel_size, "kernel_size", op)
        self.strides = one_int(strides, "strides", op)
        self.padding = padding_1d(padding, op)
        if data_format not in (None, "channels_last"):
            raise ValueError(f"{op}: fastnn supports data_format='channels_last' only, "
                             f"received data_format={data_format!r}")
        self.dilation_rate = one_int(dilation_rate, "dilation_rate", op)
        self.groups = positive_int(groups, "groups", self.name)
        if self.dilation_rate != 1 and self.strides != 1:
            raise ValueError(f"`strides > 1` not supported in conjunction with `dilation_rate "
                             f"> 1`. Received: strides=({self.strides},) and "
                             f"dilation_rate=({self.dilation_rate},)")
        if self.filters % self.groups:
            raise ValueError(f"The number of filters must be evenly divisible by the number of "
                             f"groups. Received: groups={self.groups}, filters={self.filters}.")
        self.plain = self.dilation_rate == 1 and self.groups == 1  # the GEMM/Winograd path
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)

    def check_input_shape(self, input_shape):
        if len(input_shape) != 3:
            raise self.incompatible(input_shape, f"expected ndim=3, found ndim={len(input_shape)}")
        if self.built and input_shape[-1] != self.kernel.shape[1] * self.groups:
            raise self.incompatible(input_shape, f"expected axis -1 of input shape to have value "
                                    f"{self.kernel.shape[1] * self.groups}")
        if input_shape[-1] % self.groups:
            raise ValueError(f"The number of input channels must be evenly divisible by the "
                             f"number of groups. Received groups={self.groups}, but the input "
                             f"has {input_shape[-1]} channels (full input shape is "
                             f"{tuple(input_shape)}).")
        self.compute_output_shape(input_shape)

    def build(self, input_shape):
        self.kernel = self.add_weight((self.kernel_size, input_shape[-1] // self.groups,
                                       self.filters), self.kernel_initializer, "kernel")
        self.bias = self.add_weight((self.filters,), self.bias_initializer, "bias") \
            if self.use_bias else None

    def _span(self):
        """The kernel's extent in steps, dilation included."""
        return self.dilation_rate * (self.kernel_size - 1) + 1

    def _pad(self):
        return self._span() - 1 if self.padding == "causal" else 0

    def _mode(self):
        return "valid" if self.padding == "causal" else self.padding

    def compute_output_shape(self, input_shape):
        n, t, c = input_shape
        if t is None:
            return (n, None, self.filters)
        t += self._pad()
        if self._mode() == "same":
            out = -(-t // self.strides)
        else:
            out = (t - self._span()) // self.strides + 1
            if out <= 0:
                raise ValueError(f"Layer '{self.name}': the input is shorter than the kernel "
                                 f"(kernel_size={self.kernel_size}, dilation_rate="
                                 f"{self.dilation_rate}): computed output size would be "
                                 f"negative. Received input shape {tuple(input_shape)}")
        return (n, out, self.filters)

    def _padded4(self, x):
        pad = self._pad()
        if pad:
            xp = self.buffer("xpad", (x.shape[0], x.shape[1] + pad, x.shape[2]))
            xp[:, :pad] = 0.0
            xp[:, pad:] = x
            x = xp
        return x.reshape(x.shape[0], 1, x.shape[1], x.shape[2])

    def _work(self, x4):
        k4 = (1, self.kernel_size) + self.kernel.shape[1:]
        size = _C.conv2d_workspace_size(x4.shape, k4, (1, self.strides), self._mode())
        return self.buffer("work", (size,))

    def _grouped(self):
        return dict(strides=(1, self.strides), padding=self._mode(),
                    dilation_rate=(1, self.dilation_rate), groups=self.groups)

    def _gwork(self, x4):
        size = _C.gconv2d_workspace_size(x4.shape, (1,) + self.kernel.shape, **self._grouped())
        return self.buffer("gwork", (size,))

    def forward(self, x, training=False):
        self._x_shape = x.shape
        self._x4 = x4 = self._padded4(x)
        n, t, f = self.compute_output_shape(x.shape)
        y = self.buffer("y", (n, t, f))
        if not self.plain:
            _C.gconv2d_forward(x4, self.kernel.value.reshape((1,) + self.kernel.shape),
                               None if self.bias is None else self.bias.value,
                               out=y.reshape(n, 1, t, f), work=self._gwork(x4), **self._grouped())
            self._y = self.activation.forward(y)
            return self._y
        fuse_relu = self.activation is activations.relu
        _C.conv2d_forward(x4, self.kernel.value.reshape((1,) + self.kernel.shape),
                          None if self.bias is None else self.bias.value, (1, self.strides),
                          self._mode(), out=y.reshape(n, 1, t, f), work=self._work(x4),
                          relu=fuse_relu)
        self._y = y if fuse_relu else self.activation.forward(y)
        return self._y

    def backward(self, dy, need_dx=True):
        dy = np.ascontiguousarray(self.activation.backward(np.ascontiguousarray(dy, np.float32),
                                                           self._y), np.float32)
        dy4 = dy.reshape(dy.shape[0], 1, dy.shape[1], dy.shape[2])
        if not self.plain:
            return self._grouped_backward(dy4, need_dx)
        x4, work = self._x4, self._work(self._x4)
        _C.conv2d_backward_weight(dy4, x4, (1, self.kernel_size), (1, self.strides),
                                  self._mode(), self.use_bias,
                                  out_kernel=self.kernel.grad.reshape((1,) + self.kernel.shape),
                                  out_bias=None if self.bias is None else self.bias.grad, work=work)
        if not need_dx:
            return None
        dx4 = _C.conv2d_backward_input(dy4, self.kernel.value.reshape((1,) + self.kernel.shape),
                                       x4.shape, (1, self.strides), self._mode(),
                                       out=self.buffer("dx4", x4.shape), work=work)
        return self._unpad(dx4)

    def _grouped_backward(self, dy4, need_dx):
        x4, k4 = self._x4, (1,) + self.kernel.shape
        work = self._gwork(x4)
        _C.gconv2d_backward_weight(dy4, x4, k4, use_bias=self.use_bias,
                                   out_kernel=self.kernel.grad.reshape(k4),
                                   out_bias=None if self.bias is None else self.bias.grad,
                                   work=work, **self._grouped())
        if not need_dx:
            return None
        dx4 = _C.gconv2d_backward_input(dy4, self.kernel.value.reshape(k4), x4.shape,
                                        out=self.buffer("dx4", x4.shape), work=work,
                                        **self._grouped())
        return self._unpad(dx4)

    def _unpad(self, dx4):
        dx = dx4.reshape(dx4.shape[0], dx4.shape[2], dx4.shape[3])
        return dx[:, self._pad():] if self._pad() else dx

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": (self.kernel_size,), "strides": (self.strides,),
                "padding": self.padding, "data_format": "channels_last",
                "dilation_rate": (self.dilation_rate,), "groups": self.groups,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": None, "bias_regularizer": None,
                "activity_regularizer": _regularizers.serialize(self.activity_regularizer), "kernel_constraint": None, "bias_constraint": None}
