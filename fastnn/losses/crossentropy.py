"""Cross-entropies (binary, categorical, sparse, and their focal forms) with Keras's maths:
probabilities are clipped to [eps, 1 - eps] (categorical ones renormalized first), the
clipped entries get zero gradient, and `label_smoothing` moves targets toward uniform.

When the model's last activation is the loss's `fused_activation` (softmax for the
categorical losses, sigmoid for binary cross-entropy), the trainer hands over logits and
calls `forward_backward_logits`, exact and stable (Keras on TensorFlow reads the output's
logits the same way).
"""
import numpy as np

from fastnn import _C
from fastnn._validate import kernel_array
from fastnn.losses.loss import EPSILON, Loss, match_rank


def _check_axis(axis, name):
    if axis != -1:
        raise ValueError(f"{name}: fastnn computes losses over the last axis only; "
                         f"received axis={axis!r}")


def _check_smoothing(label_smoothing):
    if not isinstance(label_smoothing, (int, float)) or not 0 <= label_smoothing <= 1:
        raise ValueError(f"`label_smoothing` must be a float in [0, 1], received "
                         f"label_smoothing={label_smoothing!r}")
    return float(label_smoothing)


def _sigmoid(z):
    return 0.5 * (np.tanh(0.5 * z) + 1)


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _through_softmax(dp, p):
    """d/dz from d/dp for p = softmax(z) over the last axis."""
    return p * (dp - (dp * p).sum(axis=-1, keepdims=True))


def _clip_grad(c, p, d):
    """Zero gradient where np.clip changed the value."""
    return np.where(c == p, d, 0)


def _bce_elements(t, p):
    """Keras's elementwise binary cross-entropy on probabilities and d/dp."""
    c = np.clip(p, EPSILON, 1 - EPSILON)
    v = -(t * np.log(c) + (1 - t) * np.log(1 - c))
    return v, _clip_grad(c, p, (c - t) / (c * (1 - c)))


class _Crossentropy(Loss):
    _fused = None

    @property
    def fused_activation(self):
        """The output activation the logits path replaces (None for a subclass whose own
        `call()` defines the loss)."""
        return self._fused if self._analytic() is not None else None

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, name=None,
                 reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        _check_axis(axis, type(self).__name__)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _check_smoothing(label_smoothing)
        self.axis = axis

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class BinaryCrossentropy(_Crossentropy):
    """Mean over the last axis of -(t log p + (1 - t) log(1 - p)).

    Args:
        from_logits: y_pred are logits (no sigmoid applied). Defaults to False.
        label_smoothing: targets become t (1 - s) + s / 2. Defaults to 0.
    """
    _fused = "sigmoid"
    default_name = "binary_crossentropy"

    def _smooth(self, t):
        s = self.label_smoothing
        return t * (1 - s) + 0.5 * s if s else t

    def values_and_grad(self, y_true, y_pred, need_grad=True):
        if self.from_logits:
            return self._logits_values_and_grad(y_true, y_pred)[:2]
        t = self._smooth(y_true)
        v, d = _bce_elements(t, y_pred)
        k = y_pred.shape[-1]
        return v.mean(axis=-1), d / k

    def _logits_values_and_grad(self, y_true, z):
        t = self._smooth(y_true)
        # log(1 + e^z) - t z without overflow
        v = np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))
        p = _sigmoid(z)
        k = z.shape[-1]
        return v.mean(axis=-1), (p - t) / k, p

    def forward_backward_logits(self, y_true, logits):
        self._last_mask = None
        values, dvalues, _ = self._logits_values_and_grad(y_true, logits)
        loss, grad = self._per_sample(values, dvalues, logits)
        return loss, grad, _C.sigmoid_forward(logits)


class BinaryFocalCrossentropy(BinaryCrossentropy):
    """Binary cross-entropy times (1 - p_t)^gamma (Lin et al.), optionally class-balanced
    by alpha for positives and 1 - alpha for negatives.

    Args:
        apply_class_balancing: defaults to False.
        alpha: defaults to 0.25.
        gamma: defaults to 2.0.
        from_logits, label_smoothing: as BinaryCrossentropy.
    """
    _fused = None  # Keras applies the sigmoid, then clips
    default_name = "binary_focal_crossentropy"

    def __init__(self, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                 label_smoothing=0.0, axis=-1, name=None, reduction="sum_over_batch_size",
                 dtype=None):
        super().__init__(from_logits, label_smoothing, axis, name, reduction, dtype)
        self.apply_class_balancing = bool(apply_class_balancing)
        self.alpha, self.gamma = float(alpha), float(gamma)

    def values_and_grad(self, y_true, y_pred, need_grad=True):
        t = self._smooth(y_true)
        p = _sigmoid(y_pred) if self.from_logits else y_pred
        bce, dbce = _bce_elements(t, p)
        one_m_pt = 1 - (t * p + (1 - t) * (1 - p))
        focal = _safe_pow(one_m_pt, self.gamma)
        dfocal = -self.gamma * _safe_pow(one_m_pt, self.gamma - 1) * (2 * t - 1)
        v, d = focal * bce, dfocal * bce + focal * dbce
        if self.apply_class_balancing:
            w = t * self.alpha + (1 - t) * (1 - self.alpha)
            v, d = w * v, w * d
        if self.from_logits:
            d = d * p * (1 - p)
        k = y_pred.shape[-1]
        return v.mean(axis=-1), d / k

    def get_config(self):
        return {**super().get_config(), "apply_class_balancing": self.apply_class_balancing,
                "alpha": self.alpha, "gamma": self.gamma}


def _safe_pow(x, e):
    """x ** e with 0 ** negative taken as 0 (the gradient of (1 - p_t)^gamma at p_t = 1)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.power(np.maximum(x, 0), e)
    return np.where(x > 0, out, 0.0 if e != 0 else 1.0)


class CategoricalCrossentropy(_Crossentropy):
    """-sum(t log p) over the last axis; targets one-hot (or distributions).

    Args:
        from_logits: y_pred are logits. Defaults to False.
        label_smoothing: targets become t (1 - s) + s / num_classes. Defaults to 0.
    """
    _fused = "softmax"
    default_name = "categorical_crossentropy"

    def _smooth(self, t):
        s = self.label_smoothing
        return t * (1 - s) + s / t.shape[-1] if s else t

    def prepare_targets(self, y, pred_shape):
        y = np.asarray(y)
        if y.ndim == len(pred_shape) - 1 and pred_shape[-1] > 1:
            raise ValueError(f"{self.name} expects one-hot targets of shape "
                             f"{tuple(pred_shape)}, but received integer-like labels of shape "
                             f"{y.shape}. Use to_categorical(y) or "
                             f"loss='sparse_categorical_crossentropy'.")
        return super().prepare_targets(y, pred_shape)

    def forward_backward_logits(self, y_true, logits):
        self._last_mask = None
        t = self._smooth(y_true)
        if logits.ndim == 2 and getattr(self, "output_mask", None) is None:
            p, loss = _C.softmax_cross_entropy_forward(logits, kernel_array(t, np.float32, "y"))
            per_sample, _ = self._per_sample(loss, loss, logits)
            scale = per_sample_scale(self, logits)
            return per_sample, _C.softmax_cross_entropy_backward(p, t, scale=scale), p
        values, dvalues = self._logits_values_and_grad(t, logits)
        loss, grad = self._per_sample(values, dvalues, logits)
        return loss, grad, _softmax(logits)

    def _logits_values_and_grad(self, t, z):
        zs = z - z.max(axis=-1, keepdims=True)
        logp = zs - np.log(np.exp(zs).sum(axis=-1, keepdims=True))
        p = np.exp(logp)
        return -(t * logp).sum(axis=-1), p * t.sum(axis=-1, keepdims=True) - t

    def values_and_grad(self, y_true, y_pred, need_grad=True):
        t = self._smooth(y_true)
        if self.from_logits:
            return self._logits_values_and_grad(t, y_pred)
        # Keras: renormalize, clip to [eps, 1 - eps], then -sum t log p.
        s = y_pred.sum(axis=-1, keepdims=True)
        q = y_pred / s
        c = np.clip(q, EPSILON, 1 - EPSILON)
        dq = _clip_grad(c, q, -t / c)
        return -(t * np.log(c)).sum(axis=-1), (dq - (dq * q).sum(axis=-1, keepdims=True)) / s


def per_sample_scale(loss, y_pred):
    """The factor from d sum(values) to d batch-loss for the loss's reduction."""
    if loss.reduction in ("sum", "none", None):  # "none" trains on the sum, as Keras
        return 1.0
    return 1.0 / max(1, int(np.prod(y_pred.shape[:-1])))


class CategoricalFocalCrossentropy(CategoricalCrossentropy):
    """sum over classes of alpha (1 - p)^gamma (-t log p), p renormalized and clipped.

    Args:
        alpha: defaults to 0.25.
        gamma: defaults to 2.0.
        from_logits, label_smoothing: as CategoricalCrossentropy.
    """
    _fused = None
    default_name = "categorical_focal_crossentropy"

    def __init__(self, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1,
                 name=None, reduction="sum_over_batch_size", dtype=None):
        super().__init__(from_logits, label_smoothing, axis, name, reduction, dtype)
        self.alpha, self.gamma = float(alpha), float(gamma)

    def values_and_grad(self, y_true, y_pred, need_grad=True):
        t = self._smooth(y_true)
        p = _softmax(y_pred) if self.from_logits else y_pred
        s = p.sum(axis=-1, keepdims=True)
        q = p / s
        c = np.clip(q, EPSILON, 1 - EPSILON)
        cce = -t * np.log(c)
        mod = (1 - c) ** self.gamma
        v = (self.alpha * mod * cce).sum(axis=-1)
        dc = self.alpha * (-self.gamma * _safe_pow(1 - c, self.gamma - 1) * cce - mod * t / c)
        dq = _clip_grad(c, q, dc)
        dp = (dq - (dq * q).sum(axis=-1, keepdims=True)) / s
        if self.from_logits:
            dp = _through_softmax(dp, p)
        return v, dp

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "gamma": self.gamma}


class SparseCategoricalCrossentropy(CategoricalCrossentropy):
    """Cross-entropy with integer labels in [0, num_classes).

    Args:
        from_logits: defaults to False.
        ignore_class: a label value whose samples count for nothing (their loss is masked
            out of the mean, as in Keras). Defaults to None.
    """
    default_name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits=False, ignore_class=None, axis=-1, name=None,
                 reduction="sum_over_batch_size", dtype=None):
        super().__init__(from_logits, 0.0, axis, name, reduction, dtype)
        if ignore_class is not None and (isinstance(ignore_class, bool) or
                                         not isinstance(ignore_class, (int, np.integer))):
            raise ValueError(f"`ignore_class` must be an int or None, received {ignore_class!r}")
        self.ignore_class = None if ignore_class is None else int(ignore_class)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction, "from_logits": self.from_logits,
                "ignore_class": self.ignore_class}

    def _standardize(self, y_true, y_pred):
        self._last_mask = None
        y_pred = np.asarray(y_pred, dtype=np.float64 if np.asarray(y_pred).dtype == np.float64
                            else np.float32)
        return self._labels(np.asarray(y_true), y_pred.shape), y_pred

    def _labels(self, y, pred_shape):
        pred_shape = tuple(pred_shape)
        if y.ndim == len(pred_shape) and y.shape[-1] == 1:
            y = y[..., 0]
        if y.shape != pred_shape[:-1]:
            k = pred_shape[-1]
            hint = (". For one-hot targets use loss='categorical_crossentropy'."
                    if y.shape == pred_shape and k > 1 else "")
            raise ValueError(f"{self.name} expects integer labels of shape "
                             f"{pred_shape[:-1]}, received shape {y.shape}{hint}")
        if y.size and (not np.all(np.isfinite(y)) or np.any(y != np.round(y))):
            raise ValueError(f"{self.name} expects integer class labels, received "
                             f"non-integer values")
        k = pred_shape[-1]
        # checked on y's own dtype, before the cast: a uint64 2**64-1 must not wrap to -1
        valid = y if self.ignore_class is None else y[y != self.ignore_class]
        if valid.size and (valid.min() < 0 or valid.max() >= k):
            bad = valid.max() if valid.max() >= k else valid.min()
            bad = f"{bad:g}" if y.dtype.kind == "f" else int(bad)
            raise ValueError(f"Received a label value of {bad} which is outside the valid "
                             f"range of [0, {k}). The model has {k} output classes.")
        return y.astype(np.int64)

    def prepare_targets(self, y, pred_shape):
        """int32 labels, keeping a trailing axis of 1 when given (metrics see the labels
        as Keras's do); the loss reads them without it."""
        y = np.asarray(y)
        labels = kernel_array(self._labels(y, pred_shape), np.int32, "y")
        return labels.reshape(y.shape) if y.ndim == len(pred_shape) else labels

    @staticmethod
    def _flat_labels(y_true, y_pred):
        return y_true[..., 0] if y_true.ndim == y_pred.ndim else y_true

    def _onehot(self, labels, y_pred):
        keep = None
        if self.ignore_class is not None:
            keep = labels != self.ignore_class
            labels = np.where(keep, labels, 0)
        onehot = np.zeros(y_pred.shape, y_pred.dtype)
        np.put_along_axis(onehot, labels[..., None].astype(np.int64), 1, axis=-1)
        if keep is not None:
            onehot *= keep[..., None]
        self._last_mask = keep
        return onehot

    def forward_backward_logits(self, y_true, logits):
        y_true = self._flat_labels(y_true, logits)
        if logits.ndim == 2 and self.ignore_class is None and \
                getattr(self, "output_mask", None) is None:
            self._last_mask = None
            p, loss = _C.sparse_softmax_cross_entropy_forward(logits, y_true)
            per_sample, _ = self._per_sample(loss, loss, logits)
            grad = _C.sparse_softmax_cross_entropy_backward(
                p, y_true, scale=per_sample_scale(self, logits))
            return per_sample, grad, p
        onehot = self._onehot(y_true, logits)
        values, dvalues = self._logits_values_and_grad(onehot, logits)
        if self._last_mask is not None:
            dvalues = dvalues * self._last_mask[..., None]
        loss, grad = self._per_sample(values, dvalues, logits)
        return loss, grad, _softmax(logits)

    def values_and_grad(self, y_true, y_pred, need_grad=True):
        onehot = self._onehot(self._flat_labels(y_true, y_pred), y_pred)
        mask = self._last_mask
        values, grad = CategoricalCrossentropy.values_and_grad(self, onehot, y_pred)
        if mask is not None:
            values, grad = values * mask, grad * mask[..., None]
        return values, grad
