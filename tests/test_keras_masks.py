"""Keras masks outside a model's plan, as keras.io's masking guide uses them: eager
outputs carry `_keras_mask` and hand it to the next layer; a KerasTensor's `_keras_mask`
is a symbolic boolean tensor; custom layers make masks (compute_mask), pass them on
(supports_masking) or consume them (`call(..., mask=None)`); `mask=` given to a built-in
layer inside a custom layer's call is used, forward and backward."""
import numpy as np
import pytest

from fastnn import keras
from fastnn.keras import layers, ops


def _ids():
    return keras.utils.pad_sequences([[5, 2, 7], [3, 1, 4, 4, 9], [8]], padding="post")


def test_eager_outputs_carry_the_mask_and_pass_it_on():
    ids = _ids()
    emb = layers.Embedding(10, 4, mask_zero=True)
    x = emb(ids)
    np.testing.assert_array_equal(x._keras_mask, ids != 0)
    assert x._keras_mask.dtype == bool
    d = layers.Dense(3)(x)  # supports_masking: passes it on
    np.testing.assert_array_equal(d._keras_mask, ids != 0)
    assert layers.Flatten()(x)._keras_mask is None  # no masking support: dropped
    lstm = layers.LSTM(2)
    auto = lstm(x)  # the mask reaches the LSTM by itself
    np.testing.assert_array_equal(auto, lstm(np.asarray(x), mask=ids != 0))
    assert not np.allclose(auto, lstm(np.asarray(x)))
    m = layers.Masking()(np.where(ids[..., None] == 0, 0.0, 1.0) * np.ones((1, 1, 3)))
    np.testing.assert_array_equal(m._keras_mask, ids != 0)


def test_symbolic_keras_mask():
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(10, 4, mask_zero=True)(inputs)
    assert x._keras_mask.shape == (None, None)
    assert "dtype=bool" in repr(x._keras_mask)
    assert inputs._keras_mask is None
    assert layers.Dense(2)(x)._keras_mask.shape == (None, None)
    assert layers.LSTM(2)(x)._keras_mask is None
    assert layers.LSTM(2, return_sequences=True)(x)._keras_mask.shape == (None, None)
    assert layers.Embedding(10, 4)(inputs)._keras_mask is None
    fixed = keras.Input(shape=(7, 3))
    assert layers.Masking()(fixed)._keras_mask.shape == (None, 7)


class TemporalSplit(layers.Layer):
    def call(self, inputs):
        return ops.split(inputs, 2, axis=1)

    def compute_mask(self, inputs, mask=None):
        return None if mask is None else ops.split(mask, 2, axis=1)


class PassThrough(layers.Layer):
    def __init__(self, supports=True, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = supports

    def call(self, inputs):
        return ops.relu(inputs)


class MaskedMean(layers.Layer):
    """Consumes the mask: the mean over the unmasked steps."""

    def call(self, inputs, mask=None):
        assert mask is not None
        w = ops.expand_dims(ops.cast(mask, "float32"), -1)
        return ops.sum(inputs * w, axis=1) / ops.sum(w, axis=1)


def test_custom_layers_make_pass_and_consume_masks():
    ids = np.array([[1, 2, 0, 0], [3, 0, 0, 0]])
    x = layers.Embedding(5, 3, mask_zero=True)(ids)
    first, second = TemporalSplit()(x)
    np.testing.assert_array_equal(first._keras_mask, ids[:, :2] != 0)
    np.testing.assert_array_equal(second._keras_mask, ids[:, 2:] != 0)
    np.testing.assert_array_equal(PassThrough()(x)._keras_mask, ids != 0)
    assert PassThrough(supports=False)(x)._keras_mask is None
    eager = MaskedMean()(x)  # the eager input's mask reaches call()
    np.testing.assert_allclose(eager[1], np.asarray(x)[1, 0], rtol=1e-6)

    inputs = keras.Input(shape=(None,), dtype="int32")
    emb = layers.Embedding(5, 3, mask_zero=True)
    out = MaskedMean()(PassThrough()(emb(inputs)))  # symbolic: built with a stand-in mask
    model = keras.Model(inputs, out)
    got = model.predict(ids, verbose=0)
    e = np.maximum(emb(ids), 0)
    np.testing.assert_allclose(got[0], e[0, :2].mean(axis=0), rtol=1e-6)


class EmbedThenLSTM(layers.Layer):
    """The guide's MyLayer: compute_mask of a producer, `mask=` of a consumer."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.embedding = layers.Embedding(input_dim=20, output_dim=4, mask_zero=True)
        self.lstm = layers.LSTM(3)

    def call(self, inputs):
        x = self.embedding(inputs)
        return self.lstm(x, mask=self.embedding.compute_mask(inputs))


def test_mask_given_inside_a_custom_layer_is_used_and_trains():
    rng = np.random.default_rng(0)
    ids = keras.utils.pad_sequences([list(rng.integers(1, 20, rng.integers(2, 8)))
                                     for _ in range(32)], maxlen=8, padding="post")
    layer = EmbedThenLSTM()
    got = layer(ids)
    lstm_alone = layer.lstm(np.asarray(layer.embedding(ids)), mask=ids != 0)
    np.testing.assert_allclose(got, lstm_alone, rtol=1e-6, atol=1e-7)
    # the same layer inside a model that trains: gradients through the masked steps match
    # the Functional model with the mask propagated by the plan
    inputs = keras.Input((8,), dtype="int32")
    model = keras.Model(inputs, layers.Dense(1)(layer(inputs)))
    plain_in = keras.Input((8,), dtype="int32")
    plain = keras.Model(plain_in, layers.Dense(1)(layer.lstm(layer.embedding(plain_in))))
    plain.set_weights(model.get_weights())
    y = rng.normal(size=(32, 1)).astype(np.float32)
    for m in (model, plain):
        m.compile(keras.optimizers.SGD(0.1), "mse")
    w0 = [w.copy() for w in model.get_weights()]
    model.train_on_batch(ids, y)
    after_model = model.get_weights()
    plain.set_weights(w0)
    plain.train_on_batch(ids, y)
    for a, b in zip(after_model, plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_mask_for_a_layer_without_masks_inside_a_recording_is_refused():
    class Bad(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = layers.Flatten()

        def call(self, inputs):
            return self.dense(inputs, mask=ops.ones((2, 3), dtype="bool"))

    with pytest.raises(NotImplementedError, match="does not use masks"):
        Bad()(np.ones((2, 3, 4), np.float32))
