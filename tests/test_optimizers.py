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


def fake_variables(shapes):
    from fastnn.layers.layer import Variable
    return [Variable(np.zeros(s, np.float32), f"v{i}") for i, s in enumerate(shapes)]


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
    variables = fake_variables(shapes)
    opt.bind(variables)
    got = opt.keras_variables(variables)
    assert len(got) == len(case["variables"])
    assert int(got[0]) == case["variables"][0]
    for a, b in zip(got[1:], case["variables"][1:]):
        np.testing.assert_allclose(np.asarray(a, np.float32), np.asarray(b, np.float32),
                                   rtol=1e-5, atol=2e-6)
    assert [tuple(np.shape(v)) for v in got] == opt.keras_variable_shapes(variables)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_configs_match_keras(case):
    cls = getattr(optimizers, case["class"])
    config = cls(**case["kwargs"]).get_config()
    expected = dict(case["config"])
    expected.pop("name"), config.pop("name")  # Keras numbers names: adam_1, rm_sprop, ...
    assert config.pop("learning_rate") == pytest.approx(expected.pop("learning_rate")) \
        if isinstance(expected["learning_rate"], float) else \
        config.pop("learning_rate") == expected.pop("learning_rate")
    assert config == pytest.approx(expected)
    again = optimizers.get(optimizers.serialize(cls(**case["kwargs"])))
    assert type(again) is cls


def test_state_restores_and_continues_identically():
    shapes = [np.shape(w) for w in FIXTURES["w0"]]
    for cls in (optimizers.Nadam, optimizers.Ftrl, optimizers.Adagrad, optimizers.Adamax,
                optimizers.Adadelta, optimizers.Lion, optimizers.AdamW):
        a, b = cls(learning_rate=0.01), cls(learning_rate=0.01)
        variables = fake_variables(shapes)
        pa = flat(FIXTURES["w0"])
        for g in FIXTURES["grads"][:2]:
            a.apply(pa, flat(g), variables)
        state = a.keras_variables(variables)
        b.check_keras_variables(state, variables)
        b.set_keras_variables(state, variables)
        pb = pa.copy()
        for g in FIXTURES["grads"][2:]:
            a.apply(pa, flat(g), variables)
            b.apply(pb, flat(g), variables)
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
    with pytest.raises(ValueError, match="loss_scale_factor"):
        optimizers.Adam(loss_scale_factor=2.0)
    with pytest.raises(ValueError, match="gradient_accumulation_steps` must be an integer >= 2"):
        optimizers.Adam(gradient_accumulation_steps=1)
    with pytest.raises(ValueError, match="ema_momentum"):
        optimizers.Adam(use_ema=True, ema_momentum=1.5)


def test_fit_ends_with_the_moving_average_and_saves_it(tmp_path):
    from fastnn.saving import load_model
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype(np.float32)
    y = rng.normal(size=(32, 1)).astype(np.float32)
    model = Sequential([Input((4,)), Dense(1)])
    opt = optimizers.Adam(0.05, use_ema=True, ema_momentum=0.9, gradient_accumulation_steps=2)
    model.compile(optimizer=opt, loss="mse")
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert opt.iterations == 8 and opt.keras_step() == 4
    np.testing.assert_array_equal(model._flat_params, opt._average)  # Keras's finalize step
    model.save(tmp_path / "m.keras")
    again = load_model(tmp_path / "m.keras")
    mine = opt.keras_variables(model.trainable_weights)
    theirs = again.optimizer.keras_variables(again.trainable_weights)
    assert len(mine) == len(theirs) == 2 + 2 * 2 + 2 * 2  # head, averages, accumulators, m/v
    for a, b in zip(mine, theirs):
        np.testing.assert_array_equal(a, b)
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    again.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert again.optimizer.get_config()["gradient_accumulation_steps"] == 2
    with pytest.raises(ValueError, match="weight_decay"):
        optimizers.AdamW(weight_decay=None)


KERAS_SCHEDULES = [  # (class, kwargs, Keras 3.15's values at steps 0..11)
    ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=3, decay_rate=0.5),
     [0.100000001, 0.079370052, 0.062996052, 0.050000001, 0.039685026, 0.031498026, 0.025,
      0.019842515, 0.015749013, 0.0125, 0.009921257, 0.007874507]),
    ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=3, decay_rate=0.5,
                              staircase=True),
     [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125, 0.0125, 0.0125]),
    ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=2, decay_rate=0.5),
     [0.100000001, 0.079999998, 0.06666667, 0.057142857, 0.050000001, 0.044444446, 0.039999999,
      0.036363635, 0.033333335, 0.030769231, 0.028571429, 0.026666667]),
    ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=2, decay_rate=0.5,
                              staircase=True),
     [0.1, 0.1, 0.06666667, 0.06666667, 0.05, 0.05, 0.04, 0.04, 0.033333335, 0.033333335,
      0.028571429, 0.028571429]),
    ("PiecewiseConstantDecay", dict(boundaries=[2, 5], values=[0.1, 0.05, 0.01]),
     [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01]),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=6, end_learning_rate=0.001,
                             power=2.0),
     [0.100000001, 0.069749996, 0.044999994, 0.02575, 0.011999999, 0.003750001, 0.001, 0.001,
      0.001, 0.001, 0.001, 0.001]),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=4, end_learning_rate=0.01,
                             cycle=True),
     [0.100000001, 0.077500001, 0.055, 0.032499999, 0.01, 0.043750003, 0.032499999, 0.02125,
      0.01, 0.032499999, 0.025000002, 0.017499998]),
    ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=6, alpha=0.1),
     [0.100000001, 0.093971148, 0.077500001, 0.054999996, 0.032499995, 0.016028857, 0.010000001,
      0.010000001, 0.010000001, 0.010000001, 0.010000001, 0.010000001]),
    ("CosineDecay", dict(initial_learning_rate=0.0, decay_steps=6, warmup_target=0.2,
                         warmup_steps=3),
     [0.0, 0.06666667, 0.13333334, 0.200000003, 0.186602548, 0.150000006, 0.099999994,
      0.049999993, 0.013397462, 0.0, 0.0, 0.0]),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=3, t_mul=2.0,
                                 m_mul=0.5, alpha=0.05),
     [0.100000001, 0.076250002, 0.028749997, 0.052499998, 0.049318105, 0.040625002,
      0.028750001, 0.016875004, 0.008181894, 0.028750001, 0.028345371, 0.027159054]),
]


@pytest.mark.parametrize("name, kwargs, values", KERAS_SCHEDULES,
                         ids=[f"{s[0]}-{i}" for i, s in enumerate(KERAS_SCHEDULES)])
def test_schedules_match_keras(name, kwargs, values):
    schedule = getattr(optimizers.schedules, name)(**kwargs)
    got = [float(np.float32(schedule(step))) for step in range(12)]
    np.testing.assert_allclose(got, values, rtol=1e-6, atol=1e-8)
    config = optimizers.schedules.serialize(schedule)
    again = optimizers.schedules.deserialize(config)
    assert again.get_config() == schedule.get_config()


def test_schedule_in_optimizer_saves_like_keras(tmp_path):
    from fastnn.saving import load_model
    schedule = optimizers.schedules.ExponentialDecay(0.05, decay_steps=2, decay_rate=0.5)
    opt = optimizers.Adam(learning_rate=schedule)
    assert opt.learning_rate == pytest.approx(0.05)
    assert opt.get_config()["learning_rate"]["class_name"] == "ExponentialDecay"
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.1
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype(np.float32)
    y = rng.normal(size=(32, 1)).astype(np.float32)
    model = Sequential([Input((4,)), Dense(1)])
    model.compile(optimizer=opt, loss="mse")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert opt.learning_rate == pytest.approx(0.05 * 0.5 ** 2)  # 4 steps done
    shapes = [w.shape for w in model.trainable_weights]
    assert opt.keras_variable_shapes(shapes)[:2] == [(), (4, 1)]  # no learning_rate variable
    model.save(tmp_path / "m.keras")
    again = load_model(tmp_path / "m.keras")
    assert again.optimizer.iterations == 4
    assert again.optimizer.learning_rate == pytest.approx(opt.learning_rate)
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    again.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("update, slots, kwargs, one_minus", [
    (_C.adam_update, 2, {"beta_1": 0.9, "beta_2": 0.999}, (0.9, 0.999)),
    (_C.rmsprop_update, 1, {"rho": 0.9}, (0.9,)),
])
def test_one_minus_beta_is_rounded_from_the_double_as_keras(update, slots, kwargs, one_minus):
    """Keras multiplies by `1 - self.beta_1` computed on the Python float, then rounded to
    float32 once: 0.1f for beta 0.9, where 1.0f - 0.9f is 0.100000024."""
    param = np.zeros(8, np.float32)
    grad = np.ones(8, np.float32)
    bufs = [np.zeros(8, np.float32) for _ in range(slots)]
    if update is _C.adam_update:
        update(param, bufs[0], bufs[1], grad, 0.001, step=1, **kwargs)
        assert bufs[0][0] == np.float32(1 - one_minus[0])  # m = g (1 - beta_1)
        assert bufs[1][0] == np.float32(1 - one_minus[1])  # v = g^2 (1 - beta_2)
    else:
        update(param, bufs[0], None, grad, 0.001, **kwargs)
        assert bufs[0][0] == np.float32(1 - one_minus[0])  # v = (1 - rho) g^2
    assert np.float32(1 - 0.9) != np.float32(1) - np.float32(0.9)  # the case this checks
