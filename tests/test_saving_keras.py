"""Files move between Keras 3 and fastnn.

Keras -> fastnn: fixtures written by real Keras 3.15 (tests/data/make_keras_fixtures.py made
them) load in fastnn and predict what Keras predicted.  fastnn -> Keras: when keras is
importable, a subprocess loads fastnn's files in Keras and compares predictions.
"""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from fastnn import layers
from fastnn.models import Model, Sequential, load_model
from fastnn.utils import set_random_seed
from conftest import keras_python, subprocess_env

DATA = os.path.join(os.path.dirname(__file__), "data")


@pytest.fixture(scope="module")
def expected():
    with np.load(os.path.join(DATA, "keras_fixtures_expected.npz")) as f:
        return {k: f[k] for k in f.files}


def seed_cnn():
    return Sequential([layers.Input((28, 28, 1)), layers.Conv2D(32, (3, 3), activation="relu"),
                       layers.MaxPooling2D((2, 2)), layers.Conv2D(64, (3, 3), activation="relu"),
                       layers.MaxPooling2D((2, 2)), layers.Flatten(), layers.Dropout(0.5),
                       layers.Dense(10, activation="softmax")])


def test_keras_seed_cnn_loads_and_predicts_the_same(expected):
    model = load_model(os.path.join(DATA, "keras_seed_cnn.keras"))
    assert [type(l).__name__ for l in model.layers] == [
        "Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten", "Dropout", "Dense"]
    pred = model.predict(expected["cnn_x"], verbose=0)
    np.testing.assert_allclose(pred, expected["cnn_pred"], atol=2e-6, rtol=1e-5)
    assert (pred.argmax(1) == expected["cnn_pred"].argmax(1)).all()
    # compile state came along: Adam with its step count, the loss and the metric
    assert type(model.optimizer).__name__ == "Adam"
    assert model.optimizer.iterations == int(expected["cnn_iterations"]) == 8
    assert model.loss.name == "sparse_categorical_crossentropy"
    model.evaluate(expected["cnn_x"], pred.argmax(1), verbose=0)


def test_keras_seed_cnn_trains_on_after_loading(expected):
    """Resuming a Keras-trained model in fastnn: Adam's moments were restored (the first
    step from a zero state would move the weights much further)."""
    model = load_model(os.path.join(DATA, "keras_seed_cnn.keras"))
    assert model.optimizer._slots is not None
    before = model.get_weights()
    model.fit(expected["cnn_x"], expected["cnn_pred"].argmax(1), epochs=1, verbose=0)
    assert model.optimizer.iterations == 9
    assert all(np.isfinite(w).all() for w in model.get_weights())
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_keras_weights_file_loads_into_a_fastnn_model(expected):
    set_random_seed(0)
    model = seed_cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.load_weights(os.path.join(DATA, "keras_seed_cnn.weights.h5"))
    np.testing.assert_allclose(model.predict(expected["cnn_x"], verbose=0), expected["cnn_pred"],
                               atol=2e-6, rtol=1e-5)
    assert model.optimizer.iterations == 8


def test_keras_functional_model_loads(expected):
    model = load_model(os.path.join(DATA, "keras_functional.keras"))
    assert isinstance(model, Model) and not isinstance(model, Sequential)
    assert [l.name for l in model.layers][:1] == ["features"]
    np.testing.assert_allclose(model.predict(expected["fn_x"], verbose=0), expected["fn_pred"],
                               atol=2e-6, rtol=1e-5)
    assert type(model.optimizer).__name__ == "SGD" and model.optimizer.momentum == 0.9


@pytest.mark.skipif(keras_python() is None,
                    reason="keras with TensorFlow is not installed (nor named by "
                           "FASTNN_TEST_KERAS_PYTHON): the fastnn -> Keras direction is "
                           "checked only where Keras can run")
def test_fastnn_files_load_in_keras(tmp_path):
    set_random_seed(7)
    rng = np.random.default_rng(0)
    x = rng.random((64, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, 64)
    cnn = seed_cnn()
    cnn.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    cnn.fit(x, y, batch_size=32, epochs=1, verbose=0)
    cnn.save(tmp_path / "cnn.keras")
    cnn.save_weights(tmp_path / "cnn.weights.h5")
    inp = layers.Input((6,), name="features")
    a = layers.Dense(4, activation="relu")(inp)
    b = layers.Dense(4)(inp)
    out = layers.Dense(3, activation="softmax")(
        layers.Concatenate()([layers.Add()([a, b]), a]))
    fn = Model(inp, out)
    fn.compile(optimizer="sgd", loss="categorical_crossentropy")
    fn.save(tmp_path / "fn.keras")
    xf = rng.standard_normal((5, 6)).astype(np.float32)
    np.savez(tmp_path / "io.npz", x=x[:8], p=cnn.predict(x[:8], verbose=0), xf=xf,
             pf=fn.predict(xf, verbose=0))
    script = textwrap.dedent(f"""
        import os
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import numpy as np, keras
        d = np.load({str(tmp_path / "io.npz")!r})
        cnn = keras.models.load_model({str(tmp_path / "cnn.keras")!r})
        assert int(cnn.optimizer.iterations.numpy()) == 2, cnn.optimizer.iterations
        np.testing.assert_allclose(cnn.predict(d["x"], verbose=0), d["p"], atol=2e-6, rtol=1e-5)
        cnn.load_weights({str(tmp_path / "cnn.weights.h5")!r})
        np.testing.assert_allclose(cnn.predict(d["x"], verbose=0), d["p"], atol=2e-6, rtol=1e-5)
        fn = keras.models.load_model({str(tmp_path / "fn.keras")!r})
        np.testing.assert_allclose(fn.predict(d["xf"], verbose=0), d["pf"], atol=2e-6, rtol=1e-5)
        print("KERAS-OK")
    """)
    env = subprocess_env()
    proc = subprocess.run([keras_python(), "-c", script], capture_output=True, text=True,
                          timeout=300, env=env)
    assert "KERAS-OK" in proc.stdout, proc.stderr[-3000:]
