"""Keras-compatible layers: `from fastnn.layers import Dense, Conv2D, ...`.

Every module of this package is imported here, and every layer class it defines
registers itself under its Keras name and aliases (`Layer.__init_subclass__`): this
namespace and the file loader both read that registry, so a new layer file needs no
entry in any list.
"""
import importlib
import pkgutil

from fastnn.layers.input_layer import Input
from fastnn.layers.layer import LAYERS, KerasTensor, Layer, Variable

_functions = {}
for _module in pkgutil.iter_modules(__path__):
    _mod = importlib.import_module(f"{__name__}.{_module.name}")
    # Keras's functional forms a module offers (`layers.concatenate([...])`)
    _functions.update({name: getattr(_mod, name) for name in getattr(_mod, "FUNCTIONS", ())})

globals().update(LAYERS)
globals().update(_functions)
__all__ = sorted(set(LAYERS) | set(_functions) | {"Input", "KerasTensor", "Layer", "Variable"})
