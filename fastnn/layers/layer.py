"""The Layer base class, weights, and the symbolic tensors that record a Functional graph.

A layer is a pair of plain functions over NumPy arrays: `forward(x, training)` and
`backward(dy, need_dx)`, which writes its weights' gradients and returns dx.  There is
no autograd engine: a model calls forwards in order and backwards in reverse.
"""
import re

import numpy as np

from fastnn import _validate, constraints, initializers, regularizers

_name_counts = {}
# Keras class name (and aliases) -> fastnn class, filled as layer classes are defined (see
# Layer.__init_subclass__): saving and the public namespace read it, nothing is hand-kept.
LAYERS = {}
# While loading a file, the number of float32 weights its layers may still create: a
# hostile config cannot make fastnn allocate more than the weights file holds.
_weight_budget = None


def unique_name(base):
    """Keras's naming: 'dense', then 'dense_1', 'dense_2', ... per session."""
    n = _name_counts.get(base, 0)
    _name_counts[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def snake_case(name):
    """Keras's class-name-to-layer-name rule: MaxPooling2D -> max_pooling2d."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


# How Keras 3 writes the float32 dtype policy in a layer config.
DTYPE_POLICY = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
                "registered_name": None}


def check_dtype(dtype):
    name = dtype.get("config", {}).get("name") if isinstance(dtype, dict) else dtype
    if name not in (None, "float32", np.float32):
        raise ValueError(f"fastnn computes in float32 only; received dtype={dtype!r}")


def reject_unsupported(layer, **options):
    """Keras arguments fastnn accepts only at their default of None (regularizers, ...)."""
    for key, value in options.items():
        if value is not None:
            raise ValueError(f"{type(layer).__name__} '{layer.name}': {key}={value!r} is not "
                             f"supported by fastnn")


def shape_str(shape):
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + \
        ("," if len(shape) == 1 else "") + ")"


class Variable:
    """A weight: a float32 array `value`, its gradient `grad`, a name and trainability;
    optionally a `regularizer` (penalty added to the loss) and a `constraint` (projection
    after each optimizer step), both applied by the trainer."""

    def __init__(self, value, name, trainable=True, regularizer=None, constraint=None):
        self.value = np.ascontiguousarray(value, dtype=np.float32)
        self.grad = np.zeros_like(self.value)
        self.name = name
        self.trainable = trainable
        self.regularizer, self.constraint = regularizer, constraint

    shape = property(lambda self: self.value.shape)

    def numpy(self):
        return self.value.copy()

    def assign(self, value):
        value = _validate.weight_value(value, self.name, self.value.shape)
        self.value[...] = value

    def __repr__(self):
        return f"<Variable '{self.name}' shape={self.value.shape} dtype=float32>"


class KerasTensor:
    """A symbolic tensor: a shape with None for the batch, and the node that made it."""

    def __init__(self, shape, node=None, index=0, name=None):
        self.shape = tuple(shape)
        self.node = node
        self.index = index
        self.name = name
        self.dtype = "float32"

    ndim = property(lambda self: len(self.shape))

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype=float32, name={self.name}>"


class Node:
    """One call of a layer on symbolic tensors."""

    def __init__(self, layer, inputs, outputs):
        self.layer = layer
        self.inputs = inputs    # list of KerasTensor
        self.outputs = outputs  # list of KerasTensor


class Layer:
    """Base class of all layers: weights, lazy building, symbolic calls, configs.

    Subclasses implement `build(input_shape)`, `compute_output_shape(input_shape)`,
    `forward(x, training)` and `backward(dy, need_dx)`.  Shapes include the batch
    dimension as None.
    """

    keras_aliases = ()  # other Keras names of the class, e.g. ("MaxPool2D",)

    def __init_subclass__(cls, **kwargs):
        """A public layer class defined inside fastnn registers itself under its Keras name
        and aliases.  User subclasses are not registered: files name them through
        `custom_objects` (or Keras's `register_keras_serializable`)."""
        super().__init_subclass__(**kwargs)
        if cls.__module__.startswith("fastnn.") and not cls.__name__.startswith("_"):
            for name in (cls.__name__,) + tuple(cls.__dict__.get("keras_aliases", ())):
                LAYERS[name] = cls

    def __init__(self, name=None, trainable=True, dtype=None, input_shape=None,
                 batch_input_shape=None, input_dim=None, activity_regularizer=None,
                 autocast=True, **kwargs):
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments passed to "
                            f"{type(self).__name__}: {kwargs}")
        check_dtype(dtype)
        if name is not None and (not isinstance(name, str) or not name or "/" in name):
            raise ValueError(f"Argument `name` must be a non-empty string without '/', "
                             f"received: name={name!r}")
        self.name = name or unique_name(snake_case(type(self).__name__))
        reject_unsupported(self, activity_regularizer=activity_regularizer)
        self.trainable = bool(trainable)
        self.built = False
        self._variables = []
        self._buffers = {}
        self._inbound_nodes = []
        self.input_shape_hint = None  # (None, ...) when given input_shape= etc.
        if input_dim is not None:
            input_shape = (input_dim,)
        if input_shape is not None:
            self.input_shape_hint = (None,) + tuple(int(d) for d in input_shape)
        if batch_input_shape is not None:
            self.input_shape_hint = (None,) + tuple(batch_input_shape)[1:]

    # ---- weights ----------------------------------------------------------------
    def add_weight(self, shape, initializer="glorot_uniform", name=None, trainable=True,
                   regularizer=None, constraint=None):
        global _weight_budget
        if _weight_budget is not None:
            _weight_budget -= int(np.prod(shape, dtype=np.float64))
            if _weight_budget < 0:
                raise ValueError(f"Layer '{self.name}' would create a weight of shape "
                                 f"{tuple(shape)}, more than the weights file holds: the "
                                 f"file's config and weights do not match")
        init = initializers.get(initializer)
        _validate.allocate(tuple(shape), np.float32, f"Layer '{self.name}'",
                           f"its weight '{name}'", "make the layer smaller", check_only=True)
        var = Variable(init(tuple(shape)), f"{self.name}/{name}", trainable,
                       regularizers.get(regularizer), constraints.get(constraint))
        self._variables.append(var)
        return var

    @property
    def weights(self):
        """The layer's own variables, then those of its sublayers (as Keras orders them)."""
        out = list(self._variables)
        for sub in self._sublayers():
            out.extend(v for v in sub.weights if all(v is not w for w in out))
        return out

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        out = [v for v in self._variables if v.trainable]
        for sub in self._sublayers():
            out.extend(v for v in sub.trainable_weights if all(v is not w for w in out))
        return out

    @property
    def non_trainable_weights(self):
        trainable = {id(v) for v in self.trainable_weights}
        return [v for v in self.weights if id(v) not in trainable]

    def get_weights(self):
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights):
        weights = _validate.weight_list(weights, f"layer '{self.name}'")
        own = self.weights
        if len(weights) != len(own):
            raise ValueError(f"Layer {self.name} expects {len(own)} weights, "
                             f"but the weight list provided has {len(weights)} elements.")
        values = []
        for var, w in zip(own, weights):  # check all before assigning any
            w = _validate.numeric_array(w, f"value for weight {var.name}") if w is not None \
                else _validate.weight_value(w, var.name, var.shape)
            if w.shape != var.shape:
                raise ValueError(f"Layer {self.name} weight shape {var.shape} is not compatible "
                                 f"with provided weight shape {w.shape}.")
            values.append(w)
        for var, w in zip(own, values):
            var.assign(w)

    def count_params(self):
        return int(sum(v.value.size for v in self.weights))

    # ---- building and calling ----------------------------------------------------
    def build(self, input_shape):
        self.built = True

    def compute_output_shape(self, input_shape):
        return input_shape

    def ensure_built(self, input_shape):
        if not self.built:
            self.check_input_shape(input_shape)
            self.build(input_shape)
            self.built = True
            self.input_spec_shape = input_shape

    def check_input_shape(self, input_shape):
        """Raise Keras's ValueError when input_shape cannot feed this layer."""

    def incompatible(self, input_shape, what):
        return ValueError(f"Input 0 of layer '{self.name}' is incompatible with the layer: "
                          f"{what}, but received input with shape {shape_str(input_shape)}")

    takes_list = False  # merge layers take a list of inputs

    def __call__(self, inputs, training=False):
        multi = isinstance(inputs, (list, tuple)) and (self.takes_list or any(
            isinstance(t, (np.ndarray, KerasTensor)) for t in inputs))  # else: nested lists
        items = list(inputs) if multi else [inputs]
        if all(isinstance(t, KerasTensor) for t in items):
            shapes = [t.shape for t in items] if multi else items[0].shape
            self.ensure_built(shapes)
            self.check_input_shape(shapes)
            out_shape = self.compute_output_shape(shapes)
            node = Node(self, items, [])
            out = KerasTensor(out_shape, node, 0, name=self.name)
            node.outputs.append(out)
            self._inbound_nodes.append(node)
            return out
        if any(isinstance(t, KerasTensor) for t in items):
            raise ValueError(f"Layer '{self.name}' received a mix of symbolic and concrete inputs")
        what = f"input of layer '{self.name}'"
        arrays = [_validate.kernel_array(_validate.numeric_array(t, what), np.float32, what)
                  for t in items]
        for a in arrays:
            _validate.check_finite(a, what)
        shapes = [a.shape for a in arrays] if multi else arrays[0].shape  # errors show these
        self.ensure_built(shapes)
        self.check_input_shape(shapes)
        if any(a.ndim > 0 and a.shape[0] == 0 for a in arrays):  # an empty batch, as Keras
            return np.zeros(self.compute_output_shape(shapes), np.float32)
        return np.array(self.forward(arrays if multi else arrays[0], training=training))

    # ---- sublayers -----------------------------------------------------------------
    _untracked = frozenset({"_inbound_nodes", "_buffers", "_variables"})

    def _sublayers(self):
        """Layers held as attributes (directly, or in lists, tuples and dicts), in the order
        they were assigned: Keras's attribute tracking, computed when asked."""
        found = []
        for key, value in vars(self).items():
            if key in self._untracked:
                continue
            items = value.values() if isinstance(value, dict) else \
                value if isinstance(value, (list, tuple)) else (value,)
            for item in items:
                if isinstance(item, Layer) and item is not self and \
                        all(item is not f for f in found):
                    found.append(item)
        return found

    def walk_layers(self):
        """Every layer inside this one (sublayers, their sublayers, ...), each once."""
        seen, out = set(), []

        def visit(layer):
            for sub in layer._sublayers():
                if id(sub) not in seen:
                    seen.add(id(sub))
                    out.append(sub)
                    visit(sub)
        visit(self)
        return out

    # ---- random state: one protocol for saving, BackupAndRestore and data-parallel --------
    def random_state(self):
        """The layer's random-stream state as a JSON-able dict (None: the layer draws no
        random numbers).  Restoring it with `set_random_state` makes the layer draw
        exactly what it would have drawn next."""
        return None

    def set_random_state(self, state):
        """Restore what `random_state()` returned."""

    def skip_batch(self):
        """A training step this process has no samples for (a data-parallel rank's empty
        share of a short last batch): a layer whose forward draws random numbers per call
        advances its stream here, to stay in step with the other ranks."""

    def buffer(self, key, shape, dtype=np.float32):
        """A scratch array reused across steps for a given shape (no per-batch allocation)."""
        buf = self._buffers.get((key, shape))
        if buf is None:
            buf = self._buffers[(key, shape)] = _validate.allocate(shape, dtype,
                                                                   f"Layer '{self.name}'")
        return buf

    # ---- serialization ------------------------------------------------------------
    def get_config(self):
        """The layer's arguments as Keras 3 writes them (JSON-serializable)."""
        return {"name": self.name, "trainable": self.trainable, "dtype": dict(DTYPE_POLICY)}

    @classmethod
    def from_config(cls, config):
        """A new layer from `get_config()`'s output, fastnn's or Keras's."""
        return cls(**config)

    def build_config(self):
        """Keras's `build_config`: the input shape the layer was built for."""
        shape = getattr(self, "input_spec_shape", None)
        if shape is None:
            return None
        if shape and isinstance(shape[0], (tuple, list)):
            return {"input_shape": [list(s) for s in shape]}
        return {"input_shape": list(shape)}

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"
