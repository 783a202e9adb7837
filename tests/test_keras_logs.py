"""Logs, evaluate() results and metrics_names as Keras 3.15 gives them (each expectation
below was printed by real Keras 3.15.1 on the same program: docs/keras-runner.md)."""
import numpy as np

import fastnn.keras as keras
from fastnn.keras import layers


def data(n=20):
    rng = np.random.default_rng(0)
    return rng.random((n, 4)).astype("float32"), rng.integers(0, 3, n)


def classifier():
    return keras.Sequential([keras.Input((4,)), layers.Dense(3, activation="softmax")])


def test_single_output_names_order_and_types():
    x, y = data()
    m = classifier()
    assert m.metrics_names == []
    m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    assert m.metrics_names == ["loss", "compile_metrics"]
    h = m.fit(x, y, epochs=2, verbose=0, validation_split=0.2)
    assert list(h.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert all(type(v) is float for vs in h.history.values() for v in vs)
    assert m.metrics_names == ["loss", "compile_metrics"]
    values = m.evaluate(x, y, verbose=0)
    logs = m.evaluate(x, y, verbose=0, return_dict=True)
    assert list(logs) == ["accuracy", "loss"] and values == [logs["loss"], logs["accuracy"]]
    assert all(type(v) is float for v in values)
    assert logs["loss"] == float(np.float32(logs["loss"]))  # a float32 result, widened
    assert list(m.train_on_batch(x, y, return_dict=True)) == ["accuracy", "loss"]
    assert list(m.test_on_batch(x, y, return_dict=True)) == ["accuracy", "loss"]


def test_metrics_empty_none_and_a_one_item_loss_list():
    x, y = data()
    m = classifier()
    m.compile("adam", "sparse_categorical_crossentropy", metrics=[])
    assert m.metrics_names == ["loss", "compile_metrics"]
    m.compile("sgd", ["sparse_categorical_crossentropy"])  # one output, a list of one loss
    assert m.metrics_names == ["loss"]
    assert type(m.fit(x, y, verbose=0).history["loss"][0]) is float
    assert type(m.evaluate(x, y, verbose=0)) is float


def test_multi_output_names_and_orders():
    x, y = data()
    inp = keras.Input((4,))
    zz = layers.Dense(3, activation="softmax", name="zz")(inp)
    aa = layers.Dense(1, name="aa")(inp)
    m = keras.Model(inp, [zz, aa])
    m.compile("adam", ["sparse_categorical_crossentropy", "mse"],
              metrics=[["accuracy"], ["mse", "mae"]])
    assert m.metrics_names == ["loss", "compile_metrics"]  # output losses once data is seen
    targets = [y, x[:, :1]]
    logs = m.evaluate(x, targets, verbose=0, return_dict=True)
    assert m.metrics_names == ["loss", "compile_metrics", "zz_loss", "aa_loss"]
    assert list(logs) == ["aa_loss", "aa_mae", "aa_mse", "loss", "zz_accuracy", "zz_loss"]
    values = m.evaluate(x, targets, verbose=0)
    assert values == [logs[k] for k in ["loss", "zz_loss", "aa_loss", "aa_mae", "aa_mse",
                                        "zz_accuracy"]]
    h = m.fit(x, targets, verbose=0, validation_split=0.25)
    assert list(h.history) == sorted(logs) + ["val_" + k for k in sorted(logs)]
