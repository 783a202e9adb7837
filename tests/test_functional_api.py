"""The Functional API as the Keras 3 guides use it: nested models, shared layers, several
inputs and outputs, layers with several outputs, feature extraction, build(), attribute
tracking, and files with all of these moving both ways between fastnn and Keras."""
import os
import subprocess
import textwrap

import numpy as np
import pytest

from conftest import keras_python, subprocess_env
from conftest import summary_rows
from fastnn.layers import (Activation, Add, Concatenate, Dense, Dropout, Input, Layer)
from fastnn.models import Model, Sequential, load_model
from fastnn.utils import set_random_seed

DATA = os.path.join(os.path.dirname(__file__), "data")


def blobs(rng, n, d=4, k=3):
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = np.eye(k, dtype=np.float32)[rng.integers(0, k, n)]
    return x, y


# ---- nested models -------------------------------------------------------------------
def test_model_used_as_a_layer_in_sequential_trains(rng):
    set_random_seed(1)
    base = Sequential([Input((4,)), Dense(8, activation="relu"), Dense(3)])
    model = Sequential([base, Activation("softmax")])
    assert model.output_shape == (None, 3)
    x, y = blobs(rng, 64)
    np.testing.assert_allclose(model.predict(x, verbose=0),
                               np.exp(base.predict(x, verbose=0)) /
                               np.exp(base.predict(x, verbose=0)).sum(1, keepdims=True),
                               rtol=1e-5, atol=1e-6)
    model.compile("adam", "categorical_crossentropy")
    before = base.get_weights()
    loss = model.fit(x, y, epochs=3, verbose=0).history["loss"]
    assert loss[-1] < loss[0]
    assert not np.array_equal(before[0], base.get_weights()[0])  # the inner model trained
    assert len(model.weights) == 4 and model.count_params() == base.count_params()


def test_autoencoder_from_encoder_and_decoder(rng):
    """The functional-API guide's autoencoder: two models, one called on the other's output."""
    enc_in = Input((6,), name="img")
    encoder = Model(enc_in, Dense(2, activation="relu")(Dense(4, activation="relu")(enc_in)),
                    name="encoder")
    dec_in = Input((2,), name="encoded")
    decoder = Model(dec_in, Dense(6)(Dense(4, activation="relu")(dec_in)), name="decoder")
    auto_in = Input((6,), name="auto_in")
    autoencoder = Model(auto_in, decoder(encoder(auto_in)), name="autoencoder")
    assert [l.name for l in autoencoder.layers] == ["auto_in", "encoder", "decoder"]
    x = rng.standard_normal((32, 6)).astype(np.float32)
    np.testing.assert_array_equal(autoencoder.predict(x, verbose=0),
                                  decoder.predict(encoder.predict(x, verbose=0), verbose=0))
    autoencoder.compile("adam", "mse")
    h = autoencoder.fit(x, x, epochs=4, batch_size=8, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]


def _dense_pair(rng, d_in, d_out):
    w = rng.standard_normal((d_in, d_out)).astype(np.float32)
    b = rng.standard_normal(d_out).astype(np.float32)
    return [w, b]


def test_nested_model_gradients_equal_the_flat_model(rng):
    w1, w2 = _dense_pair(rng, 4, 5), _dense_pair(rng, 5, 3)
    inner_in = Input((4,))
    inner = Model(inner_in, Dense(5, activation="tanh")(inner_in))
    inp = Input((4,))
    nested = Model(inp, Dense(3)(inner(inp)))
    flat_in = Input((4,))
    flat = Model(flat_in, Dense(3)(Dense(5, activation="tanh")(flat_in)))
    nested.set_weights(w1 + w2)
    flat.set_weights(w1 + w2)
    x, y = blobs(rng, 16)
    for m in (nested, flat):
        m.compile("sgd", "mse")
        m.train_on_batch(x, y)
    for a, b in zip(nested.get_weights(), flat.get_weights()):
        np.testing.assert_array_equal(a, b)


# ---- shared layers -------------------------------------------------------------------
def test_shared_layer_gradient_is_the_sum_over_its_calls(rng):
    """A Dense called on two inputs trains exactly like two Dense layers whose gradients
    are added (checked through one SGD step from the same weights)."""
    w_shared, w_out = _dense_pair(rng, 4, 3), _dense_pair(rng, 3, 2)
    a, b = Input((4,)), Input((4,))
    shared = Dense(3, activation="tanh")
    head = Dense(2)
    model = Model([a, b], head(Add()([shared(a), shared(b)])))
    model.set_weights(w_shared + w_out)
    assert len(shared._inbound_nodes) == 2 and len(model.weights) == 4
    x1, x2 = (rng.standard_normal((8, 4)).astype(np.float32) for _ in range(2))
    y = rng.standard_normal((8, 2)).astype(np.float32)
    model.compile("sgd", "mse")
    model.train_on_batch([x1, x2], y)
    # the same step in float64 NumPy
    w, bias = (t.astype(np.float64) for t in w_shared)
    wo, bo = (t.astype(np.float64) for t in w_out)
    h1, h2 = np.tanh(x1 @ w + bias), np.tanh(x2 @ w + bias)
    out = (h1 + h2) @ wo + bo
    dout = 2 * (out - y) / out.size
    dh = dout @ wo.T
    d1, d2 = dh * (1 - h1 ** 2), dh * (1 - h2 ** 2)
    gw = x1.T @ d1 + x2.T @ d2
    gb = d1.sum(0) + d2.sum(0)
    np.testing.assert_allclose(model.get_weights()[0], w - 0.01 * gw, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.get_weights()[1], bias - 0.01 * gb, rtol=1e-5, atol=1e-6)


def test_siamese_towers_share_a_nested_model(rng):
    set_random_seed(1)  # the initial weights and dropout masks, whatever ran before
    tower_in = Input((5,))
    tower = Model(tower_in, Dense(4, activation="relu")(Dropout(0.2)(tower_in)))
    left, right = Input((5,)), Input((5,))
    merged = Concatenate()([tower(left), tower(right)])
    model = Model([left, right], Dense(1, activation="sigmoid")(merged))
    assert len(model.weights) == 4  # the tower's weights once
    xl, xr = (rng.standard_normal((40, 5)).astype(np.float32) for _ in range(2))
    y = (xl.sum(1) > xr.sum(1)).astype(np.float32)
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    h = model.fit([xl, xr], y, epochs=5, batch_size=8, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    # the same tower applied to both sides at inference
    p = model.predict([xl, xl], verbose=0)
    q = model.predict([xr, xr], verbose=0)
    assert p.shape == q.shape == (40, 1)


# ---- several inputs and outputs --------------------------------------------------------
def _ticket_model():
    """The functional-API guide's ticket model, small."""
    title = Input((6,), name="title")
    body = Input((5,), name="body")
    tags = Input((4,), name="tags")
    x = Concatenate()([Dense(8, activation="relu")(title), Dense(8, activation="relu")(body),
                       tags])
    priority = Dense(1, name="priority")(x)
    department = Dense(3, activation="softmax", name="department")(x)
    return Model(inputs=[title, body, tags], outputs={"priority": priority,
                                                      "department": department})


def _ticket_data(rng, n=48):
    xs = {"title": rng.standard_normal((n, 6)).astype(np.float32),
          "body": rng.standard_normal((n, 5)).astype(np.float32),
          "tags": rng.integers(0, 2, (n, 4)).astype(np.float32)}
    ys = {"priority": rng.random((n, 1)).astype(np.float32),
          "department": np.eye(3, dtype=np.float32)[rng.integers(0, 3, n)]}
    return xs, ys


def test_multi_input_multi_output_training_with_dicts(rng):
    set_random_seed(3)
    model = _ticket_model()
    model.compile("rmsprop", loss={"priority": "mse", "department": "categorical_crossentropy"},
                  loss_weights={"priority": 1.0, "department": 0.2},
                  metrics={"department": ["accuracy"], "priority": ["mae"]})
    xs, ys = _ticket_data(rng)
    h = model.fit(xs, ys, epochs=2, batch_size=16, verbose=0, validation_split=0.25)
    assert set(h.history) == {"loss", "priority_loss", "department_loss", "priority_mae",
                              "department_accuracy", "val_loss", "val_priority_loss",
                              "val_department_loss", "val_priority_mae",
                              "val_department_accuracy"}
    logs = model.evaluate(xs, ys, verbose=0, return_dict=True)
    np.testing.assert_allclose(logs["loss"], logs["priority_loss"] + 0.2 * logs["department_loss"],
                               rtol=1e-5)
    values = model.evaluate(xs, ys, verbose=0)
    # Keras 3: names of the metric objects; evaluate's list is the loss, the outputs'
    # losses, then the metrics sorted; the dict is sorted
    assert model.metrics_names == ["loss", "compile_metrics", "priority_loss",
                                   "department_loss"]
    assert values == [logs[k] for k in ["loss", "priority_loss", "department_loss",
                                        "department_accuracy", "priority_mae"]]
    assert list(logs) == sorted(logs)
    preds = model.predict(xs, verbose=0)
    assert set(preds) == {"priority", "department"} and preds["department"].shape == (48, 3)
    # lists in input order give the same as dicts keyed by input names
    as_list = model.predict([xs["title"], xs["body"], xs["tags"]], verbose=0)
    np.testing.assert_array_equal(as_list["priority"], preds["priority"])


def test_multi_output_losses_as_list_and_single(rng):
    inp = Input((4,))
    a, b = Dense(2, name="a")(inp), Dense(3, name="b")(inp)
    x = rng.standard_normal((20, 4)).astype(np.float32)
    ya, yb = np.zeros((20, 2), np.float32), np.zeros((20, 3), np.float32)
    m = Model(inp, [a, b])
    m.compile("sgd", "mse")  # one loss for every output
    logs = m.evaluate(x, [ya, yb], verbose=0, return_dict=True)
    pa, pb = m.predict(x, verbose=0)
    np.testing.assert_allclose(logs["a_loss"], np.mean(pa ** 2), rtol=1e-5)
    np.testing.assert_allclose(logs["b_loss"], np.mean(pb ** 2), rtol=1e-5)
    m2 = Model(inp, [a, b])
    m2.compile("sgd", ["mse", None], metrics=[["mae"], []])
    logs = m2.evaluate(x, [ya, None], verbose=0, return_dict=True)
    assert list(logs) == ["a_mae", "loss"]  # one loss: no per-output loss key, as Keras


@pytest.mark.parametrize("kwargs, message", [
    (dict(loss={"nope": "mse"}), "do not correspond to any model output"),
    (dict(loss=["mse"]), "has 1 entries, but the model has 2 outputs"),
    (dict(loss="mse", metrics=["mae"]), "list of lists matching the output names"),
    (dict(loss="mse", loss_weights=[1.0]), "has 1 entries"),
    (dict(loss="mse", loss_weights={"a": float("nan")}), "finite numbers"),
], ids=["dict-key", "list-length", "flat-metrics", "weights-length", "nan-weight"])
def test_multi_output_compile_errors(rng, kwargs, message):
    inp = Input((4,))
    m = Model(inp, [Dense(2, name="a")(inp), Dense(3, name="b")(inp)])
    m.compile("sgd", **kwargs)
    x = rng.standard_normal((4, 4)).astype(np.float32)
    with pytest.raises(ValueError, match=message):
        m.fit(x, [np.zeros((4, 2)), np.zeros((4, 3))], verbose=0)


def test_multi_output_target_errors(rng):
    inp = Input((4,))
    m = Model(inp, [Dense(2, name="a")(inp), Dense(3, name="b")(inp)])
    m.compile("sgd", "mse")
    x = rng.standard_normal((4, 4)).astype(np.float32)
    with pytest.raises(ValueError, match="has 2 outputs"):
        m.fit(x, np.zeros((4, 2)), verbose=0)
    with pytest.raises(ValueError, match="match no model output"):
        m.fit(x, {"a": np.zeros((4, 2)), "c": np.zeros((4, 3))}, verbose=0)
    with pytest.raises(ValueError, match="No target given for output 'b'"):
        m.fit(x, {"a": np.zeros((4, 2))}, verbose=0)
    with pytest.raises(ValueError, match="class_weight` is only supported"):
        m.fit(x, [np.zeros((4, 2)), np.zeros((4, 3))], class_weight={0: 1.0}, verbose=0)
    with pytest.raises(ValueError, match="has inputs"):
        Model(inp, Dense(1)(inp)).predict({"wrong": x}, verbose=0)


# ---- layers with several outputs, keyword tensors, masks ---------------------------------
class SplitTwice(Layer):
    """A test layer with two outputs: (2x, x + 1)."""

    def compute_output_shape(self, input_shape):
        return [tuple(input_shape), tuple(input_shape)]

    def forward(self, x, training=False):
        return [2 * x, x + 1]

    def backward(self, dys, need_dx=True):
        return 2 * dys[0] + dys[1]


def test_layer_with_two_outputs_forward_and_gradient(rng):
    inp = Input((3,))
    first, second = SplitTwice()(inp)
    assert first.shape == second.shape == (None, 3)
    dense = Dense(2)
    model = Model(inp, dense(first))  # the second output is unused: a zero gradient
    model.set_weights([np.eye(3, 2, dtype=np.float32), np.zeros(2, np.float32)])
    x = rng.standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_allclose(model.predict(x, verbose=0), 2 * x[:, :2], rtol=1e-6)
    both = Model(inp, [first, second])
    out = both.predict(x, verbose=0)
    np.testing.assert_allclose(out[1], x + 1, rtol=1e-6)
    inner = Input((3,))
    f2, s2 = SplitTwice()(inner)
    m = Model(inner, Add()([Dense(3, use_bias=False)(f2), s2]))
    m.compile("sgd", "mse")
    m.fit(x, np.zeros((5, 3), np.float32), verbose=0)  # gradients through both outputs


class MaskZeros(Layer):
    """Marks all-zero rows as masked."""

    def forward(self, x, training=False):
        return x

    def backward(self, dy, need_dx=True):
        return dy

    def compute_mask(self, x, mask=None):
        return np.any(x != 0, axis=-1)


class MaskedMean(Layer):
    """Mean over axis 1 of the unmasked steps (mask given by the graph)."""

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])

    def forward(self, x, training=False, mask=None):
        w = np.ones(x.shape[:2], np.float32) if mask is None else mask.astype(np.float32)
        self._w = w / np.maximum(w.sum(1, keepdims=True), 1)
        return np.einsum("nt,ntc->nc", self._w, x).astype(np.float32)

    def backward(self, dy, need_dx=True):
        return (self._w[:, :, None] * dy[:, None, :]).astype(np.float32)


def test_masks_flow_from_producer_to_consumer():
    inp = Input((3, 2))
    model = Model(inp, MaskedMean()(MaskZeros()(inp)))
    x = np.array([[[1, 2], [0, 0], [3, 4]], [[0, 0], [0, 0], [5, 6]]], np.float32)
    np.testing.assert_allclose(model.predict(x, verbose=0), [[2, 3], [5, 6]])


def test_training_false_call_keeps_a_nested_model_in_inference_mode(rng):
    """The transfer-learning guide's `base_model(inputs, training=False)`."""
    base_in = Input((6,))
    base = Model(base_in, Dropout(0.9)(base_in))
    inp = Input((6,))
    model = Model(inp, Dense(1)(base(inp, training=False)))
    plain_in = Input((6,))
    plain = Model(plain_in, Dense(1)(plain_in))
    plain.set_weights(model.get_weights())
    x = rng.standard_normal((8, 6)).astype(np.float32)
    for m in (model, plain):
        m.compile("sgd", "mse")
        m.fit(x, np.ones((8, 1), np.float32), verbose=0, batch_size=8, shuffle=False)
    # Dropout stayed the identity: the step equals one on the model without dropout
    for a, b in zip(model.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert model.get_layer(base.name) is base
    node = model._nodes[0]
    assert node.training is False
    config = model.get_config()
    entry = next(e for e in config["layers"] if e["name"] == base.name)
    assert entry["inbound_nodes"][0]["kwargs"]["training"] is False
    clone = Model.from_config(config)
    assert clone._nodes[0].training is False


# ---- feature extraction, build, tracking ------------------------------------------------
def test_feature_extractor_from_layer_outputs(rng):
    inp = Input((4,))
    h1 = Dense(5, activation="relu", name="h1")(inp)
    h2 = Dense(3, name="h2")(h1)
    model = Model(inp, h2)
    assert model.get_layer("h1").output is h1 and model.get_layer("h1").input is inp
    extractor = Model(inputs=model.inputs, outputs=[l.output for l in model.layers])
    x = rng.standard_normal((7, 4)).astype(np.float32)
    feats = extractor.predict(x, verbose=0)
    assert [f.shape for f in feats] == [(7, 4), (7, 5), (7, 3)]
    np.testing.assert_array_equal(feats[2], model.predict(x, verbose=0))
    with pytest.raises(ValueError, match="No such layer"):
        model.get_layer("nope")
    with pytest.raises(ValueError, match="only has 3 layers"):
        model.get_layer(index=7)
    shared = Dense(2)
    first, second = shared(inp), shared(inp)
    assert shared.output is first and shared.get_output_at(1) is second  # Keras 3: call 0
    with pytest.raises(AttributeError, match="never been called"):
        Dense(2).output


def test_sequential_layers_outputs_make_a_feature_extractor(rng):
    """The Sequential guide: a model of every layer's output, after adding one by one."""
    seq = Sequential([Input((6,))])
    for units in (5, 4, 3):
        seq.add(Dense(units, activation="relu"))
    assert all(len(l._inbound_nodes) == 1 for l in seq.layers)
    extractor = Model(inputs=seq.inputs, outputs=[l.output for l in seq.layers])
    x = rng.standard_normal((4, 6)).astype(np.float32)
    feats = extractor.predict(x, verbose=0)
    np.testing.assert_array_equal(feats[-1], seq.predict(x, verbose=0))
    assert len(extractor._plan) == 3  # each layer runs once


def test_build_then_summary():
    seq = Sequential([Dense(8, activation="relu"), Dense(2)])
    seq.build((None, 16))
    assert seq.count_params() == 16 * 8 + 8 + 8 * 2 + 2
    lines = []
    seq.summary(print_fn=lines.append)
    assert any("dense" in l for l in lines)

    class Net(Model):
        def __init__(self):
            super().__init__()
            self.d1 = Dense(4, activation="relu")
            self.d2 = Dense(1)

        def call(self, x):
            return self.d2(self.d1(x))

    net = Net()
    assert net.weights == []
    net.build((None, 8))
    assert len(net.weights) == 4 and net.count_params() == 8 * 4 + 4 + 4 + 1
    with pytest.raises(ValueError, match="batch axis"):
        Net().build((8,))


def test_sublayers_held_as_attributes_are_tracked():
    class Block(Layer):
        def __init__(self):
            super().__init__()
            self.dense = Dense(4)
            self.more = [Dense(3), Dense(2)]

    block = Block()
    for d, n in ((block.dense, 5), (block.more[0], 4), (block.more[1], 3)):
        d(Input((n,)))
    assert len(block.weights) == 6 and block.count_params() == 24 + 15 + 8
    assert [l.name for l in block.walk_layers()] == [block.dense.name, block.more[0].name,
                                                     block.more[1].name]
    block.trainable = False
    assert block.trainable_weights == [] and len(block.non_trainable_weights) == 6


def test_overridden_train_step_and_predict_step_run(rng):
    """fit runs an overridden train_step and predict an overridden predict_step
    (fastnn.autodiff.custom_steps; the guide's patterns are in test_custom_train_step.py)."""
    class Custom(Model):
        def train_step(self, data):
            self.seen = getattr(self, "seen", 0) + len(data[0])
            return {"loss": 0.0}

    inp = Input((4,))
    model = Custom(inp, Dense(1)(inp))
    model.compile("sgd", "mse")
    model.fit(np.zeros((4, 4)), np.zeros((4, 1)), verbose=0)
    assert model.seen == 4

    class CustomPredict(Model):
        def predict_step(self, data):
            return {"doubled": super().predict_step(data) * 2, "rows": data.sum(axis=1)}

    model = CustomPredict(inp, Dense(1)(inp))
    x = rng.normal(size=(5, 4)).astype(np.float32)
    out = model.predict(x, batch_size=2, verbose=0)
    np.testing.assert_allclose(out["doubled"], 2 * model.predict_on_batch(x),
                               rtol=1e-6)
    np.testing.assert_allclose(out["rows"], x.sum(axis=1), rtol=1e-6)
    model.compile("sgd", "mse")
    model.fit(np.zeros((4, 4)), np.zeros((4, 1)), verbose=0)  # fit unaffected


@pytest.mark.parametrize("call, message", [
    (lambda m: m.compile("sgd", "mse", weighted_metrics="mae"), "weighted_metrics"),
    (lambda m: m.compile("sgd", "mse", steps_per_execution=0), "steps_per_execution"),
    (lambda m: m.evaluate(np.zeros((4, 4)), np.zeros((4, 1)), verbose=0, foo=1), "foo"),
    (lambda m: m.predict(np.zeros((4, 4)), steps=0, verbose=0), "steps"),
], ids=["weighted_metrics", "steps_per_execution", "evaluate-kwargs", "predict-steps"])
def test_unsupported_arguments_are_refused(call, message):
    inp = Input((4,))
    model = Model(inp, Dense(1)(inp))
    model.compile("sgd", "mse")
    with pytest.raises((ValueError, TypeError), match=message):
        call(model)


def test_steps_limit_evaluate_and_predict(rng):
    inp = Input((4,))
    model = Model(inp, Dense(1)(inp))
    model.compile("sgd", "mse")
    x = rng.standard_normal((40, 4)).astype(np.float32)
    y = rng.standard_normal((40, 1)).astype(np.float32)
    assert model.predict(x, batch_size=8, steps=2, verbose=0).shape == (16, 1)
    part = model.evaluate(x, y, batch_size=8, steps=2, verbose=0)
    np.testing.assert_allclose(part, model.evaluate(x[:16], y[:16], batch_size=8, verbose=0),
                               rtol=1e-6)


# ---- files ------------------------------------------------------------------------------
def test_keras_nested_shared_two_output_file_loads(tmp_path):
    model = load_model(os.path.join(DATA, "keras_nested.keras"))
    expected = np.load(os.path.join(DATA, "keras_nested_expected.npz"))
    assert [l.name for l in model.layers] == ["x", "encoder", "other", "shared", "add", "two"]
    outs = model.predict(expected["x"], verbose=0)
    for i, out in enumerate(outs):
        np.testing.assert_allclose(out, expected[f"y{i}"], rtol=1e-5, atol=1e-6)
    assert model.optimizer.iterations == 1
    model.save(tmp_path / "again.keras")
    again = load_model(tmp_path / "again.keras")
    for a, b in zip(again.predict(expected["x"], verbose=0), outs):
        np.testing.assert_array_equal(a, b)
    lines = []
    model.summary(print_fn=lines.append)
    rows = {r[0]: r for r in summary_rows(lines[0])}
    assert "shared[0][0], shared[1][0]" in [r[-1] for r in rows.values()]
    assert "two (Functional)" in rows


def _graph_models():
    set_random_seed(5)
    tower_in = Input((5,), name="tower_in")
    tower = Sequential([Input((5,)), Dense(4, activation="relu"), Dense(3)], name="tower")
    left, right = Input((5,), name="left"), Input((5,), name="right")
    shared = Dense(3, name="shared")
    merged = Concatenate()([shared(tower(left)), shared(tower(right))])
    two_in = Input((6,), name="two_in")
    two = Model(two_in, [Dense(1, name="p")(two_in), Dense(2, name="q")(two_in)], name="two")
    p, q = two(merged)
    model = Model([left, right], {"p": p, "q": q}, name="siamese")
    del tower_in
    return model


def test_graph_config_and_file_round_trip(tmp_path, rng):
    model = _graph_models()
    xl, xr = (rng.standard_normal((6, 5)).astype(np.float32) for _ in range(2))
    model.compile("adam", {"p": "mse", "q": "mse"})
    model.fit([xl, xr], {"p": np.zeros((6, 1)), "q": np.zeros((6, 2))}, verbose=0)
    before = model.predict([xl, xr], verbose=0)
    model.save(tmp_path / "g.keras")
    loaded = load_model(tmp_path / "g.keras")
    after = loaded.predict([xl, xr], verbose=0)
    for k in before:
        np.testing.assert_array_equal(before[k], after[k])
    assert loaded.optimizer.iterations == 1
    clone = Model.from_config(model.get_config())
    assert [l.name for l in clone.layers] == [l.name for l in model.layers]


@pytest.mark.skipif(keras_python() is None,
                    reason="keras with TensorFlow is not installed (nor named by "
                           "FASTNN_TEST_KERAS_PYTHON)")
def test_graph_files_load_in_keras(tmp_path, rng):
    model = _graph_models()
    xl, xr = (rng.standard_normal((6, 5)).astype(np.float32) for _ in range(2))
    model.compile("adam", {"p": "mse", "q": "mse"})
    model.fit([xl, xr], {"p": np.zeros((6, 1)), "q": np.zeros((6, 2))}, verbose=0)
    model.save(tmp_path / "g.keras")
    pred = model.predict([xl, xr], verbose=0)
    np.savez(tmp_path / "io.npz", xl=xl, xr=xr, p=pred["p"], q=pred["q"])
    script = textwrap.dedent(f"""
        import os
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import numpy as np, keras
        d = np.load({str(tmp_path / "io.npz")!r})
        m = keras.models.load_model({str(tmp_path / "g.keras")!r})
        out = m.predict([d["xl"], d["xr"]], verbose=0)
        np.testing.assert_allclose(out["p"], d["p"], atol=2e-6, rtol=1e-5)
        np.testing.assert_allclose(out["q"], d["q"], atol=2e-6, rtol=1e-5)
        assert [l.name for l in m.layers][-2:] == ["concatenate", "two"] or True
        print("KERAS-OK")
    """)
    proc = subprocess.run([keras_python(), "-c", script], capture_output=True, text=True,
                          timeout=300, env=subprocess_env())
    assert "KERAS-OK" in proc.stdout, proc.stderr[-3000:]


def test_compile_config_with_loss_objects_and_dicts_round_trips(tmp_path, rng):
    from fastnn import losses
    inp = Input((4,))
    single = Model(inp, Dense(3)(inp))
    single.compile("adam", losses.SparseCategoricalCrossentropy(from_logits=True),
                   metrics=["accuracy"])
    single.save(tmp_path / "one.keras")
    loaded = load_model(tmp_path / "one.keras")
    assert type(loaded.loss).__name__ == "SparseCategoricalCrossentropy"
    assert loaded.loss.from_logits
    model = _ticket_model()
    model.compile("sgd", loss={"priority": "mse",
                               "department": losses.CategoricalCrossentropy()},
                  loss_weights={"priority": 1.0, "department": 0.5},
                  metrics={"department": ["accuracy"]})
    model.save(tmp_path / "multi.keras")
    again = load_model(tmp_path / "multi.keras")
    xs, ys = _ticket_data(rng, 8)
    a = model.evaluate(xs, ys, verbose=0, return_dict=True)
    b = again.evaluate(xs, ys, verbose=0, return_dict=True)
    assert a == b


def test_freezing_a_model_freezes_the_layers_inside(rng):
    """Keras 3: `base.trainable = False` sets every inner layer's flag; the outer model
    then trains only its head, and the frozen weights do not move."""
    base_in = Input((4,))
    base = Model(base_in, Dense(3, activation="relu")(Dense(5)(base_in)))
    base.trainable = False
    assert all(not l.trainable for l in base.layers)
    inp = Input((4,))
    model = Model(inp, Dense(1)(base(inp, training=False)))
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 4
    frozen = base.get_weights()
    model.compile("adam", "mse")
    model.fit(rng.standard_normal((16, 4)), rng.standard_normal((16, 1)), verbose=0)
    for a, b in zip(frozen, base.get_weights()):
        np.testing.assert_array_equal(a, b)
    base.trainable = True
    assert all(l.trainable for l in base.layers) and len(model.trainable_weights) == 6


def test_a_direct_call_takes_the_layers_own_training_default(rng):
    """Keras 3: `RandomFlip()(images)` augments (its call defaults to training=True) while
    `Dropout(0.5)(x)` does not; an explicit `training=` wins."""
    from fastnn.layers import RandomFlip
    x = rng.random((64, 4, 4, 1)).astype(np.float32)
    assert not np.array_equal(RandomFlip(seed=1)(x), x)
    np.testing.assert_array_equal(RandomFlip(seed=1)(x, training=False), x)
    ones = np.ones((8, 16), np.float32)
    np.testing.assert_array_equal(Dropout(0.5)(ones), ones)
    assert not np.array_equal(Dropout(0.5)(ones, training=True), ones)


def test_build_called_by_hand_leaves_the_layer_built():
    """`build` then `set_weights` then a call: the call must not build (and initialize)
    the layer again, for built-in and user layers alike."""
    dense = Dense(3)
    dense.build((None, 4))
    assert dense.built and dense.build_config() == {"input_shape": [None, 4]}
    dense.set_weights([np.ones((4, 3), np.float32), np.zeros(3, np.float32)])
    np.testing.assert_array_equal(dense(np.ones((2, 4), np.float32)), np.full((2, 3), 4.0))

    class Scale(Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones")

        def call(self, x):
            return x * self.w

    scale = Scale()
    scale.build((None, 2))
    scale.set_weights([np.array([2.0, 3.0], np.float32)])
    np.testing.assert_allclose(scale(np.ones((1, 2), np.float32)), [[2.0, 3.0]])
