"""Sequential: a plain stack of layers, each with one input and one output."""
from fastnn.layers.input_layer import Input, InputLayer
from fastnn.layers.layer import KerasTensor, Layer
from fastnn.models.model import Model


class Sequential(Model):
    """A stack of layers; builds as soon as the input shape is known.

    The input shape comes from an `Input(...)` added first, from `input_shape=` on
    the first layer, or from the first batch of data given to fit/evaluate/predict.

    >>> from fastnn.layers import Dense
    >>> model = Sequential()
    >>> model.add(Dense(32, input_shape=(4,), activation="relu"))
    >>> model.add(Dense(3, activation="softmax"))
    >>> model.output_shape
    (None, 3)
    """

    def __init__(self, layers=None, trainable=True, name=None):
        super().__init__(name=name, trainable=trainable)
        self._stack = []
        self._input_shape = None
        self._input_tensor = None
        for layer in layers or []:
            self.add(layer)

    def _default_name(self):
        return "sequential"

    def add(self, layer, rebuild=True):
        """Add a layer on top of the stack (or an `Input(...)` to fix the input shape)."""
        if isinstance(layer, KerasTensor) and isinstance(layer.node.layer, InputLayer):
            layer = layer.node.layer
        if isinstance(layer, InputLayer):
            if self._stack:
                raise ValueError("An Input must be the first thing added to a Sequential model")
            self._input_shape, self._input_tensor = layer.shape, layer.output
            return
        if not isinstance(layer, Layer):
            raise ValueError(f"Only instances of `fastnn.layers.Layer` can be added to a "
                             f"Sequential model. Received: {layer!r} (of type {type(layer)})")
        if any(l is layer for l in self._stack):
            raise ValueError(f"Layer '{layer.name}' is already in this model")
        if any(l.name == layer.name for l in self._stack):
            raise ValueError(f"All layers added to a Sequential model should have unique names. "
                             f"Name '{layer.name}' is already the name of a layer in this model.")
        hint = layer.input_shape_hint
        if hint is None and isinstance(layer, Model) and layer._graph_built and \
                len(layer.inputs) == 1:  # a nested model knows its input shape
            hint = tuple(layer.inputs[0].shape)
        if not self._stack and self._input_shape is None and hint is not None:
            self._input_shape = hint
        self._stack.append(layer)
        self._graph_built = False
        if self._input_shape is not None:
            try:
                self._build_stack(self._input_shape)
            except Exception:
                self._stack.pop()
                raise

    def pop(self):
        """Remove the last layer."""
        if not self._stack:
            raise TypeError("There are no layers in the model.")
        layer = self._stack.pop()
        self._graph_built = False
        if self._stack and self._input_shape is not None:
            self._build_stack(self._input_shape)
        return layer

    def _build_stack(self, input_shape):
        if self._input_tensor is None or self._input_tensor.shape != tuple(input_shape):
            self._input_tensor = Input(tuple(input_shape[1:]))
        inputs = x = self._input_tensor
        for layer in self._stack:
            x = layer(x)
        self._set_graph([inputs], [x])

    def _ensure_graph(self, input_shapes):
        if self._graph_built:
            return
        if not self._stack:
            raise ValueError("Sequential model has no layers: add some before using it")
        if len(input_shapes) != 1:
            raise ValueError("A Sequential model has exactly one input")
        self._input_shape = tuple(input_shapes[0])
        self._build_stack(self._input_shape)

    def _expects_single_input(self):
        return True

    def build(self, input_shape=None):
        """Create the weights for inputs of `input_shape` (batch axis included, e.g.
        `(None, 8)`); without it, the shape given by an `Input` or `input_shape=`."""
        shape = input_shape if input_shape is not None else self._input_shape
        if shape is None:
            raise ValueError("You must provide an `input_shape` argument.")
        if not isinstance(shape, (list, tuple)) or len(shape) < 2 or \
                isinstance(shape[0], (list, tuple)):
            raise ValueError(f"Sequential.build expects one input shape with the batch axis, "
                             f"such as (None, 8); received input_shape={input_shape!r}")
        self._graph_built = False
        self._input_shape = tuple(shape)
        self._ensure_graph([tuple(shape)])

    @property
    def layers(self):
        return list(self._stack)

    def _input_layer_name(self):
        return self._input_tensor.node.layer.name if self._input_tensor else "input_layer"

    def keras_class_info(self):
        return "keras", "Sequential", None

    def build_input_shape(self):
        return self._input_shape

    def get_config(self):
        from fastnn.saving.serialization import sequential_config
        return sequential_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from fastnn.saving.serialization import sequential_from_config
        return sequential_from_config(cls, config, custom_objects)
