"""BatchNormalization: normalize over the batch (and every axis but one), on the C kernels
of csrc/batchnorm.c."""
import numpy as np

from fastnn import _C, initializers
from fastnn.layers.layer import Layer, reject_unsupported


def _axis_arg(axis, layer):
    if isinstance(axis, (list, tuple)) and len(axis) == 1:
        axis = axis[0]
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"Expected an int value for the `axis` argument of layer '{layer}'. "
                        f"Received: axis={axis!r}")
    return int(axis)


def _unit_float(value, name, layer, low, high, closed_low=True):
    ok = not isinstance(value, bool) and isinstance(value, (int, float, np.floating)) and \
        (low <= value if closed_low else low < value) and value <= high
    if not ok:
        raise ValueError(f"Invalid value for argument `{name}` of layer '{layer}': expected a "
                         f"float in {'[' if closed_low else '('}{low}, {high}]. "
                         f"Received: {name}={value!r}")
    return float(value)


class BatchNormalization(Layer):
    """Layer that normalizes its inputs with the batch's mean and variance.

    In training (`fit`, or a call with `training=True`) each channel (the `axis`) is
    normalized with the mean and variance of the current batch over every other axis, and
    the moving statistics follow them: `moving = moving * momentum + batch * (1 -
    momentum)`.  In inference the moving statistics are used.  Output:
    `gamma * (x - mean) / sqrt(var + epsilon) + beta`.

    As in Keras 3, a layer with `trainable = False` always runs in inference mode (even
    inside `fit`), which is what fine-tuning a frozen model needs.

    Args:
        axis: int, the axis to normalize (the features axis). Defaults to -1.
        momentum: momentum of the moving average. Defaults to 0.99.
        epsilon: small float added to the variance. Defaults to 1e-3.
        center: add the offset `beta`. Defaults to True.
        scale: multiply by `gamma`. Defaults to True.
        beta_initializer, gamma_initializer, moving_mean_initializer,
        moving_variance_initializer: "zeros", "ones", ... as in Keras.

    Weights, in Keras's order: gamma, beta (trainable), moving_mean, moving_variance.

    >>> import numpy as np
    >>> bn = BatchNormalization()
    >>> y = bn(np.array([[1.0, 2.0], [3.0, 6.0]]), training=True)
    >>> np.round(y, 3).tolist()
    [[-1.0, -1.0], [1.0, 1.0]]
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, synchronized=False, renorm=False, renorm_clipping=None,
                 renorm_momentum=0.99, **kwargs):
        super().__init__(**kwargs)
        reject_unsupported(self, beta_regularizer=beta_regularizer,
                           gamma_regularizer=gamma_regularizer, beta_constraint=beta_constraint,
                           gamma_constraint=gamma_constraint, renorm_clipping=renorm_clipping)
        if renorm:
            raise ValueError(f"BatchNormalization '{self.name}': renorm=True is not supported "
                             f"by fastnn")
        if synchronized:
            raise ValueError(f"BatchNormalization '{self.name}': synchronized=True is not "
                             f"supported by fastnn (in data-parallel training each rank "
                             f"normalizes with its own batch's statistics)")
        self.axis = _axis_arg(axis, self.name)
        self.momentum = _unit_float(momentum, "momentum", self.name, 0.0, 1.0)
        self.epsilon = _unit_float(epsilon, "epsilon", self.name, 0.0, float("inf"), False)
        self.renorm_momentum = float(renorm_momentum)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.gamma = self.beta = None

    def _channel_axis(self, input_shape):
        nd = len(input_shape)
        if not -nd <= self.axis < nd or (self.axis % nd == 0 and nd > 1):
            raise ValueError(f"Invalid axis for layer '{self.name}': axis={self.axis} for an "
                             f"input of rank {nd} (shape {tuple(input_shape)}); the axis "
                             f"must be one of the non-batch axes")
        return self.axis % nd

    def check_input_shape(self, input_shape):
        if len(input_shape) < 2:
            raise self.incompatible(input_shape, "expected min_ndim=2")
        ax = self._channel_axis(input_shape)
        if input_shape[ax] is None:
            raise ValueError(f"Axis {self.axis} of input tensor should have a defined dimension "
                             f"but the layer '{self.name}' received an input with shape "
                             f"{tuple(input_shape)}.")
        if self.built and input_shape[ax] != self.moving_mean.shape[0]:
            raise self.incompatible(input_shape, f"expected axis {self.axis} of input shape to "
                                    f"have value {self.moving_mean.shape[0]}")

    def build(self, input_shape):
        c = input_shape[self._channel_axis(input_shape)]
        if self.scale:
            self.gamma = self.add_weight((c,), self.gamma_initializer, "gamma")
        if self.center:
            self.beta = self.add_weight((c,), self.beta_initializer, "beta")
        self.moving_mean = self.add_weight((c,), self.moving_mean_initializer, "moving_mean",
                                           trainable=False)
        self.moving_variance = self.add_weight((c,), self.moving_variance_initializer,
                                               "moving_variance", trainable=False)

    def _work(self, x):
        ax = self.axis % x.ndim
        c, b = x.shape[ax], int(np.prod(x.shape[ax + 1:]))
        return self.buffer("work", (_C.batchnorm_workspace_size(x.size // (c * b), c, b),))

    # ---- running (relu=True: the plan step BN + ReLU of fastnn.models.fusion) --------
    def forward(self, x, training=False):
        return self.run(x, training, relu=False)

    def run(self, x, training, relu):
        self._x, self._relu = x, relu
        self._batch_stats = bool(training) and self.trainable
        axis, c = self.axis, x.shape[self.axis]
        work = self._work(x)
        if self._batch_stats:
            mean, var = _C.batchnorm_stats(x, axis, out_mean=self.buffer("mean", (c,)),
                                           out_var=self.buffer("var", (c,)), work=work)
            m = self.momentum
            for moving, batch in ((self.moving_mean, mean), (self.moving_variance, var)):
                moving.value *= m
                moving.value += (1.0 - m) * batch
        else:
            mean, var = self.moving_mean.value, self.moving_variance.value
        self._mean, self._var = mean, var
        y = _C.batchnorm_forward(x, mean, var, None if self.gamma is None else self.gamma.value,
                                 None if self.beta is None else self.beta.value, axis,
                                 self.epsilon, relu, out=self.buffer("y", x.shape), work=work)
        self._y = y
        return y

    def backward(self, dy, need_dx=True):
        x = self._x
        c = x.shape[self.axis]
        dgamma = self.gamma.grad if self.gamma is not None else self.buffer("dgamma", (c,))
        dbeta = self.beta.grad if self.beta is not None else self.buffer("dbeta", (c,))
        work = self._work(x)
        dx, _, _ = _C.batchnorm_backward(
            dy, x, self._y if self._relu else None, self._mean, self._var,
            None if self.gamma is None else self.gamma.value, self.axis, self.epsilon,
            self._batch_stats, out=dy, out_gamma=dgamma, out_beta=dbeta, work=work)
        return dx if need_dx else None

    def get_config(self):
        ser = initializers.serialize
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                "beta_initializer": ser(self.beta_initializer),
                "gamma_initializer": ser(self.gamma_initializer),
                "moving_mean_initializer": ser(self.moving_mean_initializer),
                "moving_variance_initializer": ser(self.moving_variance_initializer),
                "beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None,
                "gamma_constraint": None, "synchronized": False, "renorm": False,
                "renorm_clipping": None, "renorm_momentum": self.renorm_momentum}
