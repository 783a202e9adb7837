"""A Python function as a layer's activation (`Dense(1, activation=custom_fn)`), as the
keras-io guide "Save, serialize, and export models" uses one: forward, gradient, Keras
3's config record for it, and loading it back from the registry, `custom_objects` or a
`custom_object_scope`."""
import numpy as np
import pytest

import fastnn.keras as keras
from fastnn import activations
from fastnn.autodiff import GradientTape


@pytest.fixture
def clean_registry():
    saved = dict(keras.saving.get_custom_objects())
    yield
    keras.saving.get_custom_objects().clear()
    keras.saving.get_custom_objects().update(saved)


def squared(x):
    return x ** 2


def soft_clip(x):
    return keras.ops.tanh(x) * 2.0 + 0.1 * x


def _finite_difference_check(model, x, variable, at=((0, 0), (1, 1), (2, 0)), eps=1e-2):
    with GradientTape() as tape:
        loss = keras.ops.sum(model(x, training=True))
    grad = tape.gradient(loss, [variable])[0]
    base = variable.numpy()
    for i in at:
        out = []
        for sign in (1, -1):
            variable.value[...] = base
            variable.value[i] += sign * eps
            out.append(float(np.sum(model.predict(x, verbose=0), dtype=np.float64)))
        variable.value[...] = base
        assert (out[0] - out[1]) / (2 * eps) == pytest.approx(grad[i], rel=2e-2, abs=1e-3)


@pytest.mark.parametrize("fn", [squared, soft_clip])
def test_dense_with_a_function_activation_forward_and_gradient(fn):
    inputs = keras.Input((3,))
    outputs = keras.layers.Dense(2, activation=fn)(inputs)
    model = keras.Model(inputs, outputs)
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    kernel, bias = model.layers[1].kernel.numpy(), model.layers[1].bias.numpy()
    expected = np.asarray(fn(x @ kernel + bias))
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    _finite_difference_check(model, x, model.layers[1].kernel)


def test_conv_and_activation_layer_with_a_function_train():
    model = keras.Sequential([
        keras.Input((6, 6, 1)),
        keras.layers.Conv2D(3, 3, activation=soft_clip),
        keras.layers.Flatten(),
        keras.layers.Dense(1),
        keras.layers.Activation(squared),
    ])
    x = np.random.default_rng(1).normal(size=(8, 6, 6, 1)).astype(np.float32)
    # the conv kernel's gradient goes through both functions
    _finite_difference_check(model, x, model.layers[0].kernel,
                             at=((0, 0, 0, 0), (1, 1, 0, 1), (2, 0, 0, 2)))
    model.compile(optimizer=keras.optimizers.SGD(1e-4), loss="mse")
    y = np.zeros((8, 1), np.float32)
    history = model.fit(x, y, epochs=5, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_an_activation_that_changes_the_shape_is_refused():
    layer = keras.layers.Dense(2, activation=lambda x: keras.ops.sum(x, axis=-1))
    with pytest.raises(ValueError, match="must keep its input's shape"):
        layer(np.ones((3, 4), np.float32))


def test_function_records_as_keras_writes_them(clean_registry):
    @keras.saving.register_keras_serializable(package="my_package", name="custom_fn")
    def custom_fn(x):
        return x ** 2

    def plain(x):
        return x * 2
    assert keras.layers.Dense(1, activation=custom_fn).get_config()["activation"] == {
        "module": "builtins", "class_name": "function", "config": "my_package>custom_fn",
        "registered_name": "function"}
    assert keras.saving.serialize_keras_object(plain) == {
        "module": "builtins", "class_name": "function", "config": "plain",
        "registered_name": "function"}
    assert keras.layers.Activation(plain).get_config()["activation"]["config"] == "plain"
    assert keras.layers.Dense(1, activation="relu").get_config()["activation"] == "relu"
    # a registered function comes back by itself; a plain one from a scope only
    config = keras.layers.Dense(1, activation=custom_fn).get_config()
    assert keras.layers.Dense.from_config(config).activation.fn is custom_fn
    config = keras.layers.Dense(1, activation=plain).get_config()
    with pytest.raises(ValueError, match="Could not locate function 'plain'"):
        keras.layers.Dense.from_config(config)
    with keras.saving.custom_object_scope({"plain": plain}):
        assert keras.layers.Dense.from_config(config).activation.fn is plain
    # Keras's own function written as a record is Keras's activation
    record = {"module": "builtins", "class_name": "function", "config": "relu",
              "registered_name": "function"}
    assert activations.get(record) is activations.relu


def test_keras_file_with_a_function_activation_round_trips(tmp_path, clean_registry):
    def cube(x):
        return x * x * x

    def get_model():
        inputs = keras.Input((4,))
        outputs = keras.layers.Dense(2, activation=cube)(inputs)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer="rmsprop", loss="mse")
        return model
    model = get_model()
    x = np.random.default_rng(2).random((4, 4)).astype(np.float32)
    model.fit(x, np.ones((4, 2)), verbose=0)
    path = str(tmp_path / "m.keras")
    model.save(path)
    with pytest.raises(ValueError, match="cube"):
        keras.models.load_model(path)
    loaded = keras.models.load_model(path, custom_objects={"cube": cube})
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    with keras.saving.custom_object_scope({"cube": cube}):
        loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    loaded.fit(x, np.ones((4, 2)), verbose=0)  # and it trains on
