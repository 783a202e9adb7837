"""The Loss base class: Keras's `reduction`, `sample_weight` and masks, and the training
interface the model uses.

A built-in loss implements `values_and_grad(y_true, y_pred)` -> (values, dvalues): the
per-element losses (y_pred's shape without the last axis, as Keras's loss functions return
them) and the gradient of their *sum* with respect to y_pred.  Everything else (Keras's
reductions, sample weights, the `forward_backward` the trainer calls) is done here, once.

A user's `Loss` subclass overrides `call(y_true, y_pred)` instead; training it needs its
gradient, which comes from the `fastnn.autodiff` tape when that module is present
(`autodiff.value_and_grad(fn)(y_true, y_pred)` -> (values, d sum(values) / d y_pred)).
"""
import numpy as np

from fastnn._eager import eager
from fastnn._validate import kernel_array

EPSILON = 1e-7  # keras.config.epsilon()

REDUCTIONS = ("sum", "sum_over_batch_size", "mean", "mean_with_sample_weight", "none", None)
# Reductions a compiled model can train with: all of them, as in Keras 3.  In fit and
# evaluate Keras reports (and logs) for each batch:
#   "sum_over_batch_size", "mean"     sum(w * l) / l.size, differentiated as such
#   "sum"                              sum(w * l)
#   "mean_with_sample_weight"          sum(w * l) / sum(w)  (l.size without weights)
#   "none", None                       the weighted losses l * w themselves: the logged loss
#                                      is their mean, while the gradient is that of their
#                                      *sum* (a GradientTape differentiates a non-scalar
#                                      target as its sum)
TRAINABLE_REDUCTIONS = REDUCTIONS


def standardize_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"Invalid value for argument `reduction`. Expected one of "
                         f"{REDUCTIONS}. Received: reduction={reduction!r}")
    return reduction


def _masked_weights(sample_weight, mask, reduction):
    """Keras's mask as sample weights: a masked value weighs 0 and, for the mean
    reductions, the kept ones are scaled so the mean is over them only."""
    if mask is None:
        return sample_weight
    mask = np.asarray(mask, dtype=bool)
    if reduction in ("mean", "sum_over_batch_size"):
        valid = mask.sum()
        fmask = np.where(mask, mask.size / valid if valid else 0.0, 0.0)
    else:
        fmask = mask.astype(np.float64)
    return fmask if sample_weight is None else \
        broadcast_weights(np.asarray(sample_weight, np.float64), fmask.shape) * fmask


def reduce_values(values, sample_weight=None, mask=None, reduction="sum_over_batch_size"):
    """Keras's `reduce_weighted_values`: weight, mask, then reduce an array of losses."""
    values = np.asarray(values, dtype=np.float64)
    sample_weight = _masked_weights(sample_weight, mask, reduction)
    weight_sum = None
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, np.float64)
        weight_sum = sample_weight.sum()  # Keras divides by the weights as given
        values = values * broadcast_weights(sample_weight, values.shape)
    if reduction is None or reduction == "none" or values.shape in ((), (0,)):
        return values.astype(np.float32)
    total = values.sum()
    if reduction in ("sum_over_batch_size", "mean", "mean_with_sample_weight"):
        if reduction == "mean_with_sample_weight" and weight_sum is not None:
            divisor = weight_sum
        else:
            divisor = values.size
        total = total / divisor if divisor else 0.0
    return np.float32(total)


def reduction_coefficients(shape, sample_weight=None, mask=None,
                           reduction="sum_over_batch_size"):
    """d reduce_values(values) / d values for losses of `shape` (reduce_values is linear
    in the values): an array of `shape` (for "none", the weights each value is scaled by)."""
    coef = np.ones(shape, np.float64)
    sample_weight = _masked_weights(sample_weight, mask, reduction)
    weight_sum = None
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, np.float64)
        weight_sum = sample_weight.sum()
        coef = coef * broadcast_weights(sample_weight, shape)
    if reduction is None or reduction == "none" or tuple(shape) in ((), (0,)):
        return coef
    if reduction in ("sum_over_batch_size", "mean", "mean_with_sample_weight"):
        divisor = weight_sum if reduction == "mean_with_sample_weight" and \
            weight_sum is not None else int(np.prod(shape))
        coef = coef / divisor if divisor else coef * 0.0
    return coef


def broadcast_weights(w, shape):
    """Sample weights of shape (N,) or (N, ..., 1) against losses of `shape`, as Keras
    squeezes or expands them to the same rank."""
    if w.ndim == len(shape) + 1 and w.shape[-1] == 1:
        w = w[..., 0]
    while w.ndim < len(shape):
        w = w[..., None]
    try:
        return np.broadcast_to(w, shape)
    except ValueError:
        raise ValueError(f"`sample_weight` of shape {w.shape} does not match the losses of "
                         f"shape {tuple(shape)}") from None


def match_rank(y_true, y_pred):
    """Keras's `squeeze_or_expand_to_same_rank` for y_true, then y_true must broadcast to
    y_pred's shape (as Keras's arithmetic broadcasts it)."""
    if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    elif y_true.ndim + 1 == y_pred.ndim and y_pred.shape[-1] == 1:
        y_true = y_true[..., None]
    try:
        fits = np.broadcast_shapes(y_true.shape, y_pred.shape) == y_pred.shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"Arguments `target` and `output` must have the same shape. "
                         f"Received: target.shape={y_true.shape}, output.shape={y_pred.shape}")
    return y_true


def _float(a, what):
    a = np.asarray(a)
    if a.dtype == np.float64:
        return a
    return np.asarray(a, dtype=np.float32) if a.dtype != np.float32 else a


class Loss:
    """Loss base class, as `keras.losses.Loss`.

    Subclasses implement `call(y_true, y_pred)` returning the per-sample losses; calling the
    object applies `sample_weight` and `reduction` and returns a scalar (or the weighted
    losses with `reduction="none"`).

    Args:
        name: the loss's name.
        reduction: "sum_over_batch_size" (default), "sum", "mean",
            "mean_with_sample_weight", "none" or None.
        dtype: only float32 (or None).

    >>> import numpy as np
    >>> class MyMSE(Loss):
    ...     def call(self, y_true, y_pred):
    ...         return np.mean((y_pred - y_true) ** 2, axis=-1)
    >>> float(MyMSE()(np.zeros((2, 2)), np.ones((2, 2))))
    1.0
    """
    fused_activation = None  # the output activation a fused logits path replaces
    output_mask = None  # the model output's Keras mask, set by the trainer around a step

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        if dtype not in (None, "float32", np.float32):
            raise ValueError(f"fastnn computes losses in float32 only; received dtype={dtype!r}")
        self.name = name or getattr(type(self), "default_name", None) or \
            _snake(type(self).__name__)
        self.reduction = standardize_reduction(reduction)
        self.dtype = "float32"

    # ---- Keras's API ----------------------------------------------------------------
    def call(self, y_true, y_pred):
        """Per-sample losses (y_pred's shape without its last axis)."""
        values, _ = self.values_and_grad(*self._standardize(y_true, y_pred), need_grad=False)
        return values

    def __call__(self, y_true, y_pred, sample_weight=None):
        recorded = _recording_slot(y_pred)
        if recorded is not None:  # inside a GradientTape, on a recorded prediction
            return self._recorded_call(recorded, y_true, y_pred, sample_weight)
        y_true, y_pred = self._standardize(y_true, y_pred)
        values = np.asarray(self.call(y_true, y_pred))
        return eager(reduce_values(values, sample_weight, getattr(self, "_last_mask", None),
                                   self.reduction))  # with TensorFlow's .numpy()

    def _recorded_call(self, recorded, y_true, y_pred, sample_weight):
        """The loss as one step of the active tape: the built-in's analytic gradient (a
        `call()` subclass is differentiated by the tape through its ops)."""
        from fastnn.autodiff.tape import value
        tape, slot = recorded
        analytic = self._analytic()
        if analytic is None:
            grad_fn = _autodiff_or_raise(self).value_and_grad(self.call)
            t, p = self._standardize(np.asarray(value(y_true)), np.asarray(value(y_pred)))
            values, dvalues = grad_fn(t, p)
        else:
            t, p = self._standardize(np.asarray(value(y_true)), np.asarray(value(y_pred)))
            values, dvalues = analytic(t, p)
        values = np.asarray(values)
        mask = getattr(self, "_last_mask", None)
        sw = None if sample_weight is None else np.asarray(value(sample_weight))
        out = reduce_values(values, sw, mask, self.reduction)
        coef = reduction_coefficients(values.shape, sw, mask, self.reduction)
        dvalues = np.asarray(dvalues, np.float64)
        shape = np.shape(value(y_pred))

        def vjp(g, needs):
            c = coef * np.asarray(g, np.float64)
            if dvalues.ndim > c.ndim:
                c = c[..., None]
            return (None, (dvalues * c).reshape(shape).astype(np.float32))
        return tape.record(vjp, (-1, slot), np.asarray(out, np.float32))

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config.pop("dtype", None)
        return cls(**config)

    # ---- what built-ins implement -------------------------------------------------
    values_and_grad = None  # (y_true, y_pred, need_grad=True) -> (values, d sum(values)/d y_pred)

    def _standardize(self, y_true, y_pred):
        y_pred = _float(y_pred, "y_pred")
        y_true = _float(y_true, "y_true")
        self._last_mask = None
        return match_rank(y_true, y_pred), y_pred

    # ---- the trainer's interface ------------------------------------------------------
    def prepare_targets(self, y, pred_shape):
        """Targets as training wants them (float32, y_pred's shape), or Keras's ValueError."""
        y = kernel_array(y, np.float32, "y")
        pred_shape = tuple(pred_shape)
        if y.shape != pred_shape:
            if y.ndim == len(pred_shape) - 1 and pred_shape[-1] == 1:
                y = y.reshape(pred_shape)
            else:
                raise ValueError(f"Arguments `target` and `output` must have the same shape. "
                                 f"Received: target.shape={y.shape}, "
                                 f"output.shape={pred_shape} (loss {self.name})")
        return y

    def check_trainable(self):
        """Raise at compile() when the model cannot train with this loss."""
        if self._analytic() is None:
            _autodiff_or_raise(self)

    def _analytic(self):
        """The built-in `values_and_grad`, unless a subclass replaced `call()`."""
        if self.values_and_grad is None or (type(self).call is not Loss.call and
                                            not getattr(self, "_call_is_builtin", False)):
            return None
        return self.values_and_grad

    def forward_backward(self, y_true, y_pred):
        """(per-sample loss (N,), d training loss / d y_pred) for a batch.

        The batch loss (the reduced value Keras reports) is the mean of the per-sample
        losses, so a trainer multiplies both by sample weights and sums (then by
        `weighted_scale(weights)`).  The training loss is the batch loss, except with
        reduction "none" (its gradient is that of the sum, as in Keras)."""
        analytic = self._analytic()
        if analytic is not None:
            self._last_mask = None
            values, dvalues = analytic(y_true, y_pred)
        else:
            self._last_mask = None
            values, dvalues = _autodiff_or_raise(self).value_and_grad(self.call)(y_true, y_pred)
        return self._per_sample(np.asarray(values), np.asarray(dvalues), y_pred)

    def _per_sample(self, values, dvalues, y_pred):
        n = y_pred.shape[0]
        mask = self._last_mask
        output_mask = getattr(self, "output_mask", None)
        if output_mask is not None:  # the model output's Keras mask (set by the trainer)
            keep = _mask_like(output_mask, values)
            values = values * keep
            dvalues = dvalues * (keep[..., None] if dvalues.ndim > keep.ndim else keep)
            mask = self._last_mask = keep if mask is None else mask & keep
        self._valid_per_sample = None if mask is None else \
            np.broadcast_to(mask, values.shape).reshape(n, -1).sum(axis=1)
        if mask is not None and self.reduction in ("mean", "sum_over_batch_size",
                                                   "mean_with_sample_weight"):
            valid = mask.sum()
            scale = 1.0 / valid if valid else 0.0
        elif self.reduction in ("sum", "none", None):
            scale = 1.0
        else:
            scale = 1.0 / max(values.size, 1)
        self._last_count = values.size
        grad = dvalues * scale
        if self.reduction in ("none", None):  # reported: the mean; trained: the sum
            scale = 1.0 / max(values.size, 1)
        per_sample = values.reshape(n, -1).sum(axis=1) * (scale * n)
        return per_sample.astype(np.float32), grad.astype(np.float32, copy=False)

    def weighted_scale(self, weights):
        """The factor the trainer applies to the weighted per-sample losses and gradient
        of the last batch: "mean_with_sample_weight" divides by the weights' sum instead
        of the number of losses (Keras's divide_no_nan: 0 when the weights sum to 0)."""
        if self.reduction != "mean_with_sample_weight" or weights is None:
            return 1.0
        valid = getattr(self, "_valid_per_sample", None)
        if valid is None:
            total, count = float(np.sum(weights, dtype=np.float64)), getattr(self, "_last_count", 0)
        else:  # masked: the weights of the unmasked values only
            total = float(np.sum(np.asarray(weights, np.float64) * valid))
            count = float(np.sum(valid))
        return count / total if total else 0.0


def _mask_like(mask, values):
    """A model output's mask shaped as its loss values, by Keras's rule
    (squeeze_or_expand_to_same_rank: a trailing axis of 1 on either side), or a ValueError."""
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim == values.ndim + 1 and mask.shape[-1] == 1:
        mask = mask[..., 0]
    elif values.ndim == mask.ndim + 1 and values.shape[-1] == 1:
        mask = mask[..., None]
    if mask.shape != values.shape:
        raise ValueError(f"The model output's mask (shape {mask.shape}) does not fit its loss "
                         f"values (shape {values.shape}): Keras weighs each loss value by the "
                         f"mask, so their shapes must agree")
    return mask


def _recording_slot(y_pred):
    """(tape, slot) when a tape records and y_pred is one of its tracked values."""
    try:
        from fastnn.autodiff import tape as _tape
    except ImportError:
        return None
    tape = _tape.current()
    if tape is None:
        return None
    slot = tape.slot_of(y_pred)
    return (tape, slot) if slot >= 0 else None


def _autodiff_or_raise(loss):
    """The tape-based differentiator for a loss defined by `call()` (fastnn.autodiff)."""
    try:
        from fastnn.autodiff import GradientTape  # noqa: F401
    except ImportError:
        raise NotImplementedError(
            f"Loss '{loss.name}' ({type(loss).__name__}) defines only `call()`: training with "
            f"it needs its gradient, which fastnn takes from the differentiable `fastnn.ops` "
            f"tape (fastnn.autodiff, not in this build). Use a built-in loss, or implement "
            f"`values_and_grad(y_true, y_pred, need_grad=True)` returning the per-sample "
            f"losses and the gradient of their sum") from None
    return _TapeDifferentiator


class _TapeDifferentiator:
    """`value_and_grad(fn)(y_true, y_pred)` -> (fn's per-sample values, d sum / d y_pred),
    recording fn (written with keras.ops) on a GradientTape."""

    @staticmethod
    def value_and_grad(fn):
        def run(y_true, y_pred):
            from fastnn.autodiff import GradientTape
            from fastnn.autodiff.tape import value
            y_pred = np.asarray(y_pred)
            with GradientTape() as tape:
                watched = tape.watch(y_pred)
                values = fn(y_true, watched)
            grad = tape.gradient(values, watched)
            values = np.asarray(value(values), dtype=np.float64)
            if grad is None:
                raise ValueError(
                    f"The loss {getattr(fn, '__qualname__', fn)} does not depend on y_pred "
                    f"through differentiable ops: write it with keras.ops "
                    f"(fastnn.autodiff.ops) so fastnn can differentiate it")
            return values, np.asarray(grad)
        return run


def _snake(name):
    import re
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


class LossFunctionWrapper(Loss):
    """A loss object around a function `fn(y_true, y_pred, **kwargs)` (Keras's wrapper).

    Built-in functions (`fastnn.losses.mean_squared_error`, ...) train with their analytic
    gradients; other functions need the `fastnn.autodiff` tape."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", "loss"), reduction=reduction,
                         dtype=dtype)
        self.fn, self._fn_kwargs = fn, kwargs
        from fastnn.losses import _BUILTIN_FUNCTIONS
        cls = _BUILTIN_FUNCTIONS.get(fn)
        self._builtin = None if cls is None else cls(reduction=reduction, **kwargs)

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def __call__(self, y_true, y_pred, sample_weight=None):
        if self._builtin is not None:
            return self._builtin(y_true, y_pred, sample_weight)
        return super().__call__(y_true, y_pred, sample_weight)

    def _analytic(self):
        return None if self._builtin is None else self._builtin._analytic()

    def prepare_targets(self, y, pred_shape):
        if self._builtin is not None:
            return self._builtin.prepare_targets(y, pred_shape)
        return super().prepare_targets(y, pred_shape)

    def forward_backward(self, y_true, y_pred):
        if self._builtin is not None:
            self._builtin.output_mask = getattr(self, "output_mask", None)
            try:
                return self._builtin.forward_backward(y_true, y_pred)
            finally:
                self._builtin.output_mask = None
        return super().forward_backward(y_true, y_pred)

    def get_config(self):
        return {**super().get_config(), "fn": getattr(self.fn, "__name__", str(self.fn)),
                **self._fn_kwargs}
