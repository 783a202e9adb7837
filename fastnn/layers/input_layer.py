"""Input: the symbolic entry point of a Functional model."""
from fastnn.layers.layer import KerasTensor, Layer, Node


class InputLayer(Layer):
    def __init__(self, shape=None, batch_size=None, name=None, **kwargs):
        for legacy in ("input_shape", "batch_input_shape"):
            if legacy in kwargs:
                value = kwargs.pop(legacy)
                shape = tuple(value)[1:] if legacy == "batch_input_shape" else value
        dtype = kwargs.pop("dtype", None)
        if isinstance(dtype, dict):  # a DTypePolicy config
            dtype = (dtype.get("config") or {}).get("name")
        # "string": raw text for a TextVectorization/StringLookup first layer (inference
        # and training on string arrays); every other dtype is fed as float32
        self.input_dtype = "string" if dtype in ("string", "str") else "float32"
        super().__init__(name=name, **kwargs)
        if shape is None:
            raise ValueError("You must pass a `shape` argument to Input, e.g. Input((28, 28, 1))")
        if isinstance(shape, int):
            shape = (shape,)
        shape = tuple(shape)
        if any(d is not None and (not isinstance(d, int) or d <= 0) for d in shape):
            raise ValueError(f"Input shape must be a tuple of positive ints, received shape={shape}")
        self.shape = (batch_size,) + shape
        self.built = True
        node = Node(self, [], [])
        node.outputs.append(KerasTensor(self.shape, node, 0, name=self.name))
        node.outputs[0].dtype = self.input_dtype
        self._inbound_nodes.append(node)

    def compute_output_shape(self, input_shape):
        return self.shape

    def forward(self, x, training=False):
        return x

    def backward(self, dy, need_dx=True):
        return None

    def get_config(self):
        return {"batch_shape": list(self.shape), "dtype": self.input_dtype, "sparse": False,
                "ragged": False, "name": self.name, "optional": False}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for flag in ("sparse", "ragged", "optional"):
            if config.pop(flag, False):
                raise ValueError(f"InputLayer: {flag}=True is not supported by fastnn")
        batch_shape = config.pop("batch_shape", None) or config.pop("batch_input_shape", None)
        if not isinstance(batch_shape, (list, tuple)) or len(batch_shape) < 2:
            raise ValueError(f"InputLayer config needs a `batch_shape` list such as "
                             f"[None, 28, 28, 1], received {batch_shape!r}")
        return cls(shape=tuple(batch_shape)[1:], batch_size=batch_shape[0], **config)


def Input(shape=None, batch_size=None, dtype=None, name=None, batch_shape=None, **kwargs):
    """A symbolic tensor to start a Functional model: `Input((28, 28, 1))`.

    Args:
        shape: tuple of ints, not including the batch size.
        batch_size: optional fixed batch size (informational).
        name: optional name of the input layer.
        batch_shape: alternative to shape, including the batch dimension.

    >>> Input((4,)).shape
    (None, 4)
    """
    if kwargs:
        raise TypeError(f"Unrecognized keyword arguments passed to Input: {kwargs}")
    if batch_shape is not None:
        shape, batch_size = tuple(batch_shape)[1:], tuple(batch_shape)[0]
    if name is None:
        from fastnn.layers.layer import unique_name
        name = unique_name("input_layer")
    return InputLayer(shape=shape, batch_size=batch_size, name=name, dtype=dtype).output
