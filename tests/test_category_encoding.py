"""CategoryEncoding's outputs as Keras 3.15 gives them (the expected values were printed
by Keras on TensorFlow), its errors, and its use in a model."""
import numpy as np
import pytest

import fastnn.keras as keras

CE = keras.layers.CategoryEncoding


def test_outputs_match_keras():
    assert CE(4, output_mode="one_hot")(np.array([3, 0])).tolist() == \
        [[0, 0, 0, 1], [1, 0, 0, 0]]
    assert CE(4)(np.array([[1, 2], [3, 3]])).tolist() == [[0, 1, 1, 0], [0, 0, 0, 1]]
    assert CE(4)(np.array([1, 2])).tolist() == [0, 1, 1, 0]  # 1-D: one sample
    assert CE(4, output_mode="binary")(np.array([[1, 2]])).tolist() == [[0, 1, 1, 0]]
    assert CE(4, output_mode="count")(np.array([[1, 2, 2], [3, 3, 0]])).tolist() == \
        [[0, 1, 2, 0], [1, 0, 0, 2]]
    weighted = CE(4, output_mode="count")(np.array([[1, 2, 2], [3, 3, 0]]),
                                          count_weights=np.array([[.1, .2, .3], [1, 2, 3]]))
    np.testing.assert_allclose(weighted, [[0, 0.1, 0.5, 0], [3, 0, 0, 3]], rtol=1e-6)
    assert CE(4, output_mode="one_hot")(np.array([[1], [2]])).shape == (2, 4)
    assert CE(4, output_mode="one_hot")(np.array([[1, 2], [2, 3]])).shape == (2, 2, 4)
    assert CE(4).get_config()["num_tokens"] == 4 and "sparse" not in CE(4).get_config()


@pytest.mark.parametrize("make, msg", [
    (lambda: CE(), "num_tokens must be set"), (lambda: CE(0), "must be >= 1"),
    (lambda: CE(3, output_mode="tf_idf"), "Unknown arg for output_mode"),
    (lambda: CE(3, sparse=True), "sparse")])
def test_bad_arguments(make, msg):
    with pytest.raises(ValueError, match=msg):
        make()


def test_bad_inputs():
    with pytest.raises(ValueError, match="0 <= values < num_tokens"):
        CE(3)(np.array([[0, 3]]))
    with pytest.raises(ValueError, match="0 <= values < num_tokens"):
        CE(3, output_mode="one_hot")(np.array([-1]))
    with pytest.raises(ValueError, match="integer category ids"):
        CE(3)(np.array([[0.5]]))
    with pytest.raises(ValueError, match="count_weights"):
        CE(3)(np.array([[1]]), count_weights=np.array([[2.0]]))


def test_in_a_model_that_trains_and_reloads(tmp_path):
    inp = keras.Input((1,))
    out = keras.layers.Dense(1)(CE(6, output_mode="one_hot")(inp))
    model = keras.Model(inp, out)
    model.compile(keras.optimizers.SGD(0.5), "mse")
    ids = np.arange(6).reshape(6, 1)
    target = np.array([[0.], [1.], [2.], [3.], [4.], [5.]], np.float32)
    model.fit(ids, target, epochs=200, batch_size=6, verbose=0)
    np.testing.assert_allclose(model.predict(ids, verbose=0), target, atol=1e-2)
    model.save(tmp_path / "ce.keras")
    again = keras.models.load_model(tmp_path / "ce.keras")
    np.testing.assert_array_equal(again.predict(ids, verbose=0), model.predict(ids, verbose=0))
