"""Preprocessing layers: Keras 3 configs, a Keras-made .keras file with every
preprocessing and augmentation layer loads and predicts what Keras predicted
(tests/data/make_image_fixtures.py made it), Normalization's adapt and its errors."""
import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from fastnn.layers import (CenterCrop, Input, Normalization, RandomBrightness, RandomContrast,
                           RandomFlip, RandomRotation, RandomTranslation, RandomZoom, Rescaling,
                           Resizing)
from fastnn.models import Sequential, load_model

DATA = os.path.join(os.path.dirname(__file__), "data")
DT = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
      "registered_name": None}

# What Keras 3.15 writes (keras.layers.X(...).get_config(), JSON-encoded).
KERAS_CONFIGS = [
    (lambda: Rescaling(1 / 255.0, name="r"), {"scale": 1 / 255.0, "offset": 0.0}),
    (lambda: Normalization(name="r"), {"axis": [-1], "invert": False, "mean": None,
                                       "variance": None}),
    (lambda: Normalization(mean=[1.0, 2.0], variance=[3.0, 4.0], name="r"),
     {"axis": [-1], "invert": False, "mean": [1.0, 2.0], "variance": [3.0, 4.0]}),
    (lambda: Resizing(4, 5, name="r"),
     {"data_format": "channels_last", "height": 4, "width": 5, "interpolation": "bilinear",
      "crop_to_aspect_ratio": False, "pad_to_aspect_ratio": False, "fill_mode": "constant",
      "fill_value": 0.0, "antialias": False}),
    (lambda: CenterCrop(3, 3, name="r"), {"data_format": "channels_last", "height": 3,
                                          "width": 3}),
    (lambda: RandomFlip(name="r"), {"data_format": "channels_last", "seed": None,
                                    "mode": "horizontal_and_vertical"}),
    (lambda: RandomRotation(0.1, name="r"),
     {"data_format": "channels_last", "factor": [-0.1, 0.1], "fill_mode": "reflect",
      "fill_value": 0.0, "interpolation": "bilinear", "seed": None}),
    (lambda: RandomZoom(0.1, name="r"),
     {"data_format": "channels_last", "height_factor": 0.1, "width_factor": None,
      "fill_mode": "reflect", "interpolation": "bilinear", "seed": None, "fill_value": 0.0}),
    (lambda: RandomTranslation(0.1, 0.2, name="r"),
     {"data_format": "channels_last", "height_factor": 0.1, "width_factor": 0.2,
      "fill_mode": "reflect", "interpolation": "bilinear", "seed": None, "fill_value": 0.0}),
    (lambda: RandomContrast(0.2, name="r"), {"data_format": "channels_last", "factor": [0, 0.2],
                                             "value_range": [0, 255], "seed": None}),
    (lambda: RandomBrightness(0.2, name="r"),
     {"data_format": "channels_last", "factor": [-0.2, 0.2], "value_range": [0, 255],
      "seed": None}),
]


@pytest.mark.parametrize("make, want", KERAS_CONFIGS)
def test_configs_are_keras_configs(make, want):
    got = json.loads(json.dumps(make().get_config()))
    assert got == {"name": "r", "trainable": True, "dtype": DT, **want}


def test_keras_file_with_every_preprocessing_layer_loads_and_predicts_the_same():
    model = load_model(os.path.join(DATA, "keras_image_layers.keras"))
    with np.load(os.path.join(DATA, "keras_image_layers_expected.npz")) as d:
        np.testing.assert_allclose(model.predict(d["x"], verbose=0), d["pred"], atol=1e-5)
    norm = model.layers[1]
    assert [w.name.split("/")[-1] for w in norm.weights] == ["mean", "variance", "count"]
    assert norm.count.shape == () and not norm.trainable_weights


@pytest.mark.skipif(importlib.util.find_spec("keras") is None or
                    importlib.util.find_spec("tensorflow") is None,
                    reason="keras with TensorFlow is not installed")
def test_fastnn_file_loads_in_keras(tmp_path):
    model = load_model(os.path.join(DATA, "keras_image_layers.keras"))
    model.layers[1].adapt(np.random.default_rng(0).uniform(0, 1, (30, 12, 14, 3)))
    with np.load(os.path.join(DATA, "keras_image_layers_expected.npz")) as d:
        x = d["x"]
    model.save(tmp_path / "m.keras")
    np.savez(tmp_path / "io.npz", x=x, p=model.predict(x, verbose=0))
    script = textwrap.dedent(f"""
        import numpy as np, keras
        d = np.load({str(tmp_path / "io.npz")!r})
        m = keras.models.load_model({str(tmp_path / "m.keras")!r})
        np.testing.assert_allclose(m.predict(d["x"], verbose=0), d["p"], atol=1e-5)
    """)
    subprocess.run([sys.executable, "-c", script], check=True)


def test_normalization_adapt_matches_numpy_and_batches_combine(rng):
    data = rng.normal(3.0, 2.0, (40, 5, 2))
    whole = Normalization(axis=-1)
    whole.adapt(data)
    np.testing.assert_allclose(whole.adapt_mean.value, data.mean(axis=(0, 1)), rtol=1e-6)
    np.testing.assert_allclose(whole.adapt_variance.value, data.var(axis=(0, 1)), rtol=1e-6)
    parts = Normalization(axis=-1)
    parts.adapt([data[:7], data[7:30], data[30:]])
    np.testing.assert_allclose(parts.get_weights()[0], whole.get_weights()[0], rtol=1e-5)
    np.testing.assert_allclose(parts.get_weights()[1], whole.get_weights()[1], rtol=1e-5)
    y = whole(data.astype(np.float32))
    np.testing.assert_allclose(y.reshape(-1, 2).mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(y.reshape(-1, 2).std(0), 1, atol=1e-4)


def test_normalization_invert_undoes_normalization(rng):
    data = rng.normal(3.0, 2.0, (40, 3)).astype(np.float32)
    fwd, inv = Normalization(), Normalization(invert=True)
    fwd.adapt(data)
    inv.adapt(data)
    np.testing.assert_allclose(inv(fwd(data)), data, atol=1e-5)


def test_normalization_errors():
    with pytest.raises(ValueError, match="has not been adapted"):
        Normalization()(np.ones((2, 3)))
    model = Sequential([Input((3,)), Normalization()])
    with pytest.raises(ValueError, match="has not been adapted"):
        model.predict(np.ones((2, 3)), verbose=0)
    with pytest.raises(ValueError, match="both `mean` and `variance` must be set"):
        Normalization(mean=1.0)
    with pytest.raises(ValueError, match="must have the same shape"):
        Normalization(mean=[1.0, 2.0], variance=[1.0])
    with pytest.raises(ValueError, match=r"range \[-ndim, ndim\)"):
        Normalization(axis=3)(Input((4,)))
    norm = Normalization()
    norm.adapt(np.ones((4, 3)))
    with pytest.raises(ValueError, match="incompatible shape"):
        norm.adapt(np.ones((4, 5)))
    with pytest.raises(ValueError, match="empty iterable"):
        Normalization().adapt([])


def test_normalization_set_weights_counts_as_adapted():
    norm = Normalization()
    norm(Input((2,)))
    norm.set_weights([np.zeros(2), np.ones(2), np.array(0.0)])
    np.testing.assert_array_equal(norm(np.ones((1, 2))), [[1, 1]])


def test_resizing_errors():
    with pytest.raises(ValueError, match="Invalid value for argument `interpolation`"):
        Resizing(3, 3, interpolation="cubic")
    with pytest.raises(ValueError, match="not supported by fastnn"):
        Resizing(3, 3, interpolation="bicubic")
    with pytest.raises(ValueError, match="Only one of `pad_to_aspect_ratio`"):
        Resizing(3, 3, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)
    with pytest.raises(ValueError, match="Only `'constant'`"):
        Resizing(3, 3, fill_mode="reflect")
    with pytest.raises(ValueError, match="positive integer"):
        CenterCrop(0, 3)
    with pytest.raises(ValueError, match="channels_last"):
        Resizing(3, 3, data_format="channels_first")
    with pytest.raises(ValueError, match="cannot broadcast to 4 channels"):
        Rescaling([1.0, 2.0])(Input((5, 4)))
