"""Sequence models: the Embedding and recurrent kernels against their twins (every cell,
direction, return mode, initial and final states, each GEMM ISA, 1 and 2 threads), the
twins against finite differences, the layers' Keras behaviour, and real Keras files."""
import itertools
import os
import subprocess

import numpy as np
import pytest

import fastnn
from fastnn import _C
from fastnn import _reference as ref
from fastnn.layers import GRU, LSTM, Dense, Embedding, Input, SimpleRNN
from fastnn.models import Model, Sequential, load_model
from fastnn.optimizers import Adam

DATA = os.path.join(os.path.dirname(__file__), "data")
TF_PYTHON = "/work/tfvenv/bin/python"
CELLS = ["simple", "lstm", "gru"]


def rnn_operands(rng, cell, N, T, K, U, bias=True, init=False, scale=0.5):
    G = ref._gates(cell)
    f = lambda *s: (rng.standard_normal(s) * scale).astype(np.float32)
    x, W, R = f(N, T, K) * 2, f(K, G * U), f(U, G * U)
    b = (f(2, G * U) if cell == "gru" else f(G * U)) if bias else None
    h0 = f(N, U) if init else None
    c0 = f(N, U) if init and cell == "lstm" else None
    return x, W, R, b, h0, c0

def check_twin_gradients(rng, x, W, R, b, h0, c0, **kw):
    """The float64 twin's rnn_backward against central differences of rnn_forward, for
    random output, state (and cell-state) gradients."""
    y = ref.rnn_forward(x, W, R, b, h0, c0, **kw)[0]
    dy, dh = rng.standard_normal(y.shape), rng.standard_normal(h0.shape)
    dc = rng.standard_normal(h0.shape) if kw.get("cell") == "lstm" else None

    def loss():
        y_, h_, c_, _ = ref.rnn_forward(x, W, R, b, h0, c0, **kw)
        return (y_ * dy).sum() + (h_ * dh).sum() + (0 if c_ is None else (c_ * dc).sum())
    grads = ref.rnn_backward(dy, dh, dc, None, x, W, R, b, h0, c0, **kw)
    for arr, g in zip([x, h0, c0, W, R, b], grads):
        if arr is None:
            continue
        num = np.zeros_like(arr)
        for i in np.ndindex(arr.shape):
            old = arr[i]
            arr[i] = old + 1e-6
            hi = loss()
            arr[i] = old - 1e-6
            lo = loss()
            arr[i] = old
            num[i] = (hi - lo) / 2e-6
        np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-7)



# ---- kernels vs twins ---------------------------------------------------------------

@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("reverse, seq, bias, init",
                         list(itertools.product([False, True], repeat=4)))
def test_rnn_kernel_matches_twin(rng, cell, reverse, seq, bias, init):
    x, W, R, b, h0, c0 = rnn_operands(rng, cell, 5, 7, 3, 4, bias, init)
    kw = dict(cell=cell, go_backwards=reverse, return_sequences=seq)
    got = _C.rnn_forward(x, W, R, b, h0, c0, **kw)
    want = ref.rnn_forward(x, W, R, b, h0, c0, **kw)
    for g, w in zip(got[:3], want[:3]):
        if w is None:
            assert g is None
        else:
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)
    dy = rng.standard_normal(got[0].shape).astype(np.float32)
    dh = rng.standard_normal(got[1].shape).astype(np.float32)
    dc = rng.standard_normal(got[1].shape).astype(np.float32) if cell == "lstm" else None
    g = _C.rnn_backward(dy, dh, dc, got[3], x, W, R, b, h0, c0, **kw)
    w = ref.rnn_backward(dy, dh, dc, None, x, W, R, b, h0, c0, **kw)
    for name, a, e in zip(["dx", "dh0", "dc0", "dkernel", "drecurrent", "dbias"], g, w):
        if e is None:
            assert a is None, name
        else:
            np.testing.assert_allclose(a, e, rtol=1e-4, atol=1e-4, err_msg=name)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("act, rec", [("tanh", "sigmoid"), ("relu", "hard_sigmoid"),
                                      ("linear", "sigmoid"), ("sigmoid", "tanh")])
def test_rnn_kernel_activations_every_isa(rng, isa, threads, cell, act, rec):
    """Shapes with edge tiles (U not a multiple of any vector width), long enough that
    the gate loops and the GEMMs go multi-threaded."""
    x, W, R, b, h0, c0 = rnn_operands(rng, cell, 37, 9, 13, 19, init=True, scale=0.2)
    kw = dict(cell=cell, activation=act, recurrent_activation=rec, return_sequences=True)
    y, h, c, st = _C.rnn_forward(x, W, R, b, h0, c0, **kw)
    want = ref.rnn_forward(x, W, R, b, h0, c0, **kw)[0]  # unbounded activations: scale
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-5 * max(1, np.abs(want).max()))
    dy = rng.standard_normal(y.shape).astype(np.float32)
    got = _C.rnn_backward(dy, None, None, st, x, W, R, b, h0, c0, **kw)
    want = ref.rnn_backward(dy, None, None, None, x, W, R, b, h0, c0, **kw)
    for a, e in zip(got, want):
        if e is not None:
            np.testing.assert_allclose(a, e, rtol=1e-3, atol=1e-4 * max(1, np.abs(e).max()))


def test_rnn_kernel_bitwise_thread_independent(rng):
    x, W, R, b, h0, c0 = rnn_operands(rng, "lstm", 64, 12, 40, 48, init=True)
    out = []
    old = fastnn.get_num_threads()
    try:
        for n in (1, 2):
            fastnn.set_num_threads(n)
            y, h, c, st = _C.rnn_forward(x, W, R, b, h0, c0, return_sequences=True)
            g = _C.rnn_backward(np.ones_like(y), None, None, st, x, W, R, b, h0, c0,
                                return_sequences=True)
            out.append([y.copy(), h.copy(), c.copy()] + [a.copy() for a in g])
    finally:
        fastnn.set_num_threads(old)
    for a, b_ in zip(*out):
        np.testing.assert_array_equal(a, b_)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("reverse, seq", [(False, False), (True, True)])
def test_rnn_twin_matches_finite_differences(rng, cell, reverse, seq):
    x, W, R, b, h0, c0 = (None if a is None else a.astype(np.float64)
                          for a in rnn_operands(rng, cell, 2, 4, 3, 3, True, True))
    kw = dict(cell=cell, go_backwards=reverse, return_sequences=seq)
    check_twin_gradients(rng, x, W, R, b, h0, c0, **kw)


def test_rnn_kernel_argument_checks(rng):
    x, W, R, b, _, _ = rnn_operands(rng, "lstm", 2, 3, 4, 5)
    with pytest.raises(ValueError, match="kernel must have shape"):
        _C.rnn_forward(x, W[:, :8].copy(), R, b)
    with pytest.raises(ValueError, match="cell must be one of"):
        _C.rnn_forward(x, W, R, b, cell="cudnn")
    with pytest.raises(ValueError, match="bias must have shape"):
        _C.rnn_forward(x, W, R, b[:3])
    with pytest.raises(TypeError, match="float32"):
        _C.rnn_forward(x.astype(np.float64), W, R, b)
    y, h, c, st = _C.rnn_forward(x, W, R, b)
    with pytest.raises(ValueError, match="state has"):
        _C.rnn_backward(h, None, None, st[:-1], x, W, R, b)


# ---- Embedding kernel ----------------------------------------------------------------

def test_embedding_kernels_match_twins(rng, threads):
    ids = rng.integers(0, 50, (9, 31)).astype(np.int32)
    table = rng.standard_normal((50, 70)).astype(np.float32)
    np.testing.assert_array_equal(_C.embedding_forward(ids, table),
                                  ref.embedding_forward(ids, table))
    dy = rng.standard_normal((9, 31, 70)).astype(np.float32)
    np.testing.assert_allclose(_C.embedding_backward(dy, ids, 50),
                               ref.embedding_backward(dy, ids, 50), rtol=1e-5, atol=1e-5)


def test_embedding_backward_thread_independent(rng):
    ids = rng.integers(0, 5, (64, 100)).astype(np.int32)  # many repeats of each row
    dy = rng.standard_normal((64, 100, 128)).astype(np.float32)
    old = fastnn.get_num_threads()
    try:
        res = []
        for n in (1, 2):
            fastnn.set_num_threads(n)
            res.append(_C.embedding_backward(dy, ids, 5))
    finally:
        fastnn.set_num_threads(old)
    np.testing.assert_array_equal(*res)


def test_embedding_kernel_rejects_bad_ids():
    table = np.zeros((4, 2), np.float32)
    with pytest.raises(ValueError, match="index 4 is out of range"):
        _C.embedding_forward(np.array([1, 4], np.int32), table)
    with pytest.raises(ValueError, match="index -1 is out of range"):
        _C.embedding_backward(np.zeros((1, 2), np.float32), np.array([-1], np.int32), 4)


# ---- layers ------------------------------------------------------------------------

def test_embedding_layer_indices_from_floats_and_errors():
    layer = Embedding(10, 3)
    y = layer(np.array([[1.0, 9.0]], np.float32))
    np.testing.assert_array_equal(y[0], layer.get_weights()[0][[1, 9]])
    with pytest.raises(ValueError, match="non-integer value 1.5"):
        layer(np.array([[1.5]]))
    with pytest.raises(ValueError, match="out of range"):
        layer(np.array([[10]]))
    with pytest.raises(ValueError, match="out of range"):
        layer(np.array([[-1]]))
    with pytest.raises(ValueError, match="`input_dim` must be a positive integer"):
        Embedding(0, 3)
    with pytest.warns(UserWarning, match="`input_length` is deprecated"):
        Embedding(5, 2, input_length=7)
    lim = Embedding(1000, 8)
    lim(np.zeros((1, 1)))
    assert np.abs(lim.get_weights()[0]).max() <= 0.05


def test_embedding_mask_zero():
    layer = Embedding(5, 2, mask_zero=True)
    np.testing.assert_array_equal(layer.compute_mask(np.array([[0, 3, 0]])),
                                  [[False, True, False]])
    assert Embedding(5, 2).compute_mask(np.array([[0]])) is None


def test_rnn_layer_refusals():
    with pytest.raises(ValueError, match="stateful=True is not supported"):
        LSTM(3, stateful=True)
    with pytest.raises(NotImplementedError, match="reset_after=False"):
        GRU(3, reset_after=False, recurrent_dropout=0.2)
    with pytest.raises(ValueError, match="not supported by fastnn's recurrent kernels"):
        SimpleRNN(3, activation="softmax")
    with pytest.raises(ValueError, match="positive integer"):
        GRU(0)


def test_lstm_unit_forget_bias_and_weight_layout():
    layer = LSTM(3, bias_initializer="zeros")
    layer(np.zeros((1, 2, 4), np.float32))
    kernel, recurrent, bias = layer.get_weights()
    assert kernel.shape == (4, 12) and recurrent.shape == (3, 12) and bias.shape == (12,)
    np.testing.assert_array_equal(bias, [0] * 3 + [1] * 3 + [0] * 6)
    np.testing.assert_allclose(recurrent @ recurrent.T, np.eye(3), atol=1e-5)  # orthogonal
    gru = GRU(3)
    gru(np.zeros((1, 2, 4), np.float32))
    assert [w.shape for w in gru.get_weights()] == [(4, 9), (3, 9), (2, 9)]


@pytest.mark.parametrize("cls, cell", [(LSTM, "lstm"), (GRU, "gru"), (SimpleRNN, "simple")])
def test_return_state_and_initial_state_at_layer_level(rng, cls, cell):
    """The multi-output and extra-input protocols: forward([x, *states]) returns
    [y, *final states]; backward takes a gradient per output and returns one per input."""
    layer = cls(4, return_state=True, return_sequences=True, go_backwards=True)
    x = rng.standard_normal((3, 5, 2)).astype(np.float32)
    n_states = 2 if cell == "lstm" else 1
    states = [rng.standard_normal((3, 4)).astype(np.float32) for _ in range(n_states)]
    layer.ensure_built([x.shape] + [s.shape for s in states])
    assert layer.compute_output_shape([(None, 5, 2)] + [(None, 4)] * n_states) == \
        [(None, 5, 4)] + [(None, 4)] * n_states
    outs = layer.forward([x] + states)
    assert len(outs) == 1 + n_states
    W = [w.copy() for w in layer.get_weights()]
    y, h, c, _ = ref.rnn_forward(x, W[0], W[1], W[2], states[0],
                                 states[1] if n_states > 1 else None, cell=cell,
                                 go_backwards=True, return_sequences=True)
    for got, want in zip(outs, [y, h, c]):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    dys = [rng.standard_normal(o.shape).astype(np.float32) for o in outs]
    grads = layer.backward(dys)
    want = ref.rnn_backward(dys[0], dys[1], dys[2] if n_states > 1 else None, None, x, W[0],
                            W[1], W[2], states[0], states[1] if n_states > 1 else None,
                            cell=cell, go_backwards=True, return_sequences=True)
    assert len(grads) == 1 + n_states
    for got, w in zip(grads, [want[0], want[1], want[2]]):
        np.testing.assert_allclose(got, w, rtol=1e-4, atol=1e-5)


def test_input_dropout_one_mask_per_sequence(rng):
    layer = LSTM(4, dropout=0.5, seed=3, return_sequences=True)
    x = np.ones((6, 5, 8), np.float32)
    layer(x)
    state = layer.random_state()
    y = layer.forward(x, training=True).copy()
    mask = layer._mask.copy()
    assert set(np.unique(mask)) <= {0.0, 2.0} and 0 < (mask == 0).mean() < 1
    W = layer.get_weights()
    np.testing.assert_allclose(y, ref.rnn_forward(x * mask[:, None, :], *W,
                                                  return_sequences=True)[0], rtol=1e-5, atol=1e-5)
    dx = layer.backward(np.ones_like(y)).copy()
    assert np.all(dx[:, :, mask[0] == 0][0] == 0)
    layer.set_random_state(state)  # the same draw again
    np.testing.assert_array_equal(layer.forward(x, training=True), y)
    np.testing.assert_allclose(layer(x), ref.rnn_forward(x, *W, return_sequences=True)[0],
                               rtol=1e-5, atol=1e-5)  # inference: no dropout


def test_training_embedding_lstm_model_learns(rng):
    """A toy task: is token 1 in the sequence?  fit must lower the loss."""
    x = rng.integers(2, 20, (256, 12))
    y = (rng.random(256) < 0.5).astype(np.float32)
    x[y == 1, rng.integers(0, 12, int(y.sum()))] = 1
    model = Sequential([Input((12,)), Embedding(20, 8), LSTM(8), Dense(1, activation="sigmoid")])
    model.compile(optimizer=Adam(0.02), loss="binary_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, y, epochs=15, batch_size=32, verbose=0)
    assert hist.history["loss"][-1] < 0.5 * hist.history["loss"][0]
    assert hist.history["accuracy"][-1] > 0.9


@pytest.mark.parametrize("cls", [GRU, SimpleRNN])
def test_training_stacked_rnn_reduces_loss(rng, cls):
    x = rng.standard_normal((128, 6, 3)).astype(np.float32)
    y = x[:, :, 0].sum(1, keepdims=True)
    model = Sequential([Input((6, 3)), cls(8, return_sequences=True), cls(8, go_backwards=True),
                        Dense(1)])
    model.compile(optimizer=Adam(0.01), loss="mse")
    hist = model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert hist.history["loss"][-1] < 0.2 * hist.history["loss"][0]


# ---- real Keras files ---------------------------------------------------------------

FIXTURES = [("keras_embedding_lstm", "lstm", "ids"), ("keras_gru", "gru", "x"),
            ("keras_simple_rnn", "simple", "x"), ("keras_bidirectional", "bidirectional", "ids"),
            ("keras_time_distributed", "time_distributed", "x")]


@pytest.mark.parametrize("name, key, inp", FIXTURES)
def test_keras_files_load_with_equal_predictions(name, key, inp, tmp_path):
    expected = np.load(os.path.join(DATA, "keras_rnn_expected.npz"))
    model = load_model(os.path.join(DATA, f"{name}.keras"))
    np.testing.assert_allclose(model.predict(expected[inp], verbose=0), expected[key],
                               rtol=1e-5, atol=1e-6)
    path = str(tmp_path / "again.keras")
    model.save(path)
    np.testing.assert_array_equal(load_model(path).predict(expected[inp], verbose=0),
                                  model.predict(expected[inp], verbose=0))


@pytest.mark.skipif(not os.path.exists(TF_PYTHON), reason="needs Keras in /work/tfvenv")
def test_fastnn_rnn_files_load_in_keras(tmp_path):
    expected = np.load(os.path.join(DATA, "keras_rnn_expected.npz"))
    outs = {}
    for name, key, inp in FIXTURES:
        model = load_model(os.path.join(DATA, f"{name}.keras"))
        model.save(str(tmp_path / f"{name}.keras"))
        outs[name] = model.predict(expected[inp], verbose=0)
    np.savez(tmp_path / "inputs.npz", ids=expected["ids"], x=expected["x"], **outs)
    script = (
        "import numpy as np, keras, sys\n"
        "d = sys.argv[1]\n"
        "e = np.load(d + '/inputs.npz')\n"
        f"for name, key, inp in {FIXTURES!r}:\n"
        "    m = keras.models.load_model(f'{d}/{name}.keras', compile=False)\n"
        "    np.testing.assert_allclose(m.predict(e[inp], verbose=0), e[name], rtol=1e-5, atol=1e-6)\n"
        "print('ok')\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    res = subprocess.run([TF_PYTHON, "-c", script, str(tmp_path)], capture_output=True,
                         text=True, env=env, timeout=300)
    assert res.returncode == 0 and "ok" in res.stdout, res.stderr[-2000:]


@pytest.mark.parametrize("module", ["fastnn.layers.embedding", "fastnn.layers.rnn",
                                    "fastnn.layers.wrappers", "fastnn.layers.conv1d",
                                    "fastnn.layers.pooling1d", "fastnn.layers.reshaping1d",
                                    "fastnn.utils.sequence"])
def test_doctests(module):
    import doctest
    import importlib
    assert doctest.testmod(importlib.import_module(module)).failed == 0


def test_functional_return_state_and_initial_state(rng, tmp_path):
    """An encoder's final states start a decoder: multi-output layers and keyword tensors
    in a Functional model; trains, and the file reloads (in Keras too, where installed)."""
    x = rng.standard_normal((32, 5, 3)).astype(np.float32)
    y = rng.standard_normal((32, 1)).astype(np.float32)
    inp = Input((5, 3))
    _, h, c = LSTM(4, return_state=True)(inp)
    seq, _ = GRU(4, return_sequences=True, return_state=True)(inp)
    dec = LSTM(4)(seq, initial_state=[h, c])
    model = Model(inp, Dense(1)(dec))
    model.compile(optimizer=Adam(0.01), loss="mse")
    hist = model.fit(x, y, epochs=8, batch_size=8, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    path = str(tmp_path / "m.keras")
    model.save(path)
    want = model.predict(x, verbose=0)
    np.testing.assert_array_equal(load_model(path).predict(x, verbose=0), want)
    layer = GRU(4)
    assert layer(x, initial_state=[np.zeros((32, 4), np.float32)]).shape == (32, 4)
    if os.path.exists(TF_PYTHON):
        np.save(tmp_path / "x.npy", x)
        np.save(tmp_path / "want.npy", want)
        script = ("import numpy as np, keras, sys\n"
                  "d = sys.argv[1]\n"
                  "m = keras.models.load_model(d + '/m.keras', compile=False)\n"
                  "np.testing.assert_allclose(m.predict(np.load(d + '/x.npy'), verbose=0), "
                  "np.load(d + '/want.npy'), rtol=1e-5, atol=1e-6)\n"
                  "print('ok')\n")
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        res = subprocess.run([TF_PYTHON, "-c", script, str(tmp_path)], capture_output=True,
                             text=True, env=env, timeout=300)
        assert res.returncode == 0 and "ok" in res.stdout, res.stderr[-2000:]


def test_training_conv1d_global_pooling_model(rng):
    """The timeseries-classification shape: Conv1D stacks, global pooling, softmax."""
    from fastnn.layers import Conv1D, GlobalAveragePooling1D, MaxPooling1D
    x = rng.standard_normal((128, 20, 1)).astype(np.float32)
    y = (x[:, :, 0].mean(1) > 0).astype(np.int32)
    model = Sequential([Input((20, 1)), Conv1D(8, 3, padding="same", activation="relu"),
                        MaxPooling1D(), Conv1D(8, 3, padding="causal", activation="relu"),
                        GlobalAveragePooling1D(), Dense(2, activation="softmax")])
    model.compile(optimizer=Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    hist = model.fit(x, y, epochs=10, batch_size=16, verbose=0)
    assert hist.history["loss"][-1] < 0.7 * hist.history["loss"][0]
