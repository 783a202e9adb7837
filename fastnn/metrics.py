"""Metrics as running means over an epoch, with Keras's names and resolution rules.

`update(y_true, y_pred)` adds a batch; `result()` is the mean over every sample seen
since `reset()`.  The string "accuracy" (or "acc") resolves like Keras: sparse
categorical accuracy for integer labels, binary accuracy for one output unit or a
binary cross-entropy loss, categorical accuracy otherwise; the logged name is the
string the user passed.
"""
import numpy as np


class Metric:
    def __init__(self, name):
        self.name = name
        self.reset()

    def reset(self):
        self._total, self._count = 0.0, 0

    def result(self):
        return self._total / self._count if self._count else 0.0

    def update(self, y_true, y_pred):
        values = self.per_sample(y_true, y_pred)
        self._total += float(values.sum())
        self._count += len(values)


class CategoricalAccuracy(Metric):
    def per_sample(self, y_true, y_pred):
        return (np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)).astype(np.float64)


class SparseCategoricalAccuracy(Metric):
    def per_sample(self, y_true, y_pred):
        return (y_true.reshape(-1) == np.argmax(y_pred, axis=-1)).astype(np.float64)


class BinaryAccuracy(Metric):
    def __init__(self, name, threshold=0.5):
        super().__init__(name)
        self.threshold = threshold

    def per_sample(self, y_true, y_pred):
        hit = (y_pred > self.threshold) == (y_true.reshape(y_pred.shape) > 0.5)
        return hit.reshape(len(y_pred), -1).mean(axis=1)


class MeanSquaredError(Metric):
    def per_sample(self, y_true, y_pred):
        d = y_pred.reshape(len(y_pred), -1) - y_true.reshape(len(y_pred), -1)
        return (d * d).mean(axis=1)


class MeanAbsoluteError(Metric):
    def per_sample(self, y_true, y_pred):
        d = y_pred.reshape(len(y_pred), -1) - y_true.reshape(len(y_pred), -1)
        return np.abs(d).mean(axis=1)


_SIMPLE = {
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "binary_accuracy": BinaryAccuracy,
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
}


def get(identifier, loss, output_shape):
    """Resolve a metric name for a model whose loss and output shape are known."""
    if isinstance(identifier, Metric):
        return identifier
    if identifier in ("accuracy", "acc"):
        loss_name = getattr(loss, "name", "")
        if loss_name == "sparse_categorical_crossentropy":
            return SparseCategoricalAccuracy(identifier)
        if loss_name == "binary_crossentropy" or output_shape[-1] == 1:
            return BinaryAccuracy(identifier)
        return CategoricalAccuracy(identifier)
    if isinstance(identifier, str) and identifier in _SIMPLE:
        return _SIMPLE[identifier](identifier)
    raise ValueError(f"Could not interpret metric identifier: {identifier!r}. Known metrics: "
                     f"{sorted(['accuracy', 'acc', *_SIMPLE])}")
