"""Keras's custom objects: the registry (`register_keras_serializable`), the scopes
(`custom_object_scope`) and the lookup that consults them all.

Here, in fastnn's saving package, and not in `fastnn.keras`, so that loading a file and
building a layer (a `Dense` whose activation is a registered function) consult the same
tables without importing the Keras namespace; `keras.saving` re-exports these names.
"""
import inspect
import threading

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
