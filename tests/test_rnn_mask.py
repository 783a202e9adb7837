"""Masking through the recurrence: the kernels against their twins (every cell, direction,
return mode, zero_output_for_mask, initial states; 1 and 2 threads), the twins against
finite differences, and the layers' Keras behaviour (mask propagation, Masking,
Bidirectional, a Keras-made fixture)."""
import itertools
import os

import numpy as np
import pytest

import fastnn
from fastnn import _C
from fastnn import _reference as ref

from test_rnn import CELLS, check_twin_gradients, rnn_operands

DATA = os.path.join(os.path.dirname(__file__), "data")


def step_mask(rng, N, T):
    """Random keep/drop steps, with a fully masked row, a row masked only at the end and
    a row masked only at the start among them."""
    m = rng.random((N, T)) < 0.6
    m[0] = False
    m[1, :] = True
    m[1, -2:] = False
    m[2, :] = True
    m[2, :2] = False
    return m


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("reverse, seq, zero, init",
                         list(itertools.product([False, True], repeat=4)))
def test_masked_kernel_matches_twin(rng, threads, cell, reverse, seq, zero, init):
    x, W, R, b, h0, c0 = rnn_operands(rng, cell, 9, 7, 3, 5, True, init)
    mask = step_mask(rng, 9, 7)
    kw = dict(cell=cell, go_backwards=reverse, return_sequences=seq, mask=mask,
              zero_output_for_mask=zero)
    got = _C.rnn_forward(x, W, R, b, h0, c0, **kw)
    want = ref.rnn_forward(x, W, R, b, h0, c0, **kw)
    for g, w in zip(got[:3], want[:3]):
        if w is not None:
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)
    dy = rng.standard_normal(got[0].shape).astype(np.float32)
    dh = rng.standard_normal(got[1].shape).astype(np.float32)
    dc = rng.standard_normal(got[1].shape).astype(np.float32) if cell == "lstm" else None
    g = _C.rnn_backward(dy, dh, dc, got[3], x, W, R, b, h0, c0, **kw)
    w = ref.rnn_backward(dy, dh, dc, None, x, W, R, b, h0, c0, **kw)
    for name, a, e in zip(["dx", "dh0", "dc0", "dkernel", "drecurrent", "dbias"], g, w):
        if e is not None:
            np.testing.assert_allclose(a, e, rtol=1e-4, atol=1e-4, err_msg=name)


def test_all_ones_mask_is_bitwise_no_mask(rng):
    for cell in CELLS:
        x, W, R, b, h0, c0 = rnn_operands(rng, cell, 6, 5, 3, 4, True, True)
        kw = dict(cell=cell, return_sequences=True)
        a = _C.rnn_forward(x, W, R, b, h0, c0, **kw)
        m = _C.rnn_forward(x, W, R, b, h0, c0, mask=np.ones((6, 5), bool), **kw)
        for p, q in zip(a[:3], m[:3]):
            if p is not None:
                np.testing.assert_array_equal(p, q)
        dy = np.ones_like(a[0])
        ga = _C.rnn_backward(dy, None, None, a[3], x, W, R, b, h0, c0, **kw)
        gm = _C.rnn_backward(dy, None, None, m[3], x, W, R, b, h0, c0,
                             mask=np.ones((6, 5), np.float32), **kw)
        for p, q in zip(ga, gm):
            if p is not None:
                np.testing.assert_array_equal(p, q)


def test_masked_kernel_bitwise_thread_independent(rng):
    x, W, R, b, h0, c0 = rnn_operands(rng, "gru", 64, 12, 40, 48, init=True)
    mask = step_mask(rng, 64, 12)
    out = []
    old = fastnn.get_num_threads()
    try:
        for n in (1, 2):
            fastnn.set_num_threads(n)
            kw = dict(cell="gru", return_sequences=True, mask=mask)
            y, h, c, st = _C.rnn_forward(x, W, R, b, h0, None, **kw)
            g = _C.rnn_backward(np.ones_like(y), None, None, st, x, W, R, b, h0, None, **kw)
            out.append([y.copy(), h.copy()] + [a.copy() for a in g if a is not None])
    finally:
        fastnn.set_num_threads(old)
    for a, b_ in zip(*out):
        np.testing.assert_array_equal(a, b_)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("reverse, seq, zero", [(False, False, False), (True, True, False),
                                                (False, True, True), (True, False, True)])
def test_masked_twin_matches_finite_differences(rng, cell, reverse, seq, zero):
    x, W, R, b, h0, c0 = (None if a is None else a.astype(np.float64)
                          for a in rnn_operands(rng, cell, 3, 4, 2, 3, True, True))
    mask = np.array([[1, 0, 1, 0], [0, 0, 1, 1], [1, 1, 0, 0]], bool)
    kw = dict(cell=cell, go_backwards=reverse, return_sequences=seq, mask=mask,
              zero_output_for_mask=zero)
    check_twin_gradients(rng, x, W, R, b, h0, c0, **kw)


def test_mask_argument_checks(rng):
    x, W, R, b, _, _ = rnn_operands(rng, "lstm", 2, 3, 4, 5)
    with pytest.raises(ValueError, match=r"mask must have shape \(2, 3\)"):
        _C.rnn_forward(x, W, R, b, mask=np.ones((2, 4), bool))
    with pytest.raises(TypeError, match="mask must be boolean"):
        _C.rnn_forward(x, W, R, b, mask=np.array([["a"] * 3] * 2))


# ---- layers ---------------------------------------------------------------------------

from fastnn.layers import (GRU, LSTM, Bidirectional, Dense, Embedding,  # noqa: E402
                           GlobalAveragePooling1D, Input, Masking, SimpleRNN, TimeDistributed)
from fastnn.models import Model, Sequential, load_model  # noqa: E402
from fastnn.optimizers import SGD  # noqa: E402


@pytest.mark.parametrize("name", ["imdb", "masking", "states"])
def test_keras_masked_models_predict_and_train_as_keras(name, tmp_path):
    """Keras-made files (tests/data/make_rnn_mask_fixtures.py): keras-io's bidirectional
    LSTM on Embedding(mask_zero=True); Masking -> GRU -> SimpleRNN(go_backwards) ->
    TimeDistributed -> GlobalAveragePooling1D; return_state, Dense on a sequence and
    Bidirectional(merge_mode=None).  Same predictions, and the same weights after one SGD
    step (so the same gradients through the masks)."""
    e = np.load(os.path.join(DATA, "keras_rnn_mask_expected.npz"))
    x, want = e[f"{name}_in"], e[f"{name}_pred"]
    model = load_model(os.path.join(DATA, f"keras_masked_{name}.keras"))
    got = model.predict(x, verbose=0)
    rows = np.isfinite(want).all(axis=1)  # Keras: NaN where a mean pools no step
    assert rows.sum() >= len(rows) - 1
    np.testing.assert_allclose(got[rows], want[rows], rtol=1e-5, atol=1e-6)
    assert np.isfinite(got).all()
    model.compile(SGD(0.1), "mse")
    model.train_on_batch(x[rows], e[f"{name}_target"][rows])
    for i, w in enumerate(model.weights):
        np.testing.assert_allclose(np.asarray(w.numpy()), e[f"{name}_w{i}"], rtol=1e-5,
                                   atol=1e-6, err_msg=w.name)
    path = str(tmp_path / "again.keras")
    model.save(path)
    np.testing.assert_array_equal(load_model(path).predict(x, verbose=0),
                                  model.predict(x, verbose=0))


def test_masked_layer_outputs_follow_keras_rules(rng):
    """Layer level, against the twin: a masked step keeps the state; its sequence output
    is the previous output (zeros before the first kept step) or zeros with
    zero_output_for_mask; the last output of a row whose last step is masked likewise."""
    x = rng.standard_normal((3, 5, 2)).astype(np.float32)
    mask = np.array([[1, 1, 0, 1, 0], [0, 1, 1, 1, 1], [0, 0, 0, 0, 0]], bool)
    for cls in (SimpleRNN, LSTM, GRU):
        for back, zero in itertools.product([False, True], repeat=2):
            layer = cls(3, return_sequences=True, return_state=True, go_backwards=back,
                        zero_output_for_mask=zero)
            out = layer(x, mask=mask)
            ws = [w.numpy() for w in layer.weights]
            cell = {SimpleRNN: "simple", LSTM: "lstm", GRU: "gru"}[cls]
            want = ref.rnn_forward(x, *ws, cell=cell, go_backwards=back, return_sequences=True,
                                   mask=mask, zero_output_for_mask=zero)
            np.testing.assert_allclose(out[0], want[0], rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(out[1], want[1], rtol=1e-5, atol=1e-6)
            assert not out[0][2].any() and not out[1][2].any()  # fully masked row
            last = cls(3, go_backwards=back, zero_output_for_mask=zero)
            last(x)  # built by a call
            last.set_weights(ws)
            y = last(x, mask=mask)
            np.testing.assert_allclose(y, out[0][:, -1], rtol=1e-6, atol=1e-7)


def test_compute_mask_propagation():
    m = np.array([[True, False, True]])
    assert LSTM(2, return_sequences=True).compute_mask(None, m) is m
    assert LSTM(2).compute_mask(None, m) is None
    got = GRU(2, return_sequences=True, return_state=True).compute_mask(None, [m, None])
    assert got[0] is m and got[1:] == [None]
    assert LSTM(2, return_state=True).compute_mask(None, m) == [None, None, None]
    b = Bidirectional(LSTM(2, return_sequences=True), merge_mode=None)
    assert b.compute_mask(None, m) == [m, m]
    assert Bidirectional(GRU(2, return_sequences=True)).compute_mask(None, m) is m
    assert Bidirectional(GRU(2)).compute_mask(None, m) is None
    b = Bidirectional(LSTM(2, return_state=True))
    assert b.compute_mask(None, m) == [None] * 5


def test_masking_layer_and_propagation_through_a_model(rng):
    x = rng.standard_normal((4, 6, 3)).astype(np.float32)
    x[0, 4:] = 0
    x[1, :2] = 0
    x2 = x.copy()
    x2[2, 1:3] = -1.0
    x2[3, 0, 0] = -1.0  # one feature only: kept
    layer = Masking(mask_value=-1.0)
    y = layer(x2)
    keep = (x2 != -1.0).any(-1)
    assert keep.sum() == 24 - 2
    np.testing.assert_array_equal(layer.compute_mask(x2), keep)
    np.testing.assert_array_equal(y, x2 * keep[..., None])
    assert layer.get_config()["mask_value"] == -1.0
    with pytest.raises(ValueError, match="mask_value must be a number"):
        Masking(mask_value="pad")
    # Masking -> Dense on the sequence -> TimeDistributed -> LSTM: the mask arrives
    inp = Input((6, 3))
    h = TimeDistributed(Dense(4))(Dense(5, activation="tanh")(Masking()(inp)))
    seq = LSTM(3, return_sequences=True)(h)
    pooled = GlobalAveragePooling1D()(seq)
    model = Model(inp, [seq, pooled])
    got_seq, got_pool = model.predict(x, verbose=0)
    keep = (x != 0).any(-1)
    np.testing.assert_array_equal(got_seq[0, 4], got_seq[0, 3])  # carried outputs
    np.testing.assert_array_equal(got_seq[0, 5], got_seq[0, 3])
    assert not got_seq[1, :2].any()  # masked before the first kept step: zeros
    want_pool = (got_seq * keep[..., None]).sum(1) / keep.sum(1, keepdims=True)
    np.testing.assert_allclose(got_pool, want_pool, rtol=1e-5, atol=1e-6)


def test_masked_training_ignores_padding(rng):
    """An Embedding(mask_zero=True) -> GRU model: changing what comes after the padding
    changes nothing (outputs, gradients), and the model trains."""
    ids = rng.integers(1, 20, (8, 7))
    ids[:, 5:] = 0
    other = ids.copy()
    model = Sequential([Input((7,), dtype="int32"), Embedding(20, 4, mask_zero=True),
                        GRU(5, go_backwards=True), Dense(1)])
    model.compile(SGD(0.05), "mse")
    y = rng.standard_normal((8, 1)).astype(np.float32)
    a = model.predict(ids, verbose=0)
    other[:, 5:] = 0
    np.testing.assert_array_equal(model.predict(other, verbose=0), a)
    before = model.evaluate(ids, y, verbose=0)
    model.fit(ids, y, epochs=30, batch_size=8, verbose=0)
    assert model.evaluate(ids, y, verbose=0) < before


def test_layer_mask_shape_error(rng):
    x = rng.standard_normal((2, 4, 3)).astype(np.float32)
    with pytest.raises(ValueError, match=r"mask must have shape \(batch_size, timesteps\)"):
        LSTM(2)(x, mask=np.ones((2, 5), bool))


@pytest.mark.skipif(not os.path.exists("/work/tfvenv/bin/python"),
                    reason="needs Keras in /work/tfvenv")
def test_fastnn_masked_models_load_in_keras(rng, tmp_path):
    """fastnn-made files of masked models (Embedding(mask_zero) -> Bidirectional LSTM ->
    GRU(reset_after=False); Masking -> GRU(reset_after=False, go_backwards) -> SimpleRNN)
    predict the same in Keras."""
    import subprocess
    ids = rng.integers(1, 20, (5, 7)).astype(np.int32)
    ids[0, 4:] = 0
    ids[1, :3] = 0
    x = rng.standard_normal((5, 6, 3)).astype(np.float32)
    x[0, 3:] = 0
    x[2, :2] = 0
    a = Sequential([Input((7,), dtype="int32"), Embedding(20, 4, mask_zero=True),
                    Bidirectional(LSTM(3, return_sequences=True)),
                    GRU(3, reset_after=False), Dense(2)])
    b = Sequential([Input((6, 3)), Masking(),
                    GRU(4, reset_after=False, go_backwards=True, return_sequences=True),
                    SimpleRNN(2)])
    for m in (a, b):  # non-trivial biases
        for w in m.weights:
            w.assign(np.asarray(w.numpy()) + rng.normal(0, 0.1, w.shape).astype(np.float32))
    a.save(str(tmp_path / "a.keras"))
    b.save(str(tmp_path / "b.keras"))
    np.savez(tmp_path / "io.npz", ids=ids, x=x, a=a.predict(ids, verbose=0),
             b=b.predict(x, verbose=0))
    script = (
        "import numpy as np, keras, sys\n"
        "d = sys.argv[1]\n"
        "e = np.load(d + '/io.npz')\n"
        "for name, inp in (('a', 'ids'), ('b', 'x')):\n"
        "    m = keras.models.load_model(f'{d}/{name}.keras', compile=False)\n"
        "    np.testing.assert_allclose(m.predict(e[inp], verbose=0), e[name], rtol=1e-5, atol=1e-6)\n"
        "print('ok')\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    res = subprocess.run(["/work/tfvenv/bin/python", "-c", script, str(tmp_path)],
                         capture_output=True, text=True, env=env, timeout=300, cwd=str(tmp_path))
    assert res.returncode == 0 and "ok" in res.stdout, res.stderr[-2000:]
