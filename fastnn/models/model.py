"""Model: a graph of layers run forward in topological order and backward in reverse.

Three ways to make one, as in Keras:
  * Functional: `Model(inputs=..., outputs=...)` over symbolic tensors from `Input`.
  * Sequential: see sequential.py (it builds the same kind of graph).
  * Subclassing: layers made in `__init__`, `call(inputs)` written by the user; `call`
    is traced once on symbolic inputs when the input shape is first known.
Gradients are summed where a tensor feeds several layers.  Trainable parameters and
their gradients live in two contiguous buffers, so the optimizer is one fused pass.
"""
import numpy as np

from fastnn import _validate
from fastnn._eager import eager
from fastnn.layers.layer import KerasTensor, Layer, unique_name
from fastnn.models import graph
from fastnn.models.trainer import Trainer


def _flatten(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]



class Model(Trainer, Layer):
    """A model grouping layers into an object with training and inference features.

    >>> from fastnn.layers import Input, Dense
    >>> inputs = Input((4,))
    >>> outputs = Dense(3, activation="softmax")(Dense(8, activation="relu")(inputs))
    >>> Model(inputs=inputs, outputs=outputs).output_shape
    (None, 3)
    """

    keras_aliases = ("Functional",)
    _graph_built = False

    def __init__(self, inputs=None, outputs=None, name=None, trainable=True, **kwargs):
        Layer.__init__(self, name=name or unique_name(self._default_name()), trainable=trainable,
                       **kwargs)
        Trainer.__init__(self)
        self._graph_built = False
        if inputs is not None or outputs is not None:
            if inputs is None or outputs is None:
                raise ValueError("A Functional model needs both `inputs` and `outputs`")
            self._output_keys = list(outputs) if isinstance(outputs, dict) else None
            self._input_keys = list(inputs) if isinstance(inputs, dict) else None
            # Keras 3: a one-element list of outputs still makes a single-output model
            self._single_output = not isinstance(outputs, dict) and len(_flatten(outputs)) == 1
            self._set_graph(_flatten(list(inputs.values()) if isinstance(inputs, dict)
                                     else inputs),
                            _flatten(list(outputs.values()) if isinstance(outputs, dict)
                                     else outputs))

    def _default_name(self):
        return "functional" if type(self) is Model else snake_case_name(type(self).__name__)

    # ---- the graph ----------------------------------------------------------------
    _output_keys = _input_keys = None
    _single_output = True
    _added_losses = ()  # symbolic tensors a subclassed model's call() passed to add_loss
    _loss_slots = ()
    _output_masks = None  # the last forward pass's output masks, when the model has masks

    def _set_graph(self, inputs, outputs):
        for t in inputs + outputs:
            if not isinstance(t, KerasTensor):
                raise TypeError(f"Model inputs and outputs must be symbolic tensors from "
                                f"`Input` and layer calls, received {type(t).__name__}")
        self.inputs, self.outputs = inputs, outputs
        if len(outputs) > 1:
            self._single_output = False
        self._nodes = graph.topological_nodes(inputs, outputs + list(self._added_losses))
        if any(n.layer is self for n in self._nodes):
            raise ValueError(f"Model '{self.name}' cannot be a layer of itself")
        self._keras_layers = graph.keras_layer_order(inputs, outputs)
        self._graph_built = True
        self.built = True
        self._make_plan()

    def _make_plan(self):
        """The graph as slot numbers, so a step walks lists instead of hashing tensors."""
        plan, self._n_slots, slots, shapes, self._uses_masks = graph.make_plan(self)
        from fastnn.models.fusion import fuse
        self._plan = fuse(plan, slots, shapes)
        n = len(self.outputs)
        self._output_slots, self._loss_slots = slots[:n], slots[n:]
        readers = {}
        for _, ins, _, _, _ in self._plan:
            for i in ins:
                readers[i] = readers.get(i, 0) + 1
        self._slot_readers = readers

    def _output_read_by_layers(self, k):
        """Whether output k of the model also feeds a layer of the model."""
        return self._slot_readers.get(self._output_slots[k], 0) > 0

    def _ensure_graph(self, input_shapes):
        """Subclassed models: trace `call` on symbolic inputs the first time."""
        if self._graph_built:
            return
        from fastnn.layers.input_layer import Input
        keys = self._input_keys  # first called on a dict: call() gets a dict too
        if keys is not None and len(keys) == len(input_shapes):
            inputs = [Input(tuple(s[1:]), name=k) for s, k in zip(input_shapes, keys)]
            structured = dict(zip(keys, inputs))
        else:
            inputs = [Input(tuple(s[1:])) for s in input_shapes]
            structured = inputs if len(inputs) > 1 else inputs[0]
        self._tracing, self._added_losses = True, []
        try:
            outputs = self.call(structured)
        finally:
            self._tracing = False
        self._single_output = not isinstance(outputs, dict) and len(_flatten(outputs)) == 1
        if isinstance(outputs, dict):
            self._output_keys = list(outputs)
            outputs = list(outputs.values())
        self._set_graph(inputs, _flatten(outputs))

    def build(self, input_shape):
        """Create the weights for inputs of `input_shape` (batch axis included, e.g.
        `(None, 8)`, or a list of shapes for several inputs)."""
        shapes = input_shape if isinstance(input_shape, list) and input_shape and \
            isinstance(input_shape[0], (list, tuple)) else [input_shape]
        for s in shapes:
            if not isinstance(s, (list, tuple)) or len(s) < 2:
                raise ValueError(f"Model.build expects an input shape with the batch axis, "
                                 f"such as (None, 8); received input_shape={input_shape!r}")
        self._ensure_graph([tuple(s) for s in shapes])

    def call(self, inputs, training=None):
        raise NotImplementedError(f"{type(self).__name__} has no graph: pass inputs= and outputs= "
                                  f"to Model, or override call()")

    def _sublayers(self):
        return self.layers

    @property
    def layers(self):
        if not self._graph_built:
            return Layer._sublayers(self)
        if type(self) is Model:
            return list(self._keras_layers)
        seen, out = set(), []
        for n in self._nodes:  # subclassed: the layers its call used, each once
            if id(n.layer) not in seen:
                seen.add(id(n.layer))
                out.append(n.layer)
        return out

    def get_layer(self, name=None, index=None):
        """A layer of the model by name or by index in `model.layers`."""
        if index is not None:
            if name is not None:
                raise ValueError("Provide only a layer name or a layer index. Received: "
                                 f"index={index}, name={name}.")
            layers = self.layers
            if not isinstance(index, int) or not -len(layers) <= index < len(layers):
                raise ValueError(f"Was asked to retrieve layer at index {index} but model only "
                                 f"has {len(layers)} layers.")
            return layers[index]
        if name is None:
            raise ValueError("Provide either a layer name or layer index at `get_layer`.")
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: "
                         f"{[l.name for l in self.layers]}.")

    def _unique_weights(self, which):
        seen, out = set(), []
        for layer in self.layers:
            for v in getattr(layer, which):
                if id(v) not in seen:
                    seen.add(id(v))
                    out.append(v)
        return out

    @property
    def weights(self):
        return self._unique_weights("weights") if self._graph_built else \
            Layer.weights.fget(self)

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return self._unique_weights("trainable_weights") if self._graph_built else \
            Layer.trainable_weights.fget(self)

    @property
    def non_trainable_weights(self):
        trainable = {id(v) for v in self.trainable_weights}
        return [v for v in self.weights if id(v) not in trainable]

    @property
    def output_names(self):
        """Keras's names of the outputs: the dict keys, else the output layers' names."""
        if self._output_keys is not None:
            return list(self._output_keys)
        return [t.node.layer.name for t in self.outputs]

    @property
    def input_names(self):
        if self._input_keys is not None:
            return list(self._input_keys)
        return [t.node.layer.name for t in self.inputs]

    def get_weights(self):
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights):
        weights = _validate.weight_list(weights, f"model '{self.name}'")
        own = self.weights
        if len(weights) != len(own):
            unbuilt = "" if self._graph_built else (
                " The model is not built yet: give it an input shape (an `Input` or "
                "`input_shape=`) or call it on data first.")
            raise ValueError(f"You called `set_weights(weights)` on model '{self.name}' with a weight "
                             f"list of length {len(weights)}, but the model expected {len(own)} "
                             f"weights.{unbuilt}")
        # check every value before assigning any: a bad list leaves the model as it was
        values = [_validate.weight_value(w, var.name, var.shape) for var, w in zip(own, weights)]
        for var, w in zip(own, values):
            var.assign(w)

    def count_params(self):
        return int(sum(v.value.size for v in self.weights))

    @property
    def input_shape(self):
        shapes = [t.shape for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = [t.shape for t in self.outputs]
        return shapes[0] if self._single_output else shapes

    # ---- a model used as a layer -------------------------------------------------------
    def check_input_shape(self, input_shape):
        shapes = input_shape if isinstance(input_shape, list) else [input_shape]
        if len(shapes) != len(self.inputs):
            raise ValueError(f"Model '{self.name}' expects {len(self.inputs)} input(s), but it "
                             f"received {len(shapes)} input tensors")
        for i, (s, t) in enumerate(zip(shapes, self.inputs)):
            if len(s) != len(t.shape) or any(a is not None and b is not None and a != b
                                             for a, b in zip(s[1:], t.shape[1:])):
                raise ValueError(f"Input {i} of layer '{self.name}' is incompatible with the "
                                 f"layer: expected shape={tuple(t.shape)}, found "
                                 f"shape={tuple(s)}")

    def ensure_built(self, input_shape):
        if not self._graph_built:
            shapes = input_shape if isinstance(input_shape, list) else [input_shape]
            self._ensure_graph([tuple(s) for s in shapes])

    def compute_output_shape(self, input_shape):
        shapes = [tuple(t.shape) for t in self.outputs]
        return shapes[0] if self._single_output else shapes

    @property
    def takes_list(self):
        return self._graph_built and len(self.inputs) > 1

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        """Print a Keras-style table of the layers, output shapes and parameter counts."""
        from fastnn.utils.summary import print_summary
        print_summary(self, line_length, positions, print_fn, show_trainable, expand_nested,
                      layer_range)

    # ---- configs and files (the work is in fastnn.saving) -----------------------------
    def keras_class_info(self):
        """(module, class_name, registered_name) as Keras writes this model's class."""
        if type(self) is Model:
            return "keras.src.models.functional", "Functional", "Functional"
        name = type(self).__name__
        return type(self).__module__, name, name

    def build_input_shape(self):
        """The input shape a file's `build_config` records (None for a Functional model,
        whose config holds its inputs)."""
        if type(self) is Model or not self._graph_built or len(self.inputs) != 1:
            return None
        return self.inputs[0].shape

    def get_config(self):
        """The model's architecture as Keras 3 writes it (Functional: layers and wiring)."""
        if type(self) is Model:
            from fastnn.saving.serialization import functional_config
            return functional_config(self)
        return {"name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """A new model from `get_config()`'s output (fastnn's or Keras's)."""
        if cls is Model or "layers" in config and "input_layers" in config:
            from fastnn.saving.serialization import functional_from_config
            return functional_from_config(cls, config, custom_objects)
        return cls(**config)

    def to_json(self, **kwargs):
        """The architecture as a JSON string (`fastnn.models.model_from_json` reads it)."""
        import json
        from fastnn.saving.serialization import serialize_model
        return json.dumps(serialize_model(self), **kwargs)

    def save(self, filepath, overwrite=True, zipped=None, **kwargs):
        """Save architecture, weights and optimizer state in Keras's `.keras` format."""
        from fastnn import saving
        saving.save_model(self, filepath, overwrite=overwrite, zipped=zipped, **kwargs)

    def save_weights(self, filepath, overwrite=True, max_shard_size=None):
        """Save the weights (and optimizer state) to a Keras `.weights.h5` file."""
        from fastnn import saving
        saving.save_weights(self, filepath, overwrite=overwrite, max_shard_size=max_shard_size)

    def load_weights(self, filepath, skip_mismatch=False, **kwargs):
        """Load weights from a `.weights.h5` or `.keras` file; the model is untouched on error."""
        from fastnn import saving
        saving.load_weights(self, filepath, skip_mismatch=skip_mismatch, **kwargs)

    # ---- running the graph ----------------------------------------------------------
    def forward_graph(self, xs, training, plan=None, batch_offset=0):
        """Run every layer on the list of input arrays; returns the list of outputs.
        `plan`: another plan of this graph (the loss step's, see Trainer); `batch_offset`:
        where this process's batch starts in a data-parallel global batch."""
        self._last_plan = plan = self._plan if plan is None else plan
        values = list(xs) + [None] * (self._n_slots - len(xs))
        if self._uses_masks:  # the outputs' masks weigh their losses and metrics (Keras)
            self._values, masks = graph.run_forward_masked(plan, values, training, batch_offset)
            self._output_masks = [masks[i] for i in self._output_slots]
        else:
            self._values = graph.run_forward(plan, values, training, batch_offset)
            self._output_masks = None
        return [values[i] for i in self._output_slots]

    def backward_graph(self, douts, added_losses=False):
        """Backpropagate output gradients (None: that output has no loss); every layer
        writes its weights' gradients, summed where a tensor or a layer is used twice.
        `added_losses`: the add_loss() terms of call() join the loss (a gradient of 1)."""
        grads = [None] * self._n_slots
        if added_losses:
            for i in self._loss_slots:
                grads[i] = np.ones(np.shape(self._values[i]), np.float32)
        for i, d in zip(self._output_slots, douts):
            if d is not None:
                grads[i] = d if grads[i] is None else grads[i] + d
        graph.run_backward(self._last_plan, grads, self._values)

    # ---- add_loss (fastnn.autodiff.model_losses) ------------------------------------------
    def add_loss(self, loss):
        """Add a scalar loss in `call()` of a subclassed model (Keras's VAE: its KL term)."""
        from fastnn.autodiff import model_losses
        model_losses.add_loss(self, loss)

    @property
    def losses(self):
        """The losses added in the last forward pass (add_loss, activity and weight
        regularizers), as Keras's `model.losses`."""
        from fastnn.autodiff import model_losses
        return model_losses.losses(self)

    def __call__(self, inputs, training=None, mask=None, **kwargs):
        from fastnn.autodiff import tape as _tape
        if _tape._stack:  # inside a GradientTape or a custom layer: one recorded step
            from fastnn.autodiff.layers import call_recorded
            return call_recorded(self, inputs, training, mask, kwargs)
        if isinstance(inputs, dict):
            inputs = self._inputs_from_dict(inputs)
        items = _flatten(inputs)
        if any(isinstance(t, KerasTensor) for t in items):
            return Layer.__call__(self, inputs, training=training, mask=mask, **kwargs)
        if kwargs:
            raise TypeError(f"Model '{self.name}' got unexpected keyword arguments "
                            f"{sorted(kwargs)}")
        return eager(self._infer(inputs, bool(training)))  # with TensorFlow's .numpy()

    def _inputs_from_dict(self, inputs):
        """Dict inputs in the model's input order, keyed by input (layer) names."""
        if not self._graph_built:
            self._input_keys = list(inputs)  # a subclassed model's call() gets a dict
            return list(inputs.values())
        names = self.input_names
        unknown = sorted(set(inputs) - set(names))
        missing = [n for n in names if n not in inputs]
        if unknown or missing:
            raise ValueError(f"Model '{self.name}' has inputs {names}; the dict given has keys "
                             f"{sorted(inputs)}" + (f" (missing {missing})" if missing else "")
                             + (f" (unknown {unknown})" if unknown else ""))
        return [inputs[n] for n in names]

    def _structure_outputs(self, outs):
        """The model's outputs as the user built them: one array, a list or a dict."""
        if self._output_keys is not None:
            return dict(zip(self._output_keys, outs))
        return outs[0] if self._single_output else list(outs)

    def _expects_single_input(self):
        return self._graph_built and len(self.inputs) == 1


def snake_case_name(name):
    from fastnn.layers.layer import snake_case
    return snake_case(name)
