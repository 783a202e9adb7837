"""Per-output sample weights (a list in output order, or a dict keyed by output names):
each output's loss and weighted metrics take their own weights, as in Keras 3."""

import numpy as np
import pytest

import fastnn.keras as keras

SCRIPT = '''
import numpy as np, keras
rng = np.random.default_rng(0)
x = rng.standard_normal((12, 3)).astype("float32")
ya = rng.integers(0, 3, 12); yb = rng.standard_normal((12, 1)).astype("float32")
wa = rng.random(12).astype("float32"); wb = rng.random(12).astype("float32")
inp = keras.Input((3,))
a = keras.layers.Dense(3, activation="softmax", name="a")(inp)
b = keras.layers.Dense(1, name="b")(inp)
m = keras.Model(inp, [a, b])
m.compile(keras.optimizers.SGD(0.1), ["sparse_categorical_crossentropy", "mse"],
          weighted_metrics=[["accuracy"], ["mae"]])
m.set_weights([np.round(np.sin(np.arange(w.size)).reshape(w.shape), 3).astype("float32")
               for w in m.get_weights()])
out = {"eval": m.evaluate(x, [ya, yb], sample_weight=[wa, wb], verbose=0, return_dict=True)}
out["fit"] = m.fit(x, [ya, yb], sample_weight=[wa, wb], batch_size=4, epochs=2, verbose=0,
                   shuffle=False).history
out["w"] = [float(v) for v in m.get_weights()[0].ravel()]
print(repr(out))
'''


def two_outputs():
    inp = keras.Input((3,))
    model = keras.Model(inp, [keras.layers.Dense(3, activation="softmax", name="a")(inp),
                              keras.layers.Dense(1, name="b")(inp)])
    model.compile("sgd", ["sparse_categorical_crossentropy", "mse"])
    return model


RNG = np.random.default_rng(1)
X = RNG.standard_normal((10, 3)).astype(np.float32)
Y = [RNG.integers(0, 3, 10), RNG.standard_normal((10, 1)).astype(np.float32)]
WA, WB = RNG.random(10).astype(np.float32), RNG.random(10).astype(np.float32)


def test_each_output_takes_its_own_weights():
    model = two_outputs()
    both = model.evaluate(X, Y, sample_weight=[WA, WB], verbose=0, return_dict=True)
    only_a = model.evaluate(X, Y, sample_weight=[WA, None], verbose=0, return_dict=True)
    plain = model.evaluate(X, Y, verbose=0, return_dict=True)
    by_name = model.evaluate(X, Y, sample_weight={"b": WB, "a": WA}, verbose=0,
                             return_dict=True)
    assert by_name == both
    assert only_a["a_loss"] == pytest.approx(both["a_loss"])
    assert only_a["b_loss"] == pytest.approx(plain["b_loss"])
    assert both["b_loss"] != pytest.approx(plain["b_loss"])
    assert both["loss"] == pytest.approx(both["a_loss"] + both["b_loss"], rel=1e-6)
    assert model.evaluate(X, Y, sample_weight=[None, None], verbose=0, return_dict=True) == plain


def test_validation_split_and_data_carry_them():
    model = two_outputs()
    h = model.fit(X, Y, sample_weight=[WA, WB], validation_split=0.3, epochs=1, verbose=0)
    assert "val_b_loss" in h.history
    h = model.fit(X, Y, sample_weight=[WA, WB], epochs=1, verbose=0,
                  validation_data=(X, Y, [WA, WB]))
    assert h.history["val_loss"][0] == pytest.approx(
        model.evaluate(X, Y, sample_weight=[WA, WB], verbose=0)[0], rel=1e-6)


def test_bad_per_output_weights():
    model = two_outputs()
    with pytest.raises(ValueError, match="has 1 entries, but the model has 2 outputs"):
        model.evaluate(X, Y, sample_weight=[WA], verbose=0)
    with pytest.raises(ValueError, match=r"keys \['c'\] do not correspond"):
        model.evaluate(X, Y, sample_weight={"c": WA}, verbose=0)
    with pytest.raises(ValueError, match="sample_weight"):
        model.evaluate(X, Y, sample_weight=[WA, WB[:5]], verbose=0)


def test_same_logs_and_weights_as_keras(tmp_path):
    from conftest import keras_python, script_result
    ours = script_result(SCRIPT, tmp_path)
    if keras_python() is None:
        pytest.skip("keras with TensorFlow is not installed (nor named by "
                    "FASTNN_TEST_KERAS_PYTHON)")
    theirs = script_result(SCRIPT, tmp_path, keras=True)
    assert sorted(ours["eval"]) == sorted(theirs["eval"])
    for key in theirs["eval"]:
        assert ours["eval"][key] == pytest.approx(theirs["eval"][key], rel=1e-5)
    for key in theirs["fit"]:
        np.testing.assert_allclose(ours["fit"][key], theirs["fit"][key], rtol=1e-5)
    np.testing.assert_allclose(ours["w"], theirs["w"], rtol=1e-5, atol=1e-6)
