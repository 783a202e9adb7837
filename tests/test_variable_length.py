"""Models over a variable-length time axis (`Input(shape=(None, features))`), as keras.io's
seq2seq example builds them: targets fit an output whose shape holds None, predict sizes
its results from the batches, and `model.input`/`model.output` give the built tensors."""
import numpy as np
import pytest

from fastnn import keras
from fastnn.keras import layers


def _tagger(loss):
    i = keras.Input(shape=(None, 3))
    o = layers.Dense(4, activation="softmax")(layers.LSTM(5, return_sequences=True)(i))
    model = keras.Model(i, o)
    model.compile("adam", loss)
    return model


@pytest.mark.parametrize("loss,target", [
    ("categorical_crossentropy", lambda rng: np.eye(4)[rng.integers(0, 4, (8, 6))]),
    ("sparse_categorical_crossentropy", lambda rng: rng.integers(0, 4, (8, 6))),
    ("mse", lambda rng: rng.random((8, 6, 4))),
])
def test_targets_fit_a_none_time_axis(loss, target):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 6, 3)).astype(np.float32)
    model = _tagger(loss)
    history = model.fit(x, target(rng), epochs=2, batch_size=4, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))


def test_wrong_target_shapes_are_still_refused():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 6, 3)).astype(np.float32)
    with pytest.raises(ValueError, match="must have the same shape"):
        _tagger("categorical_crossentropy").fit(x, np.zeros((8, 6, 5)), verbose=0)
    with pytest.raises(ValueError, match="expects integer labels of shape"):
        _tagger("sparse_categorical_crossentropy").fit(x, np.zeros((8, 6, 2)), verbose=0)


def test_predict_sizes_its_results_from_the_batches():
    model = _tagger("mse")
    for t in (2, 7):
        out = model.predict(np.zeros((5, t, 3), np.float32), batch_size=2, verbose=0)
        assert out.shape == (5, t, 4)


def test_model_input_and_output():
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    y = layers.Dense(1)(layers.Concatenate()([a, b]))
    two = keras.Model([a, b], [y, a])
    assert two.input == [a, b] and two.output == [y, a]
    z = layers.Dense(1)(a)
    one = keras.Model(a, z)
    assert one.input is a and one.output is z
    named = keras.Model({"a": a, "b": b}, {"y": y})
    assert named.input == {"a": a, "b": b} and named.output == {"y": y}
