"""Weight constraints with Keras 3's names, maths and configs, applied to a weight after
each optimizer step (`kernel_constraint=constraints.MaxNorm(2)`)."""
import numpy as np

from fastnn import _identifiers

EPSILON = 1e-7


class Constraint:
    """Base class: `__call__(w)` returns the projected weight."""

    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}({self.get_config()})"


def _norms(w, axis):
    axis = tuple(axis) if isinstance(axis, list) else axis  # Keras configs write lists
    return np.sqrt((np.asarray(w, np.float64) ** 2).sum(axis=axis, keepdims=True))


class MaxNorm(Constraint):
    """Rescale each slice along `axis` (default 0: each unit's incoming weights of a Dense
    kernel) whose L2 norm exceeds max_value (default 2)."""

    def __init__(self, max_value=2, axis=0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = np.clip(norms, 0, self.max_value)
        return (w * (desired / (EPSILON + norms))).astype(np.float32)

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Zero the negative weights."""

    def __call__(self, w):
        return (w * (w >= 0)).astype(np.float32)


class UnitNorm(Constraint):
    """Each slice along `axis` (default 0) divided by its L2 norm."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        return (w / (EPSILON + _norms(w, self.axis))).astype(np.float32)

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Move each slice's norm toward [min_value, max_value] by `rate` (1: all the way)."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = self.rate * np.clip(norms, self.min_value, self.max_value) + \
            (1 - self.rate) * norms
        return (w * (desired / (EPSILON + norms))).astype(np.float32)

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm
_BY_NAME = {"MaxNorm": MaxNorm, "NonNeg": NonNeg, "UnitNorm": UnitNorm, "MinMaxNorm": MinMaxNorm,
            "max_norm": MaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm,
            "min_max_norm": MinMaxNorm}


def get(identifier):
    """A constraint from None, a name ("non_neg"), a Keras config dict or a Constraint."""
    return _identifiers.resolve(identifier, Constraint, _BY_NAME, "constraint", allow_callable=True)


def serialize(constraint):
    if constraint is None:
        return None
    if type(constraint) not in (MaxNorm, NonNeg, UnitNorm, MinMaxNorm):
        raise ValueError(f"Cannot serialize the custom constraint {constraint!r}")
    return {"module": "keras.constraints", "class_name": type(constraint).__name__,
            "config": constraint.get_config(), "registered_name": None}


__all__ = ["Constraint", "MaxNorm", "NonNeg", "UnitNorm", "MinMaxNorm", "max_norm", "non_neg",
           "unit_norm", "min_max_norm", "get", "serialize"]
