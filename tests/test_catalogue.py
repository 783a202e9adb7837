"""The catalogue of bad inputs: each gets a clear Python exception (what was expected, what
was received, which layer or argument), never a crash; and inputs that look unusual but are
valid are accepted and give exactly the canonical answer.

The catalogue has three tables:
  * tests/test_bad_calls.py   BAD        kernel level (fastnn._C and fastnn.ops)
  * tests/test_api_errors.py  CASES      the Keras API, the common mistakes
  * this file                 CATALOGUE  the Keras API, the rest; and ACCEPTED
INDEX maps each kind of bad input named in the hardening issue to its rows in all three,
and a test checks that every row it names exists.  Add a row when you find a new one.
"""
import numpy as np
import pytest

import fastnn
from fastnn import layers
from fastnn.layers import Conv2D, Dense, Dropout, Flatten, Input, MaxPooling2D
from fastnn.models import Model, Sequential
from fastnn.optimizers import Adam

import test_api_errors
import test_bad_calls

X = np.linspace(-1, 1, 64, dtype=np.float32).reshape(16, 4)
Y = np.eye(3, dtype=np.float32)[np.arange(16) % 3]
LABELS = np.arange(16) % 3
HUGE_X = np.ones((10 ** 7, 1), np.float32)  # 40 MB; one Dense(10**6) output is 37 TiB
IMAGES = np.linspace(0, 1, 16 * 8 * 8, dtype=np.float32).reshape(16, 8, 8, 1)


def mlp(loss="categorical_crossentropy", compiled=True):
    fastnn.utils.set_random_seed(1)
    model = Sequential([Dense(8, input_shape=(4,), activation="relu"),
                        Dense(3, activation="softmax")])
    if compiled:
        model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    return model


def cnn():
    fastnn.utils.set_random_seed(2)
    model = Sequential([Conv2D(4, 3, input_shape=(8, 8, 1), activation="relu"), MaxPooling2D(),
                        Flatten(), Dropout(0.25), Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


def two_inputs():
    a, b = Input((2,)), Input((3,))
    from fastnn.layers import Concatenate
    model = Model([a, b], Dense(1)(Concatenate()([a, b])))
    model.compile(loss="mse")
    return model


def built_dense():
    layer = Dense(3)
    layer(np.ones((2, 4)))
    return layer


def with_value(arr, index, value):
    arr = np.array(arr, dtype=np.float64)
    arr[index] = value
    return arr


MLP_WEIGHTS = [np.zeros((4, 8)), np.zeros(8), np.zeros((8, 3)), np.zeros(3)]


def replaced(i, value):
    weights = list(MLP_WEIGHTS)
    weights[i] = value
    return weights


CATALOGUE = [  # (id, call, exception, regex the message must match)
    # ---- wrong rank or shape, into layers and models
    ("layer-call-scalar", lambda: Dense(3)(np.float32(1)), ValueError,
     r"layer 'dense\w*' is incompatible with the layer: expected ndim=2, found ndim=0, but "
     r"received input with shape \(\)"),
    ("layer-call-vector", lambda: Dense(3)(np.ones(4)), ValueError,
     r"expected ndim=2, found ndim=1, but received input with shape \(4,\)"),
    ("layer-call-width-after-build", lambda: built_dense()(np.ones((2, 5))), ValueError,
     r"expected axis -1 of input shape to have value 4, but received input with shape \(2, 5\)"),
    ("conv-call-vectors", lambda: Conv2D(2, 3)(np.ones((2, 8, 8))), ValueError,
     r"expected ndim=4, found ndim=3, but received input with shape \(2, 8, 8\)"),
    ("pool-call-vectors", lambda: MaxPooling2D()(np.ones((2, 8))), ValueError,
     r"layer 'max_pooling2d\w*' is incompatible.*expected ndim=4, found ndim=2"),
    ("model-call-wrong-width", lambda: mlp()(np.zeros((2, 5))), ValueError,
     r"expected axis -1 of input shape to have value 4, but received input with shape \(2, 5\)"),
    ("cnn-wrong-image-size", lambda: cnn().fit(np.zeros((16, 9, 9, 1)), Y, verbose=0),
     ValueError, r"layer 'conv2d\w*'.*expected shape=\(None, 8, 8, 1\), found shape=\(16, 9, 9, 1\)"),
    ("cnn-wrong-channels", lambda: cnn().predict(np.zeros((4, 8, 8, 3)), verbose=0), ValueError,
     r"expected axis -1 of input shape to have value 1, but received input with shape \(4, 8, 8, 3\)"),
    ("cnn-vectors", lambda: cnn().evaluate(X, Y, verbose=0), ValueError,
     r"expected shape=\(None, 8, 8, 1\), found shape=\(16, 4\)"),
    ("functional-extra-input", lambda: two_inputs().predict([X[:, :2], X[:, :3], X], verbose=0),
     ValueError, r"expects 2 input\(s\), but it received 3 input arrays"),
    ("sequential-without-layers", lambda: Sequential().predict(X, verbose=0), ValueError,
     "Sequential model has no layers"),
    ("targets-extra-axis", lambda: mlp().fit(X, Y[:, :, None], verbose=0), ValueError,
     r"target.shape=\(16, 3, 1\), output.shape=\(16, 3\)"),
    # ---- x / y lengths
    ("validation-data-lengths", lambda: mlp().fit(X, Y, validation_data=(X[:4], Y[:3]), verbose=0),
     ValueError, r"Data cardinality is ambiguous.*'x' sizes: 4\n'y' sizes: 3"),
    ("train-on-batch-lengths", lambda: mlp().train_on_batch(X, Y[:8]), ValueError,
     r"'x' sizes: 16\n'y' sizes: 8"),
    ("predict-on-batch-input-lengths", lambda: two_inputs().predict_on_batch(
        [X[:4, :2], X[:3, :3]]), ValueError, r"'x' sizes: 4, 3"),
    # ---- labels that do not fit the loss or the number of classes
    ("sparse-label-beyond-int32", lambda: mlp("sparse_categorical_crossentropy").fit(
        X, np.full(16, 2 ** 40), verbose=0), ValueError,
     r"label value of 1099511627776 which is outside the valid range of \[0, 3\)"),
    ("sparse-label-nan", lambda: mlp("sparse_categorical_crossentropy").fit(
        X, with_value(LABELS, 3, np.nan), verbose=0), ValueError, "integer class labels"),
    ("sparse-label-inf", lambda: mlp("sparse_categorical_crossentropy").evaluate(
        X, with_value(LABELS, 3, np.inf), verbose=0), ValueError, "integer class labels"),
    ("sparse-labels-width-2", lambda: mlp("sparse_categorical_crossentropy").fit(
        X, np.zeros((16, 2)), verbose=0), ValueError,
     r"integer labels of shape \(16,\), received shape \(16, 2\)"),
    ("labels-ragged", lambda: mlp().fit(X[:2], [[1, 0, 0], [1]], verbose=0), ValueError,
     r"Failed to convert `y` to a NumPy array.*same length"),
    ("labels-complex", lambda: mlp().fit(X, Y.astype(complex), verbose=0), ValueError,
     r"`y` is complex \(complex128\)"),
    ("labels-strings-sparse", lambda: mlp("sparse_categorical_crossentropy").fit(
        X, np.array(["a"] * 16), verbose=0), ValueError, r"`y`.*unsupported dtype <U1"),
    # ---- non-float, object, ragged arrays
    ("layer-call-strings", lambda: Dense(3)(np.array([["a", "b"]])), ValueError,
     r"Failed to convert `input of layer 'dense\w*'` to a float32 array: unsupported dtype <U1"),
    ("layer-call-objects", lambda: Dense(3)(np.array([[object()]])), ValueError,
     r"`input of layer 'dense\w*'`.*unsupported dtype object"),
    ("x-complex", lambda: mlp().fit(X.astype(np.complex64), Y, verbose=0), ValueError,
     r"`x` is complex \(complex64\)"),
    ("x-datetime", lambda: mlp().predict(np.zeros((16, 4), "datetime64[s]"), verbose=0),
     ValueError, r"`x`.*unsupported dtype datetime64\[s\]"),
    ("x-ragged", lambda: mlp().fit([[1, 2, 3, 4], [1, 2]], Y[:2], verbose=0), ValueError,
     r"Failed to convert `x` to a NumPy array.*same length"),
    ("x-beyond-float32", lambda: mlp().fit(np.full((16, 4), 1e300), Y, verbose=0), ValueError,
     r"`x` holds values too large for float32 \(largest magnitude 1e\+300"),
    ("sample-weight-strings", lambda: mlp().fit(X, Y, sample_weight=np.array(["a"] * 16),
                                                verbose=0), ValueError,
     r"`sample_weight`.*unsupported dtype <U1"),
    ("sample-weight-per-class", lambda: mlp().fit(X, Y, sample_weight=np.ones((16, 3)),
                                                  verbose=0), ValueError,
     r"`sample_weight` must have shape \(16,\), one weight per sample, received shape \(16, 3\)"),
    ("class-weight-string-key", lambda: mlp().fit(X, Y, class_weight={"cat": 2.0}, verbose=0),
     ValueError, r"`class_weight` keys must be integer class indices, received key 'cat'"),
    ("class-weight-nan-value", lambda: mlp().fit(X, Y, class_weight={0: np.nan}, verbose=0),
     ValueError, r"`class_weight` values must be finite numbers, received class_weight\[0\]=nan"),
    # ---- NaN / inf anywhere data enters
    ("layer-call-nan", lambda: Dense(3, activation="relu")(np.full((2, 4), np.nan)), ValueError,
     r"`input of layer 'dense\w*'` contains NaN or infinity \(first at sample 0\)"),
    ("model-call-inf", lambda: mlp()(with_value(X, (5, 2), np.inf)), ValueError,
     r"`x` contains NaN or infinity \(first at sample 5\)"),
    ("predict-on-batch-nan", lambda: mlp().predict_on_batch(with_value(X, (2, 0), np.nan)),
     ValueError, r"`x` contains NaN or infinity \(first at sample 2\)"),
    ("train-on-batch-nan", lambda: mlp().train_on_batch(with_value(X, (1, 1), np.nan), Y),
     ValueError, r"`x` contains NaN or infinity \(first at sample 1\)"),
    ("y-inf", lambda: mlp().fit(X, with_value(Y, (4, 0), np.inf), verbose=0), ValueError,
     r"`y` contains NaN or infinity \(first at sample 4\)"),
    ("validation-y-nan", lambda: mlp().fit(X, Y, validation_data=(X, with_value(Y, 9, np.nan)),
                                           verbose=0), ValueError,
     r"`y \(validation_data\)` contains NaN or infinity \(first at sample 9\)"),
    ("sample-weight-nan", lambda: mlp().fit(X, Y, sample_weight=with_value(np.ones(16), 7, np.nan),
                                            verbose=0), ValueError,
     r"`sample_weight` contains NaN or infinity \(first at sample 7\)"),
    # ---- empty arrays
    ("fit-empty", lambda: mlp().fit(np.zeros((0, 4)), np.zeros((0, 3)), verbose=0), ValueError,
     r"The dataset is empty: `x` has 0 samples"),
    ("evaluate-empty", lambda: mlp().evaluate(np.zeros((0, 4)), np.zeros((0, 3)), verbose=0),
     ValueError, "The dataset is empty"),
    ("train-on-batch-empty", lambda: mlp().train_on_batch(np.zeros((0, 4)), np.zeros((0, 3))),
     ValueError, "The dataset is empty"),
    ("validation-data-empty", lambda: mlp().fit(X, Y, validation_data=(X[:0], Y[:0]), verbose=0),
     ValueError, "The dataset is empty"),
    ("conv-zero-height", lambda: Conv2D(2, 1)(np.ones((1, 0, 4, 1))), ValueError,
     r"Layer 'conv2d\w*': conv2d: empty input \(1, 0, 4, 1\)"),
    # ---- zero or negative sizes in layer arguments
    ("dense-units-0", lambda: Dense(0), ValueError,
     r"invalid value for `units`, expected a positive integer. Received: units=0"),
    ("dense-units-negative", lambda: Dense(-3), ValueError, r"units=-3"),
    ("dense-units-float", lambda: Dense(3.5), ValueError, r"units=3.5"),
    ("dense-units-bool", lambda: Dense(True), ValueError, r"units=True"),
    ("conv-filters-negative", lambda: Conv2D(-1, 3), ValueError, r"filters=-1"),
    ("conv-kernel-negative", lambda: Conv2D(2, -3), ValueError,
     r"`kernel_size` must be positive.*received kernel_size=-3"),
    ("conv-kernel-3-ints", lambda: Conv2D(2, (3, 3, 3)), ValueError, r"kernel_size=\(3, 3, 3\)"),
    ("conv-strides-negative", lambda: Conv2D(2, 3, strides=(1, -1)), ValueError,
     r"`strides` must be positive.*strides=\(1, -1\)"),
    ("conv-dilation", lambda: Conv2D(2, 3, strides=2, dilation_rate=2), ValueError,
     r"`strides > 1` not supported in conjunction with `dilation_rate > 1`"),
    ("pool-size-0", lambda: MaxPooling2D(0), ValueError, r"`pool_size` must be positive"),
    ("pool-size-negative", lambda: MaxPooling2D((2, -1)), ValueError, r"pool_size=\(2, -1\)"),
    ("pool-strides-0", lambda: MaxPooling2D(2, strides=0), ValueError, r"`strides` must be positive"),
    ("input-negative", lambda: Input((-1, 4)), ValueError, r"positive ints.*\(-1, 4\)"),
    ("dropout-rate-nan", lambda: Dropout(float("nan")), ValueError, r"rate=nan"),
    # ---- kernel (window) larger than the input
    ("conv-kernel-taller-than-image", lambda: Conv2D(2, (5, 1))(Input((3, 8, 1))), ValueError,
     r"window 5x1 is larger than the input 3x8 with padding='valid'"),
    ("conv-kernel-larger-in-model", lambda: cnn().predict(np.zeros((2, 2, 2, 1)), verbose=0),
     ValueError, r"expected shape=\(None, 8, 8, 1\), found shape=\(2, 2, 2, 1\)"),
    ("pool-larger-than-feature-map", lambda: Sequential(
        [Conv2D(2, 3, input_shape=(4, 4, 1)), MaxPooling2D(3)]), ValueError,
     r"window 3x3 is larger than the input 2x2"),
    # ---- batch sizes
    ("batch-size-bool", lambda: mlp().fit(X, Y, batch_size=True, verbose=0), ValueError,
     r"`batch_size` must be a positive integer, received batch_size=True"),
    ("batch-size-string", lambda: mlp().evaluate(X, Y, batch_size="8", verbose=0), ValueError,
     r"batch_size='8'"),
    ("predict-batch-size-0", lambda: mlp().predict(X, batch_size=0, verbose=0), ValueError,
     r"batch_size=0"),
    # ---- huge sizes: a MemoryError naming the layer, never an abort or the OOM killer
    # (sizes far beyond any machine's memory: the check refuses them before allocating)
    ("huge-batch", lambda: Sequential([Dense(10 ** 6, input_shape=(1,)), Dense(1)]).predict(
        HUGE_X, batch_size=10 ** 7, verbose=0), MemoryError,
     r"Layer 'dense\w*' needs 3.73e\+04 GiB for an array of shape \(10000000, 1000000\); "
     r"use a smaller batch_size"),
    ("huge-predictions", lambda: Sequential([Dense(10 ** 6, input_shape=(1,))]).predict(
        HUGE_X, verbose=0), MemoryError,
     r"Model 'sequential\w*' needs 3.73e\+04 GiB for its predictions of shape "
     r"\(10000000, 1000000\); predict on fewer samples at a time"),
    ("huge-layer", lambda: Dense(2 ** 40)(np.ones((1, 4))), MemoryError,
     r"Layer 'dense\w*' needs .* GiB for its weight 'kernel' of shape \(4, 1099511627776\)"),
    ("huge-conv-kernel", lambda: Conv2D(2, 10 ** 6, padding="same")(np.ones((1, 4, 4, 1))),
     MemoryError, r"weight 'kernel' of shape \(1000000, 1000000, 1, 2\)"),
    # ---- fit arguments
    ("epochs-float", lambda: mlp().fit(X, Y, epochs=1.5, verbose=0), ValueError,
     r"`epochs` must be an integer, received epochs=1.5"),
    ("initial-epoch-negative", lambda: mlp().fit(X, Y, initial_epoch=-1, verbose=0), ValueError,
     r"initial_epoch=-1"),
    ("steps-per-epoch-0", lambda: mlp().fit(X, Y, steps_per_epoch=0, verbose=0), ValueError,
     r"`steps_per_epoch` must be a positive integer or None, received steps_per_epoch=0"),
    ("validation-freq-0", lambda: mlp().fit(X, Y, validation_split=0.25, validation_freq=0,
                                            verbose=0), ValueError,
     r"`validation_freq` must be a positive integer, received validation_freq=0"),
    ("validation-data-1-item", lambda: mlp().fit(X, Y, validation_data=(X,), verbose=0),
     ValueError, r"`validation_data`.*2 items \(x_val, y_val\), or 3 items.*a tuple of 1 items"),
    ("validation-data-array", lambda: mlp().fit(X, Y, validation_data=X, verbose=0),
     ValueError, r"`validation_data`.*we received ndarray"),
    ("validation-split-string", lambda: mlp().fit(X, Y, validation_split="0.2", verbose=0),
     ValueError, r"`validation_split` must be in \[0, 1\), received '0.2'"),
    ("validation-split-nan", lambda: mlp().fit(X, Y, validation_split=float("nan"), verbose=0),
     ValueError, r"validation_split"),
    ("learning-rate-string", lambda: Adam(learning_rate="fast"), ValueError,
     r"learning_rate must be a non-negative float, received 'fast'"),
    # ---- loading mismatched weights
    ("set-weights-not-a-list", lambda: mlp().set_weights(5), ValueError,
     r"`set_weights` on model 'sequential\w*' expects a list of NumPy arrays, received int"),
    ("set-weights-one-array", lambda: mlp().set_weights(np.zeros((4, 8))), ValueError,
     "expects a list of NumPy arrays, received ndarray"),
    ("set-weights-none", lambda: mlp().set_weights(replaced(2, None)), ValueError,
     r"Weight dense\w*/kernel has shape \(8, 3\), but the value given is None"),
    ("set-weights-transposed", lambda: mlp().set_weights(replaced(0, np.zeros((8, 4)))),
     ValueError, r"Weight dense\w*/kernel has shape \(4, 8\), but the value given has shape "
     r"\(8, 4\)"),
    ("set-weights-strings", lambda: mlp().set_weights(replaced(1, np.array(["a"] * 8))),
     ValueError, r"`value for weight dense\w*/bias`.*unsupported dtype <U1"),
    ("set-weights-ragged", lambda: mlp().set_weights(replaced(3, [[1, 2], [3]])), ValueError,
     r"value for weight dense\w*/bias.*same length"),
    ("set-weights-unbuilt", lambda: Sequential([Dense(3)]).set_weights(
        [np.zeros((4, 3)), np.zeros(3)]), ValueError,
     r"expected 0 weights. The model is not built yet"),
    ("layer-set-weights-dict", lambda: built_dense().set_weights({"kernel": np.zeros((4, 3))}),
     ValueError, r"`set_weights` on layer 'dense\w*' expects a list"),
    ("layer-set-weights-complex", lambda: built_dense().set_weights(
        [np.zeros((4, 3), complex), np.zeros(3)]), ValueError, "is complex"),
    ("layer-set-weights-ragged", lambda: built_dense().set_weights([[[1, 2], [3]], np.zeros(3)]),
     ValueError, r"value for weight dense\w*/kernel.*same length"),
    ("layer-set-weights-none", lambda: built_dense().set_weights([np.zeros((4, 3)), None]),
     ValueError, r"Weight dense\w*/bias has shape \(3,\), but the value given is None"),
    ("variable-assign-shape", lambda: built_dense().kernel.assign(np.zeros((3, 4))), ValueError,
     r"Weight dense\w*/kernel has shape \(4, 3\), but the value given has shape \(3, 4\)"),
    # ---- normalization, pooling, activation and shape layers (issue 16)
    ("bn-channels-changed", lambda: _built(layers.BatchNormalization(), (None, 4, 4, 3))(
        np.ones((2, 4, 4, 5))), ValueError, r"expected axis -1 of input shape to have value 3"),
    ("bn-axis-batch", lambda: layers.BatchNormalization(axis=0)(Input((4, 3))), ValueError,
     r"Invalid axis.*axis=0"),
    ("bn-axis-out-of-range", lambda: layers.BatchNormalization(axis=3)(Input((4, 3))),
     ValueError, r"Invalid axis.*axis=3"),
    ("bn-momentum-2", lambda: layers.BatchNormalization(momentum=2.0), ValueError,
     r"momentum=2.0"),
    ("bn-epsilon-0", lambda: layers.BatchNormalization(epsilon=0), ValueError, r"epsilon=0"),
    ("bn-renorm", lambda: layers.BatchNormalization(renorm=True), ValueError,
     r"renorm=True is not supported"),
    ("avgpool-larger-than-input", lambda: layers.AveragePooling2D(4)(np.ones((1, 3, 3, 1))),
     ValueError, r"window 4x4 is larger than the input 3x3"),
    ("avgpool-no-pool-size", lambda: layers.AveragePooling2D(), TypeError, r"pool_size"),
    ("global-pool-rank-3", lambda: layers.GlobalAveragePooling2D()(Input((4, 3))), ValueError,
     r"expected ndim=4, found ndim=3"),
    ("relu-negative-max", lambda: layers.ReLU(max_value=-1), ValueError,
     r"max_value of a ReLU layer cannot be a negative value. Received: max_value=-1"),
    ("relu-negative-threshold", lambda: layers.ReLU(threshold=-0.5), ValueError,
     r"threshold=-0.5"),
    ("leaky-relu-negative", lambda: layers.LeakyReLU(-0.1), ValueError,
     r"negative_slope=-0.1"),
    ("softmax-axis-batch", lambda: layers.Softmax(axis=0)(Input((3,))), ValueError,
     r"axis 0 is out of range"),
    ("activation-unknown", lambda: Dense(3, activation="swoosh"), ValueError,
     r"Could not interpret activation function identifier: 'swoosh'"),
    ("reshape-size-mismatch", lambda: layers.Reshape((5, -1))(Input((4, 3))), ValueError,
     r"total size of the tensor must be unchanged"),
    ("reshape-two-unknown", lambda: layers.Reshape((-1, -1)), ValueError,
     r"at most one unknown dimension"),
    ("permute-not-a-permutation", lambda: layers.Permute((1, 3)), ValueError,
     r"Invalid permutation argument `dims`.*\(1, 3\)"),
    ("repeat-vector-rank-3", lambda: layers.RepeatVector(2)(Input((4, 3))), ValueError,
     r"expected ndim=2, found ndim=3"),
    ("flatten-bad-data-format", lambda: Flatten(data_format="nchw"), ValueError,
     r"data_format='nchw'"),
]


def _built(layer, shape):
    layer.ensure_built(shape)
    return layer


@pytest.mark.parametrize("_, call, exc, match", CATALOGUE, ids=[c[0] for c in CATALOGUE])
def test_bad_input(_, call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_failed_set_weights_changes_nothing():
    model = mlp()
    before = model.get_weights()
    with pytest.raises(ValueError):
        model.set_weights([np.ones((4, 8)), np.ones(8), np.ones((8, 3)), np.ones(4)])
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_model_survives_a_memory_error():
    model = Sequential([Dense(10 ** 6, input_shape=(1,)), Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    with pytest.raises(MemoryError, match="use a smaller batch_size"):
        model.fit(HUGE_X, HUGE_X, batch_size=10 ** 7, shuffle=False, verbose=0)
    history = model.fit(HUGE_X[:16], HUGE_X[:16], batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"][0])


# ---- accepted: unusual layouts and dtypes give exactly the canonical answer -------------

def _swapped(a):
    return a.astype(a.dtype.newbyteorder())


def _unaligned(a):
    raw = np.zeros(a.nbytes + 1, np.uint8)
    u = np.frombuffer(raw.data, a.dtype, a.size, offset=1).reshape(a.shape)
    u[...] = a
    return u


def _strided(a):
    wide = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), a.dtype)
    wide[..., ::2] = a
    return wide[..., ::2]


LAYOUTS = [  # (id, transform of a float32 array, still exactly the same values)
    ("fortran-order", np.asfortranarray),
    ("non-contiguous", _strided),
    ("reversed-batch-view", lambda a: a[::-1].copy()[::-1]),
    ("float64", lambda a: a.astype(np.float64)),
    ("big-endian", _swapped),
    ("unaligned", _unaligned),
    ("python-lists", lambda a: a.tolist()),
    ("read-only", lambda a: np.frombuffer(a.tobytes(), a.dtype).reshape(a.shape)),
]


@pytest.mark.parametrize("_, transform", LAYOUTS, ids=[c[0] for c in LAYOUTS])
def test_inputs_in_any_layout_give_the_same_predictions(_, transform):
    for model, x in [(mlp(), X), (cnn(), IMAGES)]:
        expected = model.predict(x, verbose=0)
        np.testing.assert_array_equal(model.predict(transform(x), verbose=0), expected)
        np.testing.assert_array_equal(model(transform(x)), expected)
        np.testing.assert_array_equal(model.layers[0](transform(x)),
                                      model.layers[0](x))


@pytest.mark.parametrize("_, transform", LAYOUTS, ids=[c[0] for c in LAYOUTS])
def test_training_data_in_any_layout_gives_the_same_weights(_, transform):
    def trained(x, y, w):
        model = cnn()
        model.fit(x, y, batch_size=4, epochs=1, shuffle=False, sample_weight=w, verbose=0)
        return model.get_weights()

    w = np.linspace(0.5, 1.5, 16).astype(np.float32)
    expected = trained(IMAGES, Y, w)
    for a, b in zip(trained(transform(IMAGES), transform(Y), transform(w)), expected):
        np.testing.assert_array_equal(a, b)


ACCEPTED = [  # (id, call) valid inputs that once failed or look suspicious
    ("int-and-bool-inputs", lambda: mlp().fit((X > 0).astype(np.int64), Y, verbose=0)),
    ("bool-inputs", lambda: mlp().predict(X > 0, verbose=0)),
    ("integer-one-hot", lambda: mlp().fit(X, Y.astype(np.uint8), verbose=0)),
    ("sparse-labels-as-floats", lambda: mlp("sparse_categorical_crossentropy").fit(
        X, LABELS.astype(np.float64), verbose=0)),
    ("sparse-labels-column", lambda: mlp("sparse_categorical_crossentropy").fit(
        X, LABELS[:, None], verbose=0)),
    ("sparse-labels-big-endian", lambda: mlp("sparse_categorical_crossentropy").fit(
        X, LABELS.astype(">i8"), verbose=0)),
    ("batch-size-larger-than-data", lambda: mlp().fit(X, Y, batch_size=10 ** 18, verbose=0)),
    ("batch-size-numpy-int", lambda: mlp().fit(X, Y, batch_size=np.int32(5), verbose=0)),
    ("class-weight-for-absent-classes", lambda: mlp().fit(X, Y, class_weight={7: 2.0, 10 ** 12: 3.0},
                                                          verbose=0)),
    ("validation-data-with-weights", lambda: mlp().fit(X, Y, validation_data=(X, Y, np.ones(16)),
                                                       verbose=0)),
    ("kernel-larger-than-input-same", lambda: Conv2D(2, 5, padding="same")(np.ones((1, 3, 3, 1)))),
    ("pool-larger-than-input-same", lambda: MaxPooling2D(5, padding="same")(np.ones((1, 3, 3, 1)))),
    ("weights-as-float64-and-lists", lambda: mlp().set_weights(
        [w.tolist() if w.ndim == 1 else w.astype(np.float64) for w in MLP_WEIGHTS])),
    ("predict-without-compile", lambda: mlp(compiled=False).predict(X, verbose=0)),
]


@pytest.mark.parametrize("_, call", ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_accepted(_, call):
    call()


def test_empty_batches_give_empty_outputs_like_keras():
    model = cnn()
    assert model.predict_on_batch(IMAGES[:0]).shape == (0, 3)
    assert model(IMAGES[:0]).shape == (0, 3)
    assert Dense(5)(np.ones((0, 4))).shape == (0, 5)
    assert Conv2D(2, 3)(np.ones((0, 5, 5, 1))).shape == (0, 3, 3, 2)
    assert MaxPooling2D()(np.ones((0, 4, 4, 2))).shape == (0, 2, 2, 2)


def test_class_weight_follows_keras():
    """A sample weighs class_weight.get(its class, 1): absent classes weigh 1."""
    from fastnn.models import data
    w = data.sample_weights(Y, {0: 2.0, 2: 0.5, 9: 7.0}, None)
    np.testing.assert_array_equal(w, np.array([2.0, 1.0, 0.5] * 5 + [2.0], np.float32))


# ---- the index: every kind of bad input the hardening issue names ---------------------

INDEX = {
    "wrong rank or shape into layers and models": [
        "api:fit-wrong-width", "api:predict-wrong-rank", "api:images-into-dense",
        "api:vectors-into-conv", "cat:layer-call-scalar", "cat:cnn-wrong-image-size",
        "cat:cnn-vectors", "kernel:dense-x-1d", "kernel:conv-x-3d", "kernel:pool-x-3d"],
    "x/y length mismatch": ["api:length-mismatch", "api:inputs-length-mismatch",
                            "cat:validation-data-lengths", "cat:train-on-batch-lengths",
                            "kernel:sparse-labels-length", "kernel:dense-bwd-w-batch"],
    "labels that do not fit the loss or the classes": [
        "api:int-labels-categorical", "api:onehot-labels-sparse", "api:label-too-large",
        "api:label-negative", "api:label-not-integer", "cat:sparse-label-beyond-int32",
        "cat:sparse-label-nan", "kernel:sparse-label-high", "kernel:ops-labels-beyond-int32"],
    "non-float or object arrays": ["api:string-x", "api:object-x", "cat:layer-call-strings",
                                   "cat:x-complex", "cat:x-ragged", "cat:labels-ragged",
                                   "kernel:dense-int", "kernel:dense-list"],
    "NaN/inf in inputs or labels": ["api:nan-in-x", "api:nan-in-y", "api:inf-in-x-predict",
                                    "cat:layer-call-nan", "cat:predict-on-batch-nan",
                                    "cat:sample-weight-nan", "cat:x-beyond-float32"],
    "empty arrays": ["api:empty-x", "cat:fit-empty", "cat:train-on-batch-empty",
                     "cat:validation-data-empty", "kernel:dense-empty-batch",
                     "kernel:conv-empty-batch", "kernel:softmax-empty"],
    "zero or negative sizes in layer arguments": [
        "api:zero-kernel-size", "api:zero-filters", "api:input-zero-dim", "cat:dense-units-0",
        "cat:conv-kernel-negative", "cat:pool-size-0", "cat:conv-strides-negative",
        "kernel:conv-stride-0"],
    "kernel larger than the input": ["api:kernel-larger-than-input", "api:pool-larger-than-input",
                                     "cat:conv-kernel-taller-than-image",
                                     "kernel:conv-kernel-too-big", "kernel:pool-too-big"],
    "batch_size of 0": ["api:batch-size-0", "api:batch-size-negative", "cat:predict-batch-size-0",
                        "cat:batch-size-bool"],
    "huge sizes: MemoryError, not an abort": ["cat:huge-batch", "cat:huge-predictions",
                                              "cat:huge-layer",
                                              "kernel:threads-huge"],
    "bytes the kernels cannot read": ["kernel:dense-byteswapped", "kernel:sparse-labels-byteswapped",
                                      "kernel:relu-unaligned", "kernel:dense-noncontig"],
    "fit before compile": ["api:fit-before-compile", "api:train-on-batch-before-compile"],
    "mismatched weights": ["api:model-set-weights-shape", "api:model-set-weights-count",
                           "api:layer-set-weights-shape", "cat:set-weights-none",
                           "cat:set-weights-transposed", "cat:set-weights-unbuilt"],
}


def test_index_names_existing_rows():
    tables = {"api": {c[0] for c in test_api_errors.CASES},
              "kernel": set(test_bad_calls.BAD_IDS),
              "cat": {c[0] for c in CATALOGUE}}
    missing = [row for rows in INDEX.values() for row in rows
               if row.split(":", 1)[1] not in tables[row.split(":", 1)[0]]]
    assert not missing
