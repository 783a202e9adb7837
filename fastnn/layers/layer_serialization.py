"""`keras.layers.serialize` / `keras.layers.deserialize`: a layer to Keras 3's record
(`{"module", "class_name", "config", "registered_name"}`) and back."""

FUNCTIONS = ("serialize", "deserialize")


def serialize(layer):
    """`layer`'s record, as `keras.saving.serialize_keras_object(layer)`."""
    from fastnn.keras._saving import serialize_keras_object
    return serialize_keras_object(layer)


def deserialize(config, custom_objects=None):
    """The layer `config` (a record from `serialize`) describes; custom classes come from
    `custom_objects`, an active `custom_object_scope` or the registry."""
    from fastnn.keras._saving import deserialize_keras_object
    from fastnn.layers.layer import Layer
    obj = deserialize_keras_object(config, custom_objects=custom_objects)
    if not isinstance(obj, Layer):
        raise ValueError(f"`keras.layers.deserialize` was passed a `config` object that is "
                         f"not a `keras.layers.Layer`. Received: {config}")
    return obj
