"""`keras.saving`: registered custom objects, object (de)serialization, model files.

`register_keras_serializable`, `custom_object_scope` and `get_custom_objects` keep
Keras's three sources of custom classes; `load_model` and `deserialize_keras_object`
consult all of them (explicit `custom_objects` first, then the innermost scope, then the
registry), and build nothing else than fastnn's own classes: a file never imports code.
"""
import inspect

import numpy as np

from fastnn import saving as _files

from fastnn.saving.custom_objects import (  # noqa: F401  (keras.saving's names)
    _GLOBAL_CUSTOM_NAMES, _GLOBAL_CUSTOM_OBJECTS, CustomObjectScope, _active_scopes,
    all_custom_objects, custom_object_scope, get_custom_objects, get_registered_name,
    get_registered_object, register_keras_serializable)


# ---- models -------------------------------------------------------------------------
def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Load a `.keras` file (fastnn's or Keras 3's); custom classes come from
    `custom_objects`, an active `custom_object_scope` or `register_keras_serializable`."""
    return _files.load_model(filepath, custom_objects=all_custom_objects(custom_objects),
                             compile=compile, safe_mode=safe_mode)


def save_model(model, filepath, overwrite=True, zipped=None, **kwargs):
    """Save a model to a `.keras` file (as `model.save(filepath)`)."""
    return _files.save_model(model, filepath, overwrite=overwrite, zipped=zipped, **kwargs)


def save_weights(model, filepath, overwrite=True, max_shard_size=None):
    return _files.save_weights(model, filepath, overwrite=overwrite,
                               max_shard_size=max_shard_size)


def load_weights(model, filepath, skip_mismatch=False, **kwargs):
    return _files.load_weights(model, filepath, skip_mismatch=skip_mismatch, **kwargs)


# ---- objects ------------------------------------------------------------------------
def serialize_keras_object(obj):
    """A JSON-able description of `obj` in Keras 3's layout
    (`{"module", "class_name", "config", "registered_name"}` for objects)."""
    from fastnn.layers.layer import Layer
    from fastnn.saving import serialization
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (np.generic,)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return {"class_name": "__numpy__", "config": {"value": obj.tolist(),
                                                       "dtype": obj.dtype.name}}
    if isinstance(obj, tuple) and not hasattr(obj, "_fields"):  # kept a tuple, as Keras
        return tuple(serialize_keras_object(v) for v in obj)
    if isinstance(obj, list):
        return [serialize_keras_object(v) for v in obj]
    if isinstance(obj, dict):
        return {k: serialize_keras_object(v) for k, v in obj.items()}
    registered = _GLOBAL_CUSTOM_NAMES.get(obj if inspect.isfunction(obj) or inspect.isclass(obj)
                                          else type(obj))
    if inspect.isfunction(obj):  # Keras 3's record of a function
        return {"module": "builtins", "class_name": "function",
                "config": registered or obj.__name__, "registered_name": "function"}
    from fastnn.models import Model
    if isinstance(obj, Model):
        out = serialization.serialize_model(obj)
    elif isinstance(obj, Layer) and not registered:
        out = serialization.serialize_layer(obj)
    else:
        out = _builtin_serialize(obj)
        if out is None:
            if not hasattr(obj, "get_config"):
                raise TypeError(f"Cannot serialize {obj!r}: it has no get_config() method")
            out = {"module": None, "class_name": type(obj).__name__,  # (Keras: custom)
                   "config": serialize_keras_object(obj.get_config()),
                   "registered_name": registered or type(obj).__name__}
    if registered:
        out["registered_name"] = registered
    return out


def _builtin_serialize(obj):
    from fastnn import activations, constraints, initializers, losses, optimizers, regularizers
    if isinstance(obj, optimizers.Optimizer):
        return optimizers.serialize(obj)
    if isinstance(obj, losses.Loss):
        return losses.serialize(obj)
    if isinstance(obj, activations.Activation):
        return activations.serialize(obj)
    for module, base in ((regularizers, regularizers.Regularizer),
                         (initializers, initializers.Initializer),
                         (constraints, constraints.Constraint)):
        if type(obj).__module__ == module.__name__ and isinstance(obj, base):
            return module.serialize(obj)  # (a user's subclass is serialized as custom)
    return None


def deserialize_keras_object(config, custom_objects=None, safe_mode=True, **kwargs):
    """The object `serialize_keras_object` described.  Classes are looked up in the custom
    objects (explicit, scoped, registered) and fastnn's own registries only."""
    if config is None or isinstance(config, (bool, int, float)):
        return config
    if isinstance(config, str):
        found = get_registered_object(config, custom_objects)
        return config if found is None else found
    if isinstance(config, (list, tuple)):  # (a tuple comes back a list, as in Keras)
        return [deserialize_keras_object(v, custom_objects) for v in config]
    if not isinstance(config, dict):
        raise TypeError(f"Could not deserialize {config!r}: expected a dict, list, str or "
                        f"number")
    class_name = config.get("class_name")
    if not isinstance(class_name, str) or "config" not in config:
        return {k: deserialize_keras_object(v, custom_objects) for k, v in config.items()}
    inner = config["config"]
    if class_name == "__numpy__":
        return np.array(inner["value"], dtype=inner["dtype"])
    if class_name == "__tuple__":
        return tuple(deserialize_keras_object(v, custom_objects) for v in inner["value"])
    objects = all_custom_objects(custom_objects)
    registered = config.get("registered_name")
    if class_name == "function":
        fn = objects.get(registered) or objects.get(inner)
        if fn is None:
            raise ValueError(f"Could not locate function '{inner}'. Pass it in "
                             f"`custom_objects` or register it with "
                             f"`@keras.saving.register_keras_serializable()`")
        return fn
    cls = objects.get(registered) if registered else None
    cls = cls or objects.get(class_name)
    if cls is not None:
        if hasattr(cls, "from_config"):
            return cls.from_config(inner)
        return cls(**inner)
    return _builtin_deserialize(config, objects)


def _builtin_deserialize(config, objects):
    from fastnn import initializers, losses, optimizers
    from fastnn.layers.layer import LAYERS
    from fastnn.saving import serialization
    class_name, module = config["class_name"], config.get("module") or ""
    if class_name in ("Sequential", "Functional", "Model") or module.startswith("keras.src.models"):
        return serialization.deserialize_model(config, objects)
    if class_name in LAYERS:
        return serialization.deserialize_layer(config, objects)
    from fastnn import constraints, regularizers
    for prefix, get in (("keras.optimizers", optimizers.get), ("keras.losses", losses.get),
                        ("keras.initializers", initializers.get),
                        ("keras.regularizers", regularizers.get),
                        ("keras.constraints", constraints.get)):
        if module.startswith(prefix):
            return get(config)
    raise ValueError(f"Could not locate class '{class_name}'. fastnn builds only its own "
                     f"classes and your custom objects: pass it in `custom_objects`, a "
                     f"`custom_object_scope`, or register it with "
                     f"`@keras.saving.register_keras_serializable()`")
