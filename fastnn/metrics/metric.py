"""The Metric base class (Keras's `keras.metrics.Metric`), its state variables, and the
reduction metrics `Mean`, `Sum` and `MeanMetricWrapper`.

A metric keeps its state in variables made by `add_variable` (alias `add_weight`):
`update_state` adds a batch to them, `result` reads them, `reset_state` zeroes them.
Data-parallel training sums every metric's variables over the ranks (`aggregation="sum"`,
Keras's default) and calls `result()` on the sums: see `results_over_ranks`.
"""
import operator

import numpy as np

from fastnn.layers.layer import snake_case, unique_name

_AGGREGATIONS = ("sum", "mean", "only_first_replica", "none")


class MetricVariable:
    """A metric's state: a NumPy value with `assign`, `assign_add`, `assign_sub` and
    `numpy()`; arithmetic and NumPy functions see it as its value."""
    __array_priority__ = 100

    def __init__(self, value, name, aggregation="sum", initializer=None):
        self.value = np.array(value)
        self.name, self.aggregation, self._initializer = name, aggregation, initializer

    shape = property(lambda self: self.value.shape)
    dtype = property(lambda self: self.value.dtype)

    def assign(self, value):
        self.value[...] = np.asarray(value, dtype=self.value.dtype)
        return self

    def assign_add(self, value):
        self.value[...] = self.value + np.asarray(value, dtype=self.value.dtype)
        return self

    def assign_sub(self, value):
        self.value[...] = self.value - np.asarray(value, dtype=self.value.dtype)
        return self

    def numpy(self):
        return self.value.copy()

    def __array__(self, dtype=None, copy=None):
        return self.value.astype(dtype) if dtype is not None else self.value.copy()

    def __float__(self):
        return float(self.value)

    def __int__(self):
        return int(self.value)

    def __getitem__(self, index):
        return self.value[index]

    def __repr__(self):
        return f"<MetricVariable '{self.name}' shape={self.value.shape} value={self.value}>"


def _binary(op, reflected=False):
    def method(self, other):
        other = other.value if isinstance(other, MetricVariable) else other
        return op(other, self.value) if reflected else op(self.value, other)
    return method


for _name, _op in [("add", operator.add), ("sub", operator.sub), ("mul", operator.mul),
                   ("truediv", operator.truediv), ("floordiv", operator.floordiv),
                   ("pow", operator.pow), ("mod", operator.mod)]:
    setattr(MetricVariable, f"__{_name}__", _binary(_op))
    setattr(MetricVariable, f"__r{_name}__", _binary(_op, reflected=True))
for _name, _op in [("lt", operator.lt), ("le", operator.le), ("gt", operator.gt),
                   ("ge", operator.ge)]:
    setattr(MetricVariable, f"__{_name}__", _binary(_op))
MetricVariable.__neg__ = lambda self: -self.value
MetricVariable.__abs__ = lambda self: abs(self.value)


def _initial(initializer, shape, dtype):
    if initializer in (None, "zeros", "Zeros"):
        return np.zeros(shape, dtype)
    if initializer in ("ones", "Ones"):
        return np.ones(shape, dtype)
    if callable(initializer):
        return np.asarray(initializer(shape), dtype)
    from fastnn import initializers
    return np.asarray(initializers.get(initializer)(tuple(shape)), dtype)


class Metric:
    """Encapsulates metric logic and state, as `keras.metrics.Metric`.

    Subclasses make their state in `__init__` with `self.add_variable(shape, initializer,
    dtype, aggregation, name)`, and implement `update_state(y_true, y_pred,
    sample_weight=None)` and `result()`; `reset_state()` zeroes every variable.

    >>> class Count(Metric):
    ...     def __init__(self, name="count", **kwargs):
    ...         super().__init__(name=name, **kwargs)
    ...         self.n = self.add_variable(shape=(), initializer="zeros", name="n")
    ...     def update_state(self, y_true, y_pred, sample_weight=None):
    ...         self.n.assign_add(len(y_pred))
    ...     def result(self):
    ...         return self.n
    >>> m = Count(); m.update_state([0, 1], [0, 1]); float(m.result())
    2.0
    """

    def __init__(self, dtype=None, name=None):
        if dtype not in (None, "float32", "float64", np.float32, np.float64):
            raise ValueError(f"fastnn metrics compute in float32/float64; received dtype={dtype!r}")
        # Keras's auto-naming: "auc", then "auc_1", ... for metrics made without a name
        self.name = name or unique_name(snake_case(type(self).__name__))
        self.dtype = "float32"
        self._variables = []

    # ---- state ----------------------------------------------------------------------
    def add_variable(self, shape=(), initializer="zeros", dtype=None, aggregation="sum",
                     name=None):
        if aggregation not in _AGGREGATIONS:
            raise ValueError(f"Invalid value for argument `aggregation`. Expected one of "
                             f"{_AGGREGATIONS}. Received: aggregation={aggregation!r}")
        # Accumulate in float64 (or int64): long epochs lose no counts to rounding.
        kind = np.dtype(dtype or "float32")
        store = np.int64 if kind.kind in "iu" else np.bool_ if kind.kind == "b" else np.float64
        shape = () if shape is None else tuple(np.atleast_1d(shape)) if not isinstance(
            shape, tuple) else shape
        var = MetricVariable(_initial(initializer, shape, store), name or f"variable_{len(self._variables)}",
                             aggregation, initializer)
        self._variables.append(var)
        return var

    def add_weight(self, shape=(), initializer="zeros", dtype=None, aggregation="sum", name=None):
        return self.add_variable(shape, initializer, dtype, aggregation, name)

    @property
    def variables(self):
        return list(self._variables)

    def reset_state(self):
        """Zero every state variable (Keras's default reset)."""
        for v in self._variables:
            v.value[...] = 0

    def update_state(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement update_state()")

    def result(self):
        raise NotImplementedError(f"{type(self).__name__} must implement result()")

    def __call__(self, *args, **kwargs):
        """Update with one batch and return the result, as Keras does."""
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"

    # ---- used by the trainer ------------------------------------------------------------
    def result_value(self):
        """`result()` as a Python float (what logs show), or a float32 array for a
        metric with several values (Precision with a list of thresholds)."""
        r = self.result()
        r = np.asarray(r.value if isinstance(r, MetricVariable) else r)
        return float(r) if r.size == 1 else r.astype(np.float32)


def results_over_ranks(metrics, dist, extra=()):
    """Each metric's result with its variables summed over the data-parallel ranks
    ("mean" aggregation divides by the number of ranks; "only_first_replica" and "none"
    keep this rank's value), in one allreduce together with the numbers in `extra`.
    Returns (summed extra, results); the variables are restored afterwards."""
    variables = [v for m in metrics for v in m.variables]
    flat = [float(x) for x in extra]
    for v in variables:
        flat.extend(np.ravel(v.value).astype(np.float64).tolist())
    summed = np.asarray(dist.sum(flat), dtype=np.float64)
    saved = [v.value.copy() for v in variables]
    try:
        offset = len(extra)
        for v in variables:
            n = v.value.size
            part = summed[offset:offset + n].reshape(v.value.shape)
            offset += n
            if v.aggregation == "sum":
                v.value[...] = part
            elif v.aggregation == "mean":
                v.value[...] = part / dist.size
        return summed[:len(extra)].tolist(), [m.result_value() for m in metrics]
    finally:
        for v, s in zip(variables, saved):
            v.value[...] = s


# ---- reduction metrics ------------------------------------------------------------------

def reduce_to_samplewise(values, sample_weight):
    """Keras's `reduce_to_samplewise_values` (mean reduction): per-sample values, and
    weights of the same length (None without sample weights)."""
    values = np.asarray(values, dtype=np.float64)
    if sample_weight is not None:
        w = np.asarray(sample_weight, dtype=np.float64)
        if w.ndim == values.ndim + 1 and w.shape[-1] == 1:
            w = w[..., 0]
        elif values.ndim == w.ndim + 1 and values.shape[-1] == 1:
            values = values[..., 0]
        if values.ndim > w.ndim:
            values = values.mean(axis=tuple(range(w.ndim, values.ndim)))
        w = np.broadcast_to(w, values.shape)
        values = values * w
        if w.ndim > 1:
            w = w.mean(axis=tuple(range(1, w.ndim)))
        sample_weight = w
    if values.ndim > 1:
        values = values.mean(axis=tuple(range(1, values.ndim)))
    return values, sample_weight


class Mean(Metric):
    """The (weighted) mean of the values given to `update_state(values, sample_weight)`."""

    def __init__(self, name="mean", dtype=None):
        super().__init__(dtype=dtype, name=name)
        self.total = self.add_variable((), "zeros", name="total")
        self.count = self.add_variable((), "zeros", name="count")

    def update_state(self, values, sample_weight=None):
        values, w = reduce_to_samplewise(values, sample_weight)
        self.total.assign_add(np.sum(values))
        self.count.assign_add(values.size if w is None else np.sum(w))

    def result(self):
        count = float(self.count.value)
        return np.float32(float(self.total.value) / count) if count else np.float32(0.0)


class Sum(Metric):
    """The (weighted) sum of the values given to `update_state(values, sample_weight)`."""

    def __init__(self, name="sum", dtype=None):
        super().__init__(dtype=dtype, name=name)
        self.total = self.add_variable((), "zeros", name="total")

    def update_state(self, values, sample_weight=None):
        values, _ = reduce_to_samplewise(values, sample_weight)
        self.total.assign_add(np.sum(values))

    def result(self):
        return np.float32(self.total.value)


class MeanMetricWrapper(Mean):
    """The mean of `fn(y_true, y_pred, **kwargs)` over the samples seen (Keras's wrapper,
    which every built-in pointwise metric is)."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", "mean_metric_wrapper"),
                         dtype=dtype)
        self._fn, self._fn_kwargs = fn, kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        try:
            values = self._fn(np.asarray(y_true), np.asarray(y_pred), **self._fn_kwargs)
        except ValueError as exc:  # name the metric as the user knows it
            head = "Incompatible shapes for metric `"
            if str(exc).startswith(head):
                raise ValueError(f"{head}{self.name}`" + str(exc).split("`", 2)[2]) from None
            raise
        super().update_state(values, sample_weight)

    def get_config(self):
        base = {"name": self.name, "dtype": self.dtype}
        if type(self) is MeanMetricWrapper:
            base["fn"] = getattr(self._fn, "__name__", str(self._fn))
        return {**base, **self._fn_kwargs}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if cls is MeanMetricWrapper:
            from fastnn import metrics
            fn = config.pop("fn")
            return cls(metrics.get_function(fn) if isinstance(fn, str) else fn, **config)
        return cls(**config)
