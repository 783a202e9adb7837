"""Keras 3's built-in losses, as classes and functions: `from fastnn import losses`.

Classes (`losses.Huber(delta=2.0)`) take Keras's arguments (`reduction`, `name`, ...) and
return a scalar when called with `(y_true, y_pred, sample_weight=None)`; functions
(`losses.huber(y_true, y_pred)`) return the per-sample losses.  `compile(loss=...)`
accepts a name ("mse", "categorical_crossentropy", ...), a class or instance, one of the
functions here, or a `Loss` subclass (see `fastnn.losses.loss`).
"""
import numpy as np

from fastnn.losses.crossentropy import (BinaryCrossentropy, BinaryFocalCrossentropy,
                                        CategoricalCrossentropy, CategoricalFocalCrossentropy,
                                        SparseCategoricalCrossentropy)
from fastnn.losses.loss import Loss, LossFunctionWrapper, reduce_values
from fastnn.losses.regression import (CategoricalHinge, CosineSimilarity, Hinge, Huber,
                                      KLDivergence, LogCosh, MeanAbsoluteError,
                                      MeanAbsolutePercentageError, MeanSquaredError,
                                      MeanSquaredLogarithmicError, Poisson, SquaredHinge)

CLASSES = (BinaryCrossentropy, BinaryFocalCrossentropy, CategoricalCrossentropy,
           CategoricalFocalCrossentropy, SparseCategoricalCrossentropy, MeanSquaredError,
           MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError, Huber,
           LogCosh, KLDivergence, Poisson, CosineSimilarity, Hinge, SquaredHinge,
           CategoricalHinge)


def _function(cls, name, doc):
    def fn(y_true, y_pred, **kwargs):
        loss = cls(**kwargs)
        return np.asarray(loss.call(y_true, y_pred), dtype=np.float32)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Per-sample {doc} (Keras's `keras.losses.{name}`); keyword arguments " \
                 f"as `{cls.__name__}`."
    return fn


binary_crossentropy = _function(BinaryCrossentropy, "binary_crossentropy", "binary cross-entropy")
binary_focal_crossentropy = _function(BinaryFocalCrossentropy, "binary_focal_crossentropy",
                                      "binary focal cross-entropy")
categorical_crossentropy = _function(CategoricalCrossentropy, "categorical_crossentropy",
                                     "categorical cross-entropy")
categorical_focal_crossentropy = _function(CategoricalFocalCrossentropy,
                                           "categorical_focal_crossentropy",
                                           "categorical focal cross-entropy")
sparse_categorical_crossentropy = _function(SparseCategoricalCrossentropy,
                                            "sparse_categorical_crossentropy",
                                            "sparse categorical cross-entropy")
mean_squared_error = _function(MeanSquaredError, "mean_squared_error", "mean squared error")
mean_absolute_error = _function(MeanAbsoluteError, "mean_absolute_error", "mean absolute error")
mean_absolute_percentage_error = _function(MeanAbsolutePercentageError,
                                           "mean_absolute_percentage_error",
                                           "mean absolute percentage error")
mean_squared_logarithmic_error = _function(MeanSquaredLogarithmicError,
                                           "mean_squared_logarithmic_error",
                                           "mean squared logarithmic error")
huber = _function(Huber, "huber", "Huber loss")
log_cosh = _function(LogCosh, "log_cosh", "log-cosh loss")
kl_divergence = _function(KLDivergence, "kl_divergence", "Kullback-Leibler divergence")
poisson = _function(Poisson, "poisson", "Poisson loss")
cosine_similarity = _function(CosineSimilarity, "cosine_similarity", "negative cosine similarity")
hinge = _function(Hinge, "hinge", "hinge loss")
squared_hinge = _function(SquaredHinge, "squared_hinge", "squared hinge loss")
categorical_hinge = _function(CategoricalHinge, "categorical_hinge", "categorical hinge loss")

FUNCTIONS = {
    "binary_crossentropy": (binary_crossentropy, BinaryCrossentropy),
    "binary_focal_crossentropy": (binary_focal_crossentropy, BinaryFocalCrossentropy),
    "categorical_crossentropy": (categorical_crossentropy, CategoricalCrossentropy),
    "categorical_focal_crossentropy": (categorical_focal_crossentropy,
                                       CategoricalFocalCrossentropy),
    "sparse_categorical_crossentropy": (sparse_categorical_crossentropy,
                                        SparseCategoricalCrossentropy),
    "mean_squared_error": (mean_squared_error, MeanSquaredError),
    "mean_absolute_error": (mean_absolute_error, MeanAbsoluteError),
    "mean_absolute_percentage_error": (mean_absolute_percentage_error,
                                       MeanAbsolutePercentageError),
    "mean_squared_logarithmic_error": (mean_squared_logarithmic_error,
                                       MeanSquaredLogarithmicError),
    "huber": (huber, Huber), "log_cosh": (log_cosh, LogCosh),
    "kl_divergence": (kl_divergence, KLDivergence), "poisson": (poisson, Poisson),
    "cosine_similarity": (cosine_similarity, CosineSimilarity), "hinge": (hinge, Hinge),
    "squared_hinge": (squared_hinge, SquaredHinge),
    "categorical_hinge": (categorical_hinge, CategoricalHinge),
}
# Keras's short names for the same functions.
ALIASES = {"bce": "binary_crossentropy", "mse": "mean_squared_error",
           "mae": "mean_absolute_error", "mape": "mean_absolute_percentage_error",
           "msle": "mean_squared_logarithmic_error", "kld": "kl_divergence"}
_BUILTIN_FUNCTIONS = {fn: cls for fn, cls in FUNCTIONS.values()}
_BY_CLASS_NAME = {cls.__name__: cls for cls in CLASSES}
_BY_CLASS_NAME.update({"BCE": BinaryCrossentropy, "MSE": MeanSquaredError,
                       "MAE": MeanAbsoluteError, "MAPE": MeanAbsolutePercentageError,
                       "MSLE": MeanSquaredLogarithmicError, "KLD": KLDivergence})


def _named(name):
    """The loss object for a Keras string name: functions and classes alike."""
    if name in _BY_CLASS_NAME:
        return _BY_CLASS_NAME[name]()
    key = ALIASES.get(name, name)
    if key in FUNCTIONS:
        return FUNCTIONS[key][1](name=name if name in ALIASES else None)
    return None


def get(identifier):
    """A loss object from a Keras name ('categorical_crossentropy', 'mse', 'Huber', ...),
    a Loss class or instance, a loss function, or a Keras config dict."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if isinstance(identifier, str):
        loss = _named(identifier)
        if loss is not None:
            return loss
    elif isinstance(identifier, dict):
        return deserialize(identifier)
    elif callable(identifier):
        return LossFunctionWrapper(identifier)
    raise ValueError(f"Could not interpret loss identifier: {identifier!r}. Known losses: "
                     f"{sorted(set(FUNCTIONS) | set(ALIASES) | set(_BY_CLASS_NAME))}")


def deserialize(config, custom_objects=None):
    """A loss from Keras's serialized form (a dict as `serialize` writes, or a name)."""
    if isinstance(config, str):
        return get(config)
    if not isinstance(config, dict):
        raise ValueError(f"Could not interpret loss config {str(config)[:200]}")
    name = config.get("class_name")
    inner = config.get("config")
    custom = dict(custom_objects or {})
    if name == "function" and isinstance(inner, str):
        return get(custom.get(inner, inner))
    cls = custom.get(name) or _BY_CLASS_NAME.get(name)
    if cls is None or not isinstance(inner, (dict, type(None))):
        raise ValueError(f"Could not interpret loss config {str(config)[:200]}. Known losses: "
                         f"{sorted(_BY_CLASS_NAME)}; pass custom losses in `custom_objects`.")
    try:
        return cls.from_config(dict(inner or {}))
    except TypeError as exc:
        raise ValueError(f"Could not build loss {name} from its config: {exc}") from None


def serialize(loss):
    """A loss as Keras writes it in `compile_config`."""
    if isinstance(loss, LossFunctionWrapper) and type(loss) is LossFunctionWrapper:
        return {"module": "builtins", "class_name": "function",
                "config": getattr(loss.fn, "__name__", "loss"), "registered_name": "function"}
    return {"module": "keras.losses", "class_name": type(loss).__name__,
            "config": loss.get_config(), "registered_name": None}


__all__ = ["Loss", "LossFunctionWrapper", "get", "serialize", "deserialize", "reduce_values",
           *[c.__name__ for c in CLASSES], *FUNCTIONS]
