"""TextVectorization as the first layer of a model fed with raw strings (keras-io "text
classification from scratch"'s end-to-end model): keras.Input(shape=(1,), dtype="string"),
predict / evaluate / fit on string arrays, the vocabulary in the .keras file's assets/
(Keras's layout), files both ways with Keras."""
import os

import numpy as np
import pytest

import fastnn.keras as keras
from fastnn.keras import layers

DATA = os.path.join(os.path.dirname(__file__), "data")
TEXTS = np.array(["a good movie", "a bad movie", "the best film ever", "worst film",
                  "good good fun", "bad bad boring"])
LABELS = np.array([1, 0, 1, 0, 1, 0], np.float32)


def end_to_end():
    vec = layers.TextVectorization(max_tokens=30, output_sequence_length=6)
    vec.adapt(TEXTS)
    inner = keras.Sequential([keras.Input((6,)), layers.Embedding(30, 8),
                              layers.GlobalAveragePooling1D(),
                              layers.Dense(1, activation="sigmoid")])
    inputs = keras.Input(shape=(1,), dtype="string")
    model = keras.Model(inputs, inner(vec(inputs)))
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model, vec, inner


def test_keras_end_to_end_text_model_predicts_on_strings():
    e = np.load(os.path.join(DATA, "keras_text_e2e_expected.npz"))
    model = keras.models.load_model(os.path.join(DATA, "keras_text_e2e.keras"))
    np.testing.assert_allclose(model.predict(e["probe"], verbose=0), e["pred"], rtol=1e-5,
                               atol=1e-6)
    # a flat array of texts for Input(shape=(1,)), as Keras takes it
    np.testing.assert_allclose(model.predict(e["probe"][:, 0], verbose=0), e["pred"],
                               rtol=1e-5, atol=1e-6)


def test_string_model_predicts_evaluates_trains_and_saves(tmp_path):
    model, vec, inner = end_to_end()
    probe = np.array(["a good movie", "worst boring plot"])
    want = inner.predict(vec(probe).astype(np.float32), verbose=0)
    np.testing.assert_allclose(model.predict(probe, verbose=0), want, rtol=1e-6)
    before = model.evaluate(TEXTS, LABELS, verbose=0)[0]
    model.fit(TEXTS, LABELS, epochs=20, verbose=0)
    assert model.evaluate(TEXTS, LABELS, verbose=0)[0] < before
    path = str(tmp_path / "e2e.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(probe, verbose=0),
                                  model.predict(probe, verbose=0))


def test_string_inputs_are_checked():
    model, _, _ = end_to_end()
    with pytest.raises(ValueError, match="expected an array of str"):
        model.predict(np.zeros((2, 1), np.float32), verbose=0)
    with pytest.raises(NotImplementedError, match="runs on strings"):
        layers.TextVectorization()(keras.Input((1,)))  # a float input: refused, as before
    plain = keras.Sequential([layers.Dense(1)])
    with pytest.raises(ValueError):
        plain.predict(np.array(["text"]), verbose=0)


def test_fastnn_text_model_loads_in_keras(tmp_path):
    import subprocess
    import textwrap
    from conftest import keras_python, subprocess_env
    if keras_python() is None:
        pytest.skip("keras with TensorFlow is not installed (nor named by "
                    "FASTNN_TEST_KERAS_PYTHON)")
    model, _, _ = end_to_end()
    probe = np.array([["a good movie"], ["worst boring plot"]])
    model.save(tmp_path / "e2e.keras")
    np.save(tmp_path / "pred.npy", model.predict(probe, verbose=0))
    script = textwrap.dedent(f"""
        import os
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import numpy as np, keras, tensorflow as tf
        m = keras.models.load_model({str(tmp_path / "e2e.keras")!r})
        got = m.predict(tf.constant([["a good movie"], ["worst boring plot"]]), verbose=0)
        np.testing.assert_allclose(got, np.load({str(tmp_path / "pred.npy")!r}), rtol=1e-5,
                                   atol=1e-6)
        print("KERAS-OK")
        """)
    proc = subprocess.run([keras_python(), "-c", script], capture_output=True, text=True,
                          timeout=300, env=subprocess_env(), cwd=str(tmp_path))
    assert "KERAS-OK" in proc.stdout, proc.stderr[-3000:]
