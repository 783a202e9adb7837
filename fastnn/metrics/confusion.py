"""Confusion-matrix metrics with Keras's thresholds: TruePositives, FalsePositives,
TrueNegatives, FalseNegatives, Precision, Recall and AUC (ROC or PR, Riemann sums with
Keras's interpolation, "minoring" or "majoring").

A prediction counts as positive at threshold t when y_pred > t.  Evenly spaced thresholds
(AUC's default) use Keras's bucketed O(N + T) count, with its exact bucket arithmetic.
"""
import numpy as np

from fastnn.losses.loss import EPSILON
from fastnn.metrics.metric import Metric

NEG_INF = -1e10


def _thresholds(thresholds, default):
    t = [default] if thresholds is None else \
        [thresholds] if isinstance(thresholds, (int, float)) else list(thresholds)
    for x in t:
        if not isinstance(x, (int, float)) or isinstance(x, bool) or not 0 <= x <= 1 and \
                x != NEG_INF:
            raise ValueError(f"Threshold values must be in [0, 1]. Received: {thresholds}")
    return t


def evenly_distributed(thresholds):
    n = len(thresholds)
    if n < 3:
        return False
    even = np.arange(n, dtype=np.float32) / (n - 1)
    return bool(np.allclose(thresholds, even, atol=EPSILON))


def _filter_top_k(x, k):
    """Keep the k largest scores of each row (lower index first on ties), the rest -1e10."""
    idx = np.argsort(-x, axis=-1, kind="stable")[..., :k]
    keep = np.zeros(x.shape, dtype=x.dtype)
    np.put_along_axis(keep, idx, 1, axis=-1)
    return x * keep + NEG_INF * (1 - keep)


def confusion_counts(y_true, y_pred, thresholds, sample_weight=None, top_k=None, class_id=None,
                     multi_label=False, label_weights=None, evenly=False):
    """(tp, fp, tn, fn) per threshold (and per label with multi_label), as Keras counts
    them: (T,) arrays, or (T, labels)."""
    y_true = np.asarray(y_true, dtype=np.float32)
    y_pred = np.asarray(y_pred, dtype=np.float32)
    if y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
        y_pred = y_pred[..., 0]
    elif y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    if y_true.shape != y_pred.shape:
        raise ValueError(f"Incompatible shapes: y_true.shape={y_true.shape} vs. "
                         f"y_pred.shape={y_pred.shape}")
    w = None
    if sample_weight is not None:
        w = np.asarray(sample_weight, dtype=np.float32)
        w = w.reshape(w.shape + (1,) * (y_true.ndim - w.ndim)) if w.ndim < y_true.ndim else w
    if top_k is not None:
        y_pred = _filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError(f"When class_id is provided, y_pred must be a 2D array with shape "
                             f"(num_samples, num_classes), found shape: {y_pred.shape}")
        y_true, y_pred = y_true[..., class_id, None], y_pred[..., class_id, None]
        if w is not None and w.shape[-1] != 1:
            w = w[..., class_id, None]
    weights = np.ones_like(y_pred) if w is None else np.broadcast_to(w, y_pred.shape)
    if label_weights is not None:
        weights = weights * np.broadcast_to(np.asarray(label_weights, np.float32), y_pred.shape)
    labels = (y_true != 0).astype(np.float32)
    th = np.asarray(thresholds, dtype=np.float32)
    if multi_label:
        labels, y_pred, weights = (a.reshape(-1, a.shape[-1]) for a in (labels, y_pred, weights))
    else:
        labels, y_pred, weights = labels.reshape(-1), y_pred.reshape(-1), weights.reshape(-1)
    pos, neg = labels * weights, (1 - labels) * weights
    if evenly:
        n = len(th)
        p = np.clip(y_pred, 0, 1)
        bucket = np.ceil(p * np.float32(n - 1)) - 1
        if th[0] < 0 or th[-1] > 1:
            bucket = np.maximum(bucket, 0)
        bucket = bucket.astype(np.int64)
        if multi_label:
            tp = np.zeros((n, labels.shape[1])); fp = np.zeros((n, labels.shape[1]))
            cols = np.broadcast_to(np.arange(labels.shape[1]), bucket.shape)
            np.add.at(tp, (bucket, cols), pos)
            np.add.at(fp, (bucket, cols), neg)
        else:
            tp = np.bincount(bucket, pos, minlength=n)[:n]
            fp = np.bincount(bucket, neg, minlength=n)[:n]
        tp = np.cumsum(tp[::-1], axis=0)[::-1]
        fp = np.cumsum(fp[::-1], axis=0)[::-1]
    else:
        above = y_pred[None] > th.reshape((-1,) + (1,) * y_pred.ndim)
        tp = (above * pos).sum(axis=1, dtype=np.float64)
        fp = (above * neg).sum(axis=1, dtype=np.float64)
    total_pos = pos.sum(axis=0, dtype=np.float64)
    total_neg = neg.sum(axis=0, dtype=np.float64)
    return tp, fp, total_neg - fp, total_pos - tp


class _ConfusionMatrixCount(Metric):
    _which = None

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(dtype=dtype, name=name)
        self.init_thresholds = thresholds
        self.thresholds = _thresholds(thresholds, 0.5)
        self._evenly = evenly_distributed(self.thresholds)
        self.accumulator = self.add_variable((len(self.thresholds),), "zeros", name="accumulator")

    def update_state(self, y_true, y_pred, sample_weight=None):
        counts = confusion_counts(y_true, y_pred, self.thresholds, sample_weight,
                                  evenly=self._evenly)
        self.accumulator.assign_add(counts[self._which])

    def result(self):
        r = self.accumulator.value.astype(np.float32)
        return r[0] if len(self.thresholds) == 1 else r

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


def _count_class(name, which, doc):
    def __init__(self, thresholds=None, name=None, dtype=None):
        _ConfusionMatrixCount.__init__(self, thresholds, name, dtype)
    cls = type(name, (_ConfusionMatrixCount,), {"__init__": __init__, "_which": which,
                                               "__doc__": doc, "__module__": __name__})
    return cls


TruePositives = _count_class("TruePositives", 0,
                             "Weighted count of positives predicted positive (y_pred > t).")
FalsePositives = _count_class("FalsePositives", 1,
                              "Weighted count of negatives predicted positive (y_pred > t).")
TrueNegatives = _count_class("TrueNegatives", 2,
                             "Weighted count of negatives predicted negative.")
FalseNegatives = _count_class("FalseNegatives", 3,
                              "Weighted count of positives predicted negative.")


class _PrecisionRecall(Metric):
    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(dtype=dtype, name=name)
        self.init_thresholds, self.top_k, self.class_id = thresholds, top_k, class_id
        self.thresholds = _thresholds(thresholds, 0.5 if top_k is None else NEG_INF)
        self._evenly = evenly_distributed(self.thresholds)
        n = len(self.thresholds)
        self.true_positives = self.add_variable((n,), "zeros", name="true_positives")
        self.other = self.add_variable((n,), "zeros", name=self._other_name)

    def update_state(self, y_true, y_pred, sample_weight=None):
        tp, fp, _, fn = confusion_counts(y_true, y_pred, self.thresholds, sample_weight,
                                         self.top_k, self.class_id, evenly=self._evenly)
        self.true_positives.assign_add(tp)
        self.other.assign_add(fp if self._other_name == "false_positives" else fn)

    def result(self):
        tp = self.true_positives.value
        denom = tp + self.other.value
        r = np.where(denom > 0, tp / np.where(denom > 0, denom, 1), 0).astype(np.float32)
        return r[0] if len(self.thresholds) == 1 else r

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds,
                "top_k": self.top_k, "class_id": self.class_id}


class Precision(_PrecisionRecall):
    """tp / (tp + fp) at each threshold (default 0.5; with top_k, the top k scores of each
    row are the positive predictions).

    Args:
        thresholds: a float or list of floats in [0, 1]. Defaults to 0.5.
        top_k: defaults to None.
        class_id: the one class column to consider. Defaults to None.
    """
    _other_name = "false_positives"

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(thresholds, top_k, class_id, name, dtype)

    @property
    def false_positives(self):
        return self.other


class Recall(_PrecisionRecall):
    """tp / (tp + fn) at each threshold (as Precision's arguments)."""
    _other_name = "false_negatives"

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(thresholds, top_k, class_id, name, dtype)

    @property
    def false_negatives(self):
        return self.other


class AUC(Metric):
    """Area under the ROC or precision-recall curve, from counts at `num_thresholds`
    thresholds (Keras's approximation).

    Args:
        num_thresholds: defaults to 200 (evenly spaced, with -eps and 1 + eps at the ends).
        curve: "ROC" (default) or "PR".
        summation_method: "interpolation" (default; PR uses Davis & Goadrich's
            interpolation), "minoring" or "majoring".
        thresholds: explicit thresholds in [0, 1] instead of num_thresholds.
        multi_label: one curve per label column, averaged (weighted by label_weights).
        num_labels: the number of labels, when multi_label.
        label_weights: per-label weights.
        from_logits: apply a sigmoid to y_pred first.
    """

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, dtype=None, thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):
        super().__init__(dtype=dtype, name=name)
        curve = str(curve).upper()
        if curve not in ("ROC", "PR"):
            raise ValueError(f'Invalid AUC curve value: "{curve}". Expected values are '
                             f'["ROC", "PR"]')
        summation_method = str(summation_method).lower()
        if summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError(f'Invalid AUC summation method value: "{summation_method}". '
                             f'Expected values are ["interpolation", "majoring", "minoring"]')
        self._explicit_thresholds = thresholds is not None
        if thresholds is not None:
            self.num_thresholds = len(thresholds) + 2
            inner = sorted(thresholds)
            self._evenly = evenly_distributed(np.array([0.0] + inner + [1.0]))
        else:
            if num_thresholds <= 1:
                raise ValueError(f"Argument `num_thresholds` must be an integer > 1. "
                                 f"Received: num_thresholds={num_thresholds}")
            self.num_thresholds = int(num_thresholds)
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._evenly = True
        self._thresholds = np.array([0.0 - EPSILON] + inner + [1.0 + EPSILON])
        self.curve, self.summation_method = curve, summation_method
        self.multi_label, self.num_labels = bool(multi_label), num_labels
        self.label_weights = None if label_weights is None else \
            np.asarray(label_weights, np.float32)
        if self.label_weights is not None and np.any(self.label_weights < 0):
            raise ValueError("All values of `label_weights` must be non-negative.")
        self.from_logits = bool(from_logits)
        self._built = False
        if not self.multi_label or num_labels is not None:
            self._build(num_labels)

    @property
    def thresholds(self):
        return list(self._thresholds)

    def _build(self, num_labels):
        shape = (self.num_thresholds, num_labels) if self.multi_label else (self.num_thresholds,)
        self.num_labels = num_labels if self.multi_label else None
        self.true_positives = self.add_variable(shape, "zeros", name="true_positives")
        self.false_positives = self.add_variable(shape, "zeros", name="false_positives")
        self.true_negatives = self.add_variable(shape, "zeros", name="true_negatives")
        self.false_negatives = self.add_variable(shape, "zeros", name="false_negatives")
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = np.asarray(y_pred, dtype=np.float32)
        if not self._built:
            self._build(y_pred.shape[-1])
        if self.from_logits:
            y_pred = (0.5 * (np.tanh(0.5 * y_pred.astype(np.float64)) + 1)).astype(np.float32)
        counts = confusion_counts(y_true, y_pred, self._thresholds, sample_weight,
                                  multi_label=self.multi_label,
                                  label_weights=None if self.multi_label else self.label_weights,
                                  evenly=self._evenly)
        for var, c in zip((self.true_positives, self.false_positives, self.true_negatives,
                           self.false_negatives), counts):
            var.assign_add(c)

    def _interpolate_pr_auc(self, tp, fp, fn):
        with np.errstate(divide="ignore", invalid="ignore"):
            dtp = tp[:-1] - tp[1:]
            p = tp + fp
            dp = p[:-1] - p[1:]
            slope = _div(dtp, np.maximum(dp, 0))
            intercept = tp[1:] - slope * p[1:]
            both = (p[:-1] > 0) & (p[1:] > 0)
            ratio = np.where(both, _div(p[:-1], np.maximum(p[1:], 0)), 1.0)
            return _div(slope * (dtp + intercept * np.log(ratio)), np.maximum(tp[1:] + fn[1:], 0))

    def result(self):
        if not self._built:
            return np.float32(0.0)
        tp, fp = self.true_positives.value, self.false_positives.value
        tn, fn = self.true_negatives.value, self.false_negatives.value
        if self.curve == "PR" and self.summation_method == "interpolation":
            by_label = self._interpolate_pr_auc(tp, fp, fn).sum(axis=0)
        else:
            recall = _div(tp, tp + fn)
            if self.curve == "ROC":
                x, y = _div(fp, fp + tn), recall
            else:
                x, y = recall, _div(tp, tp + fp)
            if self.summation_method == "interpolation":
                heights = (y[:-1] + y[1:]) / 2
            elif self.summation_method == "minoring":
                heights = np.minimum(y[:-1], y[1:])
            else:
                heights = np.maximum(y[:-1], y[1:])
            by_label = ((x[:-1] - x[1:]) * heights).sum(axis=0)
        if not self.multi_label:
            return np.float32(by_label)
        if self.label_weights is None:
            return np.float32(np.mean(by_label))
        total = self.label_weights.sum()
        return np.float32((by_label * self.label_weights).sum() / total if total else 0.0)

    def reset_state(self):
        if self._built:
            super().reset_state()

    def get_config(self):
        config = {"num_thresholds": self.num_thresholds, "curve": self.curve,
                  "summation_method": self.summation_method, "multi_label": self.multi_label,
                  "num_labels": self.num_labels,
                  "label_weights": None if self.label_weights is None
                  else self.label_weights.tolist(),
                  "from_logits": self.from_logits, **super().get_config()}
        if self._explicit_thresholds:
            config["thresholds"] = [float(t) for t in self.thresholds[1:-1]]
        return config


def _div(a, b):
    """Keras's divide_no_nan: 0 where the denominator is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b != 0, a / np.where(b != 0, b, 1), 0.0)
