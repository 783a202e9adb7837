"""Configs of custom layers as the keras-io guide "Save, serialize, and export models"
writes them: `keras.layers.serialize/deserialize`, Keras 3's record of a custom class
(`module` None, its registered name), layers and regularizers nested in a custom
layer's config, a `get_config` that leaves out "name", and `Model.from_config` finding
registered classes."""
import numpy as np
import pytest

import fastnn.keras as keras
from fastnn.keras import ops


@pytest.fixture
def clean_registry():
    saved = dict(keras.saving.get_custom_objects())
    yield
    keras.saving.get_custom_objects().clear()
    keras.saving.get_custom_objects().update(saved)


def _classes():
    @keras.saving.register_keras_serializable(package="MyLayers", name="KernelMult")
    class MyDense(keras.layers.Layer):
        def __init__(self, units, *, kernel_regularizer=None, kernel_initializer=None,
                     nested_model=None, **kwargs):
            super().__init__(**kwargs)
            self.hidden_units = units
            self.kernel_regularizer = kernel_regularizer
            self.kernel_initializer = kernel_initializer
            self.nested_model = nested_model

        def get_config(self):
            config = super().get_config()
            config.update({"units": self.hidden_units,
                           "kernel_regularizer": self.kernel_regularizer,
                           "kernel_initializer": self.kernel_initializer,
                           "nested_model": self.nested_model})
            return config

        def build(self, input_shape):
            self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1],
                                                                self.hidden_units),
                                          regularizer=self.kernel_regularizer,
                                          initializer=self.kernel_initializer)

        def call(self, inputs):
            return ops.matmul(inputs, self.kernel)

    @keras.saving.register_keras_serializable(package="ComplexModels")
    class Pair(keras.layers.Layer):
        def __init__(self, first_layer, second_layer=None, **kwargs):
            super().__init__(**kwargs)
            self.first_layer = first_layer
            self.second_layer = second_layer if second_layer is not None else \
                keras.layers.Dense(8)

        def get_config(self):
            config = super().get_config()
            config.update({"first_layer": self.first_layer,
                           "second_layer": self.second_layer})
            return config

        @classmethod
        def from_config(cls, config):
            config["first_layer"] = keras.layers.deserialize(config["first_layer"])
            config["second_layer"] = keras.layers.deserialize(config["second_layer"])
            return cls(**config)

        def call(self, inputs):
            return self.first_layer(self.second_layer(inputs))
    return MyDense, Pair


def test_layers_serialize_writes_keras_records(clean_registry):
    MyDense, _ = _classes()
    layer = MyDense(units=16, kernel_regularizer=keras.regularizers.L1L2(l1=1e-5, l2=1e-4),
                    kernel_initializer="ones", name="my")
    config = keras.layers.serialize(layer)
    assert config["module"] is None and config["class_name"] == "MyDense"
    assert config["registered_name"] == "MyLayers>KernelMult"
    assert config["config"]["kernel_regularizer"] == {
        "module": "keras.regularizers", "class_name": "L1L2",
        "config": {"l1": 1e-5, "l2": 1e-4}, "registered_name": None}
    outer = keras.layers.serialize(MyDense(units=64, nested_model=layer))
    assert outer["config"]["nested_model"] == config  # a layer inside: its own record
    again = keras.layers.deserialize(outer)
    assert type(again) is MyDense and again.hidden_units == 64
    assert isinstance(again.nested_model, dict)  # (the guide's default from_config)
    assert keras.layers.serialize(keras.layers.Dense(2))["module"] == "keras.layers"
    with pytest.raises(ValueError, match="not a `keras.layers.Layer`"):
        keras.layers.deserialize(keras.saving.serialize_keras_object(
            keras.regularizers.L2(0.1)))


def test_builtin_objects_serialize_as_keras():
    ser, de = keras.saving.serialize_keras_object, keras.saving.deserialize_keras_object
    config = ser(keras.regularizers.L1(0.005))
    # Keras keeps L1's factor in float32
    assert config == {"module": "keras.regularizers", "class_name": "L1",
                      "config": {"l1": float(np.float32(0.005))}, "registered_name": None}
    assert isinstance(de(config), keras.regularizers.L1)
    assert ser(keras.initializers.Ones())["module"] == "keras.initializers"
    assert ser(keras.constraints.NonNeg())["class_name"] == "NonNeg"
    assert isinstance(de(ser(keras.constraints.NonNeg())), keras.constraints.NonNeg)


def test_model_from_config_finds_registered_layers_with_nested_layers(clean_registry):
    MyDense, Pair = _classes()
    inputs = keras.Input((32,))
    outputs = Pair(first_layer=MyDense(units=16, kernel_initializer="ones"))(inputs)
    model = keras.Model(inputs, outputs)
    config = model.get_config()
    entry = config["layers"][1]
    assert entry["module"] is None and entry["registered_name"] == "ComplexModels>Pair"
    assert entry["config"]["first_layer"]["class_name"] == "MyDense"
    new_model = keras.Model.from_config(config)  # no custom_objects: the registry
    pair = new_model.layers[1]
    assert type(pair) is Pair and type(pair.first_layer) is MyDense
    assert new_model.predict(np.ones((2, 32)), verbose=0).shape == (2, 16)


def test_a_get_config_without_a_name_loads(tmp_path, clean_registry):
    """The guide's CustomLayer returns only {"factor": ...}: Keras keys the layers of a
    Functional config by the entry's name, not the rebuilt layer's."""
    @keras.saving.register_keras_serializable(package="MyLayers")
    class CustomLayer(keras.layers.Layer):
        def __init__(self, factor):
            super().__init__()
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def get_config(self):
            return {"factor": self.factor}
    inputs = keras.Input((4,))
    outputs = keras.layers.Dense(1)(CustomLayer(0.5)(inputs))
    model = keras.Model(inputs, outputs)
    path = str(tmp_path / "c.keras")
    model.save(path)
    x = np.random.default_rng(0).random((3, 4))
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert type(loaded.layers[1]) is CustomLayer and loaded.layers[1].factor == 0.5
