"""Keras's metric results on fixed arrays, for tests/test_metrics.py.

Run with TensorFlow/Keras 3 installed (not a fastnn dependency):
    python tests/data/make_metric_fixtures.py   ->   tests/data/keras_metrics.json
Each case updates a metric with two batches (the second with sample weights) and records
the result after each, and the metric's config.
"""
import json
import os

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402


def data(kind, rng, n=8, k=4):
    if kind == "binary":
        return rng.integers(0, 2, (n, 1)).astype(float), rng.uniform(0, 1, (n, 1))
    if kind == "binary_multi":
        return rng.integers(0, 2, (n, k)).astype(float), rng.uniform(0, 1, (n, k))
    if kind == "logits_multi":
        return rng.integers(0, 2, (n, k)).astype(float), rng.normal(0, 2, (n, k))
    if kind == "onehot":
        return np.eye(k)[rng.integers(0, k, n)], rng.dirichlet(np.ones(k), n)
    if kind == "sparse":
        return rng.integers(0, k, n).astype(float), rng.dirichlet(np.ones(k), n)
    if kind == "sparse_col":
        return rng.integers(0, k, (n, 1)).astype(float), rng.dirichlet(np.ones(k), n)
    if kind == "ties":  # top-k with tied scores
        p = np.round(rng.uniform(0, 1, (n, 6)), 1)
        return rng.integers(0, 6, n).astype(float), p
    if kind == "regression":
        return rng.normal(0, 2, (n, k)), rng.normal(0, 2, (n, k))
    if kind == "positive":
        return rng.uniform(0.1, 3, (n, k)), rng.uniform(0.05, 3, (n, k))
    if kind == "exact":
        t = rng.integers(0, 3, (n, k)).astype(float)
        p = t.copy()
        p[::2, 0] += 1
        return t, p
    if kind == "distribution":
        return rng.dirichlet(np.ones(k), n), rng.dirichlet(np.ones(k), n)
    if kind == "pm1":
        return rng.choice([-1.0, 1.0], (n, k)), rng.normal(0, 1.5, (n, k))
    raise ValueError(kind)


CASES = [  # (class, kwargs, data kind)
    ("Accuracy", {}, "exact"),
    ("BinaryAccuracy", {}, "binary"),
    ("BinaryAccuracy", {"threshold": 0.7}, "binary_multi"),
    ("CategoricalAccuracy", {}, "onehot"),
    ("SparseCategoricalAccuracy", {}, "sparse"),
    ("SparseCategoricalAccuracy", {}, "sparse_col"),
    ("TopKCategoricalAccuracy", {"k": 2}, "onehot"),
    ("SparseTopKCategoricalAccuracy", {}, "ties"),
    ("SparseTopKCategoricalAccuracy", {"k": 2}, "ties"),
    ("MeanSquaredError", {}, "regression"),
    ("MeanAbsoluteError", {}, "regression"),
    ("MeanAbsolutePercentageError", {}, "positive"),
    ("MeanSquaredLogarithmicError", {}, "positive"),
    ("RootMeanSquaredError", {}, "regression"),
    ("CosineSimilarity", {}, "regression"),
    ("LogCoshError", {}, "regression"),
    ("Hinge", {}, "pm1"),
    ("SquaredHinge", {}, "pm1"),
    ("CategoricalHinge", {}, "onehot"),
    ("KLDivergence", {}, "distribution"),
    ("Poisson", {}, "positive"),
    ("BinaryCrossentropy", {}, "binary_multi"),
    ("CategoricalCrossentropy", {"label_smoothing": 0.1}, "onehot"),
    ("SparseCategoricalCrossentropy", {}, "sparse"),
    ("TruePositives", {}, "binary_multi"),
    ("FalsePositives", {"thresholds": [0.2, 0.5, 0.9]}, "binary_multi"),
    ("TrueNegatives", {}, "binary"),
    ("FalseNegatives", {"thresholds": [0.0, 0.25, 0.5, 0.75, 1.0]}, "binary_multi"),
    ("Precision", {}, "binary_multi"),
    ("Precision", {"thresholds": [0.3, 0.6]}, "binary_multi"),
    ("Precision", {"top_k": 2}, "binary_multi"),
    ("Precision", {"class_id": 1}, "binary_multi"),
    ("Recall", {}, "binary"),
    ("Recall", {"top_k": 1, "class_id": 2}, "binary_multi"),
    ("AUC", {}, "binary_multi"),
    ("AUC", {"num_thresholds": 11}, "binary"),
    ("AUC", {"curve": "PR"}, "binary_multi"),
    ("AUC", {"curve": "PR", "num_thresholds": 7}, "binary_multi"),
    ("AUC", {"summation_method": "minoring"}, "binary_multi"),
    ("AUC", {"curve": "PR", "summation_method": "majoring"}, "binary_multi"),
    ("AUC", {"thresholds": [0.1, 0.35, 0.5, 0.8]}, "binary_multi"),
    ("AUC", {"multi_label": True, "num_labels": 4}, "binary_multi"),
    ("AUC", {"multi_label": True, "label_weights": [1.0, 2.0, 0.0, 0.5]}, "binary_multi"),
    ("AUC", {"from_logits": True}, "logits_multi"),
]


def main():
    rng = np.random.default_rng(15)
    out = []
    for name, kwargs, kind in CASES:
        m = getattr(keras.metrics, name)(**kwargs)
        t1, p1 = (a.astype(np.float32) for a in data(kind, rng))
        t2, p2 = (a.astype(np.float32) for a in data(kind, rng))
        w2 = rng.uniform(0, 2, len(t2)).astype(np.float32)
        m.update_state(t1, p1)
        r1 = np.asarray(m.result()).tolist()
        m.update_state(t2, p2, sample_weight=w2)
        r2 = np.asarray(m.result()).tolist()
        out.append({"class": name, "kwargs": kwargs, "batches": [
            [t1.tolist(), p1.tolist(), None], [t2.tolist(), p2.tolist(), w2.tolist()]],
            "results": [r1, r2], "config": json.loads(json.dumps(
                m.get_config(), default=lambda o: np.asarray(o).tolist()))})
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keras_metrics.json")
    with open(path, "w") as f:
        json.dump({"keras_version": keras.__version__, "cases": out}, f)
    print(f"wrote {len(out)} cases to {path}")


if __name__ == "__main__":
    main()
