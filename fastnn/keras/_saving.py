"""`keras.saving`: registered custom objects, object (de)serialization, model files.

`register_keras_serializable`, `custom_object_scope` and `get_custom_objects` keep
Keras's three sources of custom classes; `load_model` and `deserialize_keras_object`
consult all of them (explicit `custom_objects` first, then the innermost scope, then the
registry), and build nothing else than fastnn's own classes: a file never imports code.
"""
import inspect
import threading

import numpy as np

from fastnn import saving as _files

# "Package>Name" -> object, as Keras's GLOBAL_CUSTOM_OBJECTS; get_custom_objects() returns it.
_GLOBAL_CUSTOM_OBJECTS = {}
_GLOBAL_CUSTOM_NAMES = {}  # object -> "Package>Name"
_scopes = threading.local()


def register_keras_serializable(package="Custom", name=None):
    """Decorator: register a class or function as "package>name" (name defaults to the
    class or function name), so files and configs naming it can be loaded."""
    def decorator(arg):
        class_name = name if name is not None else arg.__name__
        registered = f"{package}>{class_name}"
        if inspect.isclass(arg) and not hasattr(arg, "get_config"):
            raise ValueError("Cannot register a class that does not have a get_config() method.")
        _GLOBAL_CUSTOM_OBJECTS[registered] = arg
        _GLOBAL_CUSTOM_NAMES[arg] = registered
        return arg
    return decorator


def get_custom_objects():
    """The global registry (a dict you may update: `get_custom_objects()["f"] = f`)."""
    return _GLOBAL_CUSTOM_OBJECTS


def get_registered_name(obj):
    """'package>name' for a registered object, else its `__name__`."""
    return _GLOBAL_CUSTOM_NAMES.get(obj, getattr(obj, "__name__", None))


def get_registered_object(name, custom_objects=None, module_objects=None):
    """The object registered, scoped or passed under `name`, or None."""
    for table in (custom_objects, *_active_scopes(), _GLOBAL_CUSTOM_OBJECTS, module_objects):
        if table and name in table:
            return table[name]
    return None


def _active_scopes():
    return list(reversed(getattr(_scopes, "stack", [])))


class CustomObjectScope:
    """`with custom_object_scope({"MyLayer": MyLayer}): load_model(...)`"""

    def __init__(self, *custom_objects):
        self.custom_objects = {}
        for objects in custom_objects:
            if objects is None:
                continue
            if not isinstance(objects, dict):
                raise TypeError(f"custom_object_scope expects dicts, received {objects!r}")
            self.custom_objects.update(objects)

    def __enter__(self):
        if not hasattr(_scopes, "stack"):
            _scopes.stack = []
        _scopes.stack.append(self.custom_objects)
        return self

    def __exit__(self, *exc):
        _scopes.stack.pop()


custom_object_scope = CustomObjectScope


def all_custom_objects(custom_objects=None):
    """One dict of every custom object that applies now, by registered and by plain name
    (a file written by fastnn names a class by its plain name, one from Keras may use
    'package>name'); earlier sources win: explicit, innermost scope, registry."""
    merged = {}
    for key, value in _GLOBAL_CUSTOM_OBJECTS.items():
        merged.setdefault(key.split(">", 1)[-1], value)
        merged[key] = value
    for table in reversed(_active_scopes()):
        merged.update(table)
    merged.update(custom_objects or {})
    return merged


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
    if isinstance(obj, tuple):
        return {"class_name": "__tuple__",
                "config": {"value": [serialize_keras_object(v) for v in obj]}}
    if isinstance(obj, list):
        return [serialize_keras_object(v) for v in obj]
    if isinstance(obj, dict):
        return {k: serialize_keras_object(v) for k, v in obj.items()}
    registered = _GLOBAL_CUSTOM_NAMES.get(obj if inspect.isfunction(obj) or inspect.isclass(obj)
                                          else type(obj))
    if inspect.isfunction(obj):
        name = registered or obj.__name__
        return {"module": obj.__module__, "class_name": "function", "config": name,
                "registered_name": name}
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
            out = {"module": type(obj).__module__, "class_name": type(obj).__name__,
                   "config": serialize_keras_object(obj.get_config()),
                   "registered_name": registered or type(obj).__name__}
    if registered:
        out["registered_name"] = registered
    return out


def _builtin_serialize(obj):
    from fastnn import losses, optimizers
    from fastnn.activations import Activation
    if isinstance(obj, optimizers.Optimizer):
        return optimizers.serialize(obj)
    if isinstance(obj, losses.Loss):
        return losses.serialize(obj)
    if isinstance(obj, Activation):
        return obj.name
    return None


def deserialize_keras_object(config, custom_objects=None, safe_mode=True, **kwargs):
    """The object `serialize_keras_object` described.  Classes are looked up in the custom
    objects (explicit, scoped, registered) and fastnn's own registries only."""
    if config is None or isinstance(config, (bool, int, float)):
        return config
    if isinstance(config, str):
        found = get_registered_object(config, custom_objects)
        return config if found is None else found
    if isinstance(config, list):
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
    for prefix, get in (("keras.optimizers", optimizers.get), ("keras.losses", losses.get),
                        ("keras.initializers", initializers.get)):
        if module.startswith(prefix):
            return get(config)
    raise ValueError(f"Could not locate class '{class_name}'. fastnn builds only its own "
                     f"classes and your custom objects: pass it in `custom_objects`, a "
                     f"`custom_object_scope`, or register it with "
                     f"`@keras.saving.register_keras_serializable()`")
