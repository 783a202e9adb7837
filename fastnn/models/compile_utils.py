"""What `compile()` was given, matched to the model's outputs as Keras matches it.

`loss` may be one loss (used for every output), a list (one per output, None for an
output without a loss) or a dict keyed by output names; `loss_weights` and `metrics`
likewise (metrics: a list for a single-output model; a list of lists or a dict for
several outputs).  The logged names follow Keras 3: `loss` is the weighted sum, and with
more than one loss each output adds `<output>_loss` (unweighted) and each metric is
logged as `<output>_<metric>`.
"""
import numbers

from fastnn import losses, metrics as metrics_module
from fastnn.autodiff import model_losses


class OutputSpec:
    """One model output's loss, loss weight and metrics."""

    def __init__(self, index, name, loss, weight):
        self.index, self.name, self.loss, self.weight = index, name, loss, weight
        self.loss_key = None
        self.metrics = []  # (logged key, metric object)
        self.weighted_keys = set()  # the keys of `weighted_metrics` (given sample weights)


def _per_output(value, names, what, allow_single):
    """`value` spread over the outputs: a list in output order, from a single value, a
    list/tuple or a dict keyed by output names."""
    n = len(names)
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(f"In the dict argument `{what}`, key(s) {unknown} do not "
                             f"correspond to any model output. Received: {what}={value}; "
                             f"the model's outputs are {names}")
        return [value.get(name) for name in names]
    if isinstance(value, (list, tuple)) and (n > 1 or what == "loss_weights" or
                                             (what == "loss" and len(value) == 1)):
        if len(value) != n:
            raise ValueError(f"`{what}` has {len(value)} entries, but the model has {n} "
                             f"outputs {names}; pass one per output (None for none), or a "
                             f"dict keyed by output names")
        return list(value)
    if not allow_single and n > 1:
        raise ValueError(f"Invalid `{what}`: with several outputs it should be a dict or a "
                         f"list matching the outputs of the model {names}. "
                         f"Received: {what}={value!r}")
    return [value] * n


def resolve(model, loss, loss_weights, metrics, weighted_metrics=None):
    """A list of OutputSpec, one per model output."""
    names = model.output_names
    n = len(names)
    loss_list = _per_output(loss, names, "loss", allow_single=True)
    if loss_weights is None:
        weights = [1.0] * n
    elif isinstance(loss_weights, numbers.Real) and not isinstance(loss_weights, bool) and n == 1:
        weights = [loss_weights]
    else:
        weights = [1.0 if w is None else w for w in
                   _per_output(loss_weights, names, "loss_weights", allow_single=False)]
    for w in weights:
        if isinstance(w, bool) or not isinstance(w, numbers.Real) or not w == w or \
                abs(w) == float("inf"):
            raise ValueError(f"`loss_weights` must be finite numbers, received {loss_weights!r}")
    specs = [OutputSpec(k, names[k], None if l is None else losses.get(l), float(w))
             for k, (l, w) in enumerate(zip(loss_list, weights))]
    with_loss = [s for s in specs if s.loss is not None]
    if not with_loss and not model_losses.may_add_losses(model):
        raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")
    used = set()

    def unique(key):  # outputs of one nested model share its name: key, key_1, ...
        base, i = key, 0
        while key in used:
            i += 1
            key = f"{base}_{i}"
        used.add(key)
        return key

    # Keras 3 prefixes the logs with output names only for models that have them
    # (Functional, Sequential); a subclassed model's logs use the losses' own names
    named = _has_output_names(model)
    if n > 1 and len(with_loss) > 1:
        for s, l in zip(specs, loss_list):
            if s.loss is not None:
                s.loss_key = unique(f"{s.name if named else _loss_name(l, s.loss)}_loss")
    for weighted, given in ((False, metrics), (True, weighted_metrics)):
        for spec, ids in zip(specs, _metric_lists(given, names, "weighted_metrics" if weighted
                                                  else "metrics")):
            shape = model.outputs[spec.index].shape
            for ident in ids:
                metric = metrics_module.get(ident, spec.loss, shape)
                prefix = "" if n == 1 or not named else f"{spec.name}_"
                key = prefix + metric.name
                if weighted and key in used:  # Keras 3: a weighted twin is "weighted_<name>"
                    key = f"{prefix}weighted_{metric.name}"
                key = unique(key)
                spec.metrics.append((key, metric))
                if weighted:
                    spec.weighted_keys.add(key)
    return specs


def _metric_lists(metrics, names, what):
    """One list of metric identifiers per output, from `metrics` as compile takes it."""
    n = len(names)
    if metrics is None:
        metric_lists = [[] for _ in names]
    elif n == 1:
        if isinstance(metrics, dict):
            metric_lists = _per_output(metrics, names, what, True)
            metric_lists = [m if isinstance(m, (list, tuple)) else [m] for m in metric_lists]
        elif not isinstance(metrics, (list, tuple)):
            raise ValueError(f"Expected `{what}` to be a list, received "
                             f"{type(metrics).__name__}")
        else:
            metric_lists = [list(metrics)]
    else:
        if isinstance(metrics, (list, tuple)) and metrics and not all(
                isinstance(m, (list, tuple, type(None))) for m in metrics):
            raise ValueError(f"Invalid `{what}`: with several outputs `{what}` should be a "
                             f"dict or a list of lists matching the output names of the model "
                             f"{names}. Received: {what}={list(metrics)!r}")
        metric_lists = _per_output(metrics, names, what, allow_single=False)
        metric_lists = [[] if m is None else list(m) if isinstance(m, (list, tuple)) else [m]
                        for m in metric_lists]
    return metric_lists


def _has_output_names(model):
    from fastnn.models.model import Model
    from fastnn.models.sequential import Sequential
    return isinstance(model, Sequential) or getattr(type(model), "call", None) is Model.call


def _loss_name(identifier, loss):
    """Keras's name for a loss in the logs: the string given, else the object's name."""
    if isinstance(identifier, str):
        return identifier
    return getattr(loss, "name", None) or getattr(identifier, "__name__", "loss")


def log_keys(specs):
    """The keys a step logs, in the order `evaluate` returns them: the loss, the outputs'
    losses in output order, then the metrics (sorted by name with several outputs, as
    Keras orders them)."""
    keys = ["loss"] + [s.loss_key for s in specs if s.loss_key]
    metric_keys = [key for s in specs for key, _ in s.metrics]
    return keys + (sorted(metric_keys) if len(specs) > 1 else metric_keys)


def flatten_logs(logs, specs):
    """`evaluate()`'s list (or scalar) from a logs dict: the `log_keys` order, then any
    other key sorted (Keras 3's `_flatten_metrics_in_order`)."""
    order = log_keys(specs) if specs is not None else ["loss"]
    values = [logs[k] for k in order if k in logs]
    values += [logs[k] for k in sorted(logs) if k not in order]
    return values[0] if len(values) == 1 else values
