"""Model: a graph of layers run forward in topological order and backward in reverse.

Three ways to make one, as in Keras:
  * Functional: `Model(inputs=..., outputs=...)` over symbolic tensors from `Input`.
  * Sequential: see sequential.py (it builds the same kind of graph).
  * Subclassing: layers made in `__init__`, `call(inputs)` written by the user; `call`
    is traced once on symbolic inputs when the input shape is first known.
Gradients are summed where a tensor feeds several layers.  Trainable parameters and
their gradients live in two contiguous buffers, so the optimizer is one fused pass.
"""
from fastnn import _validate
from fastnn.layers.layer import KerasTensor, Layer, shape_str, unique_name
from fastnn.models.trainer import Trainer


def _flatten(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def topological_nodes(inputs, outputs):
    """The nodes between `inputs` and `outputs`, each after the nodes it depends on."""
    input_ids = {id(t) for t in inputs}
    order, state = [], {}

    def visit(tensor):
        if id(tensor) in input_ids:
            return
        node = tensor.node
        if node is None or not node.inputs:
            raise ValueError(f"Graph disconnected: cannot reach tensor {tensor} from the "
                             f"model's inputs {[t.name for t in inputs]}")
        if state.get(id(node)) == "done":
            return
        if state.get(id(node)) == "active":
            raise ValueError("The graph has a cycle")
        state[id(node)] = "active"
        for t in node.inputs:
            visit(t)
        state[id(node)] = "done"
        order.append(node)

    for t in outputs:
        visit(t)
    return order


class Model(Trainer, Layer):
    """A model grouping layers into an object with training and inference features.

    >>> from fastnn.layers import Input, Dense
    >>> inputs = Input((4,))
    >>> outputs = Dense(3, activation="softmax")(Dense(8, activation="relu")(inputs))
    >>> Model(inputs=inputs, outputs=outputs).output_shape
    (None, 3)
    """

    def __init__(self, inputs=None, outputs=None, name=None, trainable=True, **kwargs):
        Layer.__init__(self, name=name or unique_name(self._default_name()), trainable=trainable,
                       **kwargs)
        Trainer.__init__(self)
        self._graph_built = False
        if inputs is not None or outputs is not None:
            if inputs is None or outputs is None:
                raise ValueError("A Functional model needs both `inputs` and `outputs`")
            self._set_graph(_flatten(inputs), _flatten(outputs))

    def _default_name(self):
        return "functional" if type(self) is Model else snake_case_name(type(self).__name__)

    # ---- the graph ----------------------------------------------------------------
    def _set_graph(self, inputs, outputs):
        for t in inputs + outputs:
            if not isinstance(t, KerasTensor):
                raise TypeError(f"Model inputs and outputs must be symbolic tensors from "
                                f"`Input` and layer calls, received {type(t).__name__}")
        self.inputs, self.outputs = inputs, outputs
        self._nodes = topological_nodes(inputs, outputs)
        layers = [n.layer for n in self._nodes]
        if len({id(l) for l in layers}) != len(layers):
            raise NotImplementedError("fastnn does not support calling the same layer twice in "
                                      "one model (shared layers) yet")
        self._input_ids = {id(t) for t in inputs}
        self._output_consumers = {}
        for node in self._nodes:
            for t in node.inputs:
                self._output_consumers[id(t)] = self._output_consumers.get(id(t), 0) + 1
        self._plan = self._make_plan()
        from fastnn.saving.serialization import keras_layer_order
        self._keras_layers = keras_layer_order(inputs, outputs)
        self._graph_built = True
        self.built = True

    def _make_plan(self):
        """The graph as slot numbers, so a step walks lists instead of hashing tensors:
        (layer, input slots, output slot, which inputs need a gradient, whether any does)."""
        slot = {id(t): i for i, t in enumerate(self.inputs)}
        shapes = [t.shape for t in self.inputs]  # per slot, batch axis None
        plan = []
        for node in self._nodes:
            slot[id(node.outputs[0])] = len(slot)
            shapes.append(node.outputs[0].shape)
            ins = [slot[id(t)] for t in node.inputs]
            wants = [id(t) not in self._input_ids for t in node.inputs]
            plan.append((node.layer, ins, slot[id(node.outputs[0])], wants, any(wants)))
        self._n_slots = len(slot)
        self._output_slots = [slot[id(t)] for t in self.outputs]
        from fastnn.models.fusion import fuse
        return fuse(plan, self._output_slots, shapes)

    def _ensure_graph(self, input_shapes):
        """Subclassed models: trace `call` on symbolic inputs the first time."""
        if self._graph_built:
            return
        from fastnn.layers.input_layer import Input
        inputs = [Input(tuple(s[1:])) for s in input_shapes]
        outputs = self.call(inputs if len(inputs) > 1 else inputs[0])
        self._set_graph(inputs, _flatten(outputs))

    def call(self, inputs, training=None):
        raise NotImplementedError(f"{type(self).__name__} has no graph: pass inputs= and outputs= "
                                  f"to Model, or override call()")

    def _sublayers(self):
        return self.layers

    @property
    def layers(self):
        if not self._graph_built:
            return Layer._sublayers(self)
        return list(self._keras_layers) if type(self) is Model else [n.layer for n in self._nodes]

    def get_layer(self, name=None, index=None):
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: "
                         f"{[l.name for l in self.layers]}.")

    @property
    def weights(self):
        return [v for layer in self.layers for v in layer.weights] if self._graph_built else []

    @property
    def trainable_weights(self):
        return [v for layer in self.layers for v in layer.trainable_weights] \
            if self._graph_built and self.trainable else []

    @property
    def non_trainable_weights(self):
        return [v for v in self.weights if all(v is not t for t in self.trainable_weights)]

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
        return shapes[0] if len(shapes) == 1 else shapes

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        """Print a Keras-style table of the layers, output shapes and parameter counts."""
        from fastnn.utils.summary import print_summary
        print_summary(self, line_length, positions, print_fn, show_trainable, expand_nested,
                      layer_range)

    # ---- configs and files (the work is in fastnn.saving) -----------------------------
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
    def forward_graph(self, xs, training):
        """Run every layer on the list of input arrays; returns the list of outputs."""
        values = list(xs) + [None] * (self._n_slots - len(xs))
        for layer, ins, out, _, _ in self._plan:
            values[out] = layer.forward(values[ins[0]] if len(ins) == 1 else
                                        [values[i] for i in ins], training)
        return [values[i] for i in self._output_slots]

    def backward_graph(self, douts):
        """Backpropagate output gradients; every layer writes its weights' gradients.
        Gradients are summed where a tensor feeds several layers."""
        grads = [None] * self._n_slots
        for i, d in zip(self._output_slots, douts):
            grads[i] = d
        for layer, ins, out, wants, need_dx in reversed(self._plan):
            dy = grads[out]
            if dy is None:  # nothing downstream depends on this layer's output
                for v in layer.weights:
                    v.grad[...] = 0
                continue
            dxs = layer.backward(dy, need_dx)
            if not need_dx:
                continue
            for i, dx, want in zip(ins, dxs if len(ins) > 1 else (dxs,), wants):
                if want:
                    grads[i] = dx if grads[i] is None else grads[i] + dx

    def __call__(self, inputs, training=False):
        items = _flatten(inputs)
        if any(isinstance(t, KerasTensor) for t in items):
            raise NotImplementedError("Calling a model on symbolic tensors (nesting models) is "
                                      "not supported by fastnn yet")
        return self._infer(inputs, training)

    def _expects_single_input(self):
        return self._graph_built and len(self.inputs) == 1


def snake_case_name(name):
    from fastnn.layers.layer import snake_case
    return snake_case(name)
