"""What the keras-io guide "Writing a training loop from scratch in TensorFlow" needs of
the runner's tensorflow stand-in and of fastnn: `tf.function` as a transparent decorator,
`tf.random.normal/uniform/truncated_normal` with TensorFlow's seed semantics, `+=` on a
recorded loss (`loss_value += sum(model.losses)`), and Keras's refusal to update
variables an optimizer was not built with."""
import numpy as np
import pytest

import fastnn.keras as keras
from fastnn.keras import _tensorflow

tf = _tensorflow.module()


@pytest.fixture(autouse=True)
def _keep_global_random_state():
    """tf.random.set_seed reseeds fastnn's generator: leave it as the next test expects."""
    from fastnn import random
    saved = random.generator()
    yield
    random.use_generator(saved)


def test_tf_function_is_a_transparent_decorator():
    calls = []

    @tf.function
    def step(x, y=1):
        calls.append((x, y))
        return x + y
    assert step(2, y=3) == 5 and calls == [(2, 3)]
    assert step.__name__ == "step" and step.python_function(1) == 2

    @tf.function(jit_compile=True, reduce_retracing=True)
    def other(x):
        return x * 2
    assert other(4) == 8

    class Holder:
        @tf.function
        def method(self, x):
            return (self, x)
    h = Holder()
    assert h.method(1) == (h, 1)  # still binds as a method
    with pytest.raises(TypeError, match="is not a callable object"):
        tf.function(3)
    with pytest.raises(TypeError):
        tf.function(lambda: 0, bogus=True)


def test_tf_random_draws_shapes_dtypes_and_ranges():
    x = tf.random.normal(shape=(500, 4), mean=2.0, stddev=0.5)
    assert x.shape == (500, 4) and x.dtype == np.float32 and hasattr(x, "numpy")
    assert abs(float(np.mean(x)) - 2.0) < 0.1 and abs(float(np.std(x)) - 0.5) < 0.1
    u = tf.random.uniform((1000,))
    assert u.dtype == np.float32 and 0 <= u.min() and u.max() < 1
    u = tf.random.uniform([3, 2], minval=-2, maxval=-1, dtype=tf.float64)
    assert u.dtype == np.float64 and (u >= -2).all() and (u < -1).all()
    i = tf.random.uniform((200,), maxval=5, dtype=tf.int32)
    assert i.dtype == np.int32 and set(np.unique(i)) <= set(range(5))
    assert tf.random.uniform(np.array([2, 3])).shape == (2, 3)  # a shape from tf.shape
    assert tf.random.uniform([]).shape == ()
    t = tf.random.truncated_normal((2000,), stddev=3.0)
    assert np.abs(t).max() <= 6.0 and t.dtype == np.float32
    with pytest.raises(ValueError, match="Must specify maxval for integer dtype tf.int32"):
        tf.random.uniform((2,), dtype=tf.int32)
    with pytest.raises(TypeError, match="floating-point"):
        tf.random.normal((2,), dtype="int32")


def test_tf_random_seeds_as_tensorflow():
    """An op seed gives its own sequence: a new draw at each call, the same sequence
    again after tf.random.set_seed; no seed follows the global generator."""
    tf.random.set_seed(1)
    a1, a2 = tf.random.normal((3,), seed=7), tf.random.normal((3,), seed=7)
    assert not np.array_equal(a1, a2)
    tf.random.set_seed(1)
    np.testing.assert_array_equal(tf.random.normal((3,), seed=7), a1)
    g1 = tf.random.uniform((3,))
    tf.random.set_seed(1)
    np.testing.assert_array_equal(tf.random.uniform((3,)), g1)
    with pytest.raises(TypeError, match="seed"):
        tf.random.normal((2,), seed="x")


def test_plus_equals_on_a_recorded_loss_is_differentiated():
    """`loss_value += sum(model.losses)` in a GradientTape block: a new tensor (as
    TensorFlow's are immutable), recorded, its gradient the sum of both terms'."""
    dense = keras.layers.Dense(1, kernel_initializer="ones", use_bias=False)
    x = np.array([[1.0, 2.0, 3.0]], np.float32)
    dense.build((None, 3))
    for op, factor in (("+=", 1.0), ("-=", -1.0), ("*=", None)):
        with tf.GradientTape() as tape:
            y = tf.reduce_sum(dense(x))          # 6, d/dw = x
            before = y
            extra = 2.0 * tf.reduce_sum(dense.kernel)  # 6, d/dw = 2
            if op == "+=":
                y += extra
            elif op == "-=":
                y -= extra
            else:
                y *= extra
        (g,) = tape.gradient(y, dense.trainable_weights)
        if factor is None:  # d(a*b) = b da + a db with a = b = 6
            expected = 6 * x.T + 6 * 2
        else:
            expected = x.T + factor * 2
        np.testing.assert_allclose(g, expected, rtol=1e-6)
        assert float(before) == 6.0  # the first tensor is not written into


def test_activity_loss_in_a_custom_loop_as_keras():
    """The guide's ActivityRegularizationLayer: model.losses inside the tape adds
    1e-2 * sum(activations) to the loss and to its gradient."""
    class ActivityRegularizationLayer(keras.layers.Layer):
        def call(self, inputs):
            self.add_loss(1e-2 * tf.reduce_sum(inputs))
            return inputs

    inputs = keras.Input(shape=(3,))
    h = keras.layers.Dense(2, kernel_initializer="ones", bias_initializer="zeros")(inputs)
    h = ActivityRegularizationLayer()(h)
    out = keras.layers.Dense(1, kernel_initializer="ones", use_bias=False)(h)
    model = keras.Model(inputs, out)
    x = np.array([[1.0, 2.0, 3.0], [0.0, 1.0, 0.0]], np.float32)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(x, training=True))
        main = float(loss)
        loss += sum(model.losses)
    grads = tape.gradient(loss, model.trainable_weights)
    # h = x @ 1 (2 units of 6 and 1): main = sum(h) = 14, activity = 0.01 * 14
    assert main == pytest.approx(14.0) and float(loss) == pytest.approx(14.14, rel=1e-6)
    # d/dkernel1[i, j] = sum_n x[n, i] * (1 + 0.01)
    np.testing.assert_allclose(grads[0], np.repeat(x.sum(0)[:, None] * 1.01, 2, 1),
                               rtol=1e-5)


def test_optimizer_refuses_variables_it_was_not_built_with():
    def model():
        m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        return m
    a, b = model(), model()
    opt = keras.optimizers.Adam(learning_rate=1e-3)
    grads = [np.ones(v.shape, np.float32) for v in a.trainable_weights]
    opt.apply(grads, a.trainable_weights)
    opt.apply(grads[:1], a.trainable_weights[:1])  # a subset is fine
    with pytest.raises(ValueError, match="Unknown variable: .*This optimizer can only be "
                                         "called for the variables it was originally built"):
        opt.apply(grads, b.trainable_weights)
    keras.optimizers.Adam().apply(grads, b.trainable_weights)  # a new optimizer is fine


def test_keras_variable_with_keras_3_signature():
    v = keras.Variable(np.ones(3))
    assert v.name.startswith("variable") and v.trainable and v.value.dtype == np.float32
    w = keras.Variable(initializer="ones", shape=(2,), name="w", trainable=False)
    assert w.name == "w" and not w.trainable and list(w.numpy()) == [1.0, 1.0]
    z = keras.Variable(keras.initializers.Zeros(), shape=(2, 2))
    assert z.shape == (2, 2) and not z.numpy().any()
    with pytest.raises(ValueError, match="the `shape` argument should be specified"):
        keras.Variable("ones")
    with pytest.raises(ValueError, match="float32"):
        keras.Variable(5)  # Keras would make an int32 variable: fastnn says so
    with pytest.raises(ValueError, match="float32 only"):
        keras.Variable(np.ones(2), dtype="int32")
    from fastnn.layers.layer import Variable
    legacy = Variable(np.zeros(2, np.float32), "v0", False)  # fastnn's own order
    assert legacy.name == "v0" and legacy.trainable is False


def test_tf_variable():
    v = tf.Variable(2.0)
    assert v.name == "Variable" and float(v.numpy()) == 2.0 and v.trainable
    v.assign(3.0)
    assert float(v.numpy()) == 3.0
    assert not tf.Variable([1.0, 2.0], name="w", trainable=False).trainable
    assert float(tf.Variable(5, dtype=tf.float32).numpy()) == 5.0
    with pytest.raises(ValueError, match="float32"):
        tf.Variable(5)
    with pytest.raises(ValueError, match="initial_value must be specified"):
        tf.Variable()
    with pytest.raises(ValueError, match="not compatible"):
        tf.Variable([1.0], shape=(2,))
