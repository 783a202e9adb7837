"""Every built-in loss against Keras's values (tests/data/keras_losses.json, made by
tests/data/make_loss_fixtures.py in a TensorFlow venv), its analytic gradient against
finite differences in float64, the trainer's per-sample form, and compile() with each."""
import json
import os

import numpy as np
import pytest

from fastnn import losses
from fastnn.layers import Dense
from fastnn.models import Sequential

FIXTURES = json.load(open(os.path.join(os.path.dirname(__file__), "data", "keras_losses.json")))
CASES = FIXTURES["cases"]
IDS = [f"{c['class']}-{i}" for i, c in enumerate(CASES)]


def arrays(case, dtype=np.float32):
    return np.array(case["y_true"], dtype), np.array(case["y_pred"], dtype)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_values_match_keras(case):
    cls = getattr(losses, case["class"])
    t, p = arrays(case)
    got = cls(**case["kwargs"], reduction="none")(t, p)
    np.testing.assert_allclose(got, case["values"], rtol=2e-5, atol=2e-6)
    fn_name = [k for k, (_, c) in losses.FUNCTIONS.items() if c is cls][0]
    np.testing.assert_allclose(getattr(losses, fn_name)(t, p, **case["kwargs"]), case["values"],
                               rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_reductions_and_sample_weight_match_keras(case):
    cls = getattr(losses, case["class"])
    t, p = arrays(case)
    w = np.array(case["sample_weight"])
    for reduction, (plain, weighted) in case["reduced"].items():
        loss = cls(**case["kwargs"], reduction=reduction)
        np.testing.assert_allclose(loss(t, p), plain, rtol=2e-5, atol=2e-6, err_msg=reduction)
        np.testing.assert_allclose(loss(t, p, sample_weight=w), weighted, rtol=2e-5, atol=2e-6,
                                   err_msg=reduction)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_config_matches_keras(case):
    cls = getattr(losses, case["class"])
    config = cls(**case["kwargs"]).get_config()
    expected = dict(case["config"])
    if case["class"] == "Huber":  # Keras 3 drops delta from the config; fastnn keeps it
        expected["delta"] = case["kwargs"].get("delta", 1.0)
    assert config == expected
    again = cls.from_config(config)
    assert again.get_config() == config
    assert losses.deserialize(losses.serialize(again)).get_config() == config


def finite_difference(f, p, h=1e-6):
    """Central differences of sum(f(p)); f returns an array and the difference is taken
    element by element first (the rows a step does not touch cancel exactly)."""
    g = np.zeros_like(p)
    for i in np.ndindex(p.shape):
        old = p[i]
        p[i] = old + h
        up = f(p)
        p[i] = old - h
        down = f(p)
        p[i] = old
        g[i] = np.sum(np.asarray(up, np.float64) - down) / (2 * h)
    return g


def checkable(values, p):
    """Entries finite differences can check: not at exactly 0 or 1 (clipped there: a
    one-sided kink), and not in a row whose loss is huge (MAPE of a zero target: the
    difference of two 1e9s has no digits left)."""
    rows = np.abs(values) < 1e6
    return (p != 0) & (p != 1) & rows.reshape(rows.shape + (1,))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradient_by_finite_differences(case):
    loss = getattr(losses, case["class"])(**case["kwargs"])
    t, p = arrays(case, np.float64)
    if loss.__class__.__name__.startswith("Sparse"):
        t = t.astype(np.int64)
    else:
        t, p = loss._standardize(t, p)
    _, grad = loss.values_and_grad(t, p)
    numeric = finite_difference(lambda q: loss.values_and_grad(t, q)[0], p)
    inside = checkable(loss.values_and_grad(t, p)[0], p)
    np.testing.assert_allclose(grad[inside], numeric[inside], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_forward_backward_is_the_reduced_loss_and_its_gradient(case, reduction):
    loss = getattr(losses, case["class"])(**case["kwargs"], reduction=reduction)
    t, p = arrays(case)
    t = loss.prepare_targets(t, p.shape)
    per_sample, grad = loss.forward_backward(t, p)
    assert per_sample.shape == (len(p),) and grad.shape == p.shape and grad.dtype == np.float32
    np.testing.assert_allclose(per_sample.mean(), case["reduced"][reduction][0], rtol=2e-5,
                               atol=2e-6)
    p = p.astype(np.float64)
    numeric = finite_difference(lambda q: loss.forward_backward(t, q)[0] / len(q), p, h=1e-3)
    inside = checkable(loss.values_and_grad(t, p)[0], p)
    np.testing.assert_allclose(grad[inside], numeric[inside], rtol=2e-2, atol=2e-4)


@pytest.mark.parametrize("cls, kwargs, activation", [
    (losses.CategoricalCrossentropy, {}, "softmax"),
    (losses.CategoricalCrossentropy, {"label_smoothing": 0.1}, "softmax"),
    (losses.SparseCategoricalCrossentropy, {}, "softmax"),
    (losses.SparseCategoricalCrossentropy, {"ignore_class": 1}, "softmax"),
    (losses.BinaryCrossentropy, {"label_smoothing": 0.2}, "sigmoid"),
])
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum"])
def test_fused_logits_path_equals_probabilities_path(cls, kwargs, activation, reduction):
    rng = np.random.default_rng(0)
    z = rng.normal(0, 1, (6, 4)).astype(np.float32)
    if cls is losses.SparseCategoricalCrossentropy:
        y = rng.integers(0, 4, 6)
    else:
        y = rng.integers(0, 2, (6, 4)).astype(np.float32)
        if activation == "softmax":
            y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 6)]
    loss = cls(**kwargs, reduction=reduction)
    y = loss.prepare_targets(y, z.shape)
    if activation == "softmax":
        e = np.exp(z - z.max(1, keepdims=True))
        p = e / e.sum(1, keepdims=True)
    else:
        p = 1 / (1 + np.exp(-z))
    per_sample, dz, probs = loss.forward_backward_logits(y, z)
    ref_loss, dp = loss.forward_backward(y, p.astype(np.float64))
    np.testing.assert_allclose(probs, p, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(per_sample, ref_loss, rtol=1e-4, atol=1e-6)
    if activation == "softmax":
        ref_dz = p * (dp - (dp * p).sum(1, keepdims=True))
    else:
        ref_dz = dp * p * (1 - p)
    np.testing.assert_allclose(dz, ref_dz, rtol=1e-3, atol=1e-6)


def small_model(units, activation, loss, seed=0):
    from fastnn.utils import set_random_seed
    set_random_seed(seed)
    model = Sequential([Dense(8, activation="relu"), Dense(units, activation=activation)])
    model.compile(optimizer="adam", loss=loss)
    return model


TRAINING = [
    ("mse", 3, None), ("mae", 3, None), ("mape", 3, "sigmoid"), ("msle", 3, "sigmoid"),
    (losses.Huber(delta=0.5), 3, None), ("log_cosh", 3, None), ("poisson", 3, "sigmoid"),
    ("kld", 3, "softmax"), (losses.CosineSimilarity(), 3, None), ("hinge", 3, "tanh"),
    ("squared_hinge", 3, "tanh"), ("categorical_hinge", 3, None),
    (losses.BinaryFocalCrossentropy(), 3, "sigmoid"),
    (losses.CategoricalFocalCrossentropy(from_logits=True), 3, None),
    (losses.categorical_crossentropy, 3, "softmax"), (losses.MeanSquaredError(reduction="sum"),
                                                      3, None),
    (losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0), 3, None),
]


@pytest.mark.parametrize("loss, units, activation", TRAINING, ids=[str(t[0])[:40] for t in TRAINING])
def test_compile_trains_and_evaluate_equals_the_loss_object(loss, units, activation):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    sparse = isinstance(loss, losses.SparseCategoricalCrossentropy)
    if sparse:
        y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0)
    else:
        y = np.eye(3, dtype=np.float32)[(x[:, 0] > 0).astype(int) + (x[:, 1] > 0)]
        y += 0.1
        y /= y.sum(1, keepdims=True)
    model = small_model(units, activation, loss)
    before = model.evaluate(x, y, batch_size=len(x), verbose=0)  # one batch: "sum" sums it
    obj = losses.get(loss)
    np.testing.assert_allclose(before, float(obj(y, model.predict(x, verbose=0))), rtol=1e-4,
                               atol=1e-6)
    model.fit(x, y, epochs=20, batch_size=16, verbose=0)
    assert model.evaluate(x, y, batch_size=len(x), verbose=0) < before


def test_sample_weight_in_fit_is_keras_weighting():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(10, 4)).astype(np.float32)
    y = rng.normal(size=(10, 3)).astype(np.float32)
    w = rng.uniform(0, 2, 10).astype(np.float32)
    for reduction in ("sum_over_batch_size", "sum"):
        loss = losses.MeanSquaredError(reduction=reduction)
        model = small_model(3, None, loss)
        got = model.evaluate(x, y, sample_weight=w, batch_size=10, verbose=0)
        np.testing.assert_allclose(got, float(loss(y, model.predict(x, verbose=0), w)), rtol=1e-5)


class MyLoss(losses.Loss):
    def call(self, y_true, y_pred):
        return np.mean(np.abs(y_pred - y_true), axis=-1)


def test_custom_loss_subclass_call_and_reduction():
    t, p = np.zeros((2, 3)), np.array([[1.0, 2, 3], [0, 0, 3]])
    assert MyLoss()(t, p) == pytest.approx(1.5)
    assert MyLoss(reduction="sum")(t, p) == pytest.approx(3.0)
    assert MyLoss(name="mine").get_config() == {"name": "mine", "reduction": "sum_over_batch_size"}
    np.testing.assert_allclose(MyLoss(reduction="none")(t, p, sample_weight=[1, 2]), [2, 2])


def test_custom_loss_written_with_ops_trains_like_the_builtin():
    from fastnn.autodiff import ops

    class OpsMSE(losses.Loss):
        def call(self, y_true, y_pred):
            return ops.mean(ops.square(y_pred - y_true), axis=-1)

    def ops_mae(y_true, y_pred):
        return ops.mean(ops.abs(y_pred - y_true), axis=-1)

    rng = np.random.default_rng(4)
    x = rng.normal(size=(32, 4)).astype(np.float32)
    y = rng.normal(size=(32, 3)).astype(np.float32)
    for custom, builtin in ((OpsMSE(), "mse"), (ops_mae, "mae")):
        got = []
        for loss in (custom, builtin):
            model = small_model(3, None, loss, seed=7)
            model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
            got.append(model.get_weights())
        for a, b in zip(*got):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_custom_loss_written_with_numpy_trains_through_the_tape():
    """MyLoss.call uses np.mean/np.abs: on the tape's tensors NumPy's functions are
    recorded too, so it trains exactly like the built-in MAE."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(16, 4)).astype(np.float32)
    y = rng.normal(size=(16, 3)).astype(np.float32)
    got = []
    for loss in (MyLoss(), "mae"):
        model = small_model(3, None, loss, seed=3)
        model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
        got.append(model.get_weights())
    for a, b in zip(*got):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_loss_that_ignores_y_pred_raises_clearly():
    class Constant(losses.Loss):
        def call(self, y_true, y_pred):
            return np.zeros(len(y_true), np.float32)
    model = small_model(3, None, Constant())
    with pytest.raises(ValueError, match="does not depend on y_pred"):
        model.fit(np.ones((4, 4), np.float32), np.ones((4, 3), np.float32), verbose=0)


def test_subclass_of_builtin_overriding_call_is_not_fused_or_analytic():
    class Doubled(losses.CategoricalCrossentropy):
        def call(self, y_true, y_pred):
            return 2 * super().call(y_true, y_pred)
    loss = Doubled()
    assert loss.fused_activation is None and loss._analytic() is None
    t = np.eye(3)[[0, 1]]
    p = np.full((2, 3), 1 / 3)
    assert loss(t, p) == pytest.approx(2 * np.log(3), rel=1e-5)


def test_errors_in_keras_words():
    with pytest.raises(ValueError, match="Invalid value for argument `reduction`"):
        losses.MeanSquaredError(reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        losses.CategoricalCrossentropy(label_smoothing=2)
    with pytest.raises(ValueError, match="must have the same shape"):
        losses.MeanSquaredError()(np.zeros((4, 2)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="outside the valid range"):
        losses.SparseCategoricalCrossentropy()(np.array([0, 3]), np.full((2, 3), 1 / 3))
    with pytest.raises(ValueError, match="Could not interpret loss identifier"):
        losses.get("nope")
    model = Sequential([Dense(2)])
    model.compile(loss=losses.MeanSquaredError(reduction="none"))  # trains as Keras 3 does


@pytest.mark.parametrize("name", sorted(set(losses.FUNCTIONS) | set(losses.ALIASES)))
def test_every_name_resolves(name):
    assert isinstance(losses.get(name), losses.Loss)
