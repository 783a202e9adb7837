"""Metrics that average a per-sample value (Keras's MeanMetricWrapper family): the
accuracies, top-k, and the regression and probabilistic errors.

Every function takes (y_true, y_pred) as Keras's does: y_true is squeezed or expanded to
y_pred's rank when a last axis of 1 differs, and then the shapes must agree (Keras fails
inside the arithmetic; fastnn says which shapes and which metric).
"""
import numpy as np

from fastnn import losses
from fastnn.losses.loss import EPSILON
from fastnn.metrics.metric import MeanMetricWrapper, Metric, reduce_to_samplewise


def _arrays(y_true, y_pred):
    y_pred = np.asarray(y_pred)
    y_pred = y_pred.astype(np.float32) if y_pred.dtype.kind != "f" else y_pred
    return np.asarray(y_true), y_pred


def same_rank(y_true, y_pred, metric):
    """Keras's squeeze_or_expand_to_same_rank, then equal shapes or a ValueError."""
    y_true, y_pred = _arrays(y_true, y_pred)
    if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    elif y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
        y_pred = y_pred[..., 0]
    try:
        np.broadcast_shapes(y_true.shape, y_pred.shape)
    except ValueError:
        raise ValueError(f"Incompatible shapes for metric `{metric}`: y_true.shape="
                         f"{y_true.shape} vs. y_pred.shape={y_pred.shape}. Labels and "
                         f"predictions must have the same shape (or broadcast, as Keras "
                         f"computes them)") from None
    return y_true, y_pred


def sparse_labels(y_true, y_pred, metric):
    """Integer labels of shape y_pred.shape[:-1] (a trailing axis of 1 dropped)."""
    y_true, y_pred = _arrays(y_true, y_pred)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    if y_true.shape != y_pred.shape[:-1]:
        raise ValueError(f"Incompatible shapes for metric `{metric}`: expected integer labels "
                         f"of shape {y_pred.shape[:-1]} for predictions of shape "
                         f"{y_pred.shape}, received y_true.shape={y_true.shape}")
    return y_true, y_pred


# ---- functions (keras.metrics.*) -------------------------------------------------------

def accuracy(y_true, y_pred):
    """1 where y_pred equals y_true, element by element."""
    y_true, y_pred = same_rank(y_true, y_pred, "accuracy")
    return (y_true == y_pred).astype(np.float32)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """Mean over the last axis of [(y_pred > threshold) == y_true]."""
    y_true, y_pred = same_rank(y_true, y_pred, "binary_accuracy")
    return ((y_pred > threshold).astype(y_true.dtype) == y_true).mean(axis=-1, dtype=np.float32)


def categorical_accuracy(y_true, y_pred):
    """[argmax(y_true) == argmax(y_pred)] per sample."""
    y_true, y_pred = _arrays(y_true, y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"Incompatible shapes for metric `categorical_accuracy`: one-hot "
                         f"y_true.shape={y_true.shape} vs. y_pred.shape={y_pred.shape} (for "
                         f"integer labels use sparse_categorical_accuracy)")
    return (y_true.argmax(axis=-1) == y_pred.argmax(axis=-1)).astype(np.float32)


def sparse_categorical_accuracy(y_true, y_pred):
    """[y_true == argmax(y_pred)] per sample."""
    y_true, y_pred = sparse_labels(y_true, y_pred, "sparse_categorical_accuracy")
    return (y_true == y_pred.argmax(axis=-1)).astype(np.float32)


def _in_top_k(labels, y_pred, k):
    """TensorFlow's in_top_k: the label's score is among the k largest, ties included
    (fewer than k scores are strictly larger); non-finite scores are never in."""
    labels = labels.astype(np.int64)
    flat = y_pred.reshape(-1, y_pred.shape[-1])
    lab = labels.reshape(-1)
    target = flat[np.arange(len(lab)), lab]
    larger = (flat > target[:, None]).sum(axis=1)
    ok = np.isfinite(flat).all(axis=1)
    return ((larger < k) & ok).reshape(labels.shape).astype(np.float32)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """Whether argmax(y_true) is among the k largest predictions."""
    y_true, y_pred = _arrays(y_true, y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"Incompatible shapes for metric `top_k_categorical_accuracy`: "
                         f"y_true.shape={y_true.shape} vs. y_pred.shape={y_pred.shape}")
    return _in_top_k(y_true.argmax(axis=-1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    """Whether the integer label is among the k largest predictions (with
    from_sorted_ids, y_pred holds class ids sorted by score: the label is in its first k)."""
    if from_sorted_ids:
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
            y_true = y_true[..., 0]
        return (y_pred[..., :k] == y_true[..., None]).any(axis=-1).astype(np.float32)
    y_true, y_pred = sparse_labels(y_true, y_pred, "sparse_top_k_categorical_accuracy")
    return _in_top_k(y_true, y_pred, k)


def cosine_similarity(y_true, y_pred, axis=-1):
    """sum(l2_normalize(y_true) * l2_normalize(y_pred)) over the last axis."""
    y_true, y_pred = same_rank(y_true, y_pred, "cosine_similarity")
    return -losses.cosine_similarity(y_true.astype(np.float32), y_pred, axis=axis)


def _loss_metric(fn, name):
    def metric(y_true, y_pred, **kwargs):
        y_true, y_pred = same_rank(y_true, y_pred, name)
        return fn(y_true.astype(y_pred.dtype), y_pred, **kwargs)
    metric.__name__ = name
    metric.__doc__ = fn.__doc__
    return metric


mean_squared_error = _loss_metric(losses.mean_squared_error, "mean_squared_error")
mean_absolute_error = _loss_metric(losses.mean_absolute_error, "mean_absolute_error")
mean_absolute_percentage_error = _loss_metric(losses.mean_absolute_percentage_error,
                                              "mean_absolute_percentage_error")
mean_squared_logarithmic_error = _loss_metric(losses.mean_squared_logarithmic_error,
                                              "mean_squared_logarithmic_error")
log_cosh = _loss_metric(losses.log_cosh, "log_cosh")
hinge = _loss_metric(losses.hinge, "hinge")
squared_hinge = _loss_metric(losses.squared_hinge, "squared_hinge")
categorical_hinge = _loss_metric(losses.categorical_hinge, "categorical_hinge")
kl_divergence = _loss_metric(losses.kl_divergence, "kl_divergence")
poisson = _loss_metric(losses.poisson, "poisson")
binary_crossentropy = _loss_metric(losses.binary_crossentropy, "binary_crossentropy")
categorical_crossentropy = _loss_metric(losses.categorical_crossentropy,
                                        "categorical_crossentropy")


def sparse_categorical_crossentropy(y_true, y_pred, **kwargs):
    y_true, y_pred = sparse_labels(y_true, y_pred, "sparse_categorical_crossentropy")
    return losses.sparse_categorical_crossentropy(y_true, y_pred, **kwargs)


# ---- classes ------------------------------------------------------------------------------

def _wrapper(fn, default_name, doc, params=(), hidden=()):
    """A MeanMetricWrapper subclass with Keras's constructor (name, dtype, then params);
    `hidden` params appear in the config only when not at their default (as Keras)."""
    defaults = dict(params)

    def get_config(self):
        config = MeanMetricWrapper.get_config(self)
        for key in hidden:
            if config.get(key) == defaults[key]:
                config.pop(key)
        return config

    def __init__(self, name=default_name, dtype=None, **kwargs):
        unknown = set(kwargs) - set(defaults)
        if unknown:
            raise TypeError(f"Unrecognized keyword arguments passed to {cls.__name__}: "
                            f"{sorted(unknown)}")
        MeanMetricWrapper.__init__(self, fn, name=name, dtype=dtype, **{**defaults, **kwargs})
    cls = type("", (MeanMetricWrapper,), {"__init__": __init__, "__doc__": doc,
                                          "get_config": get_config})
    return cls


def _named(cls, name):
    cls.__name__ = cls.__qualname__ = name
    cls.__module__ = __name__
    return cls


Accuracy = _named(_wrapper(accuracy, "accuracy", "How often predictions equal labels."),
                  "Accuracy")
BinaryAccuracy = _named(_wrapper(binary_accuracy, "binary_accuracy",
                                 "How often (y_pred > threshold) matches binary labels.",
                                 [("threshold", 0.5)]), "BinaryAccuracy")
CategoricalAccuracy = _named(_wrapper(categorical_accuracy, "categorical_accuracy",
                                      "How often argmax(y_pred) matches one-hot labels."),
                             "CategoricalAccuracy")
SparseCategoricalAccuracy = _named(_wrapper(sparse_categorical_accuracy,
                                            "sparse_categorical_accuracy",
                                            "How often argmax(y_pred) matches integer labels."),
                                   "SparseCategoricalAccuracy")
MeanSquaredError = _named(_wrapper(mean_squared_error, "mean_squared_error",
                                   "Mean of squared errors."), "MeanSquaredError")
MeanAbsoluteError = _named(_wrapper(mean_absolute_error, "mean_absolute_error",
                                    "Mean of absolute errors."), "MeanAbsoluteError")
MeanAbsolutePercentageError = _named(_wrapper(mean_absolute_percentage_error,
                                              "mean_absolute_percentage_error",
                                              "Mean absolute percentage error."),
                                     "MeanAbsolutePercentageError")
MeanSquaredLogarithmicError = _named(_wrapper(mean_squared_logarithmic_error,
                                              "mean_squared_logarithmic_error",
                                              "Mean squared logarithmic error."),
                                     "MeanSquaredLogarithmicError")
LogCoshError = _named(_wrapper(log_cosh, "logcosh", "Mean of log(cosh(error))."),
                      "LogCoshError")
Hinge = _named(_wrapper(hinge, "hinge", "Mean hinge loss."), "Hinge")
SquaredHinge = _named(_wrapper(squared_hinge, "squared_hinge", "Mean squared hinge loss."),
                      "SquaredHinge")
CategoricalHinge = _named(_wrapper(categorical_hinge, "categorical_hinge",
                                   "Mean categorical hinge loss."), "CategoricalHinge")
KLDivergence = _named(_wrapper(kl_divergence, "kl_divergence", "Mean KL divergence."),
                      "KLDivergence")
Poisson = _named(_wrapper(poisson, "poisson", "Mean Poisson loss."), "Poisson")
BinaryCrossentropy = _named(_wrapper(binary_crossentropy, "binary_crossentropy",
                                     "Mean binary cross-entropy.",
                                     [("from_logits", False), ("label_smoothing", 0.0)]),
                            "BinaryCrossentropy")
CategoricalCrossentropy = _named(_wrapper(categorical_crossentropy, "categorical_crossentropy",
                                          "Mean categorical cross-entropy.",
                                          [("from_logits", False), ("label_smoothing", 0.0),
                                           ("axis", -1)]),
                                 "CategoricalCrossentropy")
SparseCategoricalCrossentropy = _named(_wrapper(sparse_categorical_crossentropy,
                                                "sparse_categorical_crossentropy",
                                                "Mean sparse categorical cross-entropy.",
                                                [("from_logits", False), ("ignore_class", None),
                                                 ("axis", -1)]),
                                       "SparseCategoricalCrossentropy")
CosineSimilarity = _named(_wrapper(cosine_similarity, "cosine_similarity",
                                   "Mean cosine similarity of labels and predictions.",
                                   [("axis", -1)], hidden=("axis",)), "CosineSimilarity")
TopKCategoricalAccuracy = _named(_wrapper(top_k_categorical_accuracy,
                                          "top_k_categorical_accuracy",
                                          "How often the one-hot label is in the top k.",
                                          [("k", 5)]), "TopKCategoricalAccuracy")
SparseTopKCategoricalAccuracy = _named(_wrapper(sparse_top_k_categorical_accuracy,
                                                "sparse_top_k_categorical_accuracy",
                                                "How often the integer label is in the top k.",
                                                [("k", 5), ("from_sorted_ids", False)],
                                                hidden=("from_sorted_ids",)),
                                       "SparseTopKCategoricalAccuracy")


class RootMeanSquaredError(Metric):
    """sqrt of the (weighted) mean squared error over the samples seen."""

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(dtype=dtype, name=name)
        self.total = self.add_variable((), "zeros", name="total")
        self.count = self.add_variable((), "zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = same_rank(y_true, y_pred, self.name)
        values, w = reduce_to_samplewise(np.square(y_pred - y_true.astype(y_pred.dtype)),
                                         sample_weight)
        self.total.assign_add(values.sum())
        self.count.assign_add(values.size if w is None else w.sum())

    def result(self):
        count = float(self.count.value)
        return np.float32(np.sqrt(float(self.total.value) / count)) if count else np.float32(0)
