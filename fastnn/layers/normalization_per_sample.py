"""LayerNormalization, GroupNormalization and UnitNormalization: each sample normalized on
its own (no batch statistics), on the C kernels of csrc/norm.c.

The kernels normalize over x's trailing axes; a layer whose axes are elsewhere moves them
there (a transposed copy) and moves the result back."""
import warnings

import numpy as np

from fastnn import _C, constraints, initializers, regularizers
from fastnn.layers.layer import Layer, shape_str


def _axes_arg(axis, message):
    """axis as Keras keeps it: an int, or a list of ints."""
    if isinstance(axis, (list, tuple)) and all(
            isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in axis):
        return [int(a) for a in axis]
    if isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
        return int(axis)
    raise TypeError(message % (axis,))


def _resolve_axes(layer, axis, input_shape):
    """The sorted non-negative axes, checked against the input's rank."""
    nd = len(input_shape)
    axes = [axis] if isinstance(axis, int) else list(axis)
    if not axes:
        raise ValueError(f"Layer '{layer.name}': `axis` must name at least one axis. "
                         f"Received: axis={axis}")
    for a in axes:
        if a >= nd or a < -nd:
            raise ValueError(f"Axis {a} is out of bounds for input shape "
                             f"{shape_str(input_shape)}. Received: axis={axis}")
    out = sorted({a % nd for a in axes})
    if 0 in out:
        raise ValueError(f"Layer '{layer.name}' cannot normalize over the batch axis (axis 0) "
                         f"of its input of shape {shape_str(input_shape)}. Received: "
                         f"axis={axis}")
    for a in out:
        if input_shape[a] is None:
            raise ValueError(f"Axis {a} of input tensor should have a defined dimension but "
                             f"the layer '{layer.name}' received an input with shape "
                             f"{shape_str(input_shape)}.")
    return out


class _Trailing:
    """x with `axes` moved to the end, as a C-contiguous array, and the way back."""

    def __init__(self, ndim, axes):
        others = [i for i in range(ndim) if i not in axes]
        self.perm = others + list(axes)
        self.identity = self.perm == list(range(ndim))
        self.inverse = list(np.argsort(self.perm))

    def there(self, x):
        return x if self.identity else np.ascontiguousarray(np.transpose(x, self.perm))

    def back(self, y, out):
        if self.identity:
            return y
        np.copyto(out, np.transpose(y, self.inverse))
        return out


class _AffineNormalization(Layer):
    """The weights and their arguments shared by Layer- and GroupNormalization."""
    supports_masking = True

    def _affine_args(self, center, scale, beta_initializer, gamma_initializer,
                     beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint):
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.gamma = self.beta = None

    def _add_affine(self, shape, gamma, beta):
        self.gamma = self.add_weight(shape, self.gamma_initializer, "gamma",
                                     regularizer=self.gamma_regularizer,
                                     constraint=self.gamma_constraint) if gamma else None
        self.beta = self.add_weight(shape, self.beta_initializer, "beta",
                                    regularizer=self.beta_regularizer,
                                    constraint=self.beta_constraint) if beta else None

    def _flat(self, var):
        return None if var is None else var.value.reshape(-1)

    def _grads(self, n):
        """(dgamma, dbeta) outputs, flat: the weights' .grad, or scratch for absent ones."""
        return (self.gamma.grad.reshape(-1) if self.gamma is not None else
                self.buffer("dgamma", (n,)),
                self.beta.grad.reshape(-1) if self.beta is not None else
                self.buffer("dbeta", (n,)))

    def _affine_config(self):
        return {"center": self.center, "scale": self.scale,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "beta_regularizer": regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
                "beta_constraint": constraints.serialize(self.beta_constraint),
                "gamma_constraint": constraints.serialize(self.gamma_constraint)}


class LayerNormalization(_AffineNormalization):
    """Layer normalization: each sample normalized over `axis` (by default its features).

    `y = (x - mean) / sqrt(var + epsilon) * gamma + beta`, the mean and (biased) variance
    taken over the `axis` dimensions of each sample; gamma and beta have the shape of
    those dimensions.  The same in training and inference.

    Args:
        axis: int or list of ints, the axes to normalize over. Defaults to -1.
        epsilon: small float added to the variance. Defaults to 1e-3.
        center: add the offset `beta`. Defaults to True.
        scale: multiply by `gamma`. Defaults to True.
        beta_initializer, gamma_initializer: default "zeros" and "ones".
        beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint: as in
            Keras. Default None.
        rms_scaling: (keyword, deprecated in Keras) `y = x / sqrt(var + epsilon) * gamma`:
            no centring and no beta, the variance still centred, as Keras computes it.

    Weights, in Keras's order: gamma, beta.

    >>> import numpy as np
    >>> ln = LayerNormalization()
    >>> np.round(ln(np.array([[1.0, 3.0], [2.0, 2.0]])), 3).tolist()
    [[-0.999, 0.999], [0.0, 0.0]]
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 **kwargs):
        rms_scaling = kwargs.pop("rms_scaling", False)
        if rms_scaling:
            warnings.warn("LayerNormalization(rms_scaling=True) is deprecated in Keras: it "
                          "scales by the inverse standard deviation, not the inverse root "
                          "mean square (fastnn computes it the way Keras does).", stacklevel=2)
        super().__init__(**kwargs)
        self.axis = _axes_arg(axis, "Expected an int or a list/tuple of ints for the "
                                    "argument 'axis', but received: %r")
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float, np.floating)) \
                or not epsilon > 0:
            raise ValueError(f"Invalid value for argument `epsilon` of layer '{self.name}': "
                             f"expected a float > 0. Received: epsilon={epsilon!r}")
        self.epsilon = float(epsilon)
        self.rms_scaling = bool(rms_scaling)
        self._affine_args(center, scale, beta_initializer, gamma_initializer,
                          beta_regularizer, gamma_regularizer, beta_constraint,
                          gamma_constraint)

    def check_input_shape(self, input_shape):
        axes = _resolve_axes(self, self.axis, input_shape)
        if self.built:
            want = tuple(self._param_shape)
            got = tuple(input_shape[a] for a in self.axis)
            if got != want:
                raise self.incompatible(input_shape, f"expected axes {self.axis} of input "
                                        f"shape to have values {want}")

    def build(self, input_shape):
        _resolve_axes(self, self.axis, input_shape)
        # Keras keeps the axes it was given (sorted) as a list once built
        given = [self.axis] if isinstance(self.axis, int) else self.axis
        self.axis = sorted(given)
        # gamma's shape lists the axes in that order; its values are laid out in the
        # order of the (non-negative) axes, as Keras's reshape to the broadcast shape reads them
        self._param_shape = tuple(input_shape[a] for a in self.axis)
        self._add_affine(self._param_shape, self.scale or self.rms_scaling,
                         self.center and not self.rms_scaling)

    def forward(self, x, training=False):
        axes = _resolve_axes(self, self.axis, x.shape)
        move = self._move = _Trailing(x.ndim, axes)
        xt = move.there(x)
        K = int(np.prod([x.shape[a] for a in axes]))
        x2 = xt.reshape(-1, K)
        rows = x2.shape[0]
        y2, mean, rstd = _C.layernorm_forward(
            x2, self._flat(self.gamma), self._flat(self.beta), self.epsilon, self.rms_scaling,
            out=self.buffer("yt", x2.shape), out_mean=self.buffer("mean", (rows,)),
            out_rstd=self.buffer("rstd", (rows,)))
        self._saved = (x2, mean, rstd)
        return move.back(y2.reshape(xt.shape), self.buffer("y", x.shape)) if not \
            move.identity else y2.reshape(x.shape)

    def backward(self, dy, need_dx=True):
        x2, mean, rstd = self._saved
        move = self._move
        dyt = move.there(dy).reshape(x2.shape)
        dgamma, dbeta = self._grads(x2.shape[1])
        work = self.buffer("work", (_C.layernorm_workspace_size(*x2.shape),))
        dx2, _, _ = _C.layernorm_backward(dyt, x2, mean, rstd, self._flat(self.gamma),
                                          self.rms_scaling, out=dyt, out_gamma=dgamma,
                                          out_beta=dbeta, work=work)
        if not need_dx:
            return None
        if move.identity:
            return dx2.reshape(dy.shape)
        return move.back(dx2.reshape(np.transpose(dy, move.perm).shape),
                         self.buffer("dx", dy.shape))

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon,
                "rms_scaling": self.rms_scaling, **self._affine_config()}


class GroupNormalization(_AffineNormalization):
    """Group normalization: the channels (`axis`) split into `groups` groups, each sample's
    group normalized over its channels and every other non-batch axis.

    `groups=1` is layer normalization over all non-batch axes with per-channel gamma and
    beta; `groups=-1` (one channel per group) is instance normalization.

    Args:
        groups: int, the number of groups; must divide the number of channels. -1: one
            group per channel. Defaults to 32.
        axis: int, the channels axis. Defaults to -1.
        epsilon: small float added to the variance. Defaults to 1e-3.
        center, scale, beta_initializer, gamma_initializer, regularizers and constraints:
            as in LayerNormalization; gamma and beta have one value per channel.

    Weights, in Keras's order: gamma, beta.

    >>> import numpy as np
    >>> gn = GroupNormalization(groups=2)
    >>> np.round(gn(np.array([[1.0, 3.0, 0.0, 2.0]])), 3).tolist()
    [[-0.999, 0.999, -0.999, 0.999]]
    """

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 **kwargs):
        if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or \
                (groups <= 0 and groups != -1):
            raise ValueError("Received an invalid value for argument `groups`, expected a "
                             "positive integer (or `-1` for instance normalization). "
                             f"Received: groups={groups}")
        super().__init__(**kwargs)
        self.groups = int(groups)
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"Expected an int for the argument 'axis' of layer "
                            f"'{self.name}', but received: {axis!r}")
        self.axis = int(axis)
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float, np.floating)) \
                or not epsilon > 0:
            raise ValueError(f"Invalid value for argument `epsilon` of layer '{self.name}': "
                             f"expected a float > 0. Received: epsilon={epsilon!r}")
        self.epsilon = float(epsilon)
        self._affine_args(center, scale, beta_initializer, gamma_initializer,
                          beta_regularizer, gamma_regularizer, beta_constraint,
                          gamma_constraint)

    def check_input_shape(self, input_shape):
        if len(input_shape) < 2:
            raise self.incompatible(input_shape, "expected min_ndim=2")
        axis = _resolve_axes(self, self.axis, input_shape)[0]
        dim = input_shape[axis]
        groups = dim if self.groups == -1 else self.groups
        if dim < groups:
            raise ValueError(f"Number of groups ({groups}) cannot be more than the number of "
                             f"channels ({dim}).")
        if dim % groups:
            raise ValueError(f"Number of groups ({groups}) must be a multiple of the number "
                             f"of channels ({dim}).")
        if self.built and dim != self._channels:
            raise self.incompatible(input_shape, f"expected axis {self.axis} of input shape "
                                    f"to have value {self._channels}")

    def build(self, input_shape):
        dim = input_shape[self.axis]
        if self.groups == -1:
            self.groups = dim
        self._channels = dim
        self._add_affine((dim,), self.scale, self.center)

    def forward(self, x, training=False):
        axis = self.axis % x.ndim
        move = self._move = _Trailing(x.ndim, [axis])
        xt = move.there(x)
        C = x.shape[axis]
        y, mean, rstd = _C.groupnorm_forward(
            xt, self.groups, self._flat(self.gamma), self._flat(self.beta), self.epsilon,
            out=self.buffer("yt", xt.shape), out_mean=self.buffer("mean", (x.shape[0], self.groups)),
            out_rstd=self.buffer("rstd", (x.shape[0], self.groups)),
            work=self.buffer("work", (_C.groupnorm_workspace_size(x.shape[0], C),)))
        self._saved = (xt, mean, rstd)
        return move.back(y, self.buffer("y", x.shape))

    def backward(self, dy, need_dx=True):
        xt, mean, rstd = self._saved
        move = self._move
        dyt = move.there(dy)
        C = xt.shape[-1]
        dgamma, dbeta = self._grads(C)
        dx, _, _ = _C.groupnorm_backward(
            dyt, xt, mean, rstd, self.groups, self._flat(self.gamma), out=dyt,
            out_gamma=dgamma, out_beta=dbeta,
            work=self.buffer("work", (_C.groupnorm_workspace_size(xt.shape[0], C),)))
        return move.back(dx, self.buffer("dx", dy.shape)) if need_dx else None

    def get_config(self):
        return {**super().get_config(), "groups": self.groups, "axis": self.axis,
                "epsilon": self.epsilon, **self._affine_config()}


class UnitNormalization(Layer):
    """Scales each sample to unit L2 norm over `axis`: `y = x / ||x||` (at most `1e12 x`
    for an all-zero slice, which stays zero).

    Args:
        axis: int or list of ints, the axes the norm is taken over. Defaults to -1.

    >>> import numpy as np
    >>> UnitNormalization()(np.array([[3.0, 4.0]])).tolist()
    [[0.6000000238418579, 0.800000011920929]]
    """
    supports_masking = True
    EPSILON = 1e-12  # Keras's: the inverse norm is capped at 1 / EPSILON

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = _axes_arg(axis, "Invalid value for `axis` argument: expected an int or "
                                    "a list/tuple of ints. Received: axis=%s")

    def check_input_shape(self, input_shape):
        _resolve_axes(self, self.axis, input_shape)

    def forward(self, x, training=False):
        axes = _resolve_axes(self, self.axis, x.shape)
        move = self._move = _Trailing(x.ndim, axes)
        xt = move.there(x)
        x2 = xt.reshape(-1, int(np.prod([x.shape[a] for a in axes])))
        self._x2 = x2
        y2 = _C.unitnorm_forward(x2, self.EPSILON, out=self.buffer("yt", x2.shape))
        return move.back(y2.reshape(xt.shape), self.buffer("y", x.shape)) if not \
            move.identity else y2.reshape(x.shape)

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        move, x2 = self._move, self._x2
        dyt = move.there(dy)
        dx2 = _C.unitnorm_backward(dyt.reshape(x2.shape), x2, self.EPSILON,
                                   out=dyt.reshape(x2.shape))
        return move.back(dx2.reshape(dyt.shape), self.buffer("dx", dy.shape))

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
