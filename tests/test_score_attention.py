"""Attention and AdditiveAttention: masks (query, value, the inputs' own), the causal mask, the
returned scores, dropout, training in a model, files, and Keras 3.15's outputs."""
import subprocess

import numpy as np
import pytest

import fastnn.keras as keras

L = keras.layers
RNG = np.random.default_rng(0)
Q = RNG.standard_normal((2, 3, 4)).astype(np.float32)
V = RNG.standard_normal((2, 5, 4)).astype(np.float32)

SCRIPT = '''
import numpy as np, keras
rng = np.random.default_rng(0)
q = rng.standard_normal((2, 3, 4)).astype("float32")
v = rng.standard_normal((2, 5, 4)).astype("float32")
qm = np.array([[1, 1, 0], [1, 0, 1]], bool)
vm = np.array([[1, 1, 1, 0, 0], [1, 0, 1, 1, 1]], bool)
out = {}
a = keras.layers.Attention()
out["plain"] = np.asarray(a([q, v])).tolist()
o, s = a([q, v], mask=[qm, vm], return_attention_scores=True)
out["masked"], out["masked_scores"] = np.asarray(o).tolist(), np.asarray(s).tolist()
out["causal"] = np.asarray(a([q, q], use_causal_mask=True)).tolist()
c = keras.layers.Attention(score_mode="concat", use_scale=True)
out["concat"] = np.asarray(c([q, v])).tolist()
ad = keras.layers.AdditiveAttention()
ad([q, v])
ad.set_weights([np.array([0.5, -1.0, 2.0, 0.25], "float32")])
out["additive"] = np.asarray(ad([q, v], mask=[qm, vm])).tolist()
out["additive_config"] = [float(k == "score_mode") for k in sorted(ad.get_config())]
print(repr(out))
'''


def test_masks_weigh_nothing_where_they_are_off():
    a = L.Attention()
    qm = np.array([[1, 1, 0], [1, 0, 1]], bool)
    vm = np.array([[1, 1, 1, 0, 0], [1, 0, 1, 1, 1]], bool)
    out, scores = a([Q, V], mask=[qm, vm], return_attention_scores=True)
    np.testing.assert_allclose(scores.sum(-1), 1, rtol=1e-6)
    assert np.all(scores[~np.broadcast_to(vm[:, None], scores.shape)] < 1e-30)
    assert np.all(out[~qm] == 0)  # masked query steps give zeros


def test_causal_mask_sees_only_the_past():
    _, scores = L.Attention()([Q, Q], use_causal_mask=True, return_attention_scores=True)
    assert np.all(np.triu(scores[0], 1) < 1e-30)


def test_the_inputs_own_masks_reach_it_in_a_model():
    """Padding steps (Embedding(mask_zero=True)) are masked as keys, and the output's mask
    (the query's) reaches the pooling: a padded sequence gives its unpadded result."""
    ids = keras.Input((None,))
    e = L.Embedding(10, 4, mask_zero=True)(ids)
    out = L.GlobalAveragePooling1D()(L.Attention()([e, e]))
    model = keras.Model(ids, L.Dense(1)(out))
    padded = np.array([[1, 2, 3, 0, 0]])
    np.testing.assert_allclose(model.predict(padded, verbose=0),
                               model.predict(padded[:, :3], verbose=0), rtol=1e-5)


def test_trains_in_a_model_with_dropout_and_reloads(tmp_path):
    keras.utils.set_random_seed(3)
    q, v = keras.Input((3, 4)), keras.Input((5, 4))
    att = L.Attention(use_scale=True, dropout=0.2, seed=1)
    out, scores = att([q, v], return_attention_scores=True)
    model = keras.Model([q, v], [L.Dense(1)(L.Flatten()(out)), scores])
    model.compile(keras.optimizers.Adam(0.01), ["mse", None])
    x = [RNG.standard_normal((32, 3, 4)).astype(np.float32),
         RNG.standard_normal((32, 5, 4)).astype(np.float32)]
    y = [x[0].sum(axis=(1, 2))[:, None], np.zeros((32, 3, 5), np.float32)]  # (no loss)
    h = model.fit(x, y, epochs=20, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    assert float(att.scale.value) != 1.0  # the scale learned
    model.save(tmp_path / "att.keras")
    again = keras.models.load_model(tmp_path / "att.keras")
    for a, b in zip(again.predict(x, verbose=0), model.predict(x, verbose=0)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("call, msg", [
    (lambda a: a(Q), "must be called on a list"),
    (lambda a: a([Q]), "length 2 or 3"),
    (lambda a: a([Q, V], mask=Q), "mask must be a list"),
])
def test_bad_calls(call, msg):
    with pytest.raises(ValueError, match=msg):
        call(L.Attention())


def test_bad_arguments():
    with pytest.raises(ValueError, match="score_mode"):
        L.Attention(score_mode="general")
    with pytest.raises(ValueError, match="dropout"):
        L.Attention(dropout=1.5)


def test_same_outputs_as_keras(tmp_path):
    from conftest import keras_python, script_result
    ours = script_result(SCRIPT, tmp_path)
    if keras_python() is None:
        pytest.skip("keras with TensorFlow is not installed (nor named by "
                    "FASTNN_TEST_KERAS_PYTHON)")
    theirs = script_result(SCRIPT, tmp_path, keras=True)
    for key in theirs:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-5, atol=1e-6, err_msg=key)


def test_files_move_both_ways_with_keras(tmp_path):
    import textwrap

    from conftest import keras_python, subprocess_env
    if keras_python() is None:
        pytest.skip("keras with TensorFlow is not installed (nor named by "
                    "FASTNN_TEST_KERAS_PYTHON)")
    q, v = keras.Input((3, 4)), keras.Input((5, 4))
    out, scores = L.Attention(use_scale=True)([q, v], return_attention_scores=True)
    causal = L.Attention(score_mode="concat")([q, q], use_causal_mask=True)
    model = keras.Model([q, v], [out, scores, causal])
    x = [Q, V]
    np.savez(tmp_path / "io.npz", q=Q, v=V, *model.predict(x, verbose=0))
    model.save(tmp_path / "ours.keras")
    script = textwrap.dedent("""
        import os
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import numpy as np, keras
        d = np.load("io.npz")
        m = keras.models.load_model("ours.keras")
        for i, p in enumerate(m.predict([d["q"], d["v"]], verbose=0)):
            np.testing.assert_allclose(p, d[f"arr_{i}"], rtol=1e-5, atol=1e-6)
        q, v = keras.Input((3, 4)), keras.Input((5, 4))
        k = keras.Model([q, v], keras.layers.Attention(score_mode="concat", use_scale=True)(
            [q, v], use_causal_mask=True))
        k.save("theirs.keras")
        np.save("theirs.npy", k.predict([d["q"], d["v"]], verbose=0))
        print("KERAS-OK")
        """)
    proc = subprocess.run([keras_python(), "-c", script], capture_output=True, text=True,
                          timeout=300, env=subprocess_env(), cwd=str(tmp_path))
    assert "KERAS-OK" in proc.stdout, proc.stderr[-3000:]
    theirs = keras.models.load_model(tmp_path / "theirs.keras")
    np.testing.assert_allclose(theirs.predict(x, verbose=0), np.load(tmp_path / "theirs.npy"),
                               rtol=1e-5, atol=1e-6)
