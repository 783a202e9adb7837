"""Regression, probabilistic and hinge losses with Keras's maths; each `values_and_grad`
returns the per-sample values (mean or sum over the last axis, as Keras) and the gradient
of their sum.  Subgradients at kinks are Keras's (TensorFlow's): sign(0) = 0, and
max(x, 0) passes gradient only where x > 0."""
import numpy as np

from fastnn.losses.loss import EPSILON, Loss

LOG2 = float(np.log(2.0))


class _Elementwise(Loss):
    """Mean over the last axis of f(y_true, y_pred); subclasses give f and df/dy_pred."""

    def values_and_grad(self, y_true, y_pred, need_grad=True):
        v, d = self.elements(y_true, y_pred)
        return v.mean(axis=-1), d / y_pred.shape[-1]


class MeanSquaredError(_Elementwise):
    """mean((y_true - y_pred)^2) over the last axis."""
    default_name = "mean_squared_error"

    def elements(self, t, p):
        d = p - t
        return d * d, 2 * d


class MeanAbsoluteError(_Elementwise):
    """mean(|y_true - y_pred|) over the last axis."""
    default_name = "mean_absolute_error"

    def elements(self, t, p):
        d = p - t
        return np.abs(d), np.sign(d)


class MeanAbsolutePercentageError(_Elementwise):
    """100 * mean(|(y_true - y_pred) / max(|y_true|, eps)|) over the last axis."""
    default_name = "mean_absolute_percentage_error"

    def elements(self, t, p):
        scale = 100.0 / np.maximum(np.abs(t), EPSILON)
        d = p - t
        return np.abs(d) * scale, np.sign(d) * scale


class MeanSquaredLogarithmicError(_Elementwise):
    """mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))^2)."""
    default_name = "mean_squared_logarithmic_error"

    def elements(self, t, p):
        pc = np.maximum(p, EPSILON)
        d = np.log(pc + 1) - np.log(np.maximum(t, EPSILON) + 1)
        return d * d, np.where(p > EPSILON, 2 * d / (pc + 1), 0)


class Huber(_Elementwise):
    """0.5 e^2 where |e| <= delta, else delta (|e| - 0.5 delta); e = y_pred - y_true.

    Args:
        delta: the switch point. Defaults to 1.0.
    """
    default_name = "huber_loss"

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss",
                 dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.delta = float(delta)

    def elements(self, t, p):
        e = p - t
        a = np.abs(e)
        q = np.minimum(a, self.delta)
        return 0.5 * q * q + self.delta * (a - q), np.where(a <= self.delta, e,
                                                             self.delta * np.sign(e))

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}


class LogCosh(_Elementwise):
    """mean(log(cosh(y_pred - y_true))), computed as x + softplus(-2x) - log 2."""
    default_name = "log_cosh"

    def elements(self, t, p):
        x = p - t
        softplus = np.maximum(-2 * x, 0) + np.log1p(np.exp(-np.abs(2 * x)))
        return x + softplus - LOG2, np.tanh(x)


class Poisson(_Elementwise):
    """mean(y_pred - y_true * log(y_pred + eps))."""
    default_name = "poisson"

    def elements(self, t, p):
        return p - t * np.log(p + EPSILON), 1 - t / (p + EPSILON)


class KLDivergence(Loss):
    """sum(t log(t / p)) over the last axis, t and p clipped to [eps, 1]."""
    default_name = "kl_divergence"

    def values_and_grad(self, y_true, y_pred, need_grad=True):
        t = np.clip(y_true, EPSILON, 1)
        pc = np.clip(y_pred, EPSILON, 1)
        return (t * np.log(t / pc)).sum(axis=-1), np.where(pc == y_pred, -t / pc, 0)


class CosineSimilarity(Loss):
    """-sum(l2_normalize(y_true) * l2_normalize(y_pred)) over the last axis (Keras clamps
    1 / norm at 1 / eps).

    Args:
        axis: defaults to -1 (the only axis fastnn supports).
    """
    default_name = "cosine_similarity"

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name="cosine_similarity",
                 dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if axis != -1:
            raise ValueError(f"CosineSimilarity: fastnn supports axis=-1 only; received "
                             f"axis={axis!r}")
        self.axis = axis

    @staticmethod
    def _inv_norm(x):
        with np.errstate(divide="ignore"):
            r = 1 / np.sqrt((x * x).sum(axis=-1, keepdims=True))
        return np.minimum(r, 1 / EPSILON)

    def values_and_grad(self, y_true, y_pred, need_grad=True):
        tn = y_true * self._inv_norm(y_true)
        r = self._inv_norm(y_pred)
        n = y_pred * r
        v = -(tn * n).sum(axis=-1)
        free = r < 1 / EPSILON
        d = np.where(free, -r * (tn - (tn * n).sum(axis=-1, keepdims=True) * n), -tn / EPSILON)
        return v, d

    def get_config(self):
        return {**super().get_config()}


def hinge_labels(t):
    """Keras converts 0/1 labels to -1/1 (when every label of the batch is 0 or 1)."""
    return 2.0 * t - 1.0 if np.all((t == 0) | (t == 1)) else t


class Hinge(_Elementwise):
    """mean(max(1 - t y_pred, 0)), t in {-1, 1} (0/1 labels converted)."""
    default_name = "hinge"

    def elements(self, t, p):
        t = hinge_labels(t)
        m = 1 - t * p
        return np.maximum(m, 0), np.where(m > 0, -t, 0)


class SquaredHinge(_Elementwise):
    """mean(max(1 - t y_pred, 0)^2), t in {-1, 1} (0/1 labels converted)."""
    default_name = "squared_hinge"

    def elements(self, t, p):
        t = hinge_labels(t)
        m = np.maximum(1 - t * p, 0)
        return m * m, -2 * t * m


class CategoricalHinge(Loss):
    """max(neg - pos + 1, 0), pos = sum(t p), neg = max((1 - t) p) over the last axis."""
    default_name = "categorical_hinge"

    def values_and_grad(self, y_true, y_pred, need_grad=True):
        t = y_true
        pos = (t * y_pred).sum(axis=-1)
        other = (1 - t) * y_pred
        j = other.argmax(axis=-1)[..., None]
        neg = np.take_along_axis(other, j, axis=-1)[..., 0]
        v = np.maximum(neg - pos + 1, 0)
        d = -t
        np.put_along_axis(d := d.copy(), j, np.take_along_axis(d, j, axis=-1) +
                          np.take_along_axis(1 - t, j, axis=-1), axis=-1)
        return v, d * (v > 0)[..., None]
