"""Masks through merge layers and TimeDistributed, and fully masked rows, against Keras-made
files (tests/data/make_mask_merge_fixtures.py): the same predictions, and the same weights
after one SGD step (so the same gradients through the masks)."""
import os

import numpy as np
import pytest

from fastnn.layers import Add, Concatenate, Dense, TimeDistributed
from fastnn.models import load_model
from fastnn.optimizers import SGD

DATA = os.path.join(os.path.dirname(__file__), "data")


@pytest.fixture(scope="module")
def expected():
    with np.load(os.path.join(DATA, "keras_mask_merge_expected.npz")) as f:
        return {k: f[k] for k in f.files}


@pytest.mark.parametrize("name,n_in", [("td", 1), ("merge", 2)])
def test_masks_through_merge_and_time_distributed_as_keras(expected, name, n_in, tmp_path):
    xs = [expected[f"{name}_in{k}"] for k in range(n_in)]
    model = load_model(os.path.join(DATA, f"keras_mask_{name}.keras"))
    np.testing.assert_allclose(model.predict(xs, verbose=0), expected[f"{name}_pred"],
                               rtol=1e-5, atol=2e-6)
    model.compile(SGD(0.1), "mse")
    model.train_on_batch(xs, expected[f"{name}_target"])
    for i, w in enumerate(model.weights):
        np.testing.assert_allclose(np.asarray(w.numpy()), expected[f"{name}_w{i}"], rtol=1e-5,
                                   atol=2e-6, err_msg=w.name)


def test_fully_masked_rows_as_keras(expected):
    """An all-masked sequence: LSTM and GRU give zeros (the initial state), as Keras 3.15;
    GlobalAveragePooling1D gives 0 where Keras gives NaN (0 / 0), fastnn's one deliberate
    difference (a NaN would poison training)."""
    model = load_model(os.path.join(DATA, "keras_mask_empty.keras"))
    got = model.predict(expected["empty_in0"], verbose=0)
    for k, g in enumerate(got):
        want = expected[f"empty_pred{k}"]
        keep = np.isfinite(want)
        np.testing.assert_allclose(g[keep], want[keep], rtol=1e-5, atol=2e-6)
        assert np.isfinite(g).all()
    assert np.isnan(expected["empty_pred2"][0]).all() and (got[2][0] == 0).all()
    assert (got[0][0] == 0).all() and (got[1][0] == 0).all()


def test_merge_mask_rules(rng):
    """Keras 3's rules: Add ORs the masks when every input has one, else none;
    Concatenate counts an unmasked input as all kept."""
    a, b = np.zeros((2, 3, 4), np.float32), np.zeros((2, 3, 2), np.float32)
    ma = np.array([[1, 0, 0], [1, 1, 0]], bool)
    mb = np.array([[0, 1, 0], [0, 0, 0]], bool)
    np.testing.assert_array_equal(Add().compute_mask([a, a], [ma, mb]), ma | mb)
    assert Add().compute_mask([a, a], [ma, None]) is None
    np.testing.assert_array_equal(Concatenate().compute_mask([a, b], [ma, mb]), ma | mb)
    assert Concatenate().compute_mask([a, b], [ma, None]).all()
    np.testing.assert_array_equal(Concatenate(axis=1).compute_mask([a, a], [ma, mb]),
                                  np.concatenate([ma, mb], 1))
    assert Concatenate().compute_mask([a, b], [None, None]) is None


def test_time_distributed_refuses_a_mask_of_the_wrong_shape():
    td = TimeDistributed(Dense(2))
    td(np.zeros((2, 3, 4), np.float32))
    with pytest.raises(ValueError, match="batch size and timesteps"):
        td.forward(np.zeros((2, 3, 4), np.float32), mask=np.ones((2, 4), bool))
