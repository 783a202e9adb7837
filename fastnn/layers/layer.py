"""The Layer base class, weights, and the symbolic tensors that record a Functional graph.

A layer is a pair of plain functions over NumPy arrays: `forward(x, training)` and
`backward(dy, need_dx)`, which writes its weights' gradients and returns dx.  There is
no autograd engine: a model calls forwards in order and backwards in reverse.
"""
import functools
import inspect
import re

import numpy as np

from fastnn import _validate, initializers
from fastnn._eager import eager
from fastnn.autodiff import tape as _tape
from fastnn.autodiff.operators import ArrayOperators

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


def reset_names():
    """Start the automatic names again ('dense', 'dense_1', ...): `keras.backend.clear_session`."""
    _name_counts.clear()


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


def _is_dtype_name(text):
    try:
        np.dtype(text)
        return True
    except TypeError:
        return text == "bfloat16"


def _regularizer(value):
    """A regularizer argument: None, a callable, or a name/config fastnn.regularizers reads."""
    if value is None or callable(value):
        return value
    try:
        from fastnn import regularizers
    except ImportError:
        raise ValueError(f"Regularizer {value!r}: pass a callable (fastnn has no "
                         f"regularizers module yet)") from None
    return regularizers.get(value)


def shape_str(shape):
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + \
        ("," if len(shape) == 1 else "") + ")"


class Variable(ArrayOperators):
    """A weight: a float32 array `value`, its gradient `grad`, a name and trainability.
    Python operators on it run keras.ops (recorded inside custom layers)."""

    def __array__(self, dtype=None, copy=None):
        return self.value if dtype is None else self.value.astype(dtype)

    def __init__(self, initializer, shape=None, dtype=None, trainable=True, autocast=True,
                 aggregation="none", synchronization="auto", name=None):
        """Keras 3's signature (`keras.Variable(np.ones(3))`, `keras.Variable(initializer=
        "ones", shape=(2,), name="w")`; float32 only); fastnn's layers pass
        `Variable(value, name, trainable)`."""
        if isinstance(shape, str):  # fastnn's own order
            name, shape = shape, None
            if isinstance(dtype, bool):
                dtype, trainable = None, dtype
        check_dtype(dtype)
        if isinstance(initializer, str) or callable(initializer):  # an initializer
            if shape is None:
                raise ValueError(f"When creating a Variable from an initializer, the `shape` "
                                 f"argument should be specified. Received: "
                                 f"initializer={initializer!r} and shape=None")
            initializer = initializers.get(initializer)(tuple(shape))
        value = np.asarray(initializer)
        if dtype is None and value.dtype.kind not in "f":
            raise ValueError(f"fastnn's variables hold float32 values; received a value "
                             f"of dtype {value.dtype} (Keras would keep that dtype): pass "
                             f"floats, or dtype='float32'")
        self.value = np.require(value, np.float32, "C")  # keeps a 0-d weight 0-d
        self.grad = np.zeros_like(self.value)
        self.name = unique_name("variable") if name is None else name
        self.trainable = trainable
        self.regularizer = self.constraint = None  # set by add_weight

    shape = property(lambda self: self.value.shape)

    def numpy(self):
        return self.value.copy()

    def assign_add(self, value):
        self.assign(self.value + np.asarray(value))
        return self

    def assign_sub(self, value):
        self.assign(self.value - np.asarray(value))
        return self

    def assign(self, value):
        value = _validate.weight_value(value, self.name, self.value.shape)
        self.value[...] = value

    def __repr__(self):
        return f"<Variable '{self.name}' shape={self.value.shape} dtype=float32>"


class KerasTensor(ArrayOperators):
    """A symbolic tensor: a shape with None for the batch, and the node that made it
    (`node.outputs[index]` is this tensor).  keras.ops and Python operators on it add
    layers to the Functional graph."""

    def __init__(self, shape, node=None, index=0, name=None):
        self.shape = tuple(shape)
        self.node = node
        self.index = index
        self.name = name
        self.dtype = "float32"

    ndim = property(lambda self: len(self.shape))

    @property
    def _keras_history(self):
        """(layer, node index, tensor index), as Keras names a tensor's origin."""
        return self.node.layer, self.node.layer._inbound_nodes.index(self.node), self.index

    @property
    def _keras_mask(self):
        """The symbolic boolean mask of this tensor (None: no Keras mask), worked out when
        asked (fastnn.layers.keras_masks)."""
        if "_mask_override" in self.__dict__:
            return self.__dict__["_mask_override"]
        from fastnn.layers import keras_masks
        return keras_masks.symbolic_mask(self)

    @_keras_mask.setter
    def _keras_mask(self, value):
        self.__dict__["_mask_override"] = value

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"


class Node:
    """One call of a layer on symbolic tensors.

    `inputs` is the flat list of tensors the call read: the positional input(s), then the
    tensors given as keyword arguments (`initial_state=[h, c]`), in `kwargs`'s order.
    `kwargs` keeps the call's keyword arguments as given (tensors included), `training`
    an explicit `training=` of the call (None: follow the model), `takes_list` whether
    the positional input was a list."""

    def __init__(self, layer, inputs, outputs, kwargs=None, training=None, takes_list=False,
                 n_positional=None, multi_output=False):
        self.layer = layer
        self.multi_output = multi_output  # the layer returns a list (even of one tensor)
        self.inputs = inputs    # list of KerasTensor
        self.outputs = outputs  # list of KerasTensor
        self.kwargs = kwargs or {}
        self.training = training
        self.takes_list = takes_list
        self.n_positional = len(inputs) if n_positional is None else n_positional


def flatten_tensors(value):
    """The KerasTensors in a nested list/tuple/dict, in order."""
    if isinstance(value, KerasTensor):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in flatten_tensors(v)]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in flatten_tensors(v)]
    return []


def is_shape_list(shape):
    """Whether compute_output_shape returned several shapes (a layer with several outputs)."""
    return isinstance(shape, list) or (isinstance(shape, tuple) and len(shape) > 0 and
                                       all(isinstance(s, (tuple, list)) for s in shape))


def _marks_built(build):
    """`build` that leaves the layer built, as Keras's does: `layer.build(shape)` called by
    hand, then `set_weights`, must not be undone by a second build on the first call."""
    if getattr(build, "_marks_built", False):
        return build

    @functools.wraps(build)
    def build_and_mark(self, input_shape, *args, **kwargs):
        out = build(self, input_shape, *args, **kwargs)
        self.built = True
        if getattr(self, "input_spec_shape", None) is None:  # Keras's build_config
            flat = isinstance(input_shape, (list, tuple)) and all(
                d is None or isinstance(d, int) for d in input_shape)
            self.input_spec_shape = tuple(input_shape) if flat else input_shape
        return out

    build_and_mark._marks_built = True
    return build_and_mark


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
        if "build" in cls.__dict__:  # built after build(), also when called by hand
            cls.build = _marks_built(cls.__dict__["build"])
        # A layer written as Keras's guide writes it (`call` with keras.ops, no forward /
        # backward) is trained by the tape (fastnn.autodiff.layers); models excluded.
        if "call" in cls.__dict__ and "forward" not in cls.__dict__ and \
                not hasattr(cls, "forward_graph"):
            from fastnn.autodiff.layers import make_tape_layer
            make_tape_layer(cls)

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
        self.activity_regularizer = _regularizer(activity_regularizer)
        self.trainable = bool(trainable)
        self.built = False
        self._variables = []
        self._buffers = {}
        self._inbound_nodes = []
        self.input_shape_hint = None  # (None, ...) when given input_shape= etc.
        if input_dim is not None:
            input_shape = (input_dim,)
        if input_shape is not None:
            self.input_shape_hint = (None,) + tuple(None if d is None else int(d)
                                                    for d in input_shape)
        if batch_input_shape is not None:
            self.input_shape_hint = (None,) + tuple(batch_input_shape)[1:]

    # ---- weights ----------------------------------------------------------------
    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True,
                   autocast=True, regularizer=None, constraint=None, aggregation="none",
                   overwrite_with_gradient=False, name=None):
        """Keras 3's signature.  fastnn's built-in layers may pass the name third:
        `add_weight(shape, initializer, "kernel")`."""
        if isinstance(dtype, str) and name is None and not _is_dtype_name(dtype):
            dtype, name = None, dtype
        check_dtype(dtype)
        shape = () if shape is None else tuple(int(d) for d in shape)
        initializer = "glorot_uniform" if initializer is None else initializer
        if name is None:  # Keras's automatic names: variable, variable_1, ...
            n = sum(v.name.split("/")[-1].startswith("variable") for v in self._variables)
            name = "variable" if n == 0 else f"variable_{n}"
        # A regularizer's penalty joins the loss (a custom layer's tape adds it; the trainer
        # does for the others); a constraint projects the weight after each optimizer step.
        from fastnn import constraints
        regularizer, constraint = _regularizer(regularizer), constraints.get(constraint)
        var = self._add_weight(shape, initializer, name, bool(trainable))
        var.regularizer, var.constraint = regularizer, constraint
        return var

    def _add_weight(self, shape, initializer, name, trainable):
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
        var = Variable(init(tuple(shape)), f"{self.name}/{name}", trainable)
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

    # Keras's other names for the weight lists
    variables = property(lambda self: self.weights)
    trainable_variables = property(lambda self: self.trainable_weights)
    non_trainable_variables = property(lambda self: self.non_trainable_weights)

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
            values.append(_validate.weight_value(w, var.name, var.shape))  # float32 range
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

    def __call__(self, inputs, training=None, mask=None, **kwargs):
        if _tape._stack:  # inside a custom layer's call or a GradientTape: record the call
            from fastnn.autodiff.layers import call_recorded
            return call_recorded(self, inputs, training, mask, kwargs)
        multi = isinstance(inputs, (list, tuple)) and (self.takes_list or any(
            isinstance(t, (np.ndarray, KerasTensor)) for t in inputs))  # else: nested lists
        items = list(inputs) if multi else [inputs]
        extra = flatten_tensors(kwargs)
        if all(isinstance(t, KerasTensor) for t in items):
            return self._call_symbolic(items, multi, extra, kwargs, training)
        if any(isinstance(t, KerasTensor) for t in items + extra):
            raise ValueError(f"Layer '{self.name}' received a mix of symbolic and concrete inputs")
        if kwargs:
            return eager(self.call_arrays(items if multi else items[0],
                                          training=bool(training), **kwargs))
        what = f"input of layer '{self.name}'"
        arrays = [_validate.kernel_array(_validate.numeric_array(t, what), np.float32, what)
                  for t in items]
        for a in arrays:
            _validate.check_finite(a, what)
        shapes = [a.shape for a in arrays] if multi else arrays[0].shape  # errors show these
        self.ensure_built(shapes)
        self.check_input_shape(shapes)
        if any(a.ndim > 0 and a.shape[0] == 0 for a in arrays):  # an empty batch, as Keras
            out_shape = self.compute_output_shape(shapes)
            if is_shape_list(out_shape):
                return eager([np.zeros(s, np.float32) for s in out_shape])
            return eager(np.zeros(out_shape, np.float32))
        # no `training=` given: the layer's own default, as Keras takes it from `call`'s
        # signature (augmentation layers augment, Dropout does not)
        mode = {} if training is None else {"training": bool(training)}
        from fastnn.layers import keras_masks  # Keras masks: explicit, else the inputs'
        mask = keras_masks.input_mask(items, multi) if mask is None else mask
        if mask is not None and "mask" in inspect.signature(self.forward).parameters:
            mode["mask"] = mask  # a Keras mask, for the layers that use one
        x = arrays if multi else arrays[0]
        out = self.forward(x, **mode)
        if isinstance(out, (list, tuple)):  # copies (the layer reuses its buffers), with
            result = eager([np.array(o) for o in out])  # TensorFlow's .numpy()
        else:
            result = eager(np.array(out))
        return keras_masks.attach(result, keras_masks.output_mask(self, x, mask))

    def call_arrays(self, inputs, training=False, **kwargs):
        """A concrete call with keyword tensors (`initial_state=...`): layers that take
        them override this; others refuse the arguments."""
        raise TypeError(f"Layer '{self.name}' ({type(self).__name__}) got unexpected keyword "
                        f"arguments {sorted(kwargs)}")

    def _call_symbolic(self, items, multi, extra, kwargs, training):
        """Record a call on KerasTensors: build the layer, add a Node, return its outputs."""
        if kwargs and not self.accepts_call_kwargs(kwargs):
            raise TypeError(f"Layer '{self.name}' ({type(self).__name__}) got unexpected "
                            f"keyword arguments {sorted(kwargs)}")
        shapes = [t.shape for t in items] if multi else items[0].shape
        if extra:  # keyword tensors: the layer sees one flat list, positional ones first
            shapes = [t.shape for t in items + extra]
        self.ensure_built(shapes)
        self.check_input_shape(shapes)
        out_shape = self.compute_output_shape(shapes)
        node = Node(self, items + extra, [], kwargs=kwargs, training=training,
                    takes_list=multi, n_positional=len(items),
                    multi_output=is_shape_list(out_shape))
        shapes_out = [tuple(s) for s in out_shape] if is_shape_list(out_shape) else [out_shape]
        for i, shp in enumerate(shapes_out):
            node.outputs.append(KerasTensor(shp, node, i, name=self.name))
        self._inbound_nodes.append(node)
        return list(node.outputs) if is_shape_list(out_shape) else node.outputs[0]

    def accepts_call_kwargs(self, kwargs):
        """Whether this layer takes these keyword arguments in a call (RNNs take
        `initial_state`, ...).  The base layer takes none."""
        return False

    # ---- the graph this layer was called in ----------------------------------------
    def _first_node(self, what):
        """Keras 3 reads `layer.input`/`layer.output` from the layer's first call."""
        if not self._inbound_nodes:
            raise AttributeError(f"Layer '{self.name}' has never been called and thus has no "
                                 f"defined {what}.")
        return self._inbound_nodes[0]

    @staticmethod
    def _one_or_list(tensors):
        return tensors[0] if len(tensors) == 1 else list(tensors)

    @property
    def input(self):
        """The symbolic input(s) of the layer's first call (Keras's `layer.input`)."""
        node = self._first_node("input")
        return list(node.inputs) if node.takes_list else self._one_or_list(node.inputs)

    @property
    def output(self):
        """The symbolic output(s) of the layer's first call (Keras's `layer.output`)."""
        return self._one_or_list(self._first_node("output").outputs)

    def get_input_at(self, node_index):
        node = self._inbound_nodes[node_index]
        return list(node.inputs) if node.takes_list else self._one_or_list(node.inputs)

    def get_output_at(self, node_index):
        return self._one_or_list(self._inbound_nodes[node_index].outputs)

    # ---- trainability ---------------------------------------------------------------
    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        """As in Keras 3, setting it sets it on every layer inside (a frozen base model
        freezes its BatchNormalization layers, which then run in inference mode)."""
        self._trainable = bool(value)
        for sub in self._sublayers():
            sub.trainable = value

    # ---- sublayers -----------------------------------------------------------------
    _untracked = frozenset({"_inbound_nodes", "_buffers", "_variables", "_trainable"})

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
        config = {"name": self.name, "trainable": self.trainable, "dtype": dict(DTYPE_POLICY)}
        if getattr(self, "activity_regularizer", None) is not None:  # as Keras's base Layer
            from fastnn import regularizers
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config

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
