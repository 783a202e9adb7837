"""MultiHeadAttention: Keras-made files (tests/data/make_attention_fixtures.py) give Keras's
predictions and, after one SGD step, Keras's weights (so the same gradients through the
Keras masks, the causal and attention masks and the returned scores); Keras's call
conventions, errors and file layout; dropout; training inside a custom layer."""
import json
import os
import subprocess
import textwrap

import numpy as np
import pytest

from fastnn import keras
from fastnn.layers import (Dense, Embedding, GlobalAveragePooling1D, Input, Layer,
                           LayerNormalization, MultiHeadAttention)
from fastnn.models import Model, load_model
from fastnn.optimizers import SGD

from conftest import keras_python, subprocess_env

DATA = os.path.join(os.path.dirname(__file__), "data")


@pytest.fixture(scope="module")
def expected():
    with np.load(os.path.join(DATA, "keras_attention_expected.npz")) as f:
        return {k: f[k] for k in f.files}


@pytest.mark.parametrize("name,n_in,n_out", [("self", 1, 1), ("cross", 4, 2)])
def test_keras_files_predict_and_train_as_keras(expected, name, n_in, n_out):
    xs = [expected[f"{name}_in{k}"] for k in range(n_in)]
    model = load_model(os.path.join(DATA, f"keras_attention_{name}.keras"))
    got = model.predict(xs if n_in > 1 else xs[0], verbose=0)
    got = got if n_out > 1 else [got]
    for k, y in enumerate(got):
        np.testing.assert_allclose(y, expected[f"{name}_pred{k}"], rtol=1e-5, atol=2e-6)
    targets = [expected[f"{name}_target{k}"] for k in range(n_out)]
    model.compile(SGD(0.1), ["mse"] * n_out)
    model.train_on_batch(xs if n_in > 1 else xs[0], targets if n_out > 1 else targets[0])
    for i, w in enumerate(model.weights):
        np.testing.assert_allclose(np.asarray(w.numpy()), expected[f"{name}_w{i}"], rtol=1e-5,
                                   atol=2e-6, err_msg=w.name)


def test_keras_mask_equals_the_explicit_attention_mask():
    """Embedding(mask_zero=True) -> mha(x, x): the query mask masks the rows, the value
    mask the columns, exactly as `attention_mask = m[:, :, None] & m[:, None, :]`."""
    ids = np.array([[3, 4, 5, 0, 0], [1, 2, 0, 0, 0]])
    i = Input((5,), dtype="int32")
    emb = Embedding(9, 4, mask_zero=True)
    mha = MultiHeadAttention(num_heads=2, key_dim=3)
    model = Model(i, mha(emb(i), emb(i)))
    got = model.predict(ids, verbose=0)
    m = ids != 0
    x = emb(ids)
    want = mha(x, x, attention_mask=m[:, :, None] & m[:, None, :])
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_the_query_mask_reaches_the_next_layer():
    """GlobalAveragePooling1D after the attention averages the unmasked steps only."""
    ids = np.array([[3, 4, 0, 0]])
    i = Input((4,), dtype="int32")
    x = Embedding(9, 4, mask_zero=True)(i)
    a = MultiHeadAttention(num_heads=1, key_dim=2)(x, x)
    model = Model(i, [a, GlobalAveragePooling1D()(a)])
    seq, pooled = model.predict(ids, verbose=0)
    np.testing.assert_allclose(pooled[0], seq[0, :2].mean(axis=0), rtol=1e-6)


def test_call_conventions_and_scores():
    rng = np.random.default_rng(0)
    q, v = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 6))
    mha = MultiHeadAttention(num_heads=2, key_dim=3, value_dim=2, output_shape=7)
    out, scores = mha(q, v, return_attention_scores=True)
    assert out.shape == (2, 3, 7) and scores.shape == (2, 2, 3, 5)
    np.testing.assert_allclose(scores.sum(-1), 1.0, rtol=1e-6)
    assert mha(q, v).shape == (2, 3, 7)  # eager calls may change conventions
    qi, vi = Input((3, 4)), Input((5, 6))
    mha(qi, vi)
    with pytest.raises(NotImplementedError, match="other tensors or options"):
        mha(qi, vi, use_causal_mask=True)  # a model's calls share one
    causal = MultiHeadAttention(num_heads=1, key_dim=2)
    _, s = causal(q, q, use_causal_mask=True, return_attention_scores=True)
    assert np.all(np.triu(s[0, 0], 1) == 0)
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'value'"):
        MultiHeadAttention(num_heads=1, key_dim=2)(q)
    with pytest.raises(TypeError, match="unexpected keyword"):
        MultiHeadAttention(num_heads=1, key_dim=2)(q, v, bogus=1)


@pytest.mark.parametrize("kwargs,message", [
    (dict(num_heads=0, key_dim=2), "expected a positive integer. Received: num_heads=0"),
    (dict(num_heads=2, key_dim=2.5), "Received: key_dim=2.5"),
    (dict(num_heads=2, key_dim=2, value_dim=-1), "positive integer or `None`"),
    (dict(num_heads=2, key_dim=2, dropout=1.5), "between 0 and 1"),
    (dict(num_heads=2, key_dim=2, attention_axes="x"), "must be an int, list, or tuple"),
    (dict(num_heads=2, key_dim=2, sliding_window=0), "`sliding_window` must be `None`"),
    (dict(num_heads=2, key_dim=2, flash_attention=True, dropout=0.1), "flash attention"),
    (dict(num_heads=2, key_dim=2, use_gate=True), "use_gate=True is not supported"),
])
def test_argument_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MultiHeadAttention(**kwargs)


def test_unsupported_shapes_are_refused():
    with pytest.raises(ValueError, match="attends over axis 1"):
        MultiHeadAttention(num_heads=1, key_dim=2, attention_axes=(2,))(
            np.ones((1, 3, 4)), np.ones((1, 3, 4)))
    with pytest.raises(ValueError, match="3-D inputs"):
        MultiHeadAttention(num_heads=1, key_dim=2)(np.ones((1, 2, 3, 4)), np.ones((1, 2, 3, 4)))
    mha = MultiHeadAttention(num_heads=1, key_dim=2)
    mha(np.ones((1, 3, 4)), np.ones((1, 3, 4)))
    with pytest.raises(ValueError, match="expected its last dimension to be 4"):
        mha(np.ones((1, 3, 5)), np.ones((1, 3, 4)))


def test_sliding_window_bands_the_scores():
    x = np.random.default_rng(1).normal(size=(1, 6, 4))
    mha = MultiHeadAttention(num_heads=1, key_dim=2, sliding_window=2)
    _, s = mha(x, x, return_attention_scores=True)
    band = np.abs(np.arange(6)[:, None] - np.arange(6)[None]) < 2
    assert np.all(s[0, 0][~band] == 0) and np.all(s[0, 0][band] > 0)


def test_dropout_only_while_training_and_reproducible():
    x = np.random.default_rng(2).normal(size=(2, 5, 4)).astype(np.float32)
    mha = MultiHeadAttention(num_heads=2, key_dim=3, dropout=0.5, seed=1)
    plain = mha(x, x)
    np.testing.assert_array_equal(mha(x, x, training=False), plain)
    state = mha.random_state()
    a = mha(x, x, training=True)
    assert not np.allclose(a, plain)
    mha.set_random_state(state)
    np.testing.assert_array_equal(mha(x, x, training=True), a)


def test_file_layout_is_keras():
    """Nodes written as `args: [query, value]`, Keras's build_config and weight groups."""
    q, v = Input((4, 6)), Input((3, 5))
    mha = MultiHeadAttention(num_heads=2, key_dim=3, name="att")
    model = Model([q, v], mha(q, v, use_causal_mask=True))
    assert [w.name for w in mha.weights] == [
        f"att/{p}/{k}" for p in ("query", "key", "value", "attention_output")
        for k in ("kernel", "bias")]
    config = json.loads(model.to_json())["config"]
    entry = [e for e in config["layers"] if e["class_name"] == "MultiHeadAttention"][0]
    assert len(entry["inbound_nodes"][0]["args"]) == 2
    assert entry["inbound_nodes"][0]["kwargs"] == {"use_causal_mask": True}
    assert entry["build_config"] == {"shapes_dict": {"query_shape": [None, 4, 6],
                                                     "value_shape": [None, 3, 5]}}
    assert entry["config"]["attention_axes"] == [1]
    from fastnn.saving import weights_store
    paths = [p for p, layer, vs in weights_store.variable_groups(model) if layer is mha]
    assert paths == [f"layers/multi_head_attention/{g}" for g in
                     ("query_dense", "key_dense", "value_dense", "output_dense")]


class _Block(Layer):
    """The Keras example's TransformerBlock, shrunk."""

    def __init__(self):
        super().__init__()
        self.att = MultiHeadAttention(num_heads=2, key_dim=4)
        self.norm = LayerNormalization(epsilon=1e-6)

    def call(self, inputs):
        return self.norm(inputs + self.att(inputs, inputs))


def test_trains_inside_a_custom_layer():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(64, 6, 4)).astype(np.float32)
    y = x[:, ::-1].mean(axis=(1, 2))[:, None]
    i = Input((6, 4))
    model = Model(i, Dense(1)(GlobalAveragePooling1D()(_Block()(i))))
    model.compile(keras.optimizers.Adam(0.01), "mse")
    first = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=20, batch_size=16, verbose=0)
    assert model.evaluate(x, y, verbose=0) < 0.5 * first


@pytest.mark.skipif(keras_python() is None,
                    reason="keras with TensorFlow is not installed (nor named by "
                           "FASTNN_TEST_KERAS_PYTHON): the fastnn -> Keras direction is "
                           "checked only where Keras can run")
def test_fastnn_files_load_in_keras(tmp_path):
    """A single layer reading each tensor (Keras 3.15 drops the masks of tensors a
    MultiHeadAttention was called on, so a second reader would differ)."""
    ids_in = Input((5,), dtype="int32")
    x = Embedding(9, 4, mask_zero=True)(ids_in)
    q_in, m_in = Input((5, 4)), Input((5, 5))
    a = MultiHeadAttention(num_heads=2, key_dim=3)(x, x, use_causal_mask=True)
    b = MultiHeadAttention(num_heads=2, key_dim=3, value_dim=2, output_shape=6)(
        q_in, q_in, key=q_in, attention_mask=m_in)
    model = Model([ids_in, q_in, m_in], [GlobalAveragePooling1D()(a), b])
    rng = np.random.default_rng(4)
    xs = [np.array([[3, 4, 5, 0, 0], [1, 2, 6, 7, 0]]),
          rng.normal(size=(2, 5, 4)).astype(np.float32),
          (rng.random((2, 5, 5)) > 0.3).astype(np.float32)]
    model.save(tmp_path / "mha.keras")
    p0, p1 = model.predict(xs, verbose=0)
    np.savez(tmp_path / "io.npz", x0=xs[0], x1=xs[1], x2=xs[2], p0=p0, p1=p1)
    script = textwrap.dedent(f"""
        import os
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import numpy as np, keras
        d = np.load({str(tmp_path / "io.npz")!r})
        m = keras.models.load_model({str(tmp_path / "mha.keras")!r})
        p0, p1 = m.predict([d["x0"], d["x1"], d["x2"]], verbose=0)
        np.testing.assert_allclose(p0, d["p0"], atol=2e-6, rtol=1e-5)
        np.testing.assert_allclose(p1, d["p1"], atol=2e-6, rtol=1e-5)
        print("KERAS-OK")
    """)
    proc = subprocess.run([keras_python(), "-c", script], capture_output=True, text=True,
                          timeout=300, env=subprocess_env())
    assert "KERAS-OK" in proc.stdout, proc.stderr[-3000:]


def test_masks_given_by_hand():
    """query_mask / value_mask / key_mask mask rows / columns as the equivalent
    attention_mask does."""
    rng = np.random.default_rng(5)
    q, v = rng.normal(size=(2, 4, 3)), rng.normal(size=(2, 5, 3))
    qm = np.array([[1, 1, 1, 0], [1, 1, 0, 0]], bool)
    vm = np.array([[1, 1, 0, 1, 1], [1, 0, 0, 0, 1]], bool)
    mha = MultiHeadAttention(num_heads=2, key_dim=2, dropout=0.1)  # zeros for masked rows
    want = mha(q, v, attention_mask=qm[:, :, None] & vm[:, None, :])
    np.testing.assert_allclose(mha(q, v, query_mask=qm, value_mask=vm), want, rtol=1e-6)
    np.testing.assert_allclose(mha(q, v, key=v, query_mask=qm, key_mask=vm), want, rtol=1e-6)
