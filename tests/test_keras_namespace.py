"""fastnn.keras: Keras 3's public layout, lazily filled from fastnn, honest about gaps."""
import importlib
import os
import sys

import numpy as np
import pytest

import fastnn
import fastnn.keras as keras
from fastnn.keras import _namespace
from fastnn.layers.layer import LAYERS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_import_forms():
    from fastnn.keras.layers import Dense
    from fastnn.keras import layers, optimizers
    import fastnn.keras.callbacks as callbacks
    assert Dense is fastnn.layers.Dense is layers.Dense is keras.layers.Dense
    assert optimizers.Adam is fastnn.optimizers.Adam
    assert callbacks.EarlyStopping is fastnn.callbacks.EarlyStopping
    assert keras.Sequential is fastnn.models.Sequential and keras.Model is fastnn.models.Model
    assert keras.Input is fastnn.layers.Input and keras.Layer is fastnn.layers.Layer
    assert keras.utils.to_categorical is fastnn.utils.to_categorical
    assert keras.datasets.fashion_mnist.load_data is fastnn.datasets.fashion_mnist.load_data
    # every Keras module is a module object importable by its dotted name
    for keras_name in _namespace.keras_api()["modules"]:
        module = importlib.import_module("fastnn" + "." + keras_name)
        assert module.__name__ == "fastnn." + keras_name


def test_layers_come_from_the_registry():
    keras_layers = set(_namespace.keras_api()["modules"]["keras.layers"]["names"])
    for name, cls in LAYERS.items():
        if name in keras_layers:
            assert getattr(keras.layers, name) is cls
    assert set(LAYERS) & keras_layers <= set(dir(keras.layers))


def test_a_keras_name_fastnn_lacks_says_so():
    with pytest.raises(AttributeError, match=r"^fastnn does not provide "
                       r"keras\.layers\.ConvLSTM2D yet"):
        keras.layers.ConvLSTM2D
    assert not hasattr(keras.layers, "ConvLSTM2D")
    with pytest.raises(ImportError, match=r"fastnn does not provide keras\.layers\.ConvLSTM2D"):
        from fastnn.keras.layers import ConvLSTM2D  # noqa: F401
    with pytest.raises(AttributeError, match=r"fastnn does not provide keras\.remat yet"):
        keras.remat
    with pytest.raises(ImportError, match=r"fastnn does not provide keras\.Function yet"):
        from fastnn.keras import Function  # noqa: F401


def test_a_name_keras_lacks_is_an_ordinary_attribute_error():
    with pytest.raises(AttributeError, match=r"^module 'fastnn\.keras\.layers' has no "
                       r"attribute 'Dense2'$"):
        keras.layers.Dense2
    with pytest.raises(AttributeError, match="has no attribute 'plot_history'"):
        keras.utils.plot_history  # fastnn has it, Keras does not: not in the namespace
    with pytest.raises(ImportError, match="cannot import name 'Nope'"):
        from fastnn.keras.layers import Nope  # noqa: F401
    with pytest.raises(AttributeError):
        keras.nope


def test_missing_source_modules_are_skipped_but_real_import_errors_propagate(
        monkeypatch, tmp_path):
    monkeypatch.setitem(_namespace.SOURCES, "keras.constraints",
                        ["fastnn.not_landed_yet", "fastnn.keras._config"])
    assert _namespace.lookup("keras.constraints", "floatx") is _namespace.lookup(
        "keras.config", "floatx")
    # a source that exists but fails to import is a bug: it must not read as "not yet"
    (tmp_path / "fastnn_broken_source.py").write_text("import fastnn_no_such_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(_namespace.SOURCES, "keras.constraints", ["fastnn_broken_source"])
    with pytest.raises(ModuleNotFoundError, match="fastnn_no_such_dependency"):
        _namespace.lookup("keras.constraints", "MaxNorm")


def test_star_import_gives_what_fastnn_provides():
    scope = {}
    exec("from fastnn.keras.layers import *", scope)
    assert scope["Dense"] is fastnn.layers.Dense and "ConvLSTM2D" not in scope
    exec("from fastnn.keras import *", scope)
    assert scope["Sequential"] is fastnn.models.Sequential and scope["layers"] is keras.layers


def test_small_utils():
    x = np.array([[3.0, 4.0], [0.0, 0.0]])
    np.testing.assert_allclose(keras.utils.normalize(x), [[0.6, 0.8], [0.0, 0.0]])
    assert keras.utils.unpack_x_y_sample_weight((1, 2)) == (1, 2, None)
    assert keras.utils.unpack_x_y_sample_weight(5) == (5, None, None)
    assert keras.utils.pack_x_y_sample_weight(1, 2) == (1, 2)
    with pytest.raises(ValueError, match="Data is expected"):
        keras.utils.unpack_x_y_sample_weight((1, 2, 3, 4))


def test_config_and_backend():
    assert keras.config.floatx() == keras.backend.floatx() == "float32"
    assert keras.config.image_data_format() == "channels_last"
    assert keras.config.backend() == "fastnn" and keras.config.epsilon() == 1e-7
    keras.config.set_floatx("float32")
    with pytest.raises(ValueError, match="float32 only"):
        keras.config.set_floatx("float64")
    with pytest.raises(ValueError, match="channels-last"):
        keras.config.set_image_data_format("channels_first")
    assert keras.backend.standardize_dtype(np.float32) == "float32"
    assert keras.backend.is_keras_tensor(keras.Input((3,)))
    assert not keras.backend.is_keras_tensor(np.zeros(3))


def test_clear_session_restarts_names():
    keras.backend.clear_session()
    assert keras.layers.Dense(2).name == "dense"
    assert keras.layers.Dense(2).name == "dense_1"
    keras.utils.clear_session()
    assert keras.layers.Dense(2).name == "dense"


def test_random():
    a = keras.random.normal((3, 4), seed=1)
    assert a.dtype == np.float32 and a.shape == (3, 4)
    np.testing.assert_array_equal(a, keras.random.normal((3, 4), seed=1))
    gen = keras.random.SeedGenerator(5)
    assert not np.array_equal(keras.random.uniform((4,), seed=gen),
                              keras.random.uniform((4,), seed=gen))
    t = keras.random.truncated_normal((1000,), stddev=2.0, seed=3)
    assert np.abs(t).max() <= 4.0
    r = keras.random.randint((50,), 2, 5, seed=0)
    assert r.dtype == np.int32 and r.min() >= 2 and r.max() < 5
    assert sorted(keras.random.shuffle(np.arange(6), seed=2)) == list(range(6))
    d = keras.random.dropout(np.ones((1000,)), 0.5, seed=0)
    assert set(np.unique(d)) <= {0.0, 2.0}
    with pytest.raises(ValueError, match="seed"):
        keras.random.normal((2,), seed="x")


# ---- saving: custom objects ---------------------------------------------------------
class _Scaled(fastnn.layers.Dense):
    """A user layer (not registered by fastnn: defined outside the fastnn package)."""


def _model(cls):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), cls(2)])
    return model


@pytest.fixture
def clean_registry():
    saved = dict(keras.saving.get_custom_objects())
    yield
    keras.saving.get_custom_objects().clear()
    keras.saving.get_custom_objects().update(saved)


def test_load_model_consults_registered_and_scoped_objects(tmp_path, clean_registry):
    model = _model(_Scaled)
    path = str(tmp_path / "m.keras")
    model.save(path)
    with pytest.raises(ValueError, match="_Scaled"):
        keras.models.load_model(path)
    with keras.saving.custom_object_scope({"_Scaled": _Scaled}):
        loaded = keras.saving.load_model(path)
    assert type(loaded.layers[0]) is _Scaled
    with pytest.raises(ValueError, match="_Scaled"):
        keras.saving.load_model(path)  # the scope has ended
    keras.saving.register_keras_serializable(package="tests")(_Scaled)
    assert keras.saving.get_custom_objects()["tests>_Scaled"] is _Scaled
    assert keras.saving.get_registered_name(_Scaled) == "tests>_Scaled"
    assert keras.saving.get_registered_object("tests>_Scaled") is _Scaled
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(np.ones((2, 3), np.float32), verbose=0),
                                  model.predict(np.ones((2, 3), np.float32), verbose=0))
    assert keras.utils.get_custom_objects is keras.saving.get_custom_objects


def test_register_rejects_a_class_without_get_config():
    with pytest.raises(ValueError, match="get_config"):
        keras.saving.register_keras_serializable()(type("NoConfig", (), {}))


def test_serialize_round_trips(clean_registry):
    ser, de = keras.saving.serialize_keras_object, keras.saving.deserialize_keras_object
    layer = keras.layers.Dense(3, activation="relu", name="d")
    config = ser(layer)
    assert config["class_name"] == "Dense" and config["module"] == "keras.layers"
    again = de(config)
    assert type(again) is fastnn.layers.Dense and again.get_config() == layer.get_config()
    opt = de(ser(keras.optimizers.Adam(learning_rate=0.01)))
    assert isinstance(opt, fastnn.optimizers.Adam)
    assert abs(float(opt.learning_rate) - 0.01) < 1e-9
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(de(ser(array)), array)
    assert ser((1, "a", [2.5, None])) == (1, "a", [2.5, None])  # Keras keeps the tuple
    assert de(ser((1, "a", [2.5, None]))) == [1, "a", [2.5, None]]  # and reads back a list

    @keras.saving.register_keras_serializable(package="p")
    def scale(x):
        return 2 * x
    assert de(ser(scale)) is scale
    with pytest.raises(ValueError, match="Could not locate class 'Mystery'"):
        de({"module": "somewhere", "class_name": "Mystery", "config": {}})


# ---- coverage table ------------------------------------------------------------------
def _coverage_tool():
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    try:
        return importlib.import_module("keras_api")
    finally:
        sys.path.pop(0)


def test_coverage_table_is_current():
    with open(os.path.join(ROOT, "docs", "coverage.md")) as f:
        committed = f.read()
    assert committed == _coverage_tool().coverage_markdown(), (
        "docs/coverage.md is out of date: run `python tools/keras_api.py coverage`")


def test_api_file_is_keras3():
    api = _namespace.keras_api()
    assert api["keras_version"].startswith("3.")
    assert {"Dense", "Conv2D", "LSTM"} <= set(api["modules"]["keras.layers"]["names"])
    assert "schedules" in api["modules"]["keras.optimizers"]["submodules"]
