"""Losses with Keras's names, maths and defaults; each returns per-sample losses and the
gradient of their batch mean (Keras's "sum_over_batch_size" reduction).

`forward_backward(y_true, y_pred)` -> (per-sample loss (N,), d mean / d y_pred).
When the model's last activation is the loss's `fused_activation` (softmax for the
cross-entropies, sigmoid for binary cross-entropy), the model hands over logits and
calls `forward_backward_logits`, which is exact and stable (Keras on TensorFlow does
the same through the output's logits).
"""
import numpy as np

from fastnn import _C
from fastnn._validate import kernel_array

EPSILON = 1e-7


def _as_matrix(y):
    return y.reshape(y.shape[0], -1)


class Loss:
    fused_activation = None
    name = "loss"

    def __init__(self, name=None, reduction="sum_over_batch_size"):
        if reduction != "sum_over_batch_size":
            raise ValueError(f"fastnn supports reduction='sum_over_batch_size' only, "
                             f"received reduction={reduction!r}")
        self.name = name or self.name

    def __call__(self, y_true, y_pred):
        """The mean loss of a batch, like calling a Keras loss object."""
        y_pred = kernel_array(y_pred, np.float32, "y_pred")
        y_true = self.prepare_targets(np.asarray(y_true), y_pred.shape)
        return float(np.mean(self.forward_backward(y_true, y_pred)[0]))

    def prepare_targets(self, y, pred_shape):
        """Targets as the kernels want them, or a ValueError saying why they don't fit."""
        y = kernel_array(y, np.float32, "y")
        if y.shape != tuple(pred_shape):
            if y.ndim == len(pred_shape) - 1 and tuple(pred_shape)[-1] == 1:
                y = y.reshape(pred_shape)
            else:
                raise ValueError(f"Arguments `target` and `output` must have the same shape. "
                                 f"Received: target.shape={y.shape}, "
                                 f"output.shape={tuple(pred_shape)} (loss {self.name})")
        return y

    def get_config(self):
        return {"name": self.name, "reduction": "sum_over_batch_size"}


class CategoricalCrossentropy(Loss):
    """-sum(y_true * log(y_pred)) per sample; y_true one-hot (or a distribution)."""
    fused_activation = "softmax"
    name = "categorical_crossentropy"

    def __init__(self, from_logits=False, name=None, **kwargs):
        super().__init__(name, **kwargs)
        self.from_logits = from_logits

    def prepare_targets(self, y, pred_shape):
        y = np.asarray(y)
        if y.ndim == 1 and len(pred_shape) == 2 and pred_shape[-1] > 1:
            raise ValueError(f"categorical_crossentropy expects one-hot targets of shape "
                             f"{tuple(pred_shape)}, but received integer-like labels of shape "
                             f"{y.shape}. Use to_categorical(y) or "
                             f"loss='sparse_categorical_crossentropy'.")
        return super().prepare_targets(y, pred_shape)

    def forward_backward_logits(self, y_true, logits):
        p, loss = _C.softmax_cross_entropy_forward(logits, y_true)
        return loss, _C.softmax_cross_entropy_backward(p, y_true), p

    def forward_backward(self, y_true, y_pred):
        if self.from_logits:
            return self.forward_backward_logits(y_true, y_pred)[:2]
        # Keras: renormalize, clip to [eps, 1 - eps], then -sum t log p.
        s = y_pred.sum(axis=-1, keepdims=True)
        q = y_pred / s
        clipped = np.clip(q, EPSILON, 1 - EPSILON)
        loss = -(y_true * np.log(clipped)).sum(axis=-1)
        dq = np.where(clipped == q, -y_true / clipped, 0)
        dp = (dq - (dq * q).sum(axis=-1, keepdims=True)) / s
        return loss, (dp / y_pred.shape[0]).astype(np.float32)


class SparseCategoricalCrossentropy(CategoricalCrossentropy):
    """Cross-entropy with integer labels in [0, num_classes)."""
    name = "sparse_categorical_crossentropy"

    def prepare_targets(self, y, pred_shape):
        y = np.asarray(y)
        n, k = pred_shape[0], pred_shape[-1]
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1 or y.shape[0] != n:
            raise ValueError(f"sparse_categorical_crossentropy expects integer labels of shape "
                             f"({n},), received shape {y.shape}" +
                             (". For one-hot targets use loss='categorical_crossentropy'."
                              if y.ndim == 2 and y.shape[1] == k else ""))
        if y.size and (not np.all(np.isfinite(y)) or np.any(y != np.round(y))):
            raise ValueError("sparse_categorical_crossentropy expects integer class labels, "
                             "received non-integer values")
        if y.size and (y.min() < 0 or y.max() >= k):  # on y's own dtype: uint64 2**64-1
            bad = y.max() if y.max() >= k else y.min()    # must not wrap to -1
            bad = f"{bad:g}" if y.dtype.kind == "f" else int(bad)
            raise ValueError(f"Received a label value of {bad} "
                             f"which is outside the valid range of [0, {k}). "
                             f"The model has {k} output classes.")
        return kernel_array(y.astype(np.int64), np.int32, "y")

    def forward_backward_logits(self, y_true, logits):
        p, loss = _C.sparse_softmax_cross_entropy_forward(logits, y_true)
        return loss, _C.sparse_softmax_cross_entropy_backward(p, y_true), p

    def forward_backward(self, y_true, y_pred):
        if self.from_logits:
            return self.forward_backward_logits(y_true, y_pred)[:2]
        onehot = np.zeros_like(y_pred)
        onehot[np.arange(len(y_true)), y_true] = 1
        return CategoricalCrossentropy.forward_backward(self, onehot, y_pred)


class BinaryCrossentropy(Loss):
    """Mean over the last axis of -(t log p + (1 - t) log(1 - p))."""
    fused_activation = "sigmoid"
    name = "binary_crossentropy"

    def __init__(self, from_logits=False, name=None, **kwargs):
        super().__init__(name, **kwargs)
        self.from_logits = from_logits

    def forward_backward_logits(self, y_true, logits):
        z, t = _as_matrix(logits), _as_matrix(y_true)
        # log(1 + e^z) - t z, computed without overflow
        loss = (np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))).mean(axis=1)
        p = _C.sigmoid_forward(logits)
        grad = (p - y_true) / (z.shape[1] * z.shape[0])
        return loss, grad.astype(np.float32), p

    def forward_backward(self, y_true, y_pred):
        if self.from_logits:
            return self.forward_backward_logits(y_true, y_pred)[:2]
        p, t = _as_matrix(y_pred), _as_matrix(y_true)
        c = np.clip(p, EPSILON, 1 - EPSILON)
        loss = -(t * np.log(c) + (1 - t) * np.log(1 - c)).mean(axis=1)
        grad = np.where(c == p, (c - t) / (c * (1 - c)), 0) / (p.shape[1] * p.shape[0])
        return loss, grad.reshape(y_pred.shape).astype(np.float32)


class MeanSquaredError(Loss):
    name = "mean_squared_error"

    def forward_backward(self, y_true, y_pred):
        d = _as_matrix(y_pred) - _as_matrix(y_true)
        grad = 2 * d / (d.shape[0] * d.shape[1])
        return (d * d).mean(axis=1), grad.reshape(y_pred.shape).astype(np.float32)


class MeanAbsoluteError(Loss):
    name = "mean_absolute_error"

    def forward_backward(self, y_true, y_pred):
        d = _as_matrix(y_pred) - _as_matrix(y_true)
        grad = np.sign(d) / (d.shape[0] * d.shape[1])
        return np.abs(d).mean(axis=1), grad.reshape(y_pred.shape).astype(np.float32)


_BY_NAME = {
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
}


def get(identifier):
    """A loss object from a Keras name ('categorical_crossentropy', 'mse', ...) or a Loss."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]()
    if isinstance(identifier, dict):
        return _from_keras_config(identifier)
    raise ValueError(f"Could not interpret loss identifier: {identifier!r}. "
                     f"Known losses: {sorted(_BY_NAME)}")


_CLASSES = {cls.__name__: cls for cls in (CategoricalCrossentropy, SparseCategoricalCrossentropy,
                                          BinaryCrossentropy, MeanSquaredError, MeanAbsoluteError)}
# Keras config keys fastnn accepts at their default value only.
_KERAS_DEFAULTS = {"label_smoothing": 0.0, "axis": -1, "ignore_class": None, "dtype": None}


def _from_keras_config(identifier):
    cls = _CLASSES.get(identifier.get("class_name"))
    config = dict(identifier.get("config") or {})
    if cls is None:
        raise ValueError(f"Could not interpret loss config {str(identifier)[:200]}. "
                         f"Known losses: {sorted(_CLASSES)}")
    for key, default in _KERAS_DEFAULTS.items():
        if key in config and config.pop(key) not in (default, None):
            raise ValueError(f"{cls.__name__}: {key} other than {default!r} is not supported "
                             f"by fastnn")
    return cls(**config)


def serialize(loss):
    """A loss object as Keras writes it in `compile_config`."""
    return {"module": "keras.losses", "class_name": type(loss).__name__,
            "config": loss.get_config(), "registered_name": None}
