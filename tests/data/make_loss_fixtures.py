"""Keras's loss values on fixed arrays, for tests/test_losses.py.

Run with TensorFlow/Keras 3 installed (not a fastnn dependency):
    python tests/data/make_loss_fixtures.py   ->   tests/data/keras_losses.json
"""
import json
import os

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402


def data(kind, rng):
    n, k = 4, 5
    if kind == "binary":
        t = rng.integers(0, 2, (n, k)).astype(float)
        p = rng.uniform(0.02, 0.98, (n, k))
        p[0, 0], p[1, 1] = 0.0, 1.0  # clipped entries
        return t, p
    if kind == "logits_binary":
        return rng.integers(0, 2, (n, k)).astype(float), rng.normal(0, 3, (n, k))
    if kind == "onehot":
        t = np.eye(k)[rng.integers(0, k, n)]
        p = rng.uniform(0.01, 1, (n, k))
        p[0, 0] = 0.0
        return t, p
    if kind == "logits_onehot":
        return np.eye(k)[rng.integers(0, k, n)], rng.normal(0, 3, (n, k))
    if kind == "sparse":
        return rng.integers(0, k, n).astype(float), rng.uniform(0.01, 1, (n, k))
    if kind == "logits_sparse":
        return rng.integers(0, k, n).astype(float), rng.normal(0, 3, (n, k))
    if kind == "regression":
        return rng.normal(0, 2, (n, k)), rng.normal(0, 2, (n, k))
    if kind == "positive":
        t = rng.uniform(0, 3, (n, k))
        t[0, 0] = 0.0
        return t, rng.uniform(0.05, 3, (n, k))
    if kind == "distribution":
        t = rng.uniform(0, 1, (n, k))
        return t / t.sum(1, keepdims=True), rng.uniform(0.01, 1, (n, k))
    if kind == "pm1":
        return rng.choice([-1.0, 1.0], (n, k)), rng.normal(0, 1.5, (n, k))
    if kind == "seq":
        return rng.normal(0, 1, (3, 2, k)), rng.normal(0, 1, (3, 2, k))
    raise ValueError(kind)


CASES = [  # (class name, kwargs, data kind)
    ("BinaryCrossentropy", {}, "binary"),
    ("BinaryCrossentropy", {"label_smoothing": 0.2}, "binary"),
    ("BinaryCrossentropy", {"from_logits": True}, "logits_binary"),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, "logits_binary"),
    ("BinaryFocalCrossentropy", {}, "binary"),
    ("BinaryFocalCrossentropy", {"apply_class_balancing": True, "alpha": 0.4, "gamma": 1.5},
     "binary"),
    ("BinaryFocalCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, "logits_binary"),
    ("CategoricalCrossentropy", {}, "onehot"),
    ("CategoricalCrossentropy", {"label_smoothing": 0.1}, "onehot"),
    ("CategoricalCrossentropy", {"from_logits": True}, "logits_onehot"),
    ("CategoricalFocalCrossentropy", {}, "onehot"),
    ("CategoricalFocalCrossentropy", {"from_logits": True, "alpha": 0.5, "gamma": 3.0,
                                      "label_smoothing": 0.1}, "logits_onehot"),
    ("SparseCategoricalCrossentropy", {}, "sparse"),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, "logits_sparse"),
    ("SparseCategoricalCrossentropy", {"from_logits": True, "ignore_class": 2}, "logits_sparse"),
    ("MeanSquaredError", {}, "regression"),
    ("MeanSquaredError", {}, "seq"),
    ("MeanAbsoluteError", {}, "regression"),
    ("MeanAbsolutePercentageError", {}, "positive"),
    ("MeanSquaredLogarithmicError", {}, "positive"),
    ("Huber", {}, "regression"),
    ("Huber", {"delta": 0.5}, "regression"),
    ("LogCosh", {}, "regression"),
    ("KLDivergence", {}, "distribution"),
    ("Poisson", {}, "positive"),
    ("CosineSimilarity", {}, "regression"),
    ("Hinge", {}, "binary"),
    ("Hinge", {}, "pm1"),
    ("SquaredHinge", {}, "pm1"),
    ("SquaredHinge", {}, "binary"),
    ("CategoricalHinge", {}, "onehot"),
]
REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none"]


def main():
    rng = np.random.default_rng(15)
    out = []
    for name, kwargs, kind in CASES:
        t, p = data(kind, rng)
        w = rng.uniform(0, 2, (len(t),) + (1,) * (t.ndim - 2))
        cls = getattr(keras.losses, name)
        row = {"class": name, "kwargs": kwargs, "y_true": t.tolist(), "y_pred": p.tolist(),
               "sample_weight": w.tolist(), "values": np.asarray(cls(**kwargs, reduction="none")(
                   t, p)).tolist(), "reduced": {}}
        for r in REDUCTIONS:
            row["reduced"][r] = [np.asarray(cls(**kwargs, reduction=r)(t, p)).tolist(),
                                 np.asarray(cls(**kwargs, reduction=r)(t, p, sample_weight=w)
                                            ).tolist()]
        row["config"] = cls(**kwargs).get_config()
        out.append(row)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keras_losses.json")
    with open(path, "w") as f:
        json.dump({"keras_version": keras.__version__, "cases": out}, f)
    print(f"wrote {len(out)} cases to {path}")


if __name__ == "__main__":
    main()
