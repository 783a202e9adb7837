"""recurrent_dropout: the kernels against their twins (per-gate masks on h_{t-1}, every
cell, with a mask and states, 1 and 2 threads), the twin against finite differences, and
the layers (one mask per sequence and gate, Keras's rules, reproducible draws)."""
import itertools

import numpy as np
import pytest

from fastnn import _C
from fastnn import _reference as ref
from fastnn.layers import GRU, LSTM, SimpleRNN
from fastnn.models import Sequential
from fastnn.layers import Dense, Input
from fastnn.optimizers import SGD

from test_rnn import CELLS, check_twin_gradients, rnn_operands


def rec_masks(rng, cell, N, U, rate=0.4):
    G = ref._gates(cell)
    return ((rng.random((N, G, U)) >= rate) / (1 - rate)).astype(np.float32)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("reverse, seq, init, masked",
                         list(itertools.product([False, True], repeat=4)))
def test_recurrent_dropout_kernel_matches_twin(rng, threads, cell, reverse, seq, init, masked):
    x, W, R, b, h0, c0 = rnn_operands(rng, cell, 9, 6, 3, 5, True, init)
    rm = rec_masks(rng, cell, 9, 5)
    kw = dict(cell=cell, go_backwards=reverse, return_sequences=seq, rec_mask=rm,
              mask=(rng.random((9, 6)) < 0.7) if masked else None)
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


def test_all_ones_rec_mask_equals_none(rng):
    for cell in CELLS:
        x, W, R, b, h0, c0 = rnn_operands(rng, cell, 6, 5, 3, 4, True, True)
        kw = dict(cell=cell, return_sequences=True)
        a = _C.rnn_forward(x, W, R, b, h0, c0, **kw)
        ones = np.ones((6, ref._gates(cell), 4), np.float32)
        m = _C.rnn_forward(x, W, R, b, h0, c0, rec_mask=ones, **kw)
        np.testing.assert_allclose(a[0], m[0], rtol=1e-6, atol=1e-6)
        dy = np.ones_like(a[0])
        ga = _C.rnn_backward(dy, None, None, a[3], x, W, R, b, h0, c0, **kw)
        gm = _C.rnn_backward(dy, None, None, m[3], x, W, R, b, h0, c0, rec_mask=ones, **kw)
        for p, q in zip(ga, gm):
            if p is not None:
                np.testing.assert_allclose(p, q, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cell", CELLS)
def test_recurrent_dropout_twin_matches_finite_differences(rng, cell):
    x, W, R, b, h0, c0 = (None if a is None else a.astype(np.float64)
                          for a in rnn_operands(rng, cell, 2, 4, 2, 3, True, True))
    rm = rec_masks(rng, cell, 2, 3).astype(np.float64)
    kw = dict(cell=cell, return_sequences=True, rec_mask=rm,
              mask=np.array([[1, 0, 1, 1], [1, 1, 1, 0]], bool))
    check_twin_gradients(rng, x, W, R, b, h0, c0, **kw)


def test_rec_mask_argument_checks(rng):
    x, W, R, b, _, _ = rnn_operands(rng, "gru", 2, 3, 4, 5)
    with pytest.raises(ValueError, match=r"rec_mask must have shape \(2, 3, 5\)"):
        _C.rnn_forward(x, W, R, b, cell="gru", rec_mask=np.ones((2, 4, 5), np.float32))


@pytest.mark.parametrize("cls, cell", [(SimpleRNN, "simple"), (LSTM, "lstm"), (GRU, "gru")])
def test_layer_recurrent_dropout_keras_rules(rng, cls, cell):
    """Training: one scaled mask per sample and gate (rate as asked), the twin's output
    with it; inference and rate 0 untouched; the draws follow random_state()."""
    x = rng.standard_normal((64, 5, 3)).astype(np.float32)
    layer = cls(6, recurrent_dropout=0.5, return_sequences=True, seed=3)
    plain = layer(x)  # inference: no dropout
    ws = [w.numpy() for w in layer.weights]
    np.testing.assert_allclose(plain, ref.rnn_forward(x, *ws, cell=cell,
                                                      return_sequences=True)[0],
                               rtol=1e-5, atol=1e-6)
    state = layer.random_state()
    y = layer(x, training=True)
    rm = layer._rec.copy()
    G = ref._gates(cell)
    assert rm.shape == (64, G, 6)
    assert set(np.unique(rm)) == {0.0, 2.0}
    assert 0.4 < (rm == 0).mean() < 0.6
    np.testing.assert_allclose(y, ref.rnn_forward(x, *ws, cell=cell, return_sequences=True,
                                                  rec_mask=rm)[0], rtol=1e-5, atol=1e-6)
    layer(x, training=True)
    assert not np.array_equal(layer._rec, rm)  # a new draw per batch
    layer.set_random_state(state)
    np.testing.assert_array_equal(layer(x, training=True), y)  # reproducible
    config = layer.get_config()
    assert config["recurrent_dropout"] == 0.5
    assert cls.from_config(config).recurrent_dropout == 0.5


def test_training_with_recurrent_dropout_reduces_loss(rng):
    x = rng.standard_normal((64, 8, 3)).astype(np.float32)
    y = x[:, :, :1].sum(1)
    model = Sequential([Input((8, 3)), LSTM(8, recurrent_dropout=0.2, dropout=0.1),
                        Dense(1)])
    model.compile(SGD(0.05), "mse")
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=20, batch_size=16, verbose=0)
    assert model.evaluate(x, y, verbose=0) < 0.7 * before
