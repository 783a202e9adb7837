"""Keras 3's metrics: `from fastnn import metrics`.

Metric objects (`metrics.AUC()`, `metrics.Precision(thresholds=[0.3, 0.5])`, ...) take
Keras's arguments and defaults (`name` optional) and have `update_state`, `result`,
`reset_state`; `Metric` subclasses keep their state in `add_variable`/`add_weight`.
`compile(metrics=[...])` takes objects, functions or Keras's names ("accuracy" resolves to
binary, sparse or categorical accuracy from the output and label shapes, as in Keras); the
logged name is the string passed, else the metric's name.
"""
import numpy as np

from fastnn.metrics.confusion import (AUC, FalseNegatives, FalsePositives, Precision, Recall,
                                      TrueNegatives, TruePositives)
from fastnn.metrics.metric import (Mean, MeanMetricWrapper, Metric, MetricVariable, Sum,
                                   results_over_ranks)
from fastnn.metrics.scores import F1Score, FBetaScore, R2Score
from fastnn.metrics.pointwise import (  # noqa: F401  (functions are public API)
    Accuracy, BinaryAccuracy, BinaryCrossentropy, CategoricalAccuracy, CategoricalCrossentropy,
    CategoricalHinge, CosineSimilarity, Hinge, KLDivergence, LogCoshError, MeanAbsoluteError,
    MeanAbsolutePercentageError, MeanSquaredError, MeanSquaredLogarithmicError, Poisson,
    RootMeanSquaredError, SparseCategoricalAccuracy, SparseCategoricalCrossentropy,
    SparseTopKCategoricalAccuracy, SquaredHinge, TopKCategoricalAccuracy, accuracy,
    binary_accuracy, binary_crossentropy, categorical_accuracy, categorical_crossentropy,
    categorical_hinge, cosine_similarity, hinge, kl_divergence, log_cosh,
    mean_absolute_error, mean_absolute_percentage_error, mean_squared_error,
    mean_squared_logarithmic_error, poisson, sparse_categorical_accuracy,
    sparse_categorical_crossentropy, sparse_top_k_categorical_accuracy, squared_hinge,
    top_k_categorical_accuracy)
from fastnn.layers.layer import snake_case

CLASSES = (AUC, Accuracy, BinaryAccuracy, BinaryCrossentropy, CategoricalAccuracy,
           CategoricalCrossentropy, CategoricalHinge, CosineSimilarity, F1Score, FBetaScore,
           FalseNegatives, FalsePositives, Hinge, KLDivergence, LogCoshError, Mean, MeanAbsoluteError,
           MeanAbsolutePercentageError, MeanMetricWrapper, MeanSquaredError,
           MeanSquaredLogarithmicError, Poisson, Precision, R2Score, Recall,
           RootMeanSquaredError,
           SparseCategoricalAccuracy, SparseCategoricalCrossentropy,
           SparseTopKCategoricalAccuracy, SquaredHinge, Sum, TopKCategoricalAccuracy,
           TrueNegatives, TruePositives)
FUNCTIONS = {f.__name__: f for f in (
    accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
    top_k_categorical_accuracy, sparse_top_k_categorical_accuracy, mean_squared_error,
    mean_absolute_error, mean_absolute_percentage_error, mean_squared_logarithmic_error,
    cosine_similarity, log_cosh, hinge, squared_hinge, categorical_hinge, kl_divergence,
    poisson, binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy)}
ALIASES = {"mse": "mean_squared_error", "mae": "mean_absolute_error",
           "mape": "mean_absolute_percentage_error", "msle": "mean_squared_logarithmic_error",
           "bce": "binary_crossentropy"}
_BY_CLASS_NAME = {c.__name__: c for c in CLASSES}
_BY_CLASS_NAME.update({"MSE": MeanSquaredError, "MAE": MeanAbsoluteError,
                       "MAPE": MeanAbsolutePercentageError, "MSLE": MeanSquaredLogarithmicError,
                       "BCE": BinaryCrossentropy})
# snake_case class names Keras accepts as strings (function names take precedence).
_BY_SNAKE = {snake_case(c.__name__): c for c in CLASSES
             if snake_case(c.__name__) not in FUNCTIONS}
_BY_SNAKE["log_cosh_error"] = LogCoshError


def get_function(name):
    key = ALIASES.get(name, name)
    if key not in FUNCTIONS:
        raise ValueError(f"Unknown metric function: {name!r}")
    return FUNCTIONS[key]


def get(identifier, loss=None, output_shape=None):
    """A metric object from a Metric, a Metric class, a function or a Keras name.

    "accuracy"/"acc" need the model's loss and output shape: binary accuracy for one output
    unit, sparse categorical for integer labels (a sparse cross-entropy loss), categorical
    otherwise (Keras's rule)."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier.lower() in ("accuracy", "acc") and output_shape is not None:
            if output_shape[-1] == 1:
                return BinaryAccuracy(name=identifier)
            if _sparse_labels(loss):
                return SparseCategoricalAccuracy(name=identifier)
            return CategoricalAccuracy(name=identifier)
        key = ALIASES.get(identifier, identifier)
        if key in FUNCTIONS:
            return MeanMetricWrapper(FUNCTIONS[key], name=identifier)
        cls = _BY_CLASS_NAME.get(identifier) or _BY_SNAKE.get(identifier)
        if cls is not None:
            metric = cls()
            metric.name = identifier  # Keras logs a string metric under that string
            return metric
    elif callable(identifier):
        return MeanMetricWrapper(identifier, name=getattr(identifier, "__name__", None))
    raise ValueError(f"Could not interpret metric identifier: {identifier!r}. Known metrics: "
                     f"{sorted(['accuracy', 'acc', *FUNCTIONS, *ALIASES, *_BY_SNAKE])}")


def _sparse_labels(loss):
    from fastnn import losses
    inner = getattr(loss, "_builtin", None) or loss
    return isinstance(inner, losses.SparseCategoricalCrossentropy)


def serialize(metric):
    return {"module": "keras.metrics", "class_name": type(metric).__name__,
            "config": metric.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    if isinstance(config, str):
        return get(config)
    name = config.get("class_name") if isinstance(config, dict) else None
    cls = dict(custom_objects or {}).get(name) or _BY_CLASS_NAME.get(name)
    if cls is None or not isinstance(config.get("config", {}), dict):
        raise ValueError(f"Could not interpret metric config {str(config)[:200]}; pass custom "
                         f"metrics in `custom_objects`")
    return cls.from_config(dict(config.get("config") or {}))


def deserialize_or_name(config):
    """A metric from a compile config entry: its object when fastnn knows the class, else
    its name (resolved later like a string)."""
    if not isinstance(config, dict):
        return config
    try:
        return deserialize(config)
    except (ValueError, TypeError):
        return (config.get("config") or {}).get("name", config.get("class_name"))


__all__ = ["Metric", "MetricVariable", "get", "serialize", "deserialize", "results_over_ranks",
           *[c.__name__ for c in CLASSES], *FUNCTIONS]
