"""Layers, one `check_layer` per case: build, forward vs the NumPy twin, gradients through the
layer vs float64 finite differences of the twin, config and weights round trips.  Then
Keras's defaults: glorot_uniform statistics, zero biases, padding, pooling strides, argument
validation and layer naming."""
import numpy as np
import pytest

from fastnn import _reference as ref
from fastnn.layers import (Activation, Add, Concatenate, Conv2D, Dense, Dropout, Flatten, Input,
                           MaxPooling2D)
from fastnn.layers import layer as layer_module

ACT = {"linear": lambda z: z, "relu": ref.relu_forward, "sigmoid": ref.sigmoid_forward,
       "tanh": ref.tanh_forward, "softmax": ref.softmax_forward}
FD_EPS = 1e-6


# ---- float64 twins of each layer: twin(list of inputs, list of weights) -> output -------

def dense_twin(act):
    return lambda xs, ws: ACT[act](ref.dense_forward(xs[0], *ws))


def conv_twin(strides, padding, act):
    return lambda xs, ws: ACT[act](ref.conv2d_forward(xs[0], ws[0], ws[1], strides, padding))


def pool_twin(pool, strides, padding):
    return lambda xs, ws: ref.maxpool2d_forward(xs[0], pool, strides, padding)[0]


def concat_twin(axis):
    return lambda xs, ws: np.concatenate(xs, axis=axis)


def numeric_grad(f, x):
    """Central differences of the scalar f at every element of the float64 array x."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + FD_EPS
        hi = f()
        x[i] = old - FD_EPS
        lo = f()
        x[i] = old
        g[i] = (hi - lo) / (2 * FD_EPS)
    return g


def distinct_values(rng, shape):
    """Values at least 1/size apart: no ties in pooling windows, no kink at finite differences."""
    n = int(np.prod(shape))
    return (rng.permutation(n).reshape(shape) / n * 4 - 2).astype(np.float32)


def check_layer(make, in_shapes, twin, rng, training=False, grad_rtol=2e-4):
    """The checks every layer must pass; returns the built layer."""
    layer = make()
    multi = len(in_shapes) > 1
    # build on symbolic inputs: weights created, output shape known
    sym = [Input(s[1:]) for s in in_shapes]
    out = layer(sym if multi else sym[0])
    assert layer.built
    xs = [distinct_values(rng, s) for s in in_shapes]
    y = np.array(layer.forward(xs if multi else xs[0], training=training))
    assert y.dtype == np.float32
    assert y.shape == (in_shapes[0][0],) + tuple(out.shape[1:])
    # forward vs the twin (float64 from the layer's own weights)
    ws64 = [w.astype(np.float64) for w in layer.get_weights()]
    xs64 = [x.astype(np.float64) for x in xs]
    np.testing.assert_allclose(y, twin(xs64, ws64), rtol=1e-5, atol=1e-5)
    # gradients through the layer vs finite differences of sum(twin(x) * dy)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dxs = layer.backward(dy.copy())
    dxs = [np.array(d) for d in (dxs if multi else [dxs])]
    wgrads = [np.array(v.grad) for v in layer.weights]
    if hasattr(layer, "kernel"):
        assert wgrads[0] is not None and layer.kernel.grad.shape == layer.kernel.shape
    loss = lambda: float(np.sum(twin(xs64, ws64) * dy))
    for got, arr in list(zip(dxs, xs64)) + list(zip(wgrads, ws64)):
        want = numeric_grad(loss, arr)
        assert got.shape == arr.shape
        np.testing.assert_allclose(got, want, rtol=grad_rtol,
                                   atol=grad_rtol * (np.abs(want).max() + 1e-3))
    # config round trip
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert type(clone) is type(layer) and clone.get_config() == config
    # weights round trip: the clone computes the same function with the same weights
    clone(sym if multi else sym[0])
    clone.set_weights(layer.get_weights())
    for a, b in zip(clone.get_weights(), layer.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(clone.forward(xs if multi else xs[0], training=False),
                                  layer.forward(xs if multi else xs[0], training=False))
    # set_weights: wrong count and wrong shapes raise ValueError
    weights = layer.get_weights()
    with pytest.raises(ValueError):
        layer.set_weights(weights + [np.zeros(1, np.float32)])
    if weights:
        with pytest.raises(ValueError):
            layer.set_weights([np.zeros(w.shape + (1,), np.float32) for w in weights])
        with pytest.raises(ValueError):
            layer.set_weights(weights[:-1])
    return layer


ACTIVATIONS = ["linear", "relu", "sigmoid", "tanh", "softmax"]


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_dense(rng, act):
    layer = check_layer(lambda: Dense(5, activation=None if act == "linear" else act),
                        [(4, 3)], dense_twin(act), rng)
    assert layer.kernel.shape == (3, 5) and layer.bias.shape == (5,)  # Keras layout (in, units)


def test_dense_without_bias(rng):
    layer = check_layer(lambda: Dense(4, use_bias=False, activation="tanh"), [(3, 6)],
                        lambda xs, ws: np.tanh(xs[0] @ ws[0]), rng)
    assert len(layer.get_weights()) == 1 and layer.bias is None


CONV = [  # (id, filters, kernel_size, strides, padding, activation, input shape)
    ("3x3-valid-s1-c1", 4, 3, 1, "valid", "linear", (2, 6, 7, 1)),
    ("3x3-same-s1-c3", 3, (3, 3), (1, 1), "same", "relu", (2, 5, 6, 3)),
    ("3x3-valid-s2-c3", 2, 3, 2, "valid", "tanh", (2, 7, 8, 3)),
    ("3x3-same-s2-c1", 3, 3, 2, "same", "sigmoid", (1, 7, 6, 1)),
    ("3x2-valid-s21-c3", 2, (3, 2), (2, 1), "valid", "linear", (2, 7, 5, 3)),
    ("2x3-same-s2-c1-upper-case", 2, (2, 3), 2, "SAME", "relu", (2, 5, 7, 1)),
]


@pytest.mark.parametrize("_, f, k, s, pad, act, xs", CONV, ids=[c[0] for c in CONV])
def test_conv2d(rng, _, f, k, s, pad, act, xs):
    kwargs = dict(strides=s, padding=pad, activation=act)
    layer = check_layer(lambda: Conv2D(f, k, **kwargs), [xs],
                        conv_twin(s, pad.lower(), act), rng)
    kh, kw = (k, k) if isinstance(k, int) else k
    assert layer.kernel.shape == (kh, kw, xs[-1], f)  # Keras layout HWIO


POOL = [  # (pool_size, strides, padding, input shape)
    ((2, 2), None, "valid", (2, 6, 7, 3)),
    (3, 2, "same", (1, 7, 7, 2)),
    ((2, 3), (1, 2), "valid", (2, 5, 7, 1)),
    (2, None, "same", (1, 5, 5, 2)),
]


@pytest.mark.parametrize("pool, strides, padding, xs", POOL, ids=str)
def test_max_pooling2d(rng, pool, strides, padding, xs):
    check_layer(lambda: MaxPooling2D(pool, strides=strides, padding=padding), [xs],
                pool_twin(pool, strides, padding), rng)


def test_flatten_is_channels_last_order(rng):
    check_layer(Flatten, [(2, 3, 4, 5)], lambda xs, ws: xs[0].reshape(2, -1), rng)
    x = np.arange(2 * 2 * 2 * 3, dtype=np.float32).reshape(2, 2, 2, 3)
    np.testing.assert_array_equal(Flatten()(x)[1], np.arange(12, 24))


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_activation_layer(rng, act):
    check_layer(lambda: Activation(act), [(3, 5)], lambda xs, ws: ACT[act](xs[0]), rng)


@pytest.mark.parametrize("rate", [0.25, 0.5, 0.9])
def test_dropout_training_matches_twin(rng, rate):
    holder = {}

    def make():
        holder["layer"] = Dropout(rate)
        return holder["layer"]

    # the twin reads the seed of the step the layer just ran
    twin = lambda xs, ws: ref.dropout_forward(xs[0], rate, holder["layer"]._step_seed)
    layer = check_layer(make, [(8, 50)], twin, rng, training=True)
    x = np.ones((8, 50), np.float32)
    y = layer(x, training=True)
    np.testing.assert_array_equal(y, ref.dropout_forward(x, rate, layer._step_seed))
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / (1 - rate), rtol=1e-6)  # inverted dropout
    assert 0 < kept.mean() < 1
    assert not np.array_equal(layer(x, training=True), y)  # a new mask every step


def test_dropout_inference_is_identity(rng):
    check_layer(lambda: Dropout(0.5), [(4, 6)], lambda xs, ws: xs[0], rng, training=False)
    x = rng.standard_normal((5, 7)).astype(np.float32)
    np.testing.assert_array_equal(Dropout(0.9)(x), x)
    np.testing.assert_array_equal(Dropout(1.0)(x, training=True), 0 * x)


@pytest.mark.parametrize("n_inputs", [2, 3])
def test_add(rng, n_inputs):
    check_layer(Add, [(3, 4)] * n_inputs, lambda xs, ws: sum(xs), rng)


@pytest.mark.parametrize("axis, shapes", [(-1, [(3, 2), (3, 5)]),
                                          (-1, [(2, 3, 3, 1), (2, 3, 3, 2), (2, 3, 3, 1)]),
                                          (1, [(2, 3, 4, 2), (2, 1, 4, 2)])], ids=str)
def test_concatenate(rng, axis, shapes):
    check_layer(lambda: Concatenate(axis=axis), shapes, concat_twin(axis), rng)


# ---- Keras defaults -------------------------------------------------------------------------

@pytest.mark.parametrize("make, shape, fans", [
    (lambda: Dense(400), (None, 600), (600, 400)),
    (lambda: Conv2D(64, (3, 3)), (None, 8, 8, 32), (3 * 3 * 32, 3 * 3 * 64)),
], ids=["dense", "conv2d"])
def test_glorot_uniform_kernel_and_zero_bias(make, shape, fans):
    layer = make()
    layer(Input(shape[1:]))
    w = layer.kernel.value.astype(np.float64)
    limit = np.sqrt(6.0 / sum(fans))
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.99 * limit
    assert abs(w.std() - limit / np.sqrt(3)) < 0.02 * limit / np.sqrt(3)
    assert abs(w.mean()) < 0.03 * limit
    assert np.all(layer.bias.value == 0)


def test_keras_default_arguments():
    dense = Dense(3).get_config()
    assert (dense["activation"], dense["use_bias"], dense["kernel_initializer"]["class_name"],
            dense["bias_initializer"]["class_name"]) == ("linear", True, "GlorotUniform", "Zeros")
    conv = Conv2D(2, 3).get_config()
    assert (conv["kernel_size"], conv["strides"], conv["padding"]) == ((3, 3), (1, 1), "valid")
    assert Conv2D(2, 3, padding="Same").padding == "same"
    pool = MaxPooling2D()
    assert (pool.pool_size, pool.strides, pool.padding) == ((2, 2), (2, 2), "valid")
    assert MaxPooling2D(pool_size=(3, 2)).strides == (3, 2)
    assert MaxPooling2D(3, strides=1).strides == (1, 1)
    assert MaxPooling2D()(np.zeros((1, 26, 26, 4))).shape == (1, 13, 13, 4)
    assert Conv2D(8, 3)(np.ones((2, 28, 28, 1))).shape == (2, 26, 26, 8)
    assert Conv2D(8, 3, strides=2, padding="same")(np.ones((1, 7, 7, 1))).shape == (1, 4, 4, 8)


@pytest.mark.parametrize("units", [0, -3, 2.0, 2.5, "4", True, None])
def test_dense_units_must_be_a_positive_int(units):
    with pytest.raises(ValueError, match="units"):
        Dense(units)


@pytest.mark.parametrize("make", [lambda: Dense(3, foo=1), lambda: Conv2D(2, 3, kernel=3),
                                  lambda: Dropout(0.5, ratio=2), lambda: Flatten(units=3),
                                  lambda: MaxPooling2D(pool=2), lambda: Activation("relu", x=1)],
                         ids=["Dense", "Conv2D", "Dropout", "Flatten", "MaxPooling2D",
                              "Activation"])
def test_unknown_keyword_raises_type_error(make):
    with pytest.raises(TypeError, match="Unrecognized keyword argument"):
        make()


def test_layer_naming(monkeypatch):
    monkeypatch.setattr(layer_module, "_name_counts", {})  # a fresh session, like clear_session
    names = [Dense(1).name, Dense(1).name, Conv2D(1, 1).name, MaxPooling2D().name,
             Conv2D(1, 1).name, MaxPooling2D().name, Flatten().name, Dropout(0.1).name,
             Activation("relu").name, Add().name, Concatenate().name, Dense(1).name]
    assert names == ["dense", "dense_1", "conv2d", "max_pooling2d", "conv2d_1",
                     "max_pooling2d_1", "flatten", "dropout", "activation", "add",
                     "concatenate", "dense_2"]
    assert Dense(1, name="my_dense").name == "my_dense"
    assert layer_module.snake_case("BatchNormalization") == "batch_normalization"
    d = Dense(2, name="out")
    d(Input((3,)))
    assert [v.name for v in d.weights] == ["out/kernel", "out/bias"]


def test_trainable_flag_and_weight_lists():
    layer = Dense(2, trainable=False)
    layer(Input((3,)))
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 2
    assert layer.count_params() == 3 * 2 + 2
    assert Dense(2).get_weights() == []  # unbuilt: no weights yet
