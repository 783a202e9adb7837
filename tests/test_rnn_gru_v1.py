"""GRU(reset_after=False): the kernel (cell 'gru_reset_before') against its twin (both
directions, return modes, states, masks; 1 and 2 threads), the twin against finite
differences, and Keras's files (predictions and one SGD step)."""
import itertools
import os

import numpy as np
import pytest

from fastnn import _C
from fastnn import _reference as ref
from fastnn.layers import GRU
from fastnn.models import load_model
from fastnn.optimizers import SGD

from test_rnn import check_twin_gradients, rnn_operands

DATA = os.path.join(os.path.dirname(__file__), "data")
CELL = "gru_reset_before"


@pytest.mark.parametrize("reverse, seq, init, masked",
                         list(itertools.product([False, True], repeat=4)))
def test_gru_reset_before_kernel_matches_twin(rng, threads, reverse, seq, init, masked):
    x, W, R, b, h0, _ = rnn_operands(rng, CELL, 9, 6, 3, 5, True, init)
    kw = dict(cell=CELL, go_backwards=reverse, return_sequences=seq,
              mask=(rng.random((9, 6)) < 0.7) if masked else None)
    got = _C.rnn_forward(x, W, R, b, h0, None, **kw)
    want = ref.rnn_forward(x, W, R, b, h0, None, **kw)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-5, atol=1e-5)
    dy = rng.standard_normal(got[0].shape).astype(np.float32)
    dh = rng.standard_normal(got[1].shape).astype(np.float32)
    g = _C.rnn_backward(dy, dh, None, got[3], x, W, R, b, h0, None, **kw)
    w = ref.rnn_backward(dy, dh, None, None, x, W, R, b, h0, None, **kw)
    for name, a, e in zip(["dx", "dh0", "dc0", "dkernel", "drecurrent", "dbias"], g, w):
        if e is not None:
            np.testing.assert_allclose(a, e, rtol=1e-4, atol=1e-4, err_msg=name)


def test_gru_reset_before_twin_matches_finite_differences(rng):
    x, W, R, b, h0, _ = (None if a is None else a.astype(np.float64)
                         for a in rnn_operands(rng, CELL, 2, 4, 2, 3, True, True))
    kw = dict(cell=CELL, return_sequences=True, mask=np.array([[1, 0, 1, 1], [1, 1, 1, 0]], bool))
    check_twin_gradients(rng, x, W, R, b, h0, None, **kw)


def test_gru_reset_after_false_layer():
    layer = GRU(4, reset_after=False)
    y = layer(np.ones((2, 3, 5), np.float32))
    assert y.shape == (2, 4) and layer.bias.shape == (12,)
    config = layer.get_config()
    assert config["reset_after"] is False
    again = GRU.from_config(config)
    assert again.reset_after is False and again.cell == CELL
    with pytest.raises(ValueError, match="rec_mask"):
        _C.rnn_forward(np.ones((1, 2, 3), np.float32), np.ones((3, 6), np.float32),
                       np.ones((2, 6), np.float32), cell=CELL,
                       rec_mask=np.ones((1, 3, 2), np.float32))


def test_keras_gru_reset_before_file_predicts_and_trains_as_keras(tmp_path):
    e = np.load(os.path.join(DATA, "keras_gru_reset_before_expected.npz"))
    model = load_model(os.path.join(DATA, "keras_gru_reset_before.keras"))
    np.testing.assert_allclose(model.predict(e["x"], verbose=0), e["pred"], rtol=1e-5, atol=1e-6)
    path = str(tmp_path / "again.keras")
    model.save(path)
    np.testing.assert_array_equal(load_model(path).predict(e["x"], verbose=0),
                                  model.predict(e["x"], verbose=0))
    model.compile(SGD(0.1), "mse")
    model.train_on_batch(e["x"], e["target"])
    for i, w in enumerate(model.weights):
        np.testing.assert_allclose(np.asarray(w.numpy()), e[f"w{i}"], rtol=1e-5, atol=1e-6,
                                   err_msg=w.name)
