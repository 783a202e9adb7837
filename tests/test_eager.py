"""TensorFlow's `.numpy()` on what Keras programs get back as eager tensors (a model or
layer called on data, a loss called on arrays, a dataset's elements, the runner's tf.*
functions): fastnn's values are NumPy arrays that also have it (fastnn/_eager.py)."""
import numpy as np
import pytest

import fastnn.keras as keras
from fastnn._eager import EagerArray, eager
from fastnn.autodiff import GradientTape


def _model():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])


def test_a_model_and_a_layer_called_on_data_give_arrays_with_numpy():
    x = np.ones((2, 4), np.float32)
    model = _model()
    out = model(x)
    assert isinstance(out, np.ndarray) and isinstance(out, EagerArray)
    plain = out.numpy()
    assert type(plain) is np.ndarray and np.array_equal(plain, model.predict(x, verbose=0))
    assert type(model.predict(x, verbose=0)) is np.ndarray  # Keras's predict: NumPy
    assert type(model.layers[0](x).numpy()) is np.ndarray
    assert repr(out) == repr(plain)  # prints as NumPy does
    assert type((out * 2 + 1).numpy()) is np.ndarray  # arithmetic keeps .numpy()
    assert type(out.sum().numpy()) is np.float32  # a 0-d value: a NumPy scalar, as TF


def test_a_loss_on_arrays_and_a_dataset_s_elements():
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    value = loss(np.array([1]), np.array([[0.5, 2.0, -1.0]], np.float32))
    assert type(value.numpy()) is np.float32
    assert value.numpy() == pytest.approx(np.log(np.exp([0.5, 2.0, -1.0]).sum()) - 2.0)
    from fastnn.utils import Dataset
    ds = Dataset.from_tensor_slices(
        (np.arange(6, dtype=np.float32).reshape(3, 2), np.arange(3))).batch(2)
    for images, labels in ds.take(1):
        assert images.numpy().shape == (2, 2) and list(labels.numpy()) == [0, 1]
    assert all(type(a) is np.ndarray for a in next(iter(ds.as_numpy_iterator())))


def test_eager_values_train_and_record_as_plain_arrays():
    model = _model()
    model.compile("sgd", "mse")
    x = eager(np.ones((8, 4), np.float32))
    history = model.fit(x, model(x) * 0, epochs=1, verbose=0)
    assert len(history.history["loss"]) == 1
    with GradientTape() as tape:
        y = model(x)
        loss = keras.ops.mean(keras.ops.square(y))
    assert not isinstance(y, EagerArray)  # the tape's own tensor: recorded
    grads = tape.gradient(loss, model.trainable_weights)
    assert grads[0].shape == (4, 3)


def test_eager_leaves_other_values_alone():
    assert eager(3) == 3 and eager(None) is None and eager("a") == "a"
    assert type(eager(np.float32(2.5))) is EagerArray
    nested = eager({"a": [np.zeros(2), (np.ones(1),)]})
    assert type(nested["a"][1]) is tuple and type(nested["a"][1][0]) is EagerArray


def test_the_runner_tf_nn_functions():
    from fastnn.keras import _tensorflow
    tf = _tensorflow.module()
    p = tf.nn.softmax(np.array([[1.0, 2.0, 3.0]], np.float32)).numpy()
    np.testing.assert_allclose(p.sum(), 1.0, rtol=1e-6)
    assert p.argmax() == 2
    np.testing.assert_array_equal(tf.nn.relu(np.array([-1.0, 2.0])).numpy(), [0.0, 2.0])
    assert tf.nn.softmax(np.ones((2, 3), np.float32), axis=0).numpy()[0, 0] == \
        pytest.approx(0.5)
    with pytest.raises(AttributeError, match="tf.nn.conv2d"):
        tf.nn.conv2d
