"""Convolution variants and spatial layers: the grouped/dilated kernel against its twin
(every thread count), a Keras-made model with every variant loads and predicts what Keras
predicted (tests/data/make_image_fixtures.py), Keras 3.15 configs, Keras's errors."""
import json
import os

import numpy as np
import pytest

import fastnn
from fastnn import _C
from fastnn import _reference as ref
from fastnn.layers import (Conv2D, Conv2DTranspose, Cropping2D, DepthwiseConv2D, Input,
                           MaxPooling2D, SeparableConv2D, UpSampling2D, ZeroPadding2D)
from fastnn.models import Sequential, load_model

DATA = os.path.join(os.path.dirname(__file__), "data")

GCONV = [  # x shape, kernel shape, strides, padding, dilation, groups
    ((2, 7, 8, 4), (3, 3, 2, 6), (1, 1), "valid", (2, 2), 2),
    ((2, 7, 8, 4), (3, 2, 1, 8), (2, 1), "same", (1, 1), 4),
    ((1, 9, 9, 3), (3, 3, 3, 5), (1, 1), "same", (2, 3), 1),
    ((3, 5, 6, 6), (2, 2, 3, 4), (2, 2), "valid", (1, 1), 2),
    ((2, 6, 6, 3), (3, 3, 1, 3), (1, 1), "same", (1, 1), 3),
    ((9, 1, 30, 16), (1, 5, 16, 8), (1, 1), "same", (1, 2), 1),  # a Conv1D shape
    ((2, 16, 16, 32), (3, 3, 1, 64), (1, 1), "same", (1, 1), 32),  # depthwise, 2 threads' work
]


@pytest.mark.parametrize("xs, ks, strides, padding, dilation, groups", GCONV)
def test_gconv2d_matches_twin(rand, threads, xs, ks, strides, padding, dilation, groups):
    x, k, b = rand(xs), rand(ks), rand((ks[3],))
    args = (strides, padding, dilation, groups)
    y = _C.gconv2d_forward(x, k, b, *args)
    np.testing.assert_allclose(y, ref.gconv2d_forward(x, k, b, *args), atol=1e-5, rtol=1e-4)
    dy = rand(y.shape)
    np.testing.assert_allclose(_C.gconv2d_backward_input(dy, k, xs, *args),
                               ref.gconv2d_backward_input(dy, k, xs, *args), atol=1e-5,
                               rtol=1e-4)
    dw, db = _C.gconv2d_backward_weight(dy, x, ks, *args)
    rw, rb = ref.gconv2d_backward_weight(dy, x, ks, *args)
    np.testing.assert_allclose(dw, rw, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(db, rb, atol=1e-4, rtol=1e-4)


def test_gconv2d_thread_count_independence(rand):
    x, k = rand((12, 20, 20, 8)), rand((3, 3, 2, 8))
    outs = []
    old = fastnn.get_num_threads()
    try:
        for n in (1, 2):
            fastnn.set_num_threads(n)
            y = _C.gconv2d_forward(x, k, None, 1, "same", 2, 4)
            outs.append([y, _C.gconv2d_backward_input(y, k, x.shape, 1, "same", 2, 4),
                         *_C.gconv2d_backward_weight(y, x, k.shape, 1, "same", 2, 4)])
    finally:
        fastnn.set_num_threads(old)
    for a, b in zip(*outs):
        np.testing.assert_array_equal(a, b)


def test_gconv2d_bad_arguments(rand):
    with pytest.raises(ValueError, match="groups=3"):
        _C.gconv2d_forward(rand((1, 5, 5, 4)), rand((3, 3, 2, 6)), None, 1, "valid", 1, 3)
    with pytest.raises(ValueError, match="larger than the input"):
        _C.gconv2d_forward(rand((1, 5, 5, 2)), rand((3, 3, 2, 2)), None, 1, "valid", 3, 1)


def test_keras_model_with_every_variant_loads_and_predicts_the_same():
    model = load_model(os.path.join(DATA, "keras_conv_layers.keras"))
    with np.load(os.path.join(DATA, "keras_conv_layers_expected.npz")) as d:
        pred = model.predict(d["x"], verbose=0)
        np.testing.assert_allclose(pred, d["pred"], rtol=1e-4, atol=1e-6 * np.abs(d["pred"]).max())
    sep = [l for l in model.layers if isinstance(l, SeparableConv2D)][0]
    assert [w.name.split("/")[-1] for w in sep.weights] == ["depthwise_kernel",
                                                            "pointwise_kernel", "bias"]


def test_dilated_conv_before_pooling_is_not_fused(rand):
    """The fused conv+pool plans are for the GEMM path only: a dilated or grouped Conv2D
    followed by MaxPooling2D trains through the two layers."""
    x = rand((8, 9, 9, 2))
    y = np.arange(8) % 2
    for conv in (Conv2D(4, 3, dilation_rate=2, activation="relu"),
                 Conv2D(4, 3, groups=2, activation="relu")):
        model = Sequential([Input((9, 9, 2)), conv, MaxPooling2D(), Conv2D(2, 2)])
        want = model.predict(x, verbose=0)
        got = MaxPooling2D()(conv(x))
        np.testing.assert_allclose(Conv2D.forward(model.layers[-1], got), want, atol=1e-5)
        model.compile("adam", "mse")
        model.fit(x, np.zeros_like(want), epochs=1, verbose=0)


DT = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
      "registered_name": None}
GLOROT = {"module": "keras.initializers", "class_name": "GlorotUniform",
          "config": {"seed": None, "input_axes": None, "output_axes": None},
          "registered_name": None}
ZEROS = {"module": "keras.initializers", "class_name": "Zeros", "config": {},
         "registered_name": None}
CONV = {"kernel_size": [3, 3], "strides": [1, 1], "padding": "valid",
        "data_format": "channels_last", "dilation_rate": [1, 1], "activation": "linear",
        "use_bias": True}

KERAS_CONFIGS = [  # keras.layers.X(...).get_config() in Keras 3.15, JSON-encoded
    (lambda: Conv2DTranspose(4, 3, name="r"),
     {"filters": 4, **CONV, "output_padding": None, "kernel_initializer": GLOROT,
      "bias_initializer": ZEROS, "kernel_regularizer": None, "bias_regularizer": None,
      "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None}),
    (lambda: DepthwiseConv2D(3, name="r"),
     {"depth_multiplier": 1, **CONV, "depthwise_initializer": GLOROT,
      "bias_initializer": ZEROS, "depthwise_regularizer": None, "bias_regularizer": None,
      "activity_regularizer": None, "depthwise_constraint": None, "bias_constraint": None}),
    (lambda: SeparableConv2D(4, 3, name="r"),
     {"depth_multiplier": 1, "filters": 4, **CONV, "depthwise_initializer": GLOROT,
      "pointwise_initializer": GLOROT, "bias_initializer": ZEROS,
      "depthwise_regularizer": None, "pointwise_regularizer": None, "bias_regularizer": None,
      "activity_regularizer": None, "depthwise_constraint": None,
      "pointwise_constraint": None, "bias_constraint": None}),
    (lambda: Conv2D(4, 3, dilation_rate=2, groups=2, name="r"),
     {"filters": 4, **CONV, "dilation_rate": [2, 2], "groups": 2,
      "kernel_initializer": GLOROT, "bias_initializer": ZEROS, "kernel_regularizer": None,
      "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None,
      "bias_constraint": None}),
    (lambda: ZeroPadding2D(name="r"), {"padding": [[1, 1], [1, 1]],
                                       "data_format": "channels_last"}),
    (lambda: Cropping2D(name="r"), {"cropping": [[0, 0], [0, 0]],
                                    "data_format": "channels_last"}),
    (lambda: UpSampling2D(name="r"), {"size": [2, 2], "data_format": "channels_last",
                                      "interpolation": "nearest"}),
]


@pytest.mark.parametrize("make, want", KERAS_CONFIGS)
def test_configs_are_keras_configs(make, want):
    """Initializers compared by class (fastnn writes GlorotUniform's config without Keras
    3.15's input_axes/output_axes, as for Dense and Conv2D)."""
    def strip(config):
        return {k: v["class_name"] if k.endswith("_initializer") else v
                for k, v in config.items()}
    got = json.loads(json.dumps(make().get_config()))
    assert strip(got) == strip({"name": "r", "trainable": True, "dtype": DT, **want})


@pytest.mark.parametrize("call, message", [
    (lambda: Conv2D(4, 3, strides=2, dilation_rate=2), "`strides > 1` not supported"),
    (lambda: Conv2D(5, 3, groups=2), "filters must be evenly divisible.*groups=2, filters=5"),
    (lambda: Conv2D(4, 3, groups=2)(Input((5, 5, 3))), "input channels must be evenly"),
    (lambda: DepthwiseConv2D(3, depth_multiplier=0), "positive integer"),
    (lambda: Conv2DTranspose(2, 3, output_padding=1), "output_padding=1 is not supported"),
    (lambda: Conv2DTranspose(2, 3, dilation_rate=2), "not supported by fastnn"),
    (lambda: SeparableConv2D(2, 3, dilation_rate=2, strides=2), "`strides > 1`"),
    (lambda: DepthwiseConv2D(5)(Input((3, 3, 2))), "larger than the input"),
    (lambda: ZeroPadding2D((1, 2, 3)), "`padding` should have two elements"),
    (lambda: ZeroPadding2D(((1, -1), (0, 0))), "values {-1} that do not satisfy `value >= 0`"),
    (lambda: Cropping2D(-1), "`cropping` cannot be negative"),
    (lambda: Cropping2D(((2, 2), (0, 0)))(Input((4, 4, 1))), "should be smaller than"),
    (lambda: UpSampling2D(0), "must be a tuple of 2 integers"),
    (lambda: UpSampling2D(interpolation="bicubic"), "not supported by fastnn"),
])
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()
