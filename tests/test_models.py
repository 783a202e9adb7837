"""Models: Sequential, Functional and subclassed; the graph's gradients against a float64 NumPy
version of the same graph; summary(), count_params and weights."""
import re

import numpy as np
import pytest

from conftest import summary_rows
from fastnn.layers import (Add, Concatenate, Conv2D, Dense, Dropout, Flatten, Input,
                           MaxPooling2D)
from fastnn.layers import layer as layer_module
from fastnn.models import Model, Sequential
from fastnn.optimizers import SGD, Adam
from fastnn.utils import set_random_seed, to_categorical


@pytest.fixture
def fresh_names(monkeypatch):
    """Layer names as in a fresh Keras session: 'dense', 'dense_1', ..."""
    monkeypatch.setattr(layer_module, "_name_counts", {})


def blobs(rng, n=240, k=3, d=4, spread=0.4):
    y = rng.integers(0, k, n)
    centers = 2.0 * np.eye(k, d)
    return (centers[y] + rng.normal(0, spread, (n, d))).astype(np.float32), y


def mlp_layers():
    return [Dense(16, activation="relu"), Dense(8, activation="tanh"),
            Dense(3, activation="softmax")]


def summary_lines(model):
    calls = []
    model.summary(print_fn=calls.append, line_length=76)
    return calls[0].splitlines()


# ---- Sequential and Functional ----------------------------------------------------------------

def test_sequential_and_functional_agree_for_identical_weights(rng):
    seq = Sequential([Input((4,))] + mlp_layers())
    inp = Input((4,))
    h = inp
    for layer in mlp_layers():
        h = layer(h)
    fun = Model(inputs=[inp], outputs=[h])
    fun.set_weights(seq.get_weights())
    x, y = blobs(rng, 64)
    np.testing.assert_array_equal(seq.predict(x, verbose=0), fun.predict(x, verbose=0))
    # and they train identically (same data order, same optimizer)
    for m in (seq, fun):
        m.compile(optimizer=SGD(0.05, momentum=0.9), loss="sparse_categorical_crossentropy")
        m.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(seq.get_weights(), fun.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(seq(x), fun(x))


def test_sequential_add_pop_layers_get_layer(rng):
    model = Sequential(name="stack")
    assert model.name == "stack" and model.layers == [] and not model.built
    d1, d2, d3 = Dense(5, input_shape=(3,), name="a"), Dense(4, name="b"), Dense(2, name="c")
    for d in (d1, d2, d3):
        model.add(d)
    assert model.layers == [d1, d2, d3] and model.built
    assert model.output_shape == (None, 2) and model.input_shape == (None, 3)
    assert model.get_layer("b") is d2 and model.get_layer(index=2) is d3
    with pytest.raises(ValueError, match="No such layer"):
        model.get_layer("zzz")
    x = rng.standard_normal((6, 3)).astype(np.float32)
    assert model.predict(x, verbose=0).shape == (6, 2)
    assert model.pop() is d3
    assert model.layers == [d1, d2] and model.output_shape == (None, 4)
    assert model.predict(x, verbose=0).shape == (6, 4)
    assert model.count_params() == 3 * 5 + 5 + 5 * 4 + 4
    with pytest.raises(ValueError, match="unique names"):
        model.add(Dense(2, name="a"))
    with pytest.raises(ValueError):
        model.add("not a layer")


def test_three_ways_to_build_agree(rng):
    set_random_seed(3)
    a = Sequential([Dense(6, input_shape=(4,), activation="relu"), Dense(3)])
    b = Sequential([Input((4,)), Dense(6, activation="relu"), Dense(3)])
    c = Sequential([Dense(6, activation="relu"), Dense(3)])
    assert a.built and b.built and not c.built and c.weights == []
    x, y = blobs(rng, 32)
    c.compile(loss="mse", optimizer=SGD(0.0))
    c.fit(x, to_categorical(y, 3), epochs=1, verbose=0)  # builds lazily from the data
    assert c.built and c.input_shape == (None, 4)
    for m in (a, b, c):
        assert [w.shape for w in m.get_weights()] == [(4, 6), (6,), (6, 3), (3,)]
        assert m.count_params() == 4 * 6 + 6 + 6 * 3 + 3
    b.set_weights(a.get_weights())
    c.set_weights(a.get_weights())
    np.testing.assert_array_equal(a.predict(x, verbose=0), b.predict(x, verbose=0))
    np.testing.assert_array_equal(a.predict(x, verbose=0), c.predict(x, verbose=0))
    def rows(m):
        return [tuple(r[1:3]) for r in summary_rows("\n".join(summary_lines(m)))
                if r[0].endswith("(Dense)")]

    assert rows(a) == rows(b) == rows(c) == [("(None, 6)", "30"), ("(None, 3)", "21")]


# ---- a branching Functional graph: gradients and training ---------------------------------------

def branching_model():
    """Input -> two Dense branches -> Concatenate -> Add of two Dense -> (residual) -> softmax.
    The input, the concatenation and `h` each fan out to two layers."""
    inp = Input((4,))
    a = Dense(5, activation="tanh")(inp)
    b = Dense(3, activation="sigmoid")(inp)
    c = Concatenate()([a, b])
    h = Add()([Dense(6, activation="tanh")(c), Dense(6)(c)])
    r = Add()([h, Dense(6, activation="relu")(h)])
    out = Dense(3, activation="softmax")(r)
    return Model(inputs=inp, outputs=out)


def branching_numpy(w, x):
    """The same graph in float64 NumPy; `w` in the model's get_weights() order."""
    wa, ba, wb, bb, w1, b1, w2, b2, w3, b3, wo, bo = w
    a = np.tanh(x @ wa + ba)
    b = 1 / (1 + np.exp(-(x @ wb + bb)))
    c = np.concatenate([a, b], axis=1)
    h = np.tanh(c @ w1 + b1) + c @ w2 + b2
    r = h + np.maximum(h @ w3 + b3, 0)
    z = r @ wo + bo
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_branching_graph_gradient_matches_finite_differences(rng):
    set_random_seed(7)
    model = branching_model()
    assert [type(l).__name__ for l in model.layers] == [
        "InputLayer", "Dense", "Dense", "Concatenate", "Dense", "Dense", "Add", "Dense", "Add",
        "Dense"]
    x = rng.standard_normal((12, 4))
    y = to_categorical(rng.integers(0, 3, 12), 3)
    w = [v.astype(np.float64) for v in model.get_weights()]
    np.testing.assert_allclose(model.predict(x, verbose=0), branching_numpy(w, x), rtol=1e-5,
                               atol=1e-6)

    def loss():
        return float(-np.mean(np.sum(y * np.log(branching_numpy(w, x)), axis=1)))

    grads = []
    for arr in w:
        g = np.zeros_like(arr)
        for i in np.ndindex(arr.shape):
            old = arr[i]
            arr[i] = old + 1e-6
            hi = loss()
            arr[i] = old - 1e-6
            lo = loss()
            arr[i] = old
            g[i] = (hi - lo) / 2e-6
        grads.append(g)
    model.compile(optimizer=SGD(learning_rate=0.1), loss="categorical_crossentropy")
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), loss(), rtol=1e-5)
    model.train_on_batch(x, y)  # one SGD step: w <- w - 0.1 grad
    for before, g, after in zip(w, grads, model.get_weights()):
        assert np.abs(g).max() > 1e-4  # every weight gets a gradient
        np.testing.assert_allclose((before - after) / 0.1, g, rtol=1e-3, atol=2e-6)


OUTPUT_LOSSES = [  # (activation, loss, targets(rng)): fused softmax/sigmoid and unfused pairs
    ("softmax", "categorical_crossentropy", lambda r: np.eye(3)[r.integers(0, 3, 10)]),
    ("sigmoid", "categorical_crossentropy", lambda r: np.eye(3)[r.integers(0, 3, 10)]),
    ("softmax", "sparse_categorical_crossentropy", lambda r: r.integers(0, 3, 10)),
    ("sigmoid", "sparse_categorical_crossentropy", lambda r: r.integers(0, 3, 10)),
    ("sigmoid", "binary_crossentropy", lambda r: r.integers(0, 2, (10, 3)).astype(float)),
    ("softmax", "binary_crossentropy", lambda r: r.integers(0, 2, (10, 3)).astype(float)),
    ("softmax", "mse", lambda r: r.random((10, 3))),
    ("tanh", "mae", lambda r: r.random((10, 3))),
]
ACT = {"softmax": lambda z: ref_softmax(z), "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
       "tanh": np.tanh}


def numpy_loss(name, y, p):
    q = np.clip(p, 1e-7, 1 - 1e-7)
    if name.startswith("sparse"):
        name, y = "categorical_crossentropy", np.eye(3)[y]
    if name == "categorical_crossentropy":
        return -np.mean(np.sum(y * np.log(np.clip(p / p.sum(1, keepdims=True), 1e-7, 1)), 1))
    if name == "binary_crossentropy":
        return -np.mean(y * np.log(q) + (1 - y) * np.log(1 - q))
    return np.mean((p - y) ** 2) if name == "mse" else np.mean(np.abs(p - y))


@pytest.mark.parametrize("act, loss, targets", OUTPUT_LOSSES,
                         ids=[f"{a}-{l}" for a, l, _ in OUTPUT_LOSSES])
def test_loss_gradient_through_the_output_activation(rng, act, loss, targets):
    x, y = rng.standard_normal((10, 4)), targets(rng)
    model = Sequential([Input((4,)), Dense(3, activation=act)])
    model.compile(optimizer=SGD(1.0, momentum=0.9), loss=loss)  # first step: w - 1.0 * grad
    w, b = [v.astype(np.float64) for v in model.get_weights()]
    f = lambda w: numpy_loss(loss, y, ACT[act](x @ w + b))
    assert model.evaluate(x, y, verbose=0) == pytest.approx(f(w), rel=1e-5)
    grad = np.zeros_like(w)
    for i in np.ndindex(w.shape):
        e = np.zeros_like(w)
        e[i] = 1e-6
        grad[i] = (f(w + e) - f(w - e)) / 2e-6
    model.train_on_batch(x, y)
    np.testing.assert_allclose(w - model.get_weights()[0], grad, rtol=1e-3, atol=1e-6)


def test_branching_graph_trains(rng):
    set_random_seed(11)
    model = branching_model()
    x, y = blobs(rng, 300, spread=0.6)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    before = model.evaluate(x, y, verbose=0)[0]
    history = model.fit(x, y, batch_size=16, epochs=15, verbose=0)
    assert history.history["loss"][-1] < 0.3 * before
    assert model.evaluate(x, y, verbose=0)[1] > 0.9


def test_fan_out_gradients_are_summed(rng):
    """One hidden tensor feeds two Dense layers whose outputs are added: with identical
    branch weights the model equals one branch doubled, and so do the gradients."""
    inp = Input((3,))
    h = Dense(4, activation="tanh")(inp)
    out = Add()([Dense(2)(h), Dense(2)(h)])
    model = Model(inp, out)
    wh, bh, w1, b1, _, _ = model.get_weights()
    model.set_weights([wh, bh, w1, b1, w1, b1])
    ref_model = Sequential([Input((3,)), Dense(4, activation="tanh"), Dense(2)])
    ref_model.set_weights([wh, bh, 2 * w1, 2 * b1])
    x = rng.standard_normal((8, 3)).astype(np.float32)
    y = rng.standard_normal((8, 2)).astype(np.float32)
    np.testing.assert_allclose(model.predict(x, verbose=0), ref_model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
    for m in (model, ref_model):
        m.compile(optimizer=SGD(learning_rate=1.0), loss="mse")
        m.train_on_batch(x, y)
    # the first layer's gradient flows through both branches: identical to the doubled branch
    for a, b in zip(model.get_weights()[:2], ref_model.get_weights()[:2]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert not np.allclose(model.get_weights()[0], wh)


# ---- subclassed models ------------------------------------------------------------------------

class TwoLayerNet(Model):
    def __init__(self):
        super().__init__()
        self.hidden = Dense(16, activation="relu")
        self.drop = Dropout(0.1)
        self.out = Dense(3, activation="softmax")

    def call(self, inputs):
        return self.out(self.drop(self.hidden(inputs)))


def test_subclassed_model_trains(rng):
    set_random_seed(5)
    model = TwoLayerNet()
    assert model.name.startswith("two_layer_net") and not model.built
    x, y = blobs(rng, 240)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=16, epochs=12, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert model.evaluate(x, y, verbose=0)[1] > 0.9
    assert model.layers == [model.hidden, model.drop, model.out]
    assert model.count_params() == 4 * 16 + 16 + 16 * 3 + 3
    p = model.predict(x, verbose=0)
    w = model.get_weights()
    np.testing.assert_allclose(
        p, ref_softmax(np.maximum(x @ w[0] + w[1], 0) @ w[2] + w[3]), rtol=1e-5, atol=1e-6)


def ref_softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# ---- summary -------------------------------------------------------------------------------

def seed_cnn():
    model = Sequential()
    model.add(Conv2D(32, kernel_size=(3, 3), input_shape=(28, 28, 1), activation="relu"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Conv2D(64, kernel_size=(3, 3), activation="relu"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Flatten())
    model.add(Dropout(0.5))
    model.add(Dense(10, activation="softmax"))
    return model


def test_summary_of_the_seed_cnn(fresh_names, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")  # Keras 3: at most the terminal's width - 4
    model = seed_cnn()
    model.summary()
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == 'Model: "sequential"'
    assert lines[1] == "┏" + "━" * 33 + "┳" + "━" * 24 + "┳" + "━" * 15 + "┓"
    assert lines[3] == "┡" + "━" * 33 + "╇" + "━" * 24 + "╇" + "━" * 15 + "┩"
    assert lines[-4] == "└" + "─" * 33 + "┴" + "─" * 24 + "┴" + "─" * 15 + "┘"
    assert lines[2] == "┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃"
    assert "Connected to" not in out and "InputLayer" not in out
    rows = {r[0].split()[0]: tuple(r[1:]) for r in summary_rows(out)[1:]}
    assert rows["conv2d"] == ("(None, 26, 26, 32)", "320")
    assert rows["conv2d_1"] == ("(None, 11, 11, 64)", "18,496")
    assert rows["flatten"] == ("(None, 1600)", "0")
    assert rows["dense"] == ("(None, 10)", "16,010")
    assert "│ max_pooling2d (MaxPooling2D)    │" in out
    assert lines[-3:] == [" Total params: 34,826 (136.04 KB)",
                          " Trainable params: 34,826 (136.04 KB)",
                          " Non-trainable params: 0 (0.00 B)"]
    assert model.count_params() == 34826
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(np.zeros((2, 28, 28, 1), np.float32), np.zeros(2), verbose=0)
    model.summary()
    # Keras 3 counts the optimizer's variables once it has state (Adam: iterations, the
    # learning rate, m and v) in the total
    assert capsys.readouterr().out.splitlines()[-4:] == [
        " Total params: 104,480 (408.13 KB)", " Trainable params: 34,826 (136.04 KB)",
        " Non-trainable params: 0 (0.00 B)", " Optimizer params: 69,654 (272.09 KB)"]


def test_summary_functional_lists_input_layer_and_non_trainable(fresh_names):
    inp = Input((4,), name="features")
    h = Dense(8, activation="relu", trainable=False)(inp)
    model = Model(inputs=inp, outputs=Dense(3)(h))
    lines = summary_lines(model)
    assert lines[0] == 'Model: "functional"'
    text = "\n".join(lines)
    assert summary_rows(text)[1] == ["features (InputLayer)", "(None, 4)", "0"]
    assert "Connected to" not in text  # a chain: no "Connected to" column
    assert lines[-3:] == [" Total params: 67 (268.00 B)", " Trainable params: 27 (108.00 B)",
                          " Non-trainable params: 40 (160.00 B)"]
    seq_text = "\n".join(summary_lines(Sequential([Input((4,)), Dense(3)])))
    assert "InputLayer" not in seq_text


def test_summary_of_a_branching_graph_has_connected_to(fresh_names):
    lines = summary_lines(branching_model())
    text = "\n".join(lines)
    rows = summary_rows(text)
    assert rows[0] == ["Layer (type)", "Output Shape", "Param #", "Connected to"]
    rows = {r[0]: r[1:] for r in rows[1:]}
    assert rows["input_layer (InputLayer)"] == ["(None, 4)", "0", "-"]
    assert rows["concatenate (Concatenate)"] == ["(None, 8)", "0", "dense[0][0], dense_1[0][0]"]
    assert rows["dense (Dense)"] == ["(None, 5)", "25", "input_layer[0][0]"]
    assert f" Total params: {branching_model().count_params()} (" in text


def test_unbuilt_sequential_summary_shows_unbuilt_rows(fresh_names):
    rows = summary_rows("\n".join(summary_lines(Sequential([Dense(3)]))))
    assert rows[1:] == [["dense (Dense)", "?", "0 (unbuilt)"]]  # as Keras 3 shows it


def test_model_weights_round_trip(rng):
    set_random_seed(1)
    a = seed_cnn()
    b = seed_cnn()
    x = rng.standard_normal((3, 28, 28, 1)).astype(np.float32)
    assert not np.allclose(a.predict(x, verbose=0), b.predict(x, verbose=0))
    weights = a.get_weights()
    assert [w.shape for w in weights] == [(3, 3, 1, 32), (32,), (3, 3, 32, 64), (64,),
                                          (1600, 10), (10,)]
    b.set_weights(weights)
    np.testing.assert_array_equal(a.predict(x, verbose=0), b.predict(x, verbose=0))
    weights[0][...] = 0  # get_weights hands out copies
    assert np.abs(a.get_weights()[0]).max() > 0
    with pytest.raises(ValueError, match="expected 6 weights"):
        b.set_weights(weights[:-1])
    with pytest.raises(ValueError, match=r"\(10,\)"):
        b.set_weights(weights[:-1] + [np.zeros(11)])


def test_two_input_functional_model_trains(rng):
    set_random_seed(9)
    a, b = Input((3,)), Input((2,))
    out = Dense(2, activation="softmax")(Concatenate()([Dense(8, activation="tanh")(a), b]))
    model = Model(inputs=[a, b], outputs=out)
    xa, xb = rng.standard_normal((200, 3)), rng.standard_normal((200, 2))
    y = (xa[:, 0] + xb[:, 1] > 0).astype(int)
    model.compile(optimizer=Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit([xa, xb], y, batch_size=16, epochs=20, validation_split=0.2, verbose=0)
    assert history.history["val_accuracy"][-1] > 0.85
    assert model.predict([xa, xb], verbose=0).shape == (200, 2)


def test_calling_a_model_with_training_true_applies_dropout():
    model = Sequential([Input((100,)), Dropout(0.5)])
    y = model(np.ones((4, 100), np.float32), training=True)
    assert np.any(y == 0) and np.any(y == 2)
