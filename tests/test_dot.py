"""The Dot layer (and layers.dot): Keras's batch_dot shapes and values, the cosine form,
bad arguments, training in a model, and the same outputs as Keras 3.15."""

import numpy as np
import pytest

import fastnn.keras as keras

L = keras.layers

SCRIPT = '''
import numpy as np, keras
rng = np.random.default_rng(0)
out = {}
for name, axes, norm, s0, s1 in [("2d", 1, False, (4, 5), (4, 5)),
                                  ("pair", (1, 2), False, (3, 4, 5), (3, 2, 4)),
                                  ("cos", -1, True, (3, 6), (3, 4, 6)),
                                  ("last", 2, False, (3, 4, 5), (3, 2, 5))]:
    x = rng.standard_normal(s0).astype("float32"); y = rng.standard_normal(s1).astype("float32")
    out[name] = np.asarray(keras.layers.Dot(axes=axes, normalize=norm)([x, y])).tolist()
print(repr(out))
'''


def test_shapes_follow_batch_dot():
    assert L.Dot(1).compute_output_shape([(None, 5), (None, 5)]) == (None, 1)
    assert L.Dot(2).compute_output_shape([(None, 4, 5), (None, 2, 5)]) == (None, 4, 2)
    assert L.Dot((1, 2)).compute_output_shape([(None, 4, 5), (None, 2, 4)]) == (None, 5, 2)
    assert L.Dot(-1).compute_output_shape([(None, 6), (None, 4, 6)]) == (None, 4)


def test_cosine_similarity_of_parallel_vectors_is_one():
    x = np.array([[1.0, 2.0, 2.0], [0.0, 0.0, 0.0]], np.float32)
    out = L.Dot(axes=1, normalize=True)([x, 3 * x])
    np.testing.assert_allclose(out, [[1.0], [0.0]], atol=1e-6)  # a zero vector stays 0


@pytest.mark.parametrize("make, error, msg", [
    (lambda: L.Dot("1"), TypeError, "Invalid type for argument `axes`"),
    (lambda: L.Dot((1, 2, 3)), ValueError, "two elements"),
    (lambda: L.Dot((1, 1.5)), ValueError, "should be integers"),
])
def test_bad_axes(make, error, msg):
    with pytest.raises(error, match=msg):
        make()


def test_bad_inputs():
    a, b = keras.Input((5,)), keras.Input((6,))
    with pytest.raises(ValueError, match="Incompatible input shapes"):
        L.Dot(1)([a, b])
    with pytest.raises(ValueError, match="non-batch axis"):
        L.Dot(0)([a, a])
    with pytest.raises(ValueError, match="list of 2 inputs"):
        L.Dot(1)([a, a, a])


def test_a_siamese_cosine_model_trains_and_reloads(tmp_path):
    rng = np.random.default_rng(1)
    left, right = keras.Input((8,)), keras.Input((8,))
    tower = L.Dense(4)
    score = L.dot([tower(left), tower(right)], axes=1, normalize=True)
    model = keras.Model([left, right], score)
    model.compile(keras.optimizers.Adam(0.05), "mse")
    a = rng.standard_normal((64, 8)).astype(np.float32)
    b = np.where(rng.random((64, 1)) < 0.5, a, rng.standard_normal((64, 8))).astype(np.float32)
    target = np.all(a == b, axis=1, keepdims=True).astype(np.float32)
    first = model.evaluate([a, b], target, verbose=0)
    model.fit([a, b], target, epochs=30, verbose=0)
    assert model.evaluate([a, b], target, verbose=0) < first
    model.save(tmp_path / "siamese.keras")
    again = keras.models.load_model(tmp_path / "siamese.keras")
    np.testing.assert_array_equal(again.predict([a, b], verbose=0), model.predict([a, b], verbose=0))


def test_same_outputs_as_keras(tmp_path):
    from conftest import keras_python, script_result
    ours = script_result(SCRIPT, tmp_path)
    if keras_python() is None:
        pytest.skip("keras with TensorFlow is not installed (nor named by "
                    "FASTNN_TEST_KERAS_PYTHON)")
    theirs = script_result(SCRIPT, tmp_path, keras=True)
    for key in theirs:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-5, atol=1e-6)
