"""`MonitorCallback`: the shared base of callbacks that watch one logged quantity."""
import numbers
import warnings

import numpy as np

from fastnn.callbacks.callback import Callback

# Metric names (after removing "val_") that get better as they go up.
_UP_SUFFIXES = ("accuracy", "acc", "auc", "prc", "precision", "recall", "specificity",
                "sensitivity", "f1_score", "fbeta_score", "r2_score", "iou")


class MonitorCallback(Callback):
    """Base class for callbacks that monitor a quantity and test it for improvement.

    It resolves `mode` into `monitor_op` (`np.less` or `np.greater`) and
    decides whether a new value improves on a reference by more than
    `min_delta`. `EarlyStopping` and `ReduceLROnPlateau` build on it; it is
    not meant to be used directly.

    Args:
        monitor: Quantity to be monitored. Defaults to `"val_loss"`.
        mode: One of `{"auto", "min", "max"}`. `"auto"` infers the direction
            from the name: `max` for accuracy-like metrics (`"val_accuracy"`,
            `"auc"`, `"precision"`, ...) or a model metric whose `_direction`
            is `"up"`; `min` for losses and anything else. An unknown mode
            warns and falls back to `"auto"`. Defaults to `"auto"`.
        baseline: Initial "best" value; `None` (the default) makes the first
            monitored value the best.
        min_delta: Minimum change that counts as an improvement (its absolute
            value is used). Defaults to `0`.

    Example:

    >>> cb = MonitorCallback(monitor="val_accuracy", min_delta=0.01)
    >>> cb.monitor_op is np.greater, cb._is_improvement(0.5, None)
    (True, True)
    >>> cb._is_improvement(0.805, 0.8), cb._is_improvement(0.82, 0.8)
    (False, True)
    """

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        if not isinstance(monitor, str):
            raise ValueError(f"Argument `monitor` must be a string. Received: monitor={monitor!r}")
        _check_number("min_delta", min_delta)
        if baseline is not None:
            _check_number("baseline", baseline, "a number or None")
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto "
                          "mode.", stacklevel=3)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op = None
        self._set_monitor_op()

    def _set_monitor_op(self):
        """Resolves the direction; called again at train begin, once the model is known."""
        if self.mode == "auto":
            increasing = _direction(self.monitor, self.model) == "up"
        else:
            increasing = self.mode == "max"
        self.monitor_op = np.greater if increasing else np.less

    def _is_improvement(self, monitor_value, reference_value):
        if reference_value is None:
            return True
        delta = self.min_delta if self.monitor_op is np.greater else -self.min_delta
        return bool(self.monitor_op(monitor_value - delta, reference_value))


def _direction(monitor, model):
    """"up" if `monitor` names a metric that improves upwards, else "down"."""
    name = monitor[4:] if monitor.startswith("val_") else monitor
    for metric in getattr(model, "metrics", None) or ():
        if getattr(metric, "name", None) == name and hasattr(metric, "_direction"):
            return metric._direction
    if "loss" in name:
        return "down"
    return "up" if name.endswith(_UP_SUFFIXES) else "down"


def _check_number(name, value, what="a number"):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"Argument `{name}` must be {what}. Received: {name}={value!r}")


def _check_non_negative_int(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"Argument `{name}` must be a non-negative integer. "
                         f"Received: {name}={value!r}")
