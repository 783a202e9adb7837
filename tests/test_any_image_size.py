"""Models on images of any size (Keras's `Input((None, None, C))`): the spatial layers
report None sizes, and the model trains on one size and predicts on others."""
import numpy as np
import pytest

import fastnn.keras as keras

L = keras.layers


def fully_convolutional():
    inp = keras.Input((None, None, 3))
    t = L.MaxPooling2D()(L.Conv2D(8, 3, padding="same", activation="relu")(inp))
    t = L.MaxPooling2D()(L.Conv2D(8, 3, padding="same", activation="relu")(t))
    t = L.BatchNormalization()(L.Conv2D(8, 3, activation="relu")(t))
    t = L.UpSampling2D()(L.Conv2DTranspose(4, 3, strides=2, padding="same")(t))
    t = L.SeparableConv2D(4, 3, padding="same")(L.ZeroPadding2D()(t))
    return keras.Model(inp, L.Dense(2)(L.GlobalAveragePooling2D()(L.AveragePooling2D(2)(t))))


def test_shapes_are_none_where_the_input_s_are():
    model = fully_convolutional()
    shapes = [l.output.shape for l in model.layers[1:]]
    assert all(s[1] is None and s[2] is None for s in shapes[:-2])
    assert shapes[-1] == (None, 2)
    assert L.Cropping2D(1).compute_output_shape((None, None, 12, 3)) == (None, None, 10, 3)
    assert L.Conv2D(4, 3).compute_output_shape((None, 9, None, 3)) == (None, 7, None, 4)


def test_trains_on_one_size_predicts_on_others_and_reloads(tmp_path):
    rng = np.random.default_rng(0)
    model = fully_convolutional()
    model.compile("adam", "mse")
    model.fit(rng.random((8, 20, 20, 3), dtype=np.float32), np.zeros((8, 2)), epochs=2,
              verbose=0)
    for size in [(20, 20), (28, 24), (36, 44)]:
        assert model.predict(rng.random((3,) + size + (3,), dtype=np.float32),
                             verbose=0).shape == (3, 2)
    model.save(tmp_path / "fcn.keras")
    again = keras.models.load_model(tmp_path / "fcn.keras")
    assert again.input_shape == (None, None, None, 3)
    x = rng.random((2, 28, 24, 3), dtype=np.float32)
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))


def test_an_image_too_small_for_a_valid_window_is_a_clear_error():
    inp = keras.Input((None, None, 1))
    model = keras.Model(inp, L.Conv2D(2, 5)(inp))
    with pytest.raises(ValueError, match="larger than the input|smaller"):
        model.predict(np.zeros((1, 3, 3, 1), np.float32), verbose=0)
