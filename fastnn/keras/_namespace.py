"""The machinery behind `fastnn.keras`: one module object per Keras 3 public module.

Every module Keras 3 has (`keras.layers`, `keras.optimizers.schedules`, `keras.ops.nn`,
... as listed in `_keras_api.json`, dumped from a real Keras by `tools/keras_api.py`) is a
`KerasModule` registered in `sys.modules` as `fastnn.keras.<path>`, so both
`fastnn.keras.layers.Dense` and `from fastnn.keras.layers import Dense` work.

A name is resolved lazily, on first use, from the fastnn modules listed for its Keras
module in `SOURCES` (searched in order; a source that does not exist yet, because the
feature has not landed, is skipped).  Only names Keras itself has are exported; a Keras
name fastnn lacks raises `AttributeError: fastnn does not provide keras.layers.X yet`, any
other name the ordinary AttributeError.  Nothing here is a hand-kept list of what fastnn
has: a layer, loss or utility that lands in its fastnn module appears here by itself.
"""
import dis
import importlib
import json
import os
import sys
import types

PACKAGE = "fastnn.keras"
API_FILE = os.path.join(os.path.dirname(__file__), "_keras_api.json")

# Keras module -> the fastnn modules its names come from, searched in order.  A key
# ending in ".*" applies to every submodule (e.g. keras.datasets.mnist -> fastnn.datasets.mnist).
SOURCES = {
    "keras": ["fastnn.keras._top", "fastnn.initializers", "fastnn.regularizers"],
    "keras.activations": ["fastnn.activations"],
    "keras.backend": ["fastnn.keras._config"],
    "keras.callbacks": ["fastnn.callbacks"],
    "keras.config": ["fastnn.keras._config"],
    "keras.constraints": ["fastnn.constraints"],
    "keras.datasets.*": ["fastnn.datasets.{name}"],
    "keras.initializers": ["fastnn.initializers", "fastnn.keras._aliases"],
    "keras.layers": ["fastnn.layers"],
    "keras.losses": ["fastnn.losses"],
    "keras.metrics": ["fastnn.metrics", "fastnn.keras._aliases"],
    "keras.models": ["fastnn.keras._saving", "fastnn.models"],
    # the differentiable ops (fastnn.autodiff.ops, issue 15), then a few array helpers
    "keras.ops": ["fastnn.autodiff.ops", "fastnn.keras._ops"],
    "keras.ops.*": ["fastnn.autodiff.ops.{name}", "fastnn.autodiff.ops", "fastnn.keras._ops"],
    "keras.optimizers": ["fastnn.optimizers"],
    "keras.optimizers.schedules": ["fastnn.optimizers.schedules"],
    "keras.preprocessing": ["fastnn.utils.dataset", "fastnn.utils"],
    "keras.preprocessing.image": ["fastnn.utils.image_utils", "fastnn.utils"],
    "keras.preprocessing.sequence": ["fastnn.utils.sequence", "fastnn.utils"],
    "keras.random": ["fastnn.keras._random"],
    "keras.regularizers": ["fastnn.regularizers"],
    "keras.saving": ["fastnn.keras._saving"],
    "keras.utils": ["fastnn.keras._saving", "fastnn.keras._config", "fastnn.utils",
                    "fastnn.utils.sequence", "fastnn.utils.dataset", "fastnn.utils.image_utils",
                    "fastnn.keras._utils"],
}

_api = None


def keras_api():
    """`{"keras_version", "modules": {"keras.layers": {"names": [...], "submodules": [...]}}}`"""
    global _api
    if _api is None:
        with open(API_FILE) as f:
            _api = json.load(f)
    return _api


def sources(keras_name):
    """The fastnn module names searched for `keras_name`'s attributes."""
    if keras_name in SOURCES:
        return SOURCES[keras_name]
    parent, _, leaf = keras_name.rpartition(".")
    return [s.format(name=leaf) for s in SOURCES.get(parent + ".*", [])]


def _import_optional(name):
    """The module, or None when it (or a package above it) does not exist yet.  An import
    error raised inside an existing module is a real bug and propagates."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            return None
        raise


def lookup(keras_name, attr):
    """fastnn's object for `keras_name.attr`, or raise AttributeError."""
    for source in sources(keras_name):
        module = _import_optional(source)
        if module is None:
            continue
        value = getattr(module, attr, None)
        if value is not None and not isinstance(value, types.ModuleType):
            return value
    return None


class KerasModule(types.ModuleType):
    """A Keras public module; its names come from fastnn modules on first use."""

    def __init__(self, keras_name):
        super().__init__(PACKAGE + keras_name[len("keras"):])
        self._keras_name = keras_name
        entry = keras_api()["modules"][keras_name]
        self._keras_names = frozenset(entry["names"])
        self._submodules = tuple(entry["submodules"])
        self.__path__ = []  # a package: `import keras.x.unknown` reaches our finder
        self.__package__ = self.__name__
        self.__doc__ = (f"`{keras_name}` on fastnn (Keras 3's public names that fastnn "
                        f"provides; see docs/coverage.md)")

    def __getattr__(self, attr):
        if attr == "__all__":  # `from keras.layers import *`: what fastnn provides
            return public_names(self._keras_name)
        if attr.startswith("__"):
            raise AttributeError(attr)
        return resolve(self, self._keras_name, self._keras_names, attr, sys._getframe(1))

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(coverage(self._keras_name)[0]))


class NotProvidedImportError(ImportError):
    """`from keras.layers import X` of a Keras name fastnn lacks (an AttributeError there
    would become Python's bare "cannot import name", losing the explanation)."""


_IMPORT_FROM = dis.opmap.get("IMPORT_FROM")


def _importing(frame):
    """Whether `frame` is executing `from module import name` (so getattr came from it)."""
    try:
        return frame is not None and frame.f_code.co_code[frame.f_lasti] == _IMPORT_FROM
    except (IndexError, AttributeError, TypeError):
        return False


def missing(keras_name, attr, frame=None):
    message = (f"fastnn does not provide {keras_name}.{attr} yet (see fastnn's "
               f"docs/coverage.md for what it covers); run this code with real Keras to use it")
    if _importing(frame):
        return NotProvidedImportError(message, name=keras_name)
    return AttributeError(message)


def resolve(module, keras_name, keras_names, attr, frame=None):
    if attr in keras_names:
        value = lookup(keras_name, attr)
        if value is None:
            raise missing(keras_name, attr, frame)
        setattr(module, attr, value)  # cached: the next access is a plain attribute
        return value
    raise AttributeError(f"module '{module.__name__}' has no attribute '{attr}'")


def public_names(keras_name):
    """The names `from <module> import *` gives: covered names and submodules."""
    return sorted(coverage(keras_name)[0]) + list(keras_api()["modules"][keras_name]["submodules"])


def coverage(keras_name):
    """(names fastnn provides, names it lacks) for one Keras module, each sorted."""
    entry = keras_api()["modules"][keras_name]
    have, lack = [], []
    for name in entry["names"]:
        (have if lookup(keras_name, name) is not None else lack).append(name)
    return have, lack


def build(top):
    """Make every Keras module below `top` (the fastnn.keras package) and register it."""
    modules = {"keras": top}
    for keras_name in keras_api()["modules"]:
        if keras_name == "keras":
            continue
        module = KerasModule(keras_name)
        modules[keras_name] = module
        sys.modules[module.__name__] = module
    for keras_name, module in modules.items():  # submodules as attributes of their parent
        parent, _, leaf = keras_name.rpartition(".")
        if parent:
            setattr(modules[parent], leaf, module)
    return modules
