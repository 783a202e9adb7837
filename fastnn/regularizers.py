"""Weight regularizers with Keras 3's names, maths and configs.

A regularizer is called on a weight and returns its penalty (a float); `gradient(x)` is
the penalty's gradient.  A layer attaches one to a weight (`kernel_regularizer=...`) and
the trainer adds every penalty to the batch loss, and its gradient to the weight's, once
per step (Keras adds `model.losses` to the loss the same way; the logged loss includes it).
"""
import numpy as np

from fastnn import _identifiers

EPSILON = 1e-7


def _factor(value, name):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"Invalid value for argument {name}: expected a float. "
                         f"Received: {name}={value!r}") from None
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"Invalid value for argument {name}: expected a non-negative float."
                         f"Received: {name}={value}")
    return value


def _recorded(x):
    """Whether x is a weight or tensor of a custom layer's tape (not a plain array): the
    penalty is then computed with keras.ops, so the tape differentiates it."""
    return not (type(x) is np.ndarray or np.isscalar(x))


class Regularizer:
    """Base class: `__call__(x)` -> penalty, `gradient(x)` -> d penalty / dx,
    `get_config()`, `from_config()`.  Built-in layers use `gradient`; inside a custom
    layer's `call` the penalty is recorded by the ops tape (a subclass written with
    keras.ops needs no `gradient`)."""

    def __call__(self, x):
        return 0.0

    def gradient(self, x):
        raise NotImplementedError(f"{type(self).__name__} defines no gradient(x): fastnn needs "
                                  f"the penalty's gradient to train with it")

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}({self.get_config()})"


class L1L2(Regularizer):
    """l1 * sum(|x|) + l2 * sum(x^2); defaults 0 and 0."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = _factor(l1, "l1"), _factor(l2, "l2")

    def __call__(self, x):
        if _recorded(x):
            from fastnn.autodiff import ops
            return ops.sum(ops.abs(x)) * self.l1 + ops.sum(ops.square(x)) * self.l2
        x = np.asarray(x, np.float64)
        return float(self.l1 * np.abs(x).sum() + self.l2 * (x * x).sum())

    def gradient(self, x):
        return self.l1 * np.sign(x) + 2 * self.l2 * x

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """l1 * sum(|x|); default l1=0.01."""

    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": float(np.float32(self.l1))}  # Keras keeps L1's factor in float32


class L2(L1L2):
    """l2 * sum(x^2); default l2=0.01."""

    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """factor * mean over pairs of |cos| between the rows (mode="rows") or columns
    (mode="columns") of a 2D weight: pushes them toward orthogonality."""

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = _factor(factor, "factor")
        if mode not in ("rows", "columns"):
            raise ValueError(f"Invalid value for argument `mode`. Expected one of "
                             f"{{'rows', 'columns'}}. Received: mode={mode}")
        self.mode = mode

    def _rows(self, x):
        x = np.asarray(x, np.float64)
        if x.ndim != 2:
            raise ValueError(f"Inputs to OrthogonalRegularizer must have rank 2. Received: "
                             f"inputs.shape={x.shape}")
        return x if self.mode == "rows" else x.T

    def _parts(self, x):
        rows = self._rows(x)
        norms = np.sqrt((rows * rows).sum(1, keepdims=True))
        r = 1 / np.where(norms == 0, 1, norms)  # Keras leaves a zero row as it is
        n = rows * r
        p = n @ n.T
        np.fill_diagonal(p, 0)
        size = p.shape[0]
        scale = self.factor * 0.5 / (size * (size - 1) / 2.0) if size > 1 else 0.0
        return rows, norms, r, n, p, scale

    def __call__(self, x):
        if _recorded(x):
            return self._recorded_penalty(x)
        p, scale = self._parts(x)[4:]
        return float(scale * np.abs(p).sum())

    def _recorded_penalty(self, x):
        from fastnn.autodiff import ops
        rows = x if self.mode == "rows" else ops.transpose(x)
        size = int(np.shape(rows)[0])
        if size < 2:
            return ops.sum(rows) * 0.0
        norms = ops.sqrt(ops.sum(ops.square(rows), axis=1, keepdims=True))
        n = rows / ops.maximum(norms, 1e-30)
        off = 1.0 - np.eye(size, dtype=np.float32)
        p = ops.matmul(n, ops.transpose(n)) * off
        return ops.sum(ops.abs(p)) * (self.factor * 0.5 / (size * (size - 1) / 2.0))

    def gradient(self, x):
        rows, norms, r, n, p, scale = self._parts(x)
        dn = 2 * scale * (np.sign(p) @ n)
        drows = np.where(norms > 0, r * (dn - (dn * n).sum(1, keepdims=True) * n), dn)
        return drows if self.mode == "rows" else drows.T

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


# Keras's lower-case aliases are the classes themselves.
l1, l2, l1_l2, orthogonal_regularizer = L1, L2, L1L2, OrthogonalRegularizer
_BY_NAME = {"L1": L1, "L2": L2, "L1L2": L1L2, "OrthogonalRegularizer": OrthogonalRegularizer,
            "l1": L1, "l2": L2, "l1_l2": L1L2, "orthogonal_regularizer": OrthogonalRegularizer}


def get(identifier):
    """A regularizer from None, a name ("l2"), a Keras config dict or a Regularizer."""
    return _identifiers.resolve(identifier, Regularizer, _BY_NAME, "regularizer")


def serialize(regularizer):
    if regularizer is None:
        return None
    return {"module": "keras.regularizers", "class_name": type(regularizer).__name__,
            "config": regularizer.get_config(), "registered_name": None}


__all__ = ["Regularizer", "L1", "L2", "L1L2", "OrthogonalRegularizer", "l1", "l2", "l1_l2",
           "orthogonal_regularizer", "get", "serialize"]
