"""Errors in Keras's clear style: each names the layer or argument, what was expected and what
was received.  One table row per mistake a user makes."""
import numpy as np
import pytest

from fastnn.layers import (Add, Concatenate, Conv2D, Dense, Dropout, Flatten, Input,
                           MaxPooling2D)
from fastnn.models import Model, Sequential
from fastnn.optimizers import SGD, Adam

X = np.zeros((16, 4), np.float32)
Y = np.eye(3, dtype=np.float32)[np.arange(16) % 3]
LABELS = np.arange(16) % 3


def mlp(loss="categorical_crossentropy", compiled=True, **layer_kwargs):
    model = Sequential([Dense(8, input_shape=(4,), activation="relu"),
                        Dense(3, activation="softmax", **layer_kwargs)])
    if compiled:
        model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    return model


def with_value(arr, index, value):
    arr = np.array(arr, dtype=np.float32)
    arr[index] = value
    return arr


def lazy_dense_fit(x, y):
    model = Sequential([Dense(3, activation="softmax")])
    model.compile(loss="categorical_crossentropy")
    model.fit(x, y, verbose=0)


INPUT_SHAPE = (r"is incompatible with the layer: expected axis -1 of input shape to have value 4, "
               r"but received input with shape \(16, 5\)")
RANK = r"layer 'dense\w*' is incompatible with the layer: expected ndim=2, found ndim=4"

CASES = [  # (id, call, exception, regex the message must match)
    # ---- input shapes
    ("fit-wrong-width", lambda: mlp().fit(np.zeros((16, 5)), Y, verbose=0), ValueError,
     r"Input 0 of layer 'dense\w*' " + INPUT_SHAPE),
    ("evaluate-wrong-width", lambda: mlp().evaluate(np.zeros((16, 5)), Y, verbose=0),
     ValueError, INPUT_SHAPE),
    ("predict-wrong-width", lambda: mlp().predict(np.zeros((16, 5)), verbose=0), ValueError,
     INPUT_SHAPE),
    ("predict-wrong-rank", lambda: mlp().predict(np.zeros((16, 4, 1)), verbose=0), ValueError,
     r"expected shape=\(None, 4\), found shape=\(16, 4, 1\)"),
    ("images-into-dense", lambda: Sequential([Dense(3, input_shape=(8, 8, 1))]), ValueError,
     RANK + r".*\(None, 8, 8, 1\).*Flatten"),
    ("conv-then-dense", lambda: Sequential([Conv2D(2, 3, input_shape=(8, 8, 1)), Dense(3)]),
     ValueError, RANK + r".*\(None, 6, 6, 2\)"),
    ("lazy-images-into-dense", lambda: lazy_dense_fit(np.zeros((16, 8, 8, 1)), Y), ValueError,
     RANK),
    ("vectors-into-conv", lambda: Conv2D(2, 3)(Input((8, 8))), ValueError,
     r"layer 'conv2d\w*' is incompatible with the layer: expected ndim=4, found ndim=3.*"
     r"\(None, 8, 8\)"),
    ("validation-data-shape",
     lambda: mlp().fit(X, Y, validation_data=(np.zeros((4, 5)), Y[:4]), verbose=0), ValueError,
     r"expected axis -1 of input shape to have value 4, but received input with shape \(4, 5\)"),
    # ---- labels that do not fit the loss
    ("int-labels-categorical", lambda: mlp().fit(X, LABELS, verbose=0), ValueError,
     r"categorical_crossentropy expects one-hot targets of shape \(16, 3\).*\(16,\).*"
     r"sparse_categorical_crossentropy"),
    ("onehot-labels-sparse", lambda: mlp("sparse_categorical_crossentropy").fit(X, Y, verbose=0),
     ValueError, r"integer labels of shape \(16,\), received shape \(16, 3\).*"
     r"loss='categorical_crossentropy'"),
    ("label-too-large", lambda: mlp("sparse_categorical_crossentropy").fit(
        X, with_value(LABELS, 5, 3), verbose=0), ValueError,
     r"label value of 3 which is outside the valid range of \[0, 3\)"),
    ("label-negative", lambda: mlp("sparse_categorical_crossentropy").evaluate(
        X, with_value(LABELS, 0, -1), verbose=0), ValueError, r"label value of -1.*\[0, 3\)"),
    ("label-not-integer", lambda: mlp("sparse_categorical_crossentropy").fit(
        X, with_value(LABELS, 0, 0.5), verbose=0), ValueError, "integer class labels"),
    ("onehot-wrong-width", lambda: mlp().fit(X, np.zeros((16, 4)), verbose=0), ValueError,
     r"target.shape=\(16, 4\), output.shape=\(16, 3\)"),
    ("binary-wrong-width", lambda: mlp("binary_crossentropy").fit(X, np.zeros((16, 2)),
                                                                  verbose=0),
     ValueError, r"target.shape=\(16, 2\), output.shape=\(16, 3\)"),
    # ---- compile
    ("fit-before-compile", lambda: mlp(compiled=False).fit(X, Y, verbose=0), ValueError,
     r"You must call `compile\(\)` before calling `fit\(\)`"),
    ("evaluate-before-compile", lambda: mlp(compiled=False).evaluate(X, Y, verbose=0),
     ValueError, r"You must call `compile\(\)`"),
    ("train-on-batch-before-compile", lambda: mlp(compiled=False).train_on_batch(X, Y),
     ValueError, r"You must call `compile\(\)`"),
    ("compile-without-loss", lambda: (lambda m: m.compile("adam") or m.fit(X, Y, verbose=0))(
        mlp(compiled=False)), ValueError, r"Provide a `loss` argument in `compile\(\)`"),
    ("unknown-loss", lambda: mlp(compiled=False).compile(loss="cross_entropy"), ValueError,
     r"Could not interpret loss identifier: 'cross_entropy'"),
    ("unknown-optimizer", lambda: mlp(compiled=False).compile(optimizer="adamw2", loss="mse"),
     ValueError, r"Could not interpret optimizer identifier: 'adamw2'"),
    ("unknown-metric", lambda: (lambda m: m.compile(loss="mse", metrics=["acuracy"]) or
                                m.evaluate(X, Y, verbose=0))(mlp(compiled=False)),
     ValueError, r"Could not interpret metric identifier: 'acuracy'"),
    ("metrics-not-a-list", lambda: mlp(compiled=False).compile(loss="mse", metrics="accuracy"),
     ValueError, "Expected `metrics` to be a list"),
    ("unknown-activation", lambda: Dense(3, activation="swish2"), ValueError,
     r"Could not interpret activation function identifier: 'swish2'"),
    ("unknown-initializer", lambda: Dense(3, kernel_initializer="glorot"), ValueError,
     r"Could not interpret initializer identifier: 'glorot'"),
    ("sgd-momentum", lambda: SGD(momentum=1.5), ValueError, "momentum"),
    ("negative-learning-rate", lambda: Adam(learning_rate=-0.1), ValueError, "learning_rate"),
    ("optimizer-unknown-kwarg", lambda: Adam(lr_decay=0.1), TypeError, "lr_decay"),
    # ---- data
    ("length-mismatch", lambda: mlp().fit(X, Y[:15], verbose=0), ValueError,
     r"Data cardinality is ambiguous.*'x' sizes: 16\n'y' sizes: 15"),
    ("inputs-length-mismatch", lambda: Model(
        [a := Input((2,)), b := Input((2,))], Add()([a, b])).predict(
        [np.zeros((4, 2)), np.zeros((3, 2))], verbose=0), ValueError,
     r"Data cardinality is ambiguous.*'x' sizes: 4, 3"),
    ("missing-input", lambda: Model([a := Input((2,)), b := Input((2,))], Add()([a, b])).predict(
        np.zeros((4, 2)), verbose=0), ValueError, r"expects 2 input\(s\), but it received 1"),
    ("nan-in-x", lambda: mlp().fit(with_value(X, (3, 1), np.nan), Y, verbose=0), ValueError,
     r"`x` contains NaN or infinity \(first at sample 3\)"),
    ("inf-in-x-predict", lambda: mlp().predict(with_value(X, (7, 0), -np.inf), verbose=0),
     ValueError, r"`x` contains NaN or infinity \(first at sample 7\)"),
    ("nan-in-y", lambda: mlp().evaluate(X, with_value(Y, (2, 2), np.nan), verbose=0), ValueError,
     r"`y` contains NaN or infinity \(first at sample 2\)"),
    ("nan-in-validation", lambda: mlp().fit(X, Y, validation_data=(
        with_value(X, (1, 1), np.nan), Y), verbose=0), ValueError,
     r"`x \(validation_data\)` contains NaN"),
    ("string-x", lambda: mlp().fit(np.full((16, 4), "a"), Y, verbose=0), ValueError,
     r"Failed to convert `x` to a float32 array: unsupported dtype <U1"),
    ("object-x", lambda: mlp().predict(np.zeros((16, 4), dtype=object), verbose=0), ValueError,
     r"Failed to convert `x`.*dtype object"),
    ("x-none", lambda: mlp().fit(None, Y, verbose=0), ValueError, r"`x` is None"),
    ("empty-x", lambda: mlp().predict(np.zeros((0, 4)), verbose=0), ValueError, "empty"),
    ("sample-weight-length", lambda: mlp().fit(X, Y, sample_weight=np.ones(3), verbose=0),
     ValueError, r"`sample_weight` has 3 entries for 16 samples"),
    ("class-weight-not-dict", lambda: mlp().fit(X, Y, class_weight=[1, 2, 3], verbose=0),
     ValueError, "`class_weight` must be a dict"),
    # ---- fit arguments
    ("batch-size-0", lambda: mlp().fit(X, Y, batch_size=0, verbose=0), ValueError,
     r"`batch_size` must be a positive integer, received batch_size=0"),
    ("batch-size-negative", lambda: mlp().evaluate(X, Y, batch_size=-4, verbose=0), ValueError,
     r"batch_size=-4"),
    ("batch-size-float", lambda: mlp().predict(X, batch_size=2.5, verbose=0), ValueError,
     r"batch_size=2.5"),
    ("validation-split-1", lambda: mlp().fit(X, Y, validation_split=1.0, verbose=0), ValueError,
     r"`validation_split` must be in \[0, 1\), received 1.0"),
    ("validation-split-negative", lambda: mlp().fit(X, Y, validation_split=-0.2, verbose=0),
     ValueError, "validation_split"),
    ("validation-split-too-large", lambda: mlp().fit(X, Y, validation_split=0.95, verbose=0),
     ValueError, r"Training data contains 16 samples, which is not sufficient to split.*"
     r"validation_split=0.95"),
    # ---- layer arguments and shapes
    ("kernel-larger-than-input", lambda: Conv2D(2, 5)(Input((3, 3, 1))), ValueError,
     r"Layer 'conv2d\w*'.*window 5x5 is larger than the input 3x3 with padding='valid'.*"
     r"\(None, 3, 3, 1\)"),
    ("kernel-larger-in-sequential", lambda: Sequential([Conv2D(2, 5, input_shape=(3, 3, 1))]),
     ValueError, r"5x5 is larger than the input 3x3"),
    ("pool-larger-than-input", lambda: MaxPooling2D(3)(np.zeros((1, 2, 2, 1))), ValueError,
     r"Layer 'max_pooling2d\w*'.*3x3 is larger than the input 2x2"),
    ("padding-full", lambda: Conv2D(2, 3, padding="full"), ValueError,
     r"`padding` must be 'valid' or 'same', received padding='full'"),
    ("pool-padding-full", lambda: MaxPooling2D(padding="full"), ValueError, "padding='full'"),
    ("zero-kernel-size", lambda: Conv2D(2, 0), ValueError, r"`kernel_size` must be positive"),
    ("zero-filters", lambda: Conv2D(0, 3), ValueError, r"filters=0"),
    ("dropout-rate-1.5", lambda: Dropout(rate=1.5), ValueError,
     r"Expected a float value between 0 and 1. Received: rate=1.5"),
    ("dropout-rate-negative", lambda: Dropout(-0.1), ValueError, r"rate=-0.1"),
    ("dropout-rate-string", lambda: Dropout("0.5"), ValueError, r"rate='0.5'"),
    ("input-zero-dim", lambda: Input((4, 0)), ValueError, r"positive ints.*\(4, 0\)"),
    ("add-shape-mismatch", lambda: Add()([Input((3,)), Input((4,))]), ValueError,
     r"Inputs of layer 'add\w*' \(Add\) must have the same shape.*\(None, 3\), \(None, 4\)"),
    ("add-one-input", lambda: Add()(Input((3,))), ValueError, r"list of at least 2 inputs"),
    ("concatenate-mismatch", lambda: Concatenate()([Input((3, 2)), Input((4, 3))]), ValueError,
     r"matching shapes except for the concatenation axis"),
    ("flatten-vector", lambda: Flatten()(np.zeros(3)), ValueError, r"expected min_ndim=2"),
    # ---- models and weights
    ("model-without-outputs", lambda: Model(inputs=Input((3,))), ValueError,
     r"needs both `inputs` and `outputs`"),
    ("graph-disconnected", lambda: Model(Input((3,)), Dense(2)(Input((3,)))), ValueError,
     "Graph disconnected"),
    ("pop-empty", lambda: Sequential().pop(), TypeError, "no layers"),
    ("model-set-weights-shape", lambda: mlp().set_weights(
        [np.zeros((4, 8)), np.zeros(8), np.zeros((8, 4)), np.zeros(3)]), ValueError,
     r"Weight dense\w*/kernel has shape \(8, 3\), but the value given has shape \(8, 4\)"),
    ("model-set-weights-count", lambda: mlp().set_weights([np.zeros((4, 8))]), ValueError,
     r"weight list of length 1, but the model expected 4 weights"),
    ("layer-set-weights-shape", lambda: mlp().layers[1].set_weights(
        [np.zeros((8, 3)), np.zeros(4)]), ValueError, r"weight shape \(3,\) is not compatible "
     r"with provided weight shape \(4,\)"),
]


@pytest.mark.parametrize("_, call, exc, match", CASES, ids=[c[0] for c in CASES])
def test_error(_, call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_failed_add_leaves_the_sequential_usable():
    model = Sequential([Dense(4, input_shape=(3,))])
    with pytest.raises(ValueError):
        model.add(Conv2D(2, 3))
    assert len(model.layers) == 1
    model.add(Dense(2))
    assert model.predict(np.zeros((2, 3)), verbose=0).shape == (2, 2)


def test_string_labels_error_names_y():
    with pytest.raises(ValueError, match=r"`y`"):
        mlp().fit(X, np.full((16, 3), "a"), verbose=0)


def test_missing_labels_error():
    with pytest.raises(ValueError, match=r"`y`|target"):
        mlp().fit(X, None, verbose=0)
