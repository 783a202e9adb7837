"""Custom layers as the Keras subclassing guide writes them (build/add_weight/call with
keras.ops), trained by the tape; ops on symbolic tensors in Functional models."""
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
import layer_harness as harness  # noqa: E402

from fastnn.autodiff import GradientTape, ops  # noqa: E402
from fastnn.layers import Dense, Input  # noqa: E402
from fastnn.layers.layer import Layer  # noqa: E402
from fastnn.models import Model, Sequential, load_model  # noqa: E402


class Linear(Layer):
    """The guide's Linear, weights made in build()."""

    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                 initializer="glorot_uniform", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units})
        return config


class LinearInInit(Layer):
    """The guide's first example: weights made in __init__ from input_dim."""

    def __init__(self, units=32, input_dim=32):
        super().__init__()
        self.w = self.add_weight(shape=(input_dim, units), initializer="glorot_uniform",
                                 trainable=True)
        self.b = self.add_weight(shape=(units,), initializer="zeros", trainable=True)

    def call(self, inputs):
        return inputs @ self.w + self.b


class ComputeSum(Layer):
    """A non-trainable weight updated in call."""

    def __init__(self, input_dim):
        super().__init__()
        self.total = self.add_weight(initializer="zeros", shape=(input_dim,), trainable=False)

    def call(self, inputs):
        self.total.assign_add(ops.sum(inputs, axis=0))
        return self.total


class MLPBlock(Layer):
    def __init__(self):
        super().__init__()
        self.linear_1 = Linear(32)
        self.linear_2 = Linear(32)
        self.linear_3 = Linear(1)

    def call(self, inputs):
        x = self.linear_1(inputs)
        x = ops.relu(x)
        x = self.linear_2(x)
        x = ops.relu(x)
        return self.linear_3(x)


class ActivityRegularizationLayer(Layer):
    def __init__(self, rate=1e-2):
        super().__init__()
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * ops.mean(inputs))
        return inputs


class WithBuiltinSublayer(Layer):
    """A custom layer calling a built-in Dense (its own backward) between ops."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = Dense(4, activation="tanh")

    def call(self, inputs, training=None):
        h = self.dense(ops.sigmoid(inputs))
        return ops.concatenate([h * 2.0, ops.square(h)], axis=-1)


class Residual(Layer):
    """A layer with two inputs, a scale weight and its own compute_output_shape."""

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(), initializer="ones", name="scale")

    def call(self, inputs):
        a, b = inputs
        return a + self.scale * ops.tanh(b)

    def compute_output_shape(self, input_shape):
        return input_shape[0]


def test_guide_linear_layer_eager_and_weights():
    x = np.ones((2, 2), np.float32)
    layer = LinearInInit(4, 2)
    y = layer(x)
    assert y.shape == (2, 4) and y.dtype == np.float32
    np.testing.assert_allclose(y, x @ layer.w.numpy() + layer.b.numpy(), rtol=1e-6)
    assert [w.name for w in layer.weights] == ["linear_in_init/variable",
                                               "linear_in_init/variable_1"]
    assert len(layer.trainable_weights) == 2


def test_non_trainable_weight_updated_in_call():
    x = np.ones((2, 2), np.float32)
    layer = ComputeSum(2)
    np.testing.assert_array_equal(layer(x), [2.0, 2.0])
    np.testing.assert_array_equal(layer(x), [4.0, 4.0])
    assert layer.weights == layer.non_trainable_weights and not layer.trainable_weights


def test_nested_layers_track_weights_and_build_lazily():
    mlp = MLPBlock()
    y = mlp(np.ones((3, 64), np.float32))
    assert y.shape == (3, 1)
    assert len(mlp.weights) == 6 and len(mlp.trainable_weights) == 6


def test_add_loss_in_call_and_losses_property():
    layer = ActivityRegularizationLayer(0.5)
    layer(np.full((2, 3), 2.0, np.float32))
    assert layer.losses == [pytest.approx(1.0)]


def _with_builtin_twin(xs, ws):
    h = np.tanh(1 / (1 + np.exp(-xs[0])) @ ws[0] + ws[1])
    return np.concatenate([h * 2, h ** 2], axis=-1)


@pytest.mark.parametrize("make, shapes, twin", [
    (lambda: Linear(3), [(4, 5)], None),
    (MLPBlock, [(3, 6)], None),
    (WithBuiltinSublayer, [(3, 5)], _with_builtin_twin),
    (Residual, [(3, 4), (3, 4)], None),
])
def test_custom_layer_gradients_match_finite_differences(make, shapes, twin, rng):
    """The harness's float64 finite differences (the twin: the layer's own call run in
    float64 through the same ops, or the maths written out)."""
    def call_twin(xs, ws):
        layer = case.make()
        layer([np.asarray(x, np.float32) for x in xs] if len(xs) > 1 else
              np.asarray(xs[0], np.float32))
        for v, w in zip(layer.weights, ws):
            v.value = np.asarray(w, np.float64)
        with GradientTape():  # run call in float64 through the same ops
            out = layer.call([x for x in xs] if len(xs) > 1 else xs[0])
        return np.asarray(out, np.float64)

    case = harness.Case("custom", make, shapes, twin or call_twin, grad_rtol=5e-4)
    harness.check_forward_and_gradients(case, rng)
    harness.check_thread_independence(case, rng)


def _mlp_data(n=64, seed=0):
    r = np.random.default_rng(seed)
    return r.standard_normal((n, 6)).astype(np.float32), r.integers(0, 3, n)


def test_custom_dense_trains_exactly_like_builtin_dense():
    """A Dense written with ops.matmul + bias gives the built-in Dense's losses."""
    x, y = _mlp_data()
    inp = Input((6,))
    custom = Model(inp, Dense(3)(ops.relu(Linear(16)(inp))))
    builtin = Sequential([Input((6,)), Dense(16, activation="relu"), Dense(3)])
    builtin.set_weights(custom.get_weights())
    histories = []
    for model in (custom, builtin):
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        histories.append(model.fit(x, y, epochs=3, batch_size=16, shuffle=False,
                                   verbose=0).history)
    np.testing.assert_allclose(histories[0]["loss"], histories[1]["loss"], rtol=1e-5)
    for a, b in zip(custom.get_weights(), builtin.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_add_loss_is_added_to_the_training_loss_and_its_gradient():
    x, y = _mlp_data()
    inp = Input((6,))
    h = ActivityRegularizationLayer(0.1)(Linear(3)(inp))
    model = Model(inp, h)
    model.compile("sgd", "mse")
    target = np.zeros((len(x), 3), np.float32)
    w, b = model.get_weights()
    loss = model.train_on_batch(x, target)
    pred = x @ w + b
    assert loss == pytest.approx(np.mean(pred ** 2) + 0.1 * np.mean(pred), rel=1e-5)
    # gradient of mean(pred^2) + 0.1 mean(pred) with respect to the kernel, SGD lr 0.01
    dpred = 2 * pred / pred.size + 0.1 / pred.size
    np.testing.assert_allclose(model.get_weights()[0], w - 0.01 * x.T @ dpred, rtol=1e-4,
                               atol=1e-7)


def test_activity_regularizer_argument():
    layer = Linear(2, activity_regularizer=lambda t: 0.5 * ops.sum(ops.square(t)))
    out = layer(np.ones((1, 3), np.float32))
    assert layer.losses == [pytest.approx(0.5 * float(np.sum(out ** 2)), rel=1e-6)]


def test_functional_model_with_ops_on_symbolic_tensors():
    a, b = Input((4,)), Input((4,))
    x = ops.add(a, b)
    x = ops.concatenate([x, a * 2.0], axis=-1)
    x = ops.reshape(x, (-1, 2, 4))
    out = ops.mean(x, axis=1)
    model = Model([a, b], out)
    assert model.output_shape == (None, 4)
    r = np.random.default_rng(0)
    xa, xb = r.standard_normal((5, 4)), r.standard_normal((5, 4))
    np.testing.assert_allclose(model.predict([xa, xb], verbose=0), (xa + xb + 2 * xa) / 2,
                               rtol=1e-5, atol=1e-6)


def test_guide_custom_layer_saved_and_loaded_with_custom_objects(tmp_path):
    inp = Input((5,))
    model = Model(inp, Linear(3, name="lin")(inp))
    x = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    path = str(tmp_path / "custom.keras")
    model.save(path)
    loaded = load_model(path, custom_objects={"Linear": Linear})
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert isinstance(loaded.get_layer("lin"), Linear)
    assert Linear.from_config(model.get_layer("lin").get_config()).units == 3


def test_keras_add_weight_signature_and_errors():
    class W(Layer):
        def build(self, input_shape):
            self.k = self.add_weight((2, 3), "zeros", "float32", False, name="k")

        def call(self, x):
            return x

    layer = W()
    layer.build((None, 2))
    assert layer.k.name.endswith("/k") and not layer.k.trainable
    assert layer.add_weight(shape=(1,), constraint="non_neg").constraint is not None
    with pytest.raises(ValueError, match="constraint"):  # constraints: issue 15's module
        layer.add_weight(shape=(1,), constraint="no_such_constraint")
    with pytest.raises(ValueError, match="float32"):
        layer.add_weight(shape=(1,), dtype="int32")


def test_a_builtin_layer_called_twice_in_one_call_is_refused():
    class Twice(Layer):
        def __init__(self):
            super().__init__()
            self.d = Dense(2)

        def call(self, x):
            return self.d(self.d(x))

    with pytest.raises(NotImplementedError, match="called twice"):
        Twice()(np.ones((1, 2), np.float32))


def test_tape_reuses_its_backward_arrays_from_step_to_step():
    """In steady state a custom layer's backward pass writes into the arrays it used last
    step, and a weight's gradient straight into its `.grad` (no copy)."""
    x, _ = _mlp_data()
    inp = Input((6,))
    model = Model(inp, Linear(3)(Linear(4)(inp)))
    model.compile("sgd", "mse")
    target = np.zeros((len(x), 3), np.float32)
    model.train_on_batch(x, target)
    layer = model.layers[-1]
    tape = layer._buffers["tape"]
    before = {k: id(v) for k, v in tape._buffers.items()}
    w0, b0, w, b = model.get_weights()
    model.train_on_batch(x, target)
    assert before and {k: id(v) for k, v in tape._buffers.items()} == before
    assert any(d is layer.w.grad for d in tape.destinations.values())
    # and the step is still exact: SGD on mean squared error through the last layer
    h = x @ w0 + b0
    np.testing.assert_allclose(layer.w.grad, h.T @ (2 * (h @ w + b) / target.size),
                               rtol=2e-4, atol=1e-6)
