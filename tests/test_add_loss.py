"""add_loss as the keras-io guides use it, against Keras 3 from the same weights
(tests/data/keras_subclassing.npz, made by tests/data/make_subclassing_fixtures.py, which
defines the classes once and runs the same code on both frameworks)."""
import importlib.util
import os

import numpy as np
import pytest

import fastnn.keras as keras
from fastnn.keras import layers, ops

HERE = os.path.dirname(os.path.abspath(__file__))
F = np.load(os.path.join(HERE, "data", "keras_subclassing.npz"))


def _fixture_module():
    spec = importlib.util.spec_from_file_location(
        "make_subclassing_fixtures", os.path.join(HERE, "data", "make_subclassing_fixtures.py"))
    mod = importlib.util.module_from_spec(spec)
    # the script imports keras at the top: give it fastnn's
    import sys
    saved = {k: sys.modules.get(k) for k in ("keras",)}
    sys.modules["keras"] = keras
    try:
        spec.loader.exec_module(mod)
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
    return mod


M = _fixture_module()
OURS = M.run(keras, layers, ops)


@pytest.mark.parametrize("key", ["vae_losses_before", "vae_train", "vae_eval", "vae_kernel",
                                 "act_fit", "log_fit", "log_kernel"])
def test_same_losses_and_weights_as_keras(key):
    np.testing.assert_allclose(np.asarray(OURS[key], np.float32), F[key], rtol=2e-5, atol=2e-6)


def _vae():
    d = M.data()
    Vae, _, _ = M.make(keras, layers, ops, d["vae_eps"])
    return Vae(M.ORIGINAL), d


def test_vae_kl_term_joins_the_loss_and_model_losses():
    vae, d = _vae()
    out = vae(d["vae_x"])
    assert out.shape == (M.BATCH, M.ORIGINAL)
    [kl] = vae.losses
    assert kl > 0
    vae.compile("sgd", "mse")
    mse = float(np.mean((out - d["vae_x"]) ** 2))
    assert vae.evaluate(d["vae_x"], d["vae_x"], verbose=0) == pytest.approx(mse + kl, rel=1e-5)
    # the layers Keras lists: the encoder and the decoder (no graph plumbing)
    assert [l.name for l in vae.layers][:2] == ["encoder", "decoder"]


def test_functional_model_refuses_add_loss_as_keras_does():
    inp = keras.Input((4,))
    h = layers.Dense(3)(inp)
    model = keras.Model(inp, layers.Dense(1)(h))
    with pytest.raises(NotImplementedError):
        model.add_loss(ops.sum(h))


def test_add_loss_needs_a_tensor():
    vae, d = _vae()
    with pytest.raises(ValueError, match="on a tensor input"):
        vae.add_loss("not a tensor")


def test_a_loss_not_computed_from_the_inputs_is_refused_in_a_traced_call():
    class Penalized(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(2)

        def call(self, x):
            y = self.dense(x)
            self.add_loss(ops.sum(ops.square(self.dense.kernel)))
            return y

    with pytest.raises(NotImplementedError, match="does not depend on the model's inputs"):
        Penalized()(np.ones((2, 3), np.float32))


def test_compile_without_a_loss_and_nothing_added_fails_at_the_step():
    inp = keras.Input((3,))
    model = keras.Model(inp, layers.Dense(2)(inp))
    with pytest.raises(ValueError, match="No loss to compute"):
        model.compile(optimizer="adam")
        model.fit(np.ones((4, 3), np.float32), epochs=1, verbose=0)
