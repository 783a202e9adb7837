"""activity_regularizer on built-in layers, as Keras 3: `regularizer(output) / batch_size`
joins each batch's loss (fit and evaluate), its gradient flows into the layer's backward
pass, and the regularizer is in the layer's config.  Checked against Keras on two models
loaded from Keras files (tests/data/make_activity_fixtures.py): a CNN whose regularized
layers would otherwise be fused (Conv2D+MaxPooling2D, BatchNormalization+ReLU, the softmax
output taken over by the cross-entropy) and an Embedding/LSTM/GRU model; and by finite
differences."""
import os

import numpy as np
import pytest

from fastnn import layers, regularizers
from fastnn.models import Model, Sequential
from fastnn.saving import load_model

DATA = os.path.join(os.path.dirname(__file__), "data")


@pytest.mark.parametrize("name", ["cnn", "rnn"])
def test_training_matches_keras(name, tmp_path):
    f = np.load(os.path.join(DATA, "keras_activity_expected.npz"))
    model = load_model(os.path.join(DATA, f"keras_activity_{name}.keras"))
    assert sum(getattr(l, "activity_regularizer", None) is not None for l in model.layers) >= 3
    x, y = f[f"{name}_x"], f[f"{name}_y"]
    h = model.fit(x, y, batch_size=5, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(h.history["loss"], f[f"{name}_history"], rtol=1e-4)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, f[f"{name}_weight_{i}"], rtol=2e-4, atol=2e-5,
                                   err_msg=f"weight {i}")
    np.testing.assert_allclose(model.evaluate(x, y, batch_size=5, verbose=0),
                               f[f"{name}_evaluate"], rtol=1e-4)
    model.save(tmp_path / "again.keras")
    again = load_model(tmp_path / "again.keras")
    for a, b in zip(model.layers, again.layers):
        assert a.get_config() == b.get_config()


def _loss(model, x, y):
    return model.evaluate(x, y, batch_size=len(x), verbose=0)


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 3)).astype(np.float32)
    y = rng.normal(size=(4, 2)).astype(np.float32)
    inp = layers.Input((3,))
    h = layers.Dense(5, activation="tanh", activity_regularizer=regularizers.l1_l2(0.3, 0.2))(inp)
    out = layers.Dense(2, activity_regularizer=regularizers.l2(0.5))(h)
    model = Model(inp, out)
    model.compile("sgd", "mse")
    model.train_on_batch(x, y)  # builds the training state; then read the gradients
    model._loss_step([x], [y], None, training=True)
    for var in model.trainable_weights:
        analytic = var.grad.copy()
        numeric = np.zeros_like(analytic)
        flat = var.value.reshape(-1)
        for i in range(flat.size):
            keep = flat[i]
            flat[i] = keep + 1e-3
            up = _loss(model, x, y)
            flat[i] = keep - 1e-3
            down = _loss(model, x, y)
            flat[i] = keep
            numeric.reshape(-1)[i] = (up - down) / 2e-3
        np.testing.assert_allclose(analytic, numeric, rtol=2e-2, atol=2e-3, err_msg=var.name)


def test_penalty_is_in_the_loss_divided_by_batch_size():
    x = np.ones((4, 2), np.float32)
    model = Sequential([layers.Input((2,)), layers.Dense(
        3, kernel_initializer="ones", bias_initializer="zeros",
        activity_regularizer=regularizers.l1(0.1))])
    model.compile("sgd", "mse")
    # outputs all 2.0: mse 4.0, penalty 0.1 * (4 * 3 * 2.0) / 4 = 0.6
    assert model.evaluate(x, np.zeros((4, 3)), verbose=0) == pytest.approx(4.6, rel=1e-6)


# Keras 3.15.1 on TensorFlow, the same code with `import keras` (evaluate, then three
# train_on_batch losses): TimeDistributed runs its layer's call() and ignores the inner
# activity_regularizer; Bidirectional calls its two RNNs as layers and adds both penalties.
WRAPPED_KERAS = [
    [0.0305799, 0.0305799, 0.0248085, 0.0229326],
    [0.0129415, 0.0129415, 0.0113875, 0.0100107],
    [0.6363743, 0.6363743, 0.0658848, 0.0400277],
]


@pytest.mark.parametrize("i, make", list(enumerate([
    lambda: layers.TimeDistributed(layers.Dense(2, activity_regularizer="l2")),
    lambda: layers.Bidirectional(layers.LSTM(2, activity_regularizer="l2")),
    lambda: layers.Bidirectional(layers.GRU(2, return_sequences=True,
                                            activity_regularizer="l1"), merge_mode="sum"),
])))
def test_inside_a_wrapper_as_keras(i, make):
    from fastnn import optimizers
    from fastnn.models import Model
    x = np.random.default_rng(0).random((4, 5, 3)).astype("float32")
    inp = layers.Input((5, 3))
    m = Model(inp, make()(inp))
    m.compile(optimizers.SGD(0.5), "mse")
    rr = np.random.default_rng(i)
    m.set_weights([rr.uniform(-0.5, 0.5, w.shape).astype("float32") for w in m.get_weights()])
    y = np.zeros((4,) + m.output_shape[1:], "float32")
    got = [m.evaluate(x, y, verbose=0)] + [m.train_on_batch(x, y) for _ in range(3)]
    np.testing.assert_allclose(got, WRAPPED_KERAS[i], rtol=2e-6, atol=1e-7)
