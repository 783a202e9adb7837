"""The optimizers beyond Adam/SGD/RMSprop: each C update against its NumPy twin, every
optimizer (and the common clipnorm / global_clipnorm / clipvalue / weight_decay) against
Keras on a fixed gradient sequence (tests/data/keras_optimizers.json, made by
tests/data/make_optimizer_fixtures.py in a TensorFlow venv), configs, saving, training."""
import json
import os

import numpy as np
import pytest

from fastnn import _C, optimizers
from fastnn import _reference as ref
from fastnn.layers import Dense, Input
from fastnn.models import Sequential

FIXTURES = json.load(open(os.path.join(os.path.dirname(__file__), "data",
                                       "keras_optimizers.json")))
CASES = FIXTURES["cases"]
IDS = [f"{c['class']}-{i}" for i, c in enumerate(CASES)]

KERNELS = [  # (name, slot count, kwargs)
    ("adamax_update", 2, {"learning_rate": 0.01, "step": 3}),
    ("adagrad_update", 1, {"learning_rate": 0.05}),
    ("adadelta_update", 2, {"learning_rate": 1.0, "rho": 0.9}),
    ("lion_update", 1, {"learning_rate": 0.01}),
    ("nadam_update", 2, {"learning_rate": 0.01, "u_t": 0.5, "u_next": 0.52, "u_product": 0.3,
                         "step": 2}),
    ("ftrl_update", 2, {"learning_rate": 0.05, "l1": 0.01, "l2": 0.02, "l2_shrinkage": 0.03,
                        "beta": 0.1, "learning_rate_power": -0.7}),
]


@pytest.mark.parametrize("n", [1, 7, 100003])
@pytest.mark.parametrize("name, slots, kwargs", KERNELS, ids=[k[0] for k in KERNELS])
def test_kernel_matches_twin(threads, name, slots, kwargs, n):
    rng = np.random.default_rng(n)
    w = rng.normal(size=n).astype(np.float32)
    g = rng.normal(size=n).astype(np.float32)
    state = [np.abs(rng.normal(size=n)).astype(np.float32) for _ in range(slots)]
    w2, state2 = w.copy(), [s.copy() for s in state]
    getattr(_C, name)(w, *state, g, **kwargs)
    getattr(ref, name)(w2, *state2, g, **kwargs)
    # FTRL's w = (clip(l) - l) / q cancels: a few float32 ulps of l (the compiler may fuse
    # multiply-adds) show up in w on these random, badly conditioned states
    tol = 1e-4 if name == "ftrl_update" else 2e-6
    np.testing.assert_allclose(w, w2, rtol=tol, atol=tol)
    for a, b in zip(state, state2):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_kernels_refuse_bad_buffers():
    w, g = np.zeros(4, np.float32), np.zeros(4, np.float32)
    with pytest.raises(ValueError, match="step"):
        _C.adamax_update(w, np.zeros(4, np.float32), np.zeros(4, np.float32), g, step=0)
    with pytest.raises(ValueError):
        _C.lion_update(w, np.zeros(3, np.float32), g)
    with pytest.raises(ValueError, match="overlap"):
        _C.adagrad_update(w, w, g)
    with pytest.raises(ValueError, match="positive learning rate"):
        _C.ftrl_update(w, np.zeros(4, np.float32), np.zeros(4, np.float32), g, learning_rate=0)


def flat(arrays):
    return np.concatenate([np.ravel(np.asarray(a, np.float32)) for a in arrays])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_updates_match_keras(case):
    opt = getattr(optimizers, case["class"])(**case["kwargs"])
    shapes = [np.shape(w) for w in FIXTURES["w0"]]
    params = flat(FIXTURES["w0"])
    opt.variable_sizes = [int(np.prod(s)) for s in shapes]
    for step, (g, expected) in enumerate(zip(FIXTURES["grads"], case["steps"])):
        opt.apply(params, flat(g))
        np.testing.assert_allclose(params, flat(expected), rtol=1e-5, atol=2e-6,
                                   err_msg=f"step {step + 1}")
    got = opt.keras_variables(shapes)
    assert len(got) == len(case["variables"])
    assert int(got[0]) == case["variables"][0]
    for a, b in zip(got[1:], case["variables"][1:]):
        np.testing.assert_allclose(np.asarray(a, np.float32), np.asarray(b, np.float32),
                                   rtol=1e-5, atol=2e-6)
    assert [tuple(np.shape(v)) for v in got] == opt.keras_variable_shapes(shapes)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_configs_match_keras(case):
    cls = getattr(optimizers, case["class"])
    config = cls(**case["kwargs"]).get_config()
    expected = dict(case["config"])
    expected.pop("name"), config.pop("name")  # Keras numbers names: adam_1, rm_sprop, ...
    assert config == pytest.approx(expected) or config == expected
    again = optimizers.get(optimizers.serialize(cls(**case["kwargs"])))
    assert type(again) is cls


def test_state_restores_and_continues_identically():
    shapes = [np.shape(w) for w in FIXTURES["w0"]]
    for cls in (optimizers.Nadam, optimizers.Ftrl, optimizers.Adagrad, optimizers.Adamax,
                optimizers.Adadelta, optimizers.Lion, optimizers.AdamW):
        a, b = cls(learning_rate=0.01), cls(learning_rate=0.01)
        pa = flat(FIXTURES["w0"])
        for g in FIXTURES["grads"][:2]:
            a.apply(pa, flat(g))
        b.set_keras_variables(a.keras_variables(shapes), shapes)
        pb = pa.copy()
        for g in FIXTURES["grads"][2:]:
            a.apply(pa, flat(g))
            b.apply(pb, flat(g))
        np.testing.assert_array_equal(pa, pb, err_msg=cls.__name__)


@pytest.mark.parametrize("name", ["adamw", "adamax", "adagrad", "adadelta", "nadam", "lion",
                                  "ftrl"])
def test_each_trains_and_saves(tmp_path, name):
    from fastnn.saving import load_model
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5], [0.0]])).astype(np.float32)
    model = Sequential([Input((4,)), Dense(8, activation="tanh"), Dense(1)])
    lr = {"adadelta": 1.0, "ftrl": 0.5}.get(name, 0.02)
    model.compile(optimizer=optimizers.get({"class_name": name, "config": {"learning_rate": lr}}),
                  loss="mse")
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=10, batch_size=16, verbose=0)
    assert model.evaluate(x, y, verbose=0) < before
    model.save(tmp_path / "m.keras")
    again = load_model(tmp_path / "m.keras")
    model.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    again.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_common_argument_errors():
    with pytest.raises(ValueError, match="Only one of `clipnorm` and `global_clipnorm`"):
        optimizers.SGD(clipnorm=1.0, global_clipnorm=1.0)
    with pytest.raises(ValueError, match="clipvalue"):
        optimizers.Adam(clipvalue=-1)
    with pytest.raises(ValueError, match="use_ema"):
        optimizers.Adam(use_ema=True)
    with pytest.raises(ValueError, match="weight_decay"):
        optimizers.AdamW(weight_decay=None)
