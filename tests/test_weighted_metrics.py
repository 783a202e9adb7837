"""compile(weighted_metrics=...): metrics given the sample and class weights, with Keras
3's names ("weighted_<name>" beside an unweighted twin), order, configs and custom-step
API (compute_metrics)."""
import subprocess
import textwrap

import numpy as np
import pytest

import fastnn.keras as keras

X = np.linspace(-1, 1, 24, dtype=np.float32).reshape(8, 3)
Y = np.array([0, 1, 2, 1, 0, 2, 2, 1])
W = np.array([1, 2, 0.5, 3, 1, 0, 2, 1], np.float32)


def classifier(**compile_kwargs):
    inp = keras.Input((3,))
    model = keras.Model(inp, keras.layers.Dense(3, activation="softmax")(inp))
    model.set_weights([np.array([[1, -1, 0.5], [0.2, 0.3, -0.4], [-1, 0.5, 1]], np.float32),
                       np.array([0.1, 0, -0.1], np.float32)])
    model.compile(keras.optimizers.SGD(learning_rate=0.0), "sparse_categorical_crossentropy",
                  **compile_kwargs)
    return model


def correct(model):
    return (model.predict(X, verbose=0).argmax(-1) == Y).astype(np.float64)


def test_weighted_and_unweighted_twins():
    model = classifier(metrics=["accuracy"], weighted_metrics=["accuracy"])
    logs = model.evaluate(X, Y, sample_weight=W, verbose=0, return_dict=True)
    c = correct(model)
    assert list(logs) == ["accuracy", "loss", "weighted_accuracy"]
    assert logs["accuracy"] == pytest.approx(c.mean(), rel=1e-6)
    assert logs["weighted_accuracy"] == pytest.approx((c * W).sum() / W.sum(), rel=1e-6)
    values = model.evaluate(X, Y, sample_weight=W, verbose=0)
    assert values == [logs["loss"], logs["accuracy"], logs["weighted_accuracy"]]
    assert model.metrics_names == ["loss", "compile_metrics"]
    # without weights a weighted metric is the plain one
    plain = model.evaluate(X, Y, verbose=0, return_dict=True)
    assert plain["weighted_accuracy"] == plain["accuracy"]


def test_class_weights_reach_weighted_metrics_in_fit():
    model = classifier(weighted_metrics=["accuracy"])
    cw = {0: 1.0, 1: 4.0, 2: 0.5}
    history = model.fit(X, Y, class_weight=cw, batch_size=8, epochs=1, verbose=0)
    w = np.array([cw[int(k)] for k in Y])
    c = correct(model)  # learning rate 0: the model did not change
    assert history.history["accuracy"][0] == pytest.approx((c * w).sum() / w.sum(), rel=1e-6)


def test_multi_output_names_and_config_round_trip(tmp_path):
    inp = keras.Input((3,))
    a = keras.layers.Dense(3, activation="softmax", name="a")(inp)
    b = keras.layers.Dense(1, name="b")(inp)
    model = keras.Model(inp, [a, b])
    model.compile("sgd", ["sparse_categorical_crossentropy", "mse"],
                  metrics={"a": ["accuracy"]}, weighted_metrics={"a": ["accuracy"], "b": ["mae"]})
    y = [Y, X[:, :1]]
    logs = model.evaluate(X, y, sample_weight=W, verbose=0, return_dict=True)
    assert {"a_accuracy", "a_weighted_accuracy", "b_mae"} <= set(logs)
    config = model.get_compile_config()
    assert config["weighted_metrics"] == {"a": ["accuracy"], "b": ["mae"]}
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    again = loaded.evaluate(X, y, sample_weight=W, verbose=0, return_dict=True)
    assert again == pytest.approx(logs, rel=1e-6)


def test_custom_step_compute_metrics_weighs_the_weighted_ones():
    class Custom(keras.Model):
        def train_step(self, data):
            x, y, sw = data
            y_pred = self(x, training=True)
            return self.compute_metrics(x, y, y_pred, sample_weight=sw)

    inp = keras.Input((3,))
    model = Custom(inp, keras.layers.Dense(3, activation="softmax")(inp))
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"],
                  weighted_metrics=["accuracy"])
    c = correct(model)
    logs = model.train_on_batch(X, Y, sample_weight=W, return_dict=True)
    assert logs["accuracy"] == pytest.approx(c.mean(), rel=1e-6)
    assert logs["weighted_accuracy"] == pytest.approx((c * W).sum() / W.sum(), rel=1e-6)
    assert set(model.get_metrics_result()) == {"loss", "accuracy", "weighted_accuracy"}


def test_bad_weighted_metrics():
    with pytest.raises(ValueError, match="Expected `weighted_metrics` argument to be a list"):
        classifier(weighted_metrics="accuracy")
    model = classifier(weighted_metrics=["no_such_metric"])
    with pytest.raises(ValueError, match="no_such_metric"):
        model.evaluate(X, Y, verbose=0)
    assert classifier(weighted_metrics=[]).evaluate(X, Y, verbose=0) > 0  # empty: none


def test_same_logs_as_keras(tmp_path):
    from conftest import keras_python, subprocess_env
    if keras_python() is None:
        pytest.skip("keras with TensorFlow is not installed (nor named by "
                    "FASTNN_TEST_KERAS_PYTHON)")
    model = classifier(metrics=["accuracy", "sparse_categorical_crossentropy"],
                           weighted_metrics=["accuracy", "sparse_categorical_crossentropy"])
    ours = model.evaluate(X, Y, sample_weight=W, verbose=0, return_dict=True)
    cw = {0: 1.0, 1: 4.0, 2: 0.5}
    fit = model.fit(X, Y, class_weight=cw, batch_size=8, verbose=0).history
    script = textwrap.dedent(f"""
        import os
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import numpy as np, keras
        X = np.array({X.tolist()}, "float32"); Y = np.array({Y.tolist()})
        W = np.array({W.tolist()}, "float32")
        inp = keras.Input((3,))
        model = keras.Model(inp, keras.layers.Dense(3, activation="softmax")(inp))
        model.set_weights([np.array([[1, -1, 0.5], [0.2, 0.3, -0.4], [-1, 0.5, 1]], "float32"),
                           np.array([0.1, 0, -0.1], "float32")])
        model.compile(keras.optimizers.SGD(learning_rate=0.0), "sparse_categorical_crossentropy",
                      metrics=["accuracy", "sparse_categorical_crossentropy"],
                      weighted_metrics=["accuracy", "sparse_categorical_crossentropy"])
        logs = model.evaluate(X, Y, sample_weight=W, verbose=0, return_dict=True)
        expected = {ours!r}
        assert list(logs) == list(expected), (list(logs), list(expected))
        np.testing.assert_allclose([logs[k] for k in expected], list(expected.values()),
                                   rtol=1e-5)
        fit = model.fit(X, Y, class_weight={cw!r}, batch_size=8, verbose=0).history
        theirs = {{k: v[0] for k, v in fit.items()}}
        assert sorted(theirs) == {sorted(fit)!r}, sorted(theirs)
        np.testing.assert_allclose([theirs[k] for k in {sorted(fit)!r}],
                                   {[fit[k][0] for k in sorted(fit)]!r}, rtol=1e-5)
        print("KERAS-OK")
        """)
    proc = subprocess.run([keras_python(), "-c", script], capture_output=True, text=True,
                          timeout=300, env=subprocess_env(), cwd=str(tmp_path))
    assert "KERAS-OK" in proc.stdout, proc.stdout[-2000:] + proc.stderr[-3000:]
