"""Lambda: a layer from a function of its input written with keras.ops (trained by the tape)."""
import sys

from fastnn.layers.layer import Layer


class Lambda(Layer):
    """Wraps an arbitrary function of the input (written with keras.ops) as a layer.

    Args:
        function: called as `function(inputs, **arguments)`.
        output_shape: the output shape without the batch (a tuple, or a function of the
            input shape); inferred by running the function on a small batch when None.
        mask: not supported by fastnn (must be None).
        arguments: optional dict of keyword arguments for `function`.

    Saving writes a named function by its module and name; loading finds it in
    `custom_objects` or in an already imported module (a lambda cannot be saved).

    >>> import numpy as np
    >>> from fastnn.autodiff import ops
    >>> Lambda(lambda x: ops.square(x))(np.array([[1.0, 2.0]])).tolist()
    [[1.0, 4.0]]
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(function, dict):
            function = _resolve(function)
        if not callable(function):
            raise ValueError(f"Lambda: `function` must be callable, received {function!r}")
        if mask is not None:
            raise ValueError("Lambda: mask= is not supported by fastnn")
        self.function = function
        self.arguments = dict(arguments or {})
        self._output_shape = output_shape

    def call(self, inputs):
        return self.function(inputs, **self.arguments)

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            from fastnn.autodiff.layers import inferred_output_shape
            return inferred_output_shape(self, input_shape)
        if callable(self._output_shape):
            return tuple(self._output_shape(input_shape))
        return (input_shape[0],) + tuple(self._output_shape)

    def get_config(self):
        fn = self.function
        if fn.__name__ == "<lambda>" or "<locals>" in fn.__qualname__:
            raise ValueError("Lambda: a lambda or a nested function cannot be saved by fastnn; "
                             "use a function defined at module level (found again by name "
                             "when loading)")
        output_shape = self._output_shape
        if callable(output_shape):
            raise ValueError("Lambda: a function output_shape cannot be saved by fastnn")
        return {**super().get_config(),
                "function": {"module": fn.__module__, "class_name": "function",
                             "config": fn.__name__, "registered_name": "function"},
                "arguments": self.arguments,
                "output_shape": None if output_shape is None else list(output_shape)}


def _resolve(config):
    """A saved function: by name in a module that is already imported (loading a file
    never imports code)."""
    name, module = config.get("config"), config.get("module")
    if config.get("class_name") == "__lambda__":
        raise ValueError("This file holds a Lambda layer's bytecode (a Python lambda saved by "
                         "Keras): fastnn does not load bytecode. Define the function, and pass "
                         "the Lambda layer or function in custom_objects")
    mod = sys.modules.get(module)
    fn = getattr(mod, name, None) if mod is not None and isinstance(name, str) else None
    if not callable(fn):
        raise ValueError(f"Lambda: could not find the function {module}.{name}: import its "
                         f"module before loading")
    return fn
