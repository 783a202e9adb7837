"""BatchNormalization: normalize over the batch (and every axis but one), on the C kernels
of csrc/batchnorm.c."""
import numpy as np

from fastnn import _C, distributed, initializers
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
        self.synchronized = bool(synchronized)
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
        self._sync = None
        if self._batch_stats:
            mean, var = _C.batchnorm_stats(x, axis, out_mean=self.buffer("mean", (c,)),
                                           out_var=self.buffer("var", (c,)), work=work)
            strategy = distributed.strategy()
            if self.synchronized and strategy.active:  # the statistics of every rank's batch
                mean, var = self._global_moments(strategy, x.size // c, mean, var)
                self._update_moving(mean, var)
            elif strategy.active:  # data-parallel: see sync_batch_state
                self._pending = (x.size // c, mean, var)
            else:
                self._update_moving(mean, var)
        else:
            mean, var = self.moving_mean.value, self.moving_variance.value
        self._mean, self._var = mean, var
        y = _C.batchnorm_forward(x, mean, var, None if self.gamma is None else self.gamma.value,
                                 None if self.beta is None else self.beta.value, axis,
                                 self.epsilon, relu, out=self.buffer("y", x.shape), work=work)
        self._y = y
        return y

    def _update_moving(self, mean, var):
        m = self.momentum
        for moving, batch in ((self.moving_mean, mean), (self.moving_variance, var)):
            moving.value *= m
            moving.value += (1.0 - m) * batch

    # ---- synchronized=True under data-parallel training (fastnn.distributed) -----------
    # Forward: one allreduce of the per-channel sums and sums of squares gives every rank
    # the whole global batch's mean and variance.  Backward: one allreduce of the
    # per-channel sums of g and g * xhat (each rank's share weighted by its sample
    # fraction, since each rank's dy is the gradient of its own mean loss) gives the batch
    # statistics' terms of dx.  A rank with no samples in a step takes part in both with
    # zeros (skip_batch, then skip_backward after every layer's skip_batch).
    def _global_moments(self, strategy, m, mean, var):
        c = mean.shape[0]
        mean64 = mean.astype(np.float64)
        local = np.concatenate([m * mean64, m * (var.astype(np.float64) + mean64 ** 2), [m]])
        total = np.array(strategy.sum(local.tolist()))
        big_m = total[-1]
        gmean = total[:c] / big_m
        gvar = np.maximum(total[c:2 * c] / big_m - gmean ** 2, 0.0)
        self._sync = (m, big_m)
        out_mean, out_var = self.buffer("gmean", (c,)), self.buffer("gvar", (c,))
        out_mean[...], out_var[...] = gmean, gvar
        return out_mean, out_var

    def _synced_backward(self, dx, dgamma, dbeta, x):
        """dx holds scale * g (the fixed-statistics backward); add the batch terms."""
        m, big_m = self._sync
        c = dgamma.shape[0]
        share = m / big_m
        total = np.array(distributed.strategy().sum(
            np.concatenate([share * dgamma.astype(np.float64),
                            share * dbeta.astype(np.float64)]).tolist()))
        shape = [1] * x.ndim
        shape[self.axis % x.ndim] = c
        inv = 1.0 / np.sqrt(self._var.astype(np.float64) + self.epsilon)
        scale = inv * (1.0 if self.gamma is None else self.gamma.value.astype(np.float64))
        # per rank units: the global sums divided by this rank's share
        p = (scale * total[c:] / big_m / share).reshape(shape)
        q = (scale * inv * total[:c] / big_m / share).reshape(shape)
        dx -= (p + q * (x - self._mean.reshape(shape))).astype(np.float32)
        return dx

    def skip_batch(self):
        if self.synchronized and self.trainable:  # take part in the forward allreduce
            c = self.moving_mean.shape[0]
            total = np.array(distributed.strategy().sum([0.0] * (2 * c + 1)))
            if total[-1] > 0:
                gmean = total[:c] / total[-1]
                self._update_moving(gmean.astype(np.float32), np.maximum(
                    total[c:2 * c] / total[-1] - gmean ** 2, 0.0).astype(np.float32))
            self._skipped = True
        elif self.trainable:  # this rank has no samples in the step: it adds nothing
            self._pending = (0, None, None)

    def skip_backward(self):
        """After every layer's skip_batch, in reverse order: the backward allreduce."""
        if getattr(self, "_skipped", False):
            self._skipped = False
            distributed.strategy().sum([0.0] * (2 * self.moving_mean.shape[0]))

    def sync_batch_state(self, strategy):
        """Data-parallel training (called by the model after each step on every rank):
        each rank normalized with its own batch's statistics; the moving statistics move
        with the ranks' batch moments averaged (weighted by sample count), the same on
        every rank."""
        pending, self._pending = getattr(self, "_pending", None), None
        if pending is None:
            return
        n, mean, var = pending
        c = self.moving_mean.shape[0]
        local = np.zeros(2 * c + 1) if mean is None else \
            np.concatenate([n * mean.astype(np.float64), n * var.astype(np.float64), [n]])
        total = np.array(strategy.sum(local.tolist()))
        if total[-1] > 0:
            self._update_moving((total[:c] / total[-1]).astype(np.float32),
                                (total[c:2 * c] / total[-1]).astype(np.float32))

    def backward(self, dy, need_dx=True):
        x = self._x
        c = x.shape[self.axis]
        dgamma = self.gamma.grad if self.gamma is not None else self.buffer("dgamma", (c,))
        dbeta = self.beta.grad if self.beta is not None else self.buffer("dbeta", (c,))
        work = self._work(x)
        synced = self._sync is not None
        dx, _, _ = _C.batchnorm_backward(
            dy, x, self._y if self._relu else None, self._mean, self._var,
            None if self.gamma is None else self.gamma.value, self.axis, self.epsilon,
            self._batch_stats and not synced, out=dy, out_gamma=dgamma, out_beta=dbeta,
            work=work)
        if synced:
            dx = self._synced_backward(dx, dgamma, dbeta, x)
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
                "gamma_constraint": None, "synchronized": self.synchronized, "renorm": False,
                "renorm_clipping": None, "renorm_momentum": self.renorm_momentum}
