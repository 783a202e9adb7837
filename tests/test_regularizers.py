"""Regularizers, constraints and initializers: Keras's values (computed in a TensorFlow venv
on the arrays below and pasted here), gradients by finite differences, configs, and the
trainer adding penalties to the loss and projecting constrained weights after each step."""
import numpy as np
import pytest

from fastnn import constraints, initializers, regularizers
from fastnn.layers import Conv2D, Dense, Input
from fastnn.models import Sequential


def sample():
    return np.random.default_rng(3).normal(size=(5, 4)).astype(np.float32)


@pytest.mark.parametrize("reg, keras_value", [
    (regularizers.L1(0.03), 0.5262777805328369), (regularizers.L2(0.02), 0.6116715669631958),
    (regularizers.L1L2(0.01, 0.05), 1.7046048641204834),
    (regularizers.OrthogonalRegularizer(0.1), 0.04944805055856705),
])
def test_penalties_match_keras(reg, keras_value):
    assert reg(sample()) == pytest.approx(keras_value, rel=1e-5)


@pytest.mark.parametrize("reg", [regularizers.L1(0.03), regularizers.L2(0.02),
                                 regularizers.L1L2(0.01, 0.05),
                                 regularizers.OrthogonalRegularizer(0.1),
                                 regularizers.OrthogonalRegularizer(0.2, mode="columns")],
                         ids=lambda r: repr(r))
def test_regularizer_gradients_by_finite_differences(reg):
    x = sample().astype(np.float64)
    g = reg.gradient(x)
    numeric = np.zeros_like(x)
    h = 1e-6
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        up = reg(x)
        x[i] = old - h
        numeric[i] = (up - reg(x)) / (2 * h)
        x[i] = old
    np.testing.assert_allclose(g, numeric, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("c, keras_head", [
    (constraints.MaxNorm(1.5), [1.3137354850769043, -0.9004819989204407, 0.24913577735424042,
                                -0.5677695274353027, -0.2913694381713867, -0.07596510648727417]),
    (constraints.NonNeg(), [2.040919065475464, 0.0, 0.4180988371372223, 0.0, 0.0, 0.0]),
    (constraints.UnitNorm(axis=1), [0.6100062131881714, -0.7638576030731201,
                                    0.12496472895145416, -0.1696995198726654,
                                    -0.2161482721567154, -0.10295157134532928]),
    (constraints.MinMaxNorm(0.5, 1.2, 0.7), [1.3479676246643066, -1.2709693908691406,
                                             0.2649456858634949, -0.5677695274353027,
                                             -0.29896169900894165, -0.10721960663795471]),
])
def test_constraints_match_keras(c, keras_head):
    np.testing.assert_allclose(c(sample()).ravel()[:6], keras_head, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("module, name, config", [
    (regularizers, "l2", {"l2": 0.01}),
    (regularizers, "l1", {"l1": 0.009999999776482582}),  # Keras: L1's factor in float32
    (regularizers, "l1_l2", {"l1": 0.0, "l2": 0.0}),
    (regularizers, "orthogonal_regularizer", {"factor": 0.01, "mode": "rows"}),
    (constraints, "max_norm", {"max_value": 2, "axis": 0}), (constraints, "non_neg", {}),
    (constraints, "unit_norm", {"axis": 0}),
    (constraints, "min_max_norm", {"min_value": 0.0, "max_value": 1.0, "rate": 1.0, "axis": 0}),
])
def test_names_and_configs_round_trip(module, name, config):
    obj = module.get(name)
    assert obj.get_config() == config
    again = module.get(module.serialize(obj))
    assert type(again) is type(obj) and again.get_config() == config


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="l2"):
        regularizers.L2(-1)
    with pytest.raises(ValueError, match="mode"):
        regularizers.OrthogonalRegularizer(mode="diag")
    with pytest.raises(ValueError, match="rank 2"):
        regularizers.OrthogonalRegularizer()(np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="Could not interpret regularizer"):
        regularizers.get("l3")


def test_penalty_in_the_loss_as_keras():
    """Keras 3.15 on the same weights: evaluate 2.5992324 = mse 2.334413 + penalty 0.2648195."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(10, 4)).astype(np.float32)
    y = rng.normal(size=(10, 2)).astype(np.float32)
    model = Sequential([Input((4,)), Dense(2, kernel_regularizer=regularizers.L2(0.1),
                                           bias_regularizer="l1")])
    w = model.get_weights()
    w[1][:] = [0.5, -0.25]
    model.set_weights(w)
    model.compile(loss="mse", optimizer="sgd")
    p = model.predict(x, verbose=0)
    penalty = 0.1 * (w[0].astype(np.float64) ** 2).sum() + 0.01 * np.abs(w[1]).sum()
    got = model.evaluate(x, y, batch_size=4, verbose=0)
    assert got == pytest.approx(((p - y) ** 2).mean() + penalty, rel=1e-5)
    config = model.layers[0].get_config()
    assert config["kernel_regularizer"] == {"module": "keras.regularizers", "class_name": "L2",
                                            "config": {"l2": 0.1}, "registered_name": None}


def test_penalty_gradient_reaches_the_weights():
    """One SGD step with a zero data gradient moves the kernel by -lr * 2 * l2 * w."""
    model = Sequential([Input((3,)), Dense(2, kernel_regularizer=regularizers.L2(0.5),
                                           use_bias=False)])
    model.compile(loss="mse", optimizer="sgd")  # lr 0.01
    k = model.get_weights()[0]
    x = np.zeros((4, 3), np.float32)
    model.train_on_batch(x, np.zeros((4, 2), np.float32))
    np.testing.assert_allclose(model.get_weights()[0], k - 0.01 * 2 * 0.5 * k, rtol=1e-6)


@pytest.mark.parametrize("layer_fn", [
    lambda: Dense(3, kernel_constraint=constraints.MaxNorm(0.1), bias_constraint="non_neg"),
    lambda: Conv2D(2, 3, kernel_constraint=constraints.UnitNorm(axis=[0, 1, 2]),
                   kernel_regularizer="l2", bias_regularizer=regularizers.L1(0.1)),
], ids=["dense", "conv2d"])
def test_constraints_hold_after_each_step(tmp_path, layer_fn):
    from fastnn.layers import Flatten
    from fastnn.saving import load_model
    rng = np.random.default_rng(0)
    layer = layer_fn()
    conv = isinstance(layer, Conv2D)
    shape = (6, 6, 1) if conv else (4,)
    model = Sequential([Input(shape), layer] + ([Flatten()] if conv else []) + [Dense(1)])
    model.compile(loss="mse", optimizer="adam")
    x = rng.normal(size=(16,) + shape).astype(np.float32)
    y = rng.normal(size=(16, 1)).astype(np.float32)
    model.fit(x, y, epochs=3, batch_size=4, verbose=0)
    kernel, bias = layer.get_weights()
    if conv:
        np.testing.assert_allclose(np.sqrt((kernel ** 2).sum(axis=(0, 1, 2))), 1, rtol=1e-5)
    else:
        assert np.sqrt((kernel ** 2).sum(axis=0)).max() <= 0.1 + 1e-6
        assert bias.min() >= 0
    model.save(tmp_path / "m.keras")
    again = load_model(tmp_path / "m.keras")
    assert again.layers[0].get_config() == layer.get_config()


# ---- initializers -------------------------------------------------------------------------

KERAS_INIT_CONFIGS = {  # Keras 3.15's get_config() at the defaults (input/output_axes omitted)
    "Constant": {"value": 0.0}, "Zeros": {}, "Ones": {}, "Identity": {},
    "RandomNormal": {"seed": None, "mean": 0.0, "stddev": 0.05},
    "RandomUniform": {"seed": None, "minval": -0.05, "maxval": 0.05},
    "TruncatedNormal": {"seed": None, "mean": 0.0, "stddev": 0.05},
    "VarianceScaling": {"seed": None, "scale": 1.0, "mode": "fan_in",
                        "distribution": "truncated_normal"},
    "GlorotUniform": {"seed": None}, "GlorotNormal": {"seed": None}, "HeUniform": {"seed": None},
    "HeNormal": {"seed": None}, "LecunUniform": {"seed": None}, "LecunNormal": {"seed": None},
    "Orthogonal": {"seed": None, "gain": 1.0},
}


@pytest.mark.parametrize("name", sorted(KERAS_INIT_CONFIGS))
def test_initializer_configs_match_keras(name):
    init = getattr(initializers, name)()
    assert init.get_config() == KERAS_INIT_CONFIGS[name]
    keras_form = {"module": "keras.initializers", "class_name": name,
                  "config": dict(KERAS_INIT_CONFIGS[name], **(
                      {"input_axes": None, "output_axes": None} if "Glorot" in name or "He" in name
                      or "Lecun" in name or name == "VarianceScaling" else {})),
                  "registered_name": None}
    again = initializers.get(keras_form)
    assert type(again) is type(init)
    out = again((6, 5))
    assert out.shape == (6, 5) and out.dtype == np.float32


@pytest.mark.parametrize("name, scale, mode, dist", [
    ("glorot_uniform", 1, "fan_avg", "uniform"), ("glorot_normal", 1, "fan_avg", "normal"),
    ("he_uniform", 2, "fan_in", "uniform"), ("he_normal", 2, "fan_in", "normal"),
    ("lecun_uniform", 1, "fan_in", "uniform"), ("lecun_normal", 1, "fan_in", "normal"),
])
def test_variance_scaling_statistics(name, scale, mode, dist):
    shape = (3, 3, 40, 60)
    w = initializers.get(name)(shape).astype(np.float64)
    fan_in, fan_out = 9 * 40, 9 * 60
    n = {"fan_in": fan_in, "fan_avg": (fan_in + fan_out) / 2}[mode]
    assert w.var() == pytest.approx(scale / n, rel=0.05)
    if dist == "uniform":
        assert np.abs(w).max() <= np.sqrt(3 * scale / n)
    else:  # truncated at two (corrected) standard deviations
        assert np.abs(w).max() <= 2 * np.sqrt(scale / n) / 0.87962566103423978


def test_random_initializers_and_seeds():
    a = initializers.RandomNormal(mean=1.0, stddev=2.0, seed=5)
    np.testing.assert_array_equal(a((50, 40)), a((50, 40)))  # seeded: same draws each call
    w = a((200, 100))
    assert w.mean() == pytest.approx(1.0, abs=0.05) and w.std() == pytest.approx(2.0, rel=0.05)
    u = initializers.RandomUniform(-1, 3)((300, 100))
    assert u.min() >= -1 and u.max() < 3 and u.mean() == pytest.approx(1, abs=0.05)
    t = initializers.TruncatedNormal(stddev=0.5)((300, 100))
    assert np.abs(t).max() <= 1.0
    assert initializers.VarianceScaling(3.0, "fan_out", "untruncated_normal")((100, 300)).var() \
        == pytest.approx(0.01, rel=0.05)


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (3, 3, 2, 5)])
def test_orthogonal(shape):
    w = initializers.Orthogonal(gain=2.0, seed=1)(shape).reshape(-1, shape[-1]).astype(np.float64)
    small = min(w.shape)
    gram = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
    np.testing.assert_allclose(gram, 4 * np.eye(small), atol=1e-5)


def test_constant_identity_and_errors():
    np.testing.assert_array_equal(initializers.Constant(3)((2, 2)), np.full((2, 2), 3, np.float32))
    np.testing.assert_array_equal(initializers.get("identity")((2, 3)), np.eye(2, 3))
    with pytest.raises(ValueError, match="2D"):
        initializers.Identity()((2, 2, 2))
    with pytest.raises(ValueError, match="Could not interpret initializer"):
        initializers.get("nope")
    with pytest.raises(ValueError, match="mode"):
        initializers.VarianceScaling(mode="fan_max")


def test_layers_take_every_initializer_by_name():
    for name in ["random_normal", "random_uniform", "truncated_normal", "orthogonal", "identity",
                 "constant", "variance_scaling", "lecun_normal", "lecun_uniform", "ones"]:
        layer = Dense(4, kernel_initializer=name)
        layer(np.ones((2, 4), np.float32))
        config = layer.get_config()["kernel_initializer"]
        assert initializers.get(config).get_config() == layer.kernel_initializer.get_config()


def test_regularizers_in_custom_layers_are_recorded_by_the_tape():
    """A custom layer's add_weight(regularizer=...) penalty is added (and differentiated)
    by its tape; the trainer does not add it a second time."""
    from fastnn.layers import Layer
    from fastnn.autodiff import ops

    class MyDense(Layer):
        def __init__(self, units, reg, **kwargs):
            super().__init__(**kwargs)
            self.units, self.reg = units, reg

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="ones",
                                     regularizer=self.reg)

        def call(self, x):
            return ops.matmul(x, self.w)

    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 4)).astype(np.float32)
    y = rng.normal(size=(8, 3)).astype(np.float32)
    for reg in (regularizers.L1L2(0.01, 0.02), regularizers.OrthogonalRegularizer(0.3)):
        model = Sequential([Input((4,)), MyDense(3, reg)])
        model.compile(loss="mse", optimizer="sgd")
        w = model.get_weights()[0] + rng.normal(0, 0.1, (4, 3)).astype(np.float32)
        model.set_weights([w])
        p = model.predict(x, verbose=0)
        got = model.evaluate(x, y, batch_size=8, verbose=0)
        assert got == pytest.approx(((p - y) ** 2).mean() + reg(w), rel=1e-5)
        # the gradient the tape gives equals the regularizer's own
        model.train_on_batch(np.zeros_like(x), np.zeros_like(y))
        np.testing.assert_allclose(model.get_weights()[0], w - 0.01 * reg.gradient(w),
                                   rtol=1e-5, atol=1e-6)
