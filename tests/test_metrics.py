"""Metrics against Keras's results (tests/data/keras_metrics.json, made by
tests/data/make_metric_fixtures.py in a TensorFlow venv): two batches each, the second with
sample weights; configs; Metric subclasses; compile() names and shape errors; the
data-parallel aggregation."""
import json
import os

import numpy as np
import pytest

from fastnn import metrics
from fastnn.layers import Dense, Input
from fastnn.models import Sequential

FIXTURES = json.load(open(os.path.join(os.path.dirname(__file__), "data", "keras_metrics.json")))
CASES = FIXTURES["cases"]
IDS = [f"{c['class']}-{i}" for i, c in enumerate(CASES)]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_results_match_keras(case):
    m = getattr(metrics, case["class"])(**case["kwargs"])
    for (t, p, w), expected in zip(case["batches"], case["results"]):
        m.update_state(np.array(t, np.float32), np.array(p, np.float32),
                       sample_weight=None if w is None else np.array(w, np.float32))
        np.testing.assert_allclose(m.result(), expected, rtol=1e-5, atol=1e-6)
    m.reset_state()
    t, p, _ = case["batches"][0]
    assert np.allclose(m(np.array(t, np.float32), np.array(p, np.float32)), case["results"][0],
                       rtol=1e-5, atol=1e-6)  # __call__: update, then result


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_config_matches_keras(case):
    cls = getattr(metrics, case["class"])
    m = cls(**case["kwargs"])
    config, expected = m.get_config(), dict(case["config"])
    strip = lambda name: name.rsplit("_", 1)[0] if name.rsplit("_", 1)[-1].isdigit() else name
    assert strip(config.pop("name")) == strip(expected.pop("name"))  # "auc_3": Keras's count
    assert config == expected
    again = metrics.deserialize(metrics.serialize(m))
    assert type(again) is cls and again.get_config() == m.get_config()


def test_names_default_like_keras():
    assert metrics.SparseCategoricalAccuracy().name == "sparse_categorical_accuracy"
    assert metrics.Mean().name == "mean"
    a, b = metrics.AUC(), metrics.AUC()
    assert a.name.startswith("auc") and b.name != a.name  # Keras: auc, auc_1, ...
    assert metrics.AUC(name="roc").name == "roc"


class BinaryTruePositives(metrics.Metric):
    """The keras-io guide's custom metric."""

    def __init__(self, name="binary_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), initializer="zeros", name="tp")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = np.asarray(y_true, bool)
        y_pred = np.asarray(y_pred) > 0.5
        values = (y_true & y_pred).astype(np.float32)
        if sample_weight is not None:
            values = values * np.asarray(sample_weight, np.float32)
        self.true_positives.assign_add(np.sum(values))

    def result(self):
        return self.true_positives


class RootMeanSquaredError(metrics.Metric):
    """Deep Learning with Python, chapter 7's custom metric (ops spelled with NumPy)."""

    def __init__(self, name="rmse", **kwargs):
        super().__init__(name=name, **kwargs)
        self.mse_sum = self.add_weight(name="mse_sum", initializer="zeros")
        self.total_samples = self.add_weight(name="total_samples", initializer="zeros",
                                             dtype="int32")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = np.eye(y_pred.shape[1])[np.asarray(y_true, int).reshape(-1)]
        self.mse_sum.assign_add(np.sum(np.square(y_true - y_pred)))
        self.total_samples.assign_add(y_pred.shape[0])

    def result(self):
        return np.sqrt(self.mse_sum / self.total_samples)

    def reset_state(self):
        self.mse_sum.assign(0.)
        self.total_samples.assign(0)


def test_metric_subclasses_from_the_guides():
    m = BinaryTruePositives()
    m.update_state([1, 0, 1, 1], [0.9, 0.8, 0.2, 0.7])
    assert float(m.result()) == 2.0
    m.reset_state()
    assert float(m.result()) == 0.0
    assert [v.name for v in m.variables] == ["tp"]


def test_custom_metrics_in_fit_and_evaluate():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4)).astype(np.float32)
    y = rng.integers(0, 3, 40)
    model = Sequential([Input((4,)), Dense(3, activation="softmax")])
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy", RootMeanSquaredError(), metrics.SparseTopKCategoricalAccuracy(k=2)])
    history = model.fit(x, y, epochs=2, batch_size=40, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "rmse", "sparse_top_k_categorical_accuracy"}
    logs = model.evaluate(x, y, batch_size=40, return_dict=True, verbose=0)
    p = model.predict(x, verbose=0)
    onehot = np.eye(3)[y]
    assert logs["rmse"] == pytest.approx(np.sqrt(((onehot - p) ** 2).sum() / 40), rel=1e-5)
    assert logs["accuracy"] == pytest.approx(np.mean(p.argmax(1) == y))


@pytest.mark.parametrize("name, cls", [
    ("precision", metrics.Precision), ("recall", metrics.Recall), ("auc", metrics.AUC),
    ("mae", metrics.MeanMetricWrapper), ("mape", metrics.MeanMetricWrapper),
    ("true_positives", metrics.TruePositives), ("root_mean_squared_error",
                                                 metrics.RootMeanSquaredError),
    ("top_k_categorical_accuracy", metrics.MeanMetricWrapper), ("Precision", metrics.Precision),
    ("log_cosh_error", metrics.LogCoshError), ("binary_accuracy", metrics.MeanMetricWrapper),
])
def test_string_names_resolve_and_log_under_the_string(name, cls):
    m = metrics.get(name)
    assert isinstance(m, cls) and m.name == name


@pytest.mark.parametrize("units, loss, expected", [
    (1, "binary_crossentropy", metrics.BinaryAccuracy),
    (3, "sparse_categorical_crossentropy", metrics.SparseCategoricalAccuracy),
    (3, "categorical_crossentropy", metrics.CategoricalAccuracy),
    (3, "binary_crossentropy", metrics.CategoricalAccuracy),  # Keras's shape rule
])
def test_accuracy_resolves_like_keras(units, loss, expected):
    from fastnn import losses
    m = metrics.get("acc", losses.get(loss), (None, units))
    assert isinstance(m, expected) and m.name == "acc"


def test_shape_mismatch_raises_as_keras():
    model = Sequential([Input((4,)), Dense(3, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", metrics=["mae"])
    x, y = np.ones((5, 4), np.float32), np.array([0, 1, 2, 0, 1])
    with pytest.raises(ValueError, match=r"Incompatible shapes for metric `mae`.*\(5,\).*\(5, 3\)"):
        model.evaluate(x, y, verbose=0)
    with pytest.raises(ValueError, match="Incompatible shapes"):
        metrics.MeanSquaredError().update_state(np.ones((5, 2)), np.ones((5, 3)))
    with pytest.raises(ValueError, match="Could not interpret metric identifier"):
        metrics.get("nope")
    with pytest.raises(ValueError, match="Invalid AUC curve"):
        metrics.AUC(curve="XY")


def test_results_over_ranks_sums_variables():
    class FakeRanks:  # two ranks holding the same state
        size = 2

        def sum(self, values):
            return [2 * v for v in values]
    m = metrics.Precision()
    m.update_state([1, 0, 1], [0.9, 0.8, 0.2])
    a = metrics.Mean()
    a.update_state([1.0, 3.0])
    extra, results = metrics.results_over_ranks([m, a], FakeRanks(), [5.0, 2])
    assert extra == [10.0, 4.0]
    assert results == [pytest.approx(0.5), pytest.approx(2.0)]
    assert float(m.true_positives.value[0]) == 1.0  # restored


def test_metric_objects_saved_in_compile_config(tmp_path):
    from fastnn.saving import load_model
    model = Sequential([Input((4,)), Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy",
                  metrics=["accuracy", metrics.AUC(curve="PR", name="pr_auc"),
                           metrics.Precision(thresholds=[0.3, 0.7], name="precision")])
    x = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.float32)
    want = model.evaluate(x, y, return_dict=True, verbose=0)
    model.save(tmp_path / "m.keras")
    again = load_model(tmp_path / "m.keras")
    got = again.evaluate(x, y, return_dict=True, verbose=0)
    assert list(got) == list(want)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-6)
    assert want["precision"].shape == (2,)
    restored = dict(again._outputs_spec[0].metrics)
    assert again.compiled and isinstance(restored["pr_auc"], metrics.AUC)
    assert restored["pr_auc"].curve == "PR"
