"""Scores kept as per-class sums: FBetaScore and F1Score (classification), R2Score
(regression), with Keras 3's arguments, state variables and results."""
import warnings

import numpy as np

from fastnn.metrics.metric import Metric

EPSILON = 1e-7  # Keras's backend.epsilon()


def _two_d(metric, y_true, y_pred):
    if y_true.ndim != 2 or y_pred.ndim != 2:
        raise ValueError(f"{type(metric).__name__} expects 2D inputs with shape (batch_size, "
                         f"output_dim). Received input shapes: y_pred.shape={y_pred.shape} "
                         f"and y_true.shape={y_true.shape}.")


class FBetaScore(Metric):
    """The F-beta score: (1 + beta^2) * precision * recall / (beta^2 * precision + recall)
    per class, from one-hot (or multi-label) targets of shape (batch, classes).

    Args:
        average: None (one score per class), "micro" (counts pooled over classes),
            "macro" (the classes' mean) or "weighted" (weighted by each class's support).
        beta: float > 0, the weight of recall.
        threshold: float in (0, 1]: predictions above it are positive; None: the largest
            prediction of each sample is.
    """

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError(f"Invalid `average` argument value. Expected one of: {{None, "
                             f"'micro', 'macro', 'weighted'}}. Received: average={average}")
        if not isinstance(beta, float):
            raise ValueError(f"Invalid `beta` argument value. It should be a Python float. "
                             f"Received: beta={beta} of type '{type(beta)}'")
        if beta <= 0.0:
            raise ValueError(f"Invalid `beta` argument value. It should be > 0. "
                             f"Received: beta={beta}")
        if threshold is not None:
            if not isinstance(threshold, float):
                raise ValueError(f"Invalid `threshold` argument value. It should be a Python "
                                 f"float. Received: threshold={threshold} of type "
                                 f"'{type(threshold)}'")
            if threshold > 1.0 or threshold <= 0.0:
                raise ValueError(f"Invalid `threshold` argument value. It should verify 0 < "
                                 f"threshold <= 1. Received: threshold={threshold}")
        self.average, self.beta, self.threshold = average, beta, threshold
        self._classes = None

    def _build(self, classes):
        shape = () if self.average == "micro" else (classes,)
        self.true_positives = self.add_variable(shape, name="true_positives")
        self.false_positives = self.add_variable(shape, name="false_positives")
        self.false_negatives = self.add_variable(shape, name="false_negatives")
        self.intermediate_weights = self.add_variable(shape, name="intermediate_weights")
        self._classes = classes

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = np.asarray(y_true, np.float64)
        y_pred = np.asarray(y_pred, np.float64)
        _two_d(self, y_true, y_pred)
        if self._classes is None:
            self._build(y_pred.shape[-1])
        elif y_pred.shape[-1] != self._classes:
            raise ValueError(f"{type(self).__name__} was built for {self._classes} classes; "
                             f"received y_pred.shape={y_pred.shape}")
        if self.threshold is None:  # the largest prediction (ties: all of them), not ~0
            positive = (y_pred >= y_pred.max(axis=-1, keepdims=True)) & (np.abs(y_pred) > 1e-9)
        else:
            positive = y_pred > self.threshold
        p = positive.astype(np.float64)
        w = None if sample_weight is None else \
            np.asarray(sample_weight, np.float64).reshape(-1, 1)
        axis = None if self.average == "micro" else 0

        def total(v):
            return np.sum(v if w is None else v * w, axis=axis)

        self.true_positives.assign_add(total(p * y_true))
        self.false_positives.assign_add(total(p * (1 - y_true)))
        self.false_negatives.assign_add(total((1 - p) * y_true))
        self.intermediate_weights.assign_add(total(y_true))

    def result(self):
        if self._classes is None:  # nothing seen yet
            return np.float32(0.0)
        tp = self.true_positives.value
        precision = tp / (tp + self.false_positives.value + EPSILON)
        recall = tp / (tp + self.false_negatives.value + EPSILON)
        b2 = self.beta ** 2
        score = precision * recall / (b2 * precision + recall + EPSILON) * (1 + b2)
        if self.average == "weighted":
            weights = self.intermediate_weights.value
            score = np.sum(score * weights / (np.sum(weights) + EPSILON))
        elif self.average is not None:
            score = np.mean(score)
        return np.asarray(score, np.float32)

    def reset_state(self):
        if self._classes is not None:
            super().reset_state()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "average": self.average,
                "beta": self.beta, "threshold": self.threshold}


class F1Score(FBetaScore):
    """The F1 score, the harmonic mean of precision and recall (FBetaScore with beta=1).

    Args:
        average: None, "micro", "macro" or "weighted" (see FBetaScore).
        threshold: float in (0, 1], or None for each sample's largest prediction.
    """

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config


class R2Score(Metric):
    """The coefficient of determination, 1 - residual / total sum of squares, per output
    column of (batch, outputs) targets.

    Args:
        class_aggregation: "uniform_average" (default: the columns' mean),
            "variance_weighted_average", or None (one score per column).
        num_regressors: int >= 0; when > 0, the adjusted R2 for that many regressors.
    """

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score",
                 dtype=None):
        super().__init__(name=name, dtype=dtype)
        allowed = (None, "uniform_average", "variance_weighted_average")
        if class_aggregation not in allowed:
            raise ValueError(f"Invalid value for argument `class_aggregation`. Expected one of "
                             f"{allowed}. Received: class_aggregation={class_aggregation}")
        if num_regressors < 0:
            raise ValueError(f"Invalid value for argument `num_regressors`. Expected a value "
                             f">= 0. Received: num_regressors={num_regressors}")
        self.class_aggregation, self.num_regressors = class_aggregation, num_regressors
        self.num_samples = self.add_variable((), name="num_samples")
        self._columns = None

    def _build(self, columns):
        self.squared_sum = self.add_variable((columns,), name="squared_sum")
        self.sum = self.add_variable((columns,), name="sum")
        self.total_mse = self.add_variable((columns,), name="residual")
        self.count = self.add_variable((columns,), name="count")
        self._columns = columns

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = np.asarray(y_true, np.float64)
        y_pred = np.asarray(y_pred, np.float64)
        # Keras's squeeze_or_expand_to_same_rank: a 1-D side gains the other's axis of 1
        if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
            y_pred = y_pred[..., None] if y_pred.ndim == 1 else y_pred
            y_true = y_true if y_pred.ndim == y_true.ndim else y_true[..., 0]
        elif y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
            y_true = y_true[..., None] if y_true.ndim == 1 else y_true
            y_pred = y_pred if y_pred.ndim == y_true.ndim else y_pred[..., 0]
        _two_d(self, y_true, y_pred)
        if self._columns is None:
            self._build(y_pred.shape[-1])
        w = np.ones((1, 1)) if sample_weight is None else np.asarray(sample_weight, np.float64)
        w = np.broadcast_to(w.reshape(-1, 1) if w.ndim == 1 else w, y_true.shape)
        self.sum.assign_add(np.sum(y_true * w, axis=0))
        self.squared_sum.assign_add(np.sum(y_true * y_true * w, axis=0))
        self.total_mse.assign_add(np.sum((y_true - y_pred) ** 2 * w, axis=0))
        self.count.assign_add(np.sum(w, axis=0))
        self.num_samples.assign_add(y_true.size)

    def result(self):
        if self._columns is None:
            return np.float32(0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = self.sum.value / self.count.value
            total = self.squared_sum.value - self.sum.value * mean
            raw = 1 - self.total_mse.value / total
        raw = np.where(np.isinf(raw), 0.0, raw)
        if self.class_aggregation == "uniform_average":
            score = np.mean(raw)
        elif self.class_aggregation == "variance_weighted_average":
            score = np.sum(total * raw) / np.sum(total)
        else:
            score = raw
        n, p = float(self.num_samples.value), self.num_regressors
        if p:
            if p > n - 1:
                warnings.warn("More independent predictors than datapoints in adjusted R2 "
                              "score. Falling back to standard R2 score.", stacklevel=2)
            elif p == n - 1:
                warnings.warn("Division by zero in Adjusted R2 score. Falling back to "
                              "standard R2 score.", stacklevel=2)
            else:
                score = 1 - (1 - score) * (n - 1) / (n - p - 1)
        return np.asarray(score, np.float32)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype,
                "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}
