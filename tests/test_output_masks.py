"""A model output's Keras mask weighs its loss and its mean metrics, as in Keras: padded
timesteps (Embedding(mask_zero=True), Masking) count for nothing in fit and evaluate."""
import subprocess
import textwrap

import numpy as np
import pytest

import fastnn.keras as keras

X = np.array([[1, 2, 3, 0, 0], [4, 5, 0, 0, 0], [6, 7, 8, 9, 1], [3, 0, 0, 0, 0]])
Y = np.random.default_rng(0).integers(0, 4, (4, 5))
KEEP = X != 0


def tagger(loss="sparse_categorical_crossentropy", activation="softmax", units=4,
           metrics=("accuracy",), optimizer="sgd"):
    """Embedding(mask_zero) -> LSTM(return_sequences) -> Dense: a per-timestep output with
    the input's padding mask, and fixed weights (the same in Keras, below)."""
    inp = keras.Input((5,))
    h = keras.layers.Embedding(10, 4, mask_zero=True)(inp)
    h = keras.layers.LSTM(6, return_sequences=True)(h)
    out = keras.layers.Dense(units, activation=activation)(h)
    model = keras.Model(inp, out)
    model.compile(optimizer, loss, metrics=list(metrics))
    model.set_weights([np.round(np.sin(np.arange(w.size)).reshape(w.shape) * 0.3, 4)
                       .astype(np.float32) for w in model.get_weights()])
    return model


def per_step_ce(model, x=X, y=Y):
    p = model.predict(x, verbose=0).astype(np.float64)
    return -np.log(np.take_along_axis(p, y[..., None], -1)[..., 0]), p


def test_evaluate_averages_loss_and_accuracy_over_unmasked_steps():
    model = tagger()
    ce, p = per_step_ce(model)
    loss, acc = model.evaluate(X, Y, verbose=0, batch_size=4)
    assert loss == pytest.approx(ce[KEEP].mean(), rel=1e-5)
    assert ce.mean() != pytest.approx(ce[KEEP].mean(), rel=1e-3)  # the mask matters here
    assert acc == pytest.approx((p.argmax(-1) == Y)[KEEP].mean(), rel=1e-6)
    assert model.test_on_batch(X, Y)[0] == pytest.approx(loss, rel=1e-6)


@pytest.mark.parametrize("loss", ["sparse_categorical_crossentropy", "categorical_crossentropy",
                                  "logits", "mse"])
def test_targets_at_masked_steps_change_nothing(loss):
    onehot = loss in ("categorical_crossentropy", "mse")
    act = None if loss == "logits" else "softmax"
    fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True) if loss == "logits" \
        else loss
    results = []
    for seed in (1, 2):
        y = np.where(KEEP, Y, np.random.default_rng(seed).integers(0, 4, Y.shape))
        y = np.eye(4, dtype=np.float32)[y] if onehot else y
        model = tagger(loss=fn, activation=act)
        model.fit(X, y, epochs=2, batch_size=2, verbose=0, shuffle=False)
        results.append((model.get_weights(), model.evaluate(X, y, verbose=0)))
    for a, b in zip(results[0][0], results[1][0]):
        np.testing.assert_array_equal(a, b)
    assert results[0][1] == results[1][1]


def test_gradient_is_the_masked_mean_s_by_finite_differences():
    lr = 0.1
    model = tagger(metrics=(), optimizer=keras.optimizers.SGD(learning_rate=lr))
    w0 = model.get_weights()
    model.train_on_batch(X, Y)
    grads = [(a - b) / lr for a, b in zip(w0, model.get_weights())]

    def masked_loss(weights):
        model.set_weights(weights)
        ce, _ = per_step_ce(model)
        return ce[KEEP].mean()

    rng = np.random.default_rng(3)
    for k in (2, 3, 5):  # LSTM kernel, recurrent kernel, Dense kernel
        for _ in range(3):
            idx = tuple(rng.integers(0, s) for s in w0[k].shape)
            eps = 1e-2
            up = [w.astype(np.float64) for w in w0]
            down = [w.astype(np.float64) for w in w0]
            up[k][idx] += eps
            down[k][idx] -= eps
            numeric = (masked_loss([w.astype(np.float32) for w in up]) -
                       masked_loss([w.astype(np.float32) for w in down])) / (2 * eps)
            assert grads[k][idx] == pytest.approx(numeric, abs=2e-4, rel=2e-2)


@pytest.mark.parametrize("reduction", ["sum", "sum_over_batch_size", "mean_with_sample_weight"])
def test_reductions_with_sample_weights(reduction):
    loss = keras.losses.SparseCategoricalCrossentropy(reduction=reduction)
    model = tagger(loss=loss, metrics=())
    ce, _ = per_step_ce(model)
    w = np.array([1.0, 2.0, 0.5, 3.0], np.float32)
    got = model.evaluate(X, Y, sample_weight=w, verbose=0, batch_size=4)
    weighted = ce * w[:, None] * KEEP
    expected = {"sum": weighted.sum(),  # one batch: its value
                "sum_over_batch_size": weighted.sum() / KEEP.sum(),
                "mean_with_sample_weight": weighted.sum() / (w[:, None] * KEEP).sum()}
    assert got == pytest.approx(expected[reduction], rel=1e-5)


def test_a_mask_that_does_not_fit_the_loss_is_a_clear_error():
    class BadMask(keras.layers.Layer):
        def call(self, x):
            return x

        def compute_mask(self, x, mask=None):
            return np.ones((x.shape[0], 3), bool)

    inp = keras.Input((5,))
    h = keras.layers.Embedding(10, 4, mask_zero=True)(inp)
    out = keras.layers.Dense(4, activation="softmax")(BadMask()(h))
    model = keras.Model(inp, out)
    model.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="mask .* does not fit its loss values"):
        model.fit(X, Y, epochs=1, verbose=0)


def test_same_loss_metrics_and_trained_weights_as_keras(tmp_path):
    from conftest import keras_python, subprocess_env
    if keras_python() is None:
        pytest.skip("keras with TensorFlow is not installed (nor named by "
                    "FASTNN_TEST_KERAS_PYTHON)")
    model = tagger()
    before = model.evaluate(X, Y, verbose=0)
    model.fit(X, Y, epochs=2, batch_size=2, verbose=0, shuffle=False)
    after = model.evaluate(X, Y, verbose=0)
    np.savez(tmp_path / "fastnn.npz", *model.get_weights(), before=before, after=after)
    script = textwrap.dedent(f"""
        import os
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import numpy as np, keras
        X = np.array({X.tolist()}); Y = np.array({Y.tolist()})
        inp = keras.Input((5,))
        h = keras.layers.Embedding(10, 4, mask_zero=True)(inp)
        h = keras.layers.LSTM(6, return_sequences=True)(h)
        model = keras.Model(inp, keras.layers.Dense(4, activation="softmax")(h))
        model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
        model.set_weights([np.round(np.sin(np.arange(w.size)).reshape(w.shape) * 0.3, 4)
                           .astype("float32") for w in model.get_weights()])
        ours = np.load({str(tmp_path / "fastnn.npz")!r})
        np.testing.assert_allclose(model.evaluate(X, Y, verbose=0), ours["before"], rtol=1e-5)
        model.fit(X, Y, epochs=2, batch_size=2, verbose=0, shuffle=False)
        np.testing.assert_allclose(model.evaluate(X, Y, verbose=0), ours["after"], rtol=1e-4)
        for i, w in enumerate(model.get_weights()):
            np.testing.assert_allclose(w, ours[f"arr_{{i}}"], rtol=1e-4, atol=1e-5)
        print("KERAS-OK")
        """)
    proc = subprocess.run([keras_python(), "-c", script], capture_output=True, text=True,
                          timeout=300, env=subprocess_env(), cwd=str(tmp_path))
    assert "KERAS-OK" in proc.stdout, proc.stderr[-3000:]
