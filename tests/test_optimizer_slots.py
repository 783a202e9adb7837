"""Optimizer slots belong to variables (Keras's semantics): freezing a layer between two
fits keeps every variable's state; the state round-trips through a weights file."""
import os

import numpy as np
import pytest

from fastnn.models import Sequential
from fastnn import layers, optimizers

DATA = os.path.join(os.path.dirname(__file__), "data")


def _model(initial=None):
    model = Sequential([layers.Input((5,)), layers.Dense(4, activation="tanh"),
                                      layers.Dense(3, activation="tanh"), layers.Dense(2)])
    if initial is not None:
        model.set_weights(initial)
    return model


def test_freezing_between_fits_matches_keras():
    """tests/data/make_keras_freeze_fixture.py: Adam, fit, freeze the middle layer, fit,
    unfreeze, fit; Keras keeps every layer's moments throughout."""
    f = np.load(os.path.join(DATA, "keras_freeze.npz"))
    initial = [f[f"initial_{i}"] for i in range(6)]
    model = _model(initial)
    opt = optimizers.Adam(0.05)
    model.compile(opt, "mse")
    model.fit(f["x"], f["y"], batch_size=16, epochs=2, shuffle=False, verbose=0)
    model.layers[1].trainable = False
    model.compile(opt, "mse")
    model.fit(f["x"], f["y"], batch_size=16, epochs=2, shuffle=False, verbose=0)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, f[f"frozen_{i}"], atol=2e-5, err_msg=f"frozen {i}")
    # the frozen layer's moments are still in the file, as Keras saves them
    assert len(opt.keras_variables(model.trainable_weights)) == int(f["n_optimizer_variables"])
    model.layers[1].trainable = True
    model.compile(opt, "mse")
    model.fit(f["x"], f["y"], batch_size=16, epochs=2, shuffle=False, verbose=0)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, f[f"final_{i}"], atol=2e-5, err_msg=f"final {i}")


def test_freezing_without_recompile_keeps_other_moments():
    """fastnn applies `trainable` at the next fit without compile; the untouched layers'
    moments carry on (the same numbers as with compile)."""
    f = np.load(os.path.join(DATA, "keras_freeze.npz"))
    initial = [f[f"initial_{i}"] for i in range(6)]
    model = _model(initial)
    model.compile(optimizers.Adam(0.05), "mse")
    model.fit(f["x"], f["y"], batch_size=16, epochs=2, shuffle=False, verbose=0)
    model.layers[1].trainable = False
    model.fit(f["x"], f["y"], batch_size=16, epochs=2, shuffle=False, verbose=0)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, f[f"frozen_{i}"], atol=2e-5)


def test_frozen_state_survives_a_weights_file(tmp_path):
    f = np.load(os.path.join(DATA, "keras_freeze.npz"))
    model = _model([f[f"initial_{i}"] for i in range(6)])
    model.compile(optimizers.Adam(0.05), "mse")
    model.fit(f["x"], f["y"], batch_size=16, epochs=1, shuffle=False, verbose=0)
    model.layers[1].trainable = False
    model.fit(f["x"], f["y"], batch_size=16, epochs=1, shuffle=False, verbose=0)
    path = str(tmp_path / "m.weights.h5")
    model.save_weights(path)
    saved = model.optimizer.keras_variables(model.trainable_weights)
    other = _model()
    other.compile(optimizers.Adam(0.05), "mse")
    other.load_weights(path)
    other.layers[1].trainable = False  # the frozen layer's state is still the file's
    loaded = other.optimizer.keras_variables(other.trainable_weights)
    assert len(saved) == len(loaded) == 14
    for a, b in zip(saved, loaded):
        np.testing.assert_array_equal(a, b)


def test_slot_state_follows_variables_not_offsets():
    """A variable that stops training parks its slots; one that starts again gets them
    back, wherever the packing puts it."""
    model = _model()
    model.compile(optimizers.SGD(0.1, momentum=0.9), "mse")
    x, y = np.ones((8, 5), np.float32), np.ones((8, 2), np.float32)
    model.fit(x, y, epochs=1, verbose=0)
    opt = model.optimizer
    kernel0 = model.layers[0].kernel
    before = opt._slot_values(kernel0)[0].copy()
    model.layers[0].trainable = False
    model.fit(x, y, epochs=1, verbose=0)
    np.testing.assert_array_equal(opt._slot_values(kernel0)[0], before)
    model.layers[0].trainable = True
    model.fit(x, y, epochs=1, verbose=0)
    assert not np.array_equal(opt._slot_values(kernel0)[0], before)


@pytest.mark.parametrize("make, message", [
    (lambda: optimizers.Adam(beta_1=float("nan")), "beta_1"),
    (lambda: optimizers.Adam(beta_1=1.0), "beta_1"),
    (lambda: optimizers.Adam(beta_2=-0.1), "beta_2"),
    (lambda: optimizers.Adam(epsilon=-1e-7), "epsilon"),
    (lambda: optimizers.Adam(epsilon=float("inf")), "epsilon"),
    (lambda: optimizers.Adam(beta_1="x"), "beta_1"),
    (lambda: optimizers.RMSprop(rho=1.5), "rho"),
    (lambda: optimizers.RMSprop(momentum=-1), "momentum"),
    (lambda: optimizers.RMSprop(epsilon=float("nan")), "epsilon"),
    (lambda: optimizers.SGD(momentum=float("nan")), "momentum"),
    (lambda: optimizers.SGD(learning_rate=float("nan")), "learning_rate"),
    (lambda: optimizers.Adam(learning_rate=-1), "learning_rate"),
])
def test_hyperparameters_out_of_domain_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_hyperparameters_in_domain_are_kept():
    assert optimizers.Adam(beta_1=0.0, epsilon=0.0).beta_1 == 0.0
    assert optimizers.RMSprop(rho=1.0, momentum=1.0).rho == 1.0
