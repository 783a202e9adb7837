"""Ops on symbolic KerasTensors: each application becomes a small layer of the Functional
graph (`OpLayer`), whose forward runs the op and whose backward is the tape's, so
`x = keras.ops.add(a, b)` or `ops.concatenate([a, b])` work in Functional models."""
import numpy as np

from fastnn.layers.layer import KerasTensor, Layer


class _Slot:
    """Where a symbolic input goes in the op's arguments."""

    def __init__(self, index):
        self.index = index


def _template(obj, found):
    if isinstance(obj, KerasTensor):
        found.append(obj)
        return _Slot(len(found) - 1)
    if isinstance(obj, (list, tuple)):
        return type(obj)(_template(o, found) for o in obj)
    return obj


def _fill(obj, values):
    if isinstance(obj, _Slot):
        return values[obj.index]
    if isinstance(obj, (list, tuple)):
        return type(obj)(_fill(o, values) for o in obj)
    return obj


class _OpLayer(Layer):
    """One keras.ops call inside a Functional model (trained by the tape)."""

    takes_list = True

    def __init__(self, op, opname, args, kwargs, **kw):
        super().__init__(**kw)
        self.op, self.opname = op, opname
        self._args, self._kwargs = args, kwargs

    def call(self, inputs):
        values = inputs if isinstance(inputs, list) else [inputs]
        return self.op(*_fill(self._args, values), **_fill(self._kwargs, values))

    def get_config(self):
        raise NotImplementedError(
            f"A Functional model that applies keras.ops.{self.opname} to symbolic tensors cannot "
            f"be saved by fastnn yet: put the computation in a custom layer (with get_config) "
            f"and pass it in custom_objects when loading")


def apply(op, opname, args, kwargs, n_inputs):
    found = []
    targs = _template(tuple(args), found)
    tkwargs = {k: _template(v, found) for k, v in kwargs.items()}
    layer = _OpLayer(op, opname, targs, tkwargs, name=_unique(opname))
    return layer(found if len(found) > 1 else found[0])


def _unique(opname):
    from fastnn.layers.layer import unique_name
    return unique_name(opname.strip("_"))
