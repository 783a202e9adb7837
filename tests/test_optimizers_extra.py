"""Adafactor, Adam/AdamW(amsgrad=True) and RMSprop(centered=True): each C update against
its NumPy twin, each optimizer against Keras 3 on a fixed gradient sequence over variables
of rank 0 to 3 (tests/data/keras_optimizers_extra.json, made by
tests/data/make_optimizer_fixtures_extra.py in a TensorFlow venv), Keras's variable order
and shapes, configs, state round trips, training and saving."""
import json
import os

import numpy as np
import pytest

from fastnn import _C, optimizers
from fastnn import _reference as ref
from fastnn.layers import Conv2D, Dense, Flatten, Input
from fastnn.layers.layer import Variable
from fastnn.models import Sequential

FIXTURES = json.load(open(os.path.join(os.path.dirname(__file__), "data",
                                       "keras_optimizers_extra.json")))
CASES = FIXTURES["cases"]
IDS = [f"{c['class']}-{i}" for i, c in enumerate(CASES)]
SHAPES = [tuple(s) for s in FIXTURES["shapes"]]


def flat(arrays):
    return np.concatenate([np.ravel(np.asarray(a, np.float32)) for a in arrays])


def variables():
    return [Variable(np.zeros(s, np.float32), f"v{i}") for i, s in enumerate(SHAPES)]


@pytest.mark.parametrize("n", [1, 7, 100003])
def test_amsgrad_and_centered_kernels_match_twins(threads, n):
    rng = np.random.default_rng(n)
    for name, slots, kwargs in (
            ("adam_amsgrad_update", 3, {"learning_rate": 0.01, "step": 3}),
            ("rmsprop_centered_update", 2, {"learning_rate": 0.01}),
            ("rmsprop_centered_update", 3, {"learning_rate": 0.01, "momentum": 0.9})):
        w = rng.normal(size=n).astype(np.float32)
        g = rng.normal(size=n).astype(np.float32)
        state = [np.abs(rng.normal(size=n)).astype(np.float32) for _ in range(slots)]
        if name == "rmsprop_centered_update":
            state[1] *= 0.1  # the average gradient, small against the second moment
            state[0] += state[1] * state[1]  # v >= a^2, as a real history gives
            state = [state[0], state[2] if slots == 3 else None, state[1]]
        w2 = w.copy()
        state2 = [None if s is None else s.copy() for s in state]
        getattr(_C, name)(w, *state, g, **kwargs)
        getattr(ref, name)(w2, *state2, g, **kwargs)
        np.testing.assert_allclose(w, w2, rtol=2e-6, atol=2e-6, err_msg=name)
        for a, b in zip(state, state2):
            if a is not None:
                np.testing.assert_allclose(a, b, rtol=2e-6, atol=2e-6, err_msg=name)


@pytest.mark.parametrize("shapes", [[(3,), (4, 5), (2, 3, 4), (), (1, 7)],
                                    [(300, 400), (400,), (3, 3, 16, 32)], [(0, 4), (5,)]])
def test_adafactor_kernel_matches_twin(threads, shapes):
    rng = np.random.default_rng(len(shapes))
    n = sum(int(np.prod(s)) for s in shapes)
    w = rng.normal(size=n).astype(np.float32)
    g = rng.normal(size=n).astype(np.float32)
    state = [np.abs(rng.normal(size=n)).astype(np.float32) for _ in range(3)]
    w2, state2 = w.copy(), [s.copy() for s in state]
    kwargs = {"rho_t": 0.01, "beta_2_t": 0.4, "clip_threshold": 0.7}
    _C.adafactor_update(w, *state, g, shapes, **kwargs)
    ref.adafactor_update(w2, *state2, g, shapes, **kwargs)
    np.testing.assert_allclose(w, w2, rtol=2e-6, atol=2e-6)
    for a, b in zip(state, state2):
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=2e-6)


def test_kernels_refuse_bad_arguments():
    w, g = np.zeros(4, np.float32), np.zeros(4, np.float32)
    z = [np.zeros(4, np.float32) for _ in range(3)]
    with pytest.raises(ValueError, match="step"):
        _C.adam_amsgrad_update(w, *z, g, step=0)
    with pytest.raises(ValueError, match="overlap"):
        _C.adam_amsgrad_update(w, z[0], z[1], z[1], g)
    with pytest.raises(ValueError, match="momentum_buf"):
        _C.rmsprop_centered_update(w, z[0], None, z[1], g, momentum=0.9)
    with pytest.raises(ValueError, match="elements"):
        _C.adafactor_update(w, *z, g, [(2, 3)])
    with pytest.raises(ValueError, match="clip_threshold"):
        _C.adafactor_update(w, *z, g, [(2, 2)], clip_threshold=0.0)
    with pytest.raises(ValueError):
        _C.adafactor_update(w, z[0], z[1], np.zeros(3, np.float32), g, [(4,)])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_updates_and_state_match_keras(case):
    opt = getattr(optimizers, case["class"])(**case["kwargs"])
    vs = variables()
    params = flat(FIXTURES["w0"])
    for step, (g, expected) in enumerate(zip(FIXTURES["grads"], case["steps"])):
        opt.apply(params, flat(g), vs)
        np.testing.assert_allclose(params, flat(expected), rtol=1e-5, atol=2e-6,
                                   err_msg=f"step {step + 1}")
    got = opt.keras_variables(vs)
    assert [list(np.shape(v)) for v in got] == case["shapes"]
    assert [tuple(s) for s in case["shapes"]] == opt.keras_variable_shapes(vs)
    assert int(got[0]) == case["variables"][0]
    for k, (a, b) in enumerate(zip(got[1:], case["variables"][1:])):
        np.testing.assert_allclose(np.asarray(a, np.float32), np.asarray(b, np.float32),
                                   rtol=1e-5, atol=2e-6, err_msg=f"variable {k + 1}")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_keras_state_loads_and_continues(case):
    """Keras's optimizer variables after five steps (as a Keras file holds them) restore
    into a fresh fastnn optimizer, which then steps exactly as the one that ran."""
    cls = getattr(optimizers, case["class"])
    a, b = cls(**case["kwargs"]), cls(**case["kwargs"])
    vs = variables()
    pa = flat(FIXTURES["w0"])
    for g in FIXTURES["grads"]:
        a.apply(pa, flat(g), vs)
    keras_state = [np.asarray(v, np.float32 if k else np.int64).reshape(s)
                   for k, (v, s) in enumerate(zip(case["variables"], case["shapes"]))]
    b.check_keras_variables(keras_state, vs)
    b.set_keras_variables(keras_state, vs)
    pb = flat(case["steps"][-1])
    pa[...] = pb
    for g in FIXTURES["grads"][:2]:
        a.apply(pa, flat(g), vs)
        b.apply(pb, flat(g), vs)
    np.testing.assert_allclose(pa, pb, rtol=1e-5, atol=1e-6)
    bad = [v.copy() for v in keras_state]
    bad[-1] = -np.abs(bad[-1]) - 1  # a negative second moment (or average, for RMSprop)
    if case["class"] != "RMSprop":
        with pytest.raises(ValueError, match=">= 0"):
            b.check_keras_variables(bad, vs)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_configs_match_keras(case):
    cls = getattr(optimizers, case["class"])
    config = cls(**case["kwargs"]).get_config()
    expected = dict(case["config"])
    expected.pop("name"), config.pop("name")
    assert config.pop("learning_rate") == pytest.approx(expected.pop("learning_rate"))
    assert config == pytest.approx(expected)
    again = optimizers.get(optimizers.serialize(cls(**case["kwargs"])))
    assert type(again) is cls and again.get_config() == cls(**case["kwargs"]).get_config()


def test_adafactor_needs_the_variables():
    with pytest.raises(ValueError, match="shapes of the variables"):
        optimizers.Adafactor().apply(np.zeros(4, np.float32), np.ones(4, np.float32))
    with pytest.raises(ValueError, match="clip_threshold"):
        optimizers.Adafactor(clip_threshold=0)


@pytest.mark.parametrize("make", [lambda: optimizers.Adafactor(0.05),
                                  lambda: optimizers.Adam(0.01, amsgrad=True),
                                  lambda: optimizers.RMSprop(0.005, centered=True, momentum=0.5)],
                         ids=["adafactor", "amsgrad", "centered"])
def test_trains_a_cnn_and_saves(tmp_path, make):
    from fastnn.saving import load_model
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6, 6, 2)).astype(np.float32)
    y = (x.mean(axis=(1, 2, 3)) > 0).astype(np.int64)
    # softmax: the loss takes probabilities (raw outputs made it clip, and 16 steps
    # sometimes raised it; 20 seeds x 3 optimizers all train with the softmax)
    model = Sequential([Input((6, 6, 2)), Conv2D(4, 3, activation="relu"), Flatten(),
                        Dense(2, activation="softmax")])
    model.compile(make(), "sparse_categorical_crossentropy")
    first = model.evaluate(x, y, verbose=0)
    model.fit(x, y, batch_size=16, epochs=4, verbose=0)
    assert model.evaluate(x, y, verbose=0) < first
    model.save(tmp_path / "m.keras")
    again = load_model(tmp_path / "m.keras")
    assert type(again.optimizer) is type(model.optimizer)
    assert again.optimizer.get_config() == model.optimizer.get_config()
    for u, v in zip(model.optimizer.keras_variables(model.trainable_weights),
                    again.optimizer.keras_variables(again.trainable_weights)):
        np.testing.assert_array_equal(u, v)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    again.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    for u, v in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_allclose(u, v, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", ["adafactor", "amsgrad", "centered"])
def test_a_keras_saved_optimizer_state_loads_and_continues(name):
    """A .keras file saved by Keras 3 mid-training (tests/data/make_optimizer_state_fixtures.py):
    fastnn restores the optimizer's slots (Adafactor's factored r and c of a rank-4 kernel
    included) and its next step lands where Keras's did."""
    from fastnn.saving import load_model
    data = os.path.join(os.path.dirname(__file__), "data")
    f = np.load(os.path.join(data, "keras_optstate.npz"))
    model = load_model(os.path.join(data, f"keras_optstate_{name}.keras"))
    assert model.optimizer.iterations == 2
    model.fit(f["x"][:8], f["y"][:8], batch_size=8, epochs=1, shuffle=False, verbose=0)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, f[f"{name}_{i}"], rtol=1e-4, atol=2e-6,
                                   err_msg=f"weight {i}")


def _keras_python():
    from conftest import keras_python
    return keras_python()


@pytest.mark.skipif(_keras_python() is None,
                    reason="keras with TensorFlow is not installed (nor named by "
                           "FASTNN_TEST_KERAS_PYTHON): the fastnn -> Keras direction is "
                           "checked only where Keras can run")
def test_fastnn_saved_optimizer_state_loads_in_keras(tmp_path):
    import subprocess
    import textwrap
    from conftest import subprocess_env
    rng = np.random.default_rng(2)
    x = rng.normal(size=(16, 5, 5, 2)).astype(np.float32)
    y = rng.integers(0, 3, size=16)
    saved = {}
    for name, make in (("adafactor", lambda: optimizers.Adafactor(0.05)),
                       ("amsgrad", lambda: optimizers.Adam(0.01, amsgrad=True)),
                       ("centered", lambda: optimizers.RMSprop(0.01, centered=True,
                                                               momentum=0.5))):
        model = Sequential([Input((5, 5, 2)), Conv2D(3, 3), Flatten(), Dense(3)])
        model.compile(make(), "sparse_categorical_crossentropy")
        model.fit(x, y, batch_size=8, epochs=1, verbose=0)
        model.save(tmp_path / f"{name}.keras")
        for k, v in enumerate(model.optimizer.keras_variables(model.trainable_weights)):
            saved[f"{name}_{k}"] = np.asarray(v)
    np.savez(tmp_path / "state.npz", **saved)
    script = textwrap.dedent(f"""
        import os
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import numpy as np, keras
        d = np.load({str(tmp_path / "state.npz")!r})
        for name in ("adafactor", "amsgrad", "centered"):
            m = keras.models.load_model({str(tmp_path)!r} + "/" + name + ".keras")
            got = [np.asarray(v) for v in m.optimizer.variables]
            want = [d[f"{{name}}_{{k}}"] for k in range(len([f for f in d.files
                                                              if f.startswith(name + "_")]))]
            assert len(got) == len(want), (name, len(got), len(want))
            for a, b in zip(got, want):
                assert a.shape == b.shape, (name, a.shape, b.shape)
                np.testing.assert_allclose(a, b, rtol=1e-6, atol=0)
        print("KERAS-OK")
    """)
    proc = subprocess.run([_keras_python(), "-c", script], capture_output=True, text=True,
                          timeout=300, env=subprocess_env(), cwd=str(tmp_path))
    assert "KERAS-OK" in proc.stdout, proc.stderr[-3000:]
