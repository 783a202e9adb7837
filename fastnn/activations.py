"""Activations by name, each a forward/backward pair on the C kernels.

Keras's functions: linear, relu, sigmoid, tanh, softmax, elu, selu, gelu (exact; the
tanh approximation through `apply("gelu", x, approximate=True)`), silu/swish, softplus,
softsign, hard_sigmoid, hard_silu/hard_swish, leaky_relu (slope 0.2, as Keras's
function; the LeakyReLU layer's default is 0.3), relu6, exponential, mish, log_softmax.

forward(x) overwrites x with the activation (layers own their buffers); backward(dy, y)
overwrites dy with the gradient, using only the forward output y.
"""
import numpy as np

from fastnn import _C


class Activation:
    def __init__(self, name, forward, backward):
        self.name, self._forward, self._backward = name, forward, backward

    def forward(self, x):
        return x if self._forward is None else self._forward(x, out=x)

    def backward(self, dy, y):
        return dy if self._backward is None else self._backward(dy, y, out=dy)

    def __call__(self, x, **kwargs):
        """Apply to any array, Keras style: returns a new float32 array.  Keras's
        arguments are taken too: relu(x, negative_slope=, max_value=, threshold=),
        gelu(x, approximate=), elu(x, alpha=), leaky_relu(x, negative_slope=),
        softmax(x, axis=), log_softmax(x, axis=)."""
        if kwargs:
            return apply(self.name, x, **kwargs)
        return self.forward(np.array(x, dtype=np.float32))

    def __repr__(self):
        return f"<activation {self.name}>"


linear = Activation("linear", None, None)
relu = Activation("relu", _C.relu_forward, _C.relu_backward)
sigmoid = Activation("sigmoid", _C.sigmoid_forward, _C.sigmoid_backward)
tanh = Activation("tanh", _C.tanh_forward, _C.tanh_backward)
softmax = Activation("softmax", _C.softmax_forward, _C.softmax_backward)



class KindActivation(Activation):
    """An activation of fnn_activation_forward/backward (csrc/activations.c).  Its
    derivative needs the forward input x, so `forward` keeps a copy of x per output
    buffer (layers reuse their buffers, so the copies are reused too) for `backward`."""

    def __init__(self, name, kind, p0=0.0, p1=0.0, p2=0.0):
        self.name, self.kind, self.params = name, kind, (float(p0), float(p1), float(p2))
        self._saved = {}

    @staticmethod
    def _key(a):
        return a.__array_interface__["data"][0], a.shape

    def forward(self, x):
        key = self._key(x)
        saved = self._saved.get(key)
        if saved is None:
            saved = self._saved[key] = np.empty_like(x)
        np.copyto(saved, x)
        return _C.activation_forward(x, self.kind, *self.params, out=x)

    def backward(self, dy, y):
        x = self._saved[self._key(y)]
        return _C.activation_backward(dy, x, y, self.kind, *self.params, out=dy)

    def apply(self, x):
        """f(x) into a new array, x untouched (no copy kept: for layers that own x)."""
        return _C.activation_forward(x, self.kind, *self.params)

    def __call__(self, x, **kwargs):
        if kwargs:
            return apply(self.name, x, **kwargs)
        return self.apply(np.array(x, dtype=np.float32))


class _LogSoftmax(Activation):
    def __init__(self):
        super().__init__("log_softmax", _C.log_softmax_forward, _C.log_softmax_backward)


elu = KindActivation("elu", "elu", 1.0)
selu = KindActivation("selu", "selu")
gelu = KindActivation("gelu", "gelu")
silu = KindActivation("silu", "silu")
softplus = KindActivation("softplus", "softplus")
softsign = KindActivation("softsign", "softsign")
hard_sigmoid = KindActivation("hard_sigmoid", "hard_sigmoid")
hard_silu = KindActivation("hard_silu", "hard_silu")
leaky_relu = KindActivation("leaky_relu", "leaky_relu", 0.2)
relu6 = KindActivation("relu6", "relu6")
exponential = KindActivation("exponential", "exponential")
mish = KindActivation("mish", "mish")
log_softmax = _LogSoftmax()
swish, hard_swish = silu, hard_silu  # Keras's aliases (saved as "silu", "hard_silu")

_BY_NAME = {a.name: a for a in (linear, relu, sigmoid, tanh, softmax, elu, selu, gelu, silu,
                                softplus, softsign, hard_sigmoid, hard_silu, leaky_relu, relu6,
                                exponential, mish, log_softmax)}
_ALIASES = {"swish": silu, "hard_swish": hard_silu}

# Activations with arguments, as Keras's functions take them: the activation a layer
# gets for these arguments (the defaults give the named one above).
_VARIANTS = {}


def variant(name, kind, p0=0.0, p1=0.0, p2=0.0):
    """The shared KindActivation for (kind, parameters), e.g. leaky_relu with slope 0.1."""
    key = (kind, float(p0), float(p1), float(p2))
    if key not in _VARIANTS:
        _VARIANTS[key] = KindActivation(name, kind, p0, p1, p2)
    return _VARIANTS[key]


def _f32(x):
    return np.array(x, dtype=np.float32)


def apply(name, x, **kwargs):
    """Keras's function form, e.g. apply("gelu", x, approximate=True): a new float32 array."""
    x = _f32(x)
    if name == "gelu" and kwargs.pop("approximate", False):
        return _C.activation_forward(x, "gelu_tanh")
    if name == "leaky_relu":
        return _C.activation_forward(x, "leaky_relu", kwargs.pop("negative_slope", 0.2))
    if name == "elu":
        return _C.activation_forward(x, "elu", kwargs.pop("alpha", 1.0))
    if name == "relu" and kwargs:
        mv = kwargs.pop("max_value", None)
        return _C.activation_forward(x, "relu", np.inf if mv is None else mv,
                                     kwargs.pop("negative_slope", 0.0),
                                     kwargs.pop("threshold", 0.0))
    if name in ("softmax", "log_softmax") and kwargs.get("axis", -1) not in (-1, x.ndim - 1):
        axis = kwargs.pop("axis")
        moved = np.ascontiguousarray(np.moveaxis(x, axis, -1))
        return np.moveaxis(apply(name, moved), -1, axis)
    kwargs.pop("axis", None)
    if kwargs:
        raise TypeError(f"{name}() got unexpected keyword arguments {sorted(kwargs)}")
    return get(name)(x)


def get(identifier):
    """An activation from a name, None ('linear') or an Activation."""
    if identifier is None:
        return linear
    if isinstance(identifier, Activation):
        return identifier
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]
    if isinstance(identifier, str) and identifier in _ALIASES:
        return _ALIASES[identifier]
    if isinstance(identifier, dict) and identifier.get("class_name") == "function":
        return get(_function_from_record(identifier))  # a function as Keras 3 saves it
    if isinstance(identifier, dict) and "config" in identifier:  # a callable object
        from fastnn.keras._saving import deserialize_keras_object
        found = deserialize_keras_object(identifier)
        if found is not identifier and callable(found):
            return get(found)
    elif callable(identifier):
        return FunctionActivation(identifier)
    raise ValueError(f"Could not interpret activation function identifier: {identifier!r}. "
                     f"Available activations: {sorted(_BY_NAME)}")


def serialize(activation):
    """A built-in activation's name; a user function as Keras 3 writes one:
    `{"module": "builtins", "class_name": "function", "config": its registered name
    ("package>name") or its name, "registered_name": "function"}`."""
    if isinstance(activation, FunctionActivation):
        return activation.serialize()
    return activation.name


# ---- user functions as activations ------------------------------------------------------

def _function_from_record(record):
    """The function a Keras 3 record `{"class_name": "function", "config": name, ...}`
    names: a custom object (passed to load_model, scoped or registered), else one of
    Keras's activations (a string for those)."""
    from fastnn.saving.custom_objects import all_custom_objects
    name = record.get("config")
    if not isinstance(name, str):
        raise ValueError(f"Could not interpret activation function identifier: {record!r}")
    found = all_custom_objects().get(name)
    if found is not None:
        return found
    if name in _BY_NAME or name in _ALIASES:
        return name
    raise ValueError(f"Could not locate function '{name}'. Make sure custom classes and "
                     f"functions are decorated with "
                     f"`@keras.saving.register_keras_serializable()`, or pass them in "
                     f"`custom_objects` or a `custom_object_scope`. Full object config: "
                     f"{record}")


class FunctionActivation(Activation):
    """A Python function (or callable object) as an activation:
    `Dense(1, activation=custom_fn)` with `def custom_fn(x): return x**2`.

    `forward` runs the function on a copy of the layer's output, recording its keras.ops
    (and Python operators) on a tape of its own, kept per output buffer (layers reuse
    their buffers, so the tapes are reused too); `backward` runs that tape's reverse pass
    with the incoming gradient.  Built-in activations stay C kernel pairs; this is the
    path for the functions users write."""

    def __init__(self, fn):
        self.fn = fn
        self.name = getattr(fn, "__name__", type(fn).__name__)
        self._saved = {}  # output buffer -> (tape, input slot, output slot)

    _key = staticmethod(KindActivation._key)

    def forward(self, x):
        from fastnn.autodiff import tape as _tape
        key = self._key(x)
        saved = self._saved.get(key)
        tape = saved[0] if saved is not None else _tape.Tape()
        tape.reset()
        inp = tape.wrap(np.array(x, dtype=np.float32))
        with _tape.recording(tape):
            out = self.fn(inp)
        out_slot = tape.slot_of(out) if isinstance(out, _tape.Tensor) else -1
        result = np.asarray(_tape.value(out), dtype=np.float32)
        if result.shape != x.shape:
            raise ValueError(f"The activation {self.name!r} returned an array of shape "
                             f"{result.shape} for an input of shape {x.shape}: an activation "
                             f"must keep its input's shape")
        self._saved[key] = (tape, inp._slot, out_slot)
        x[...] = result
        return x

    def backward(self, dy, y):
        from fastnn.autodiff import tape as _tape
        tape, in_slot, out_slot = self._saved[self._key(y)]
        if out_slot < 0:  # the result does not depend on the input
            dy[...] = 0
            return dy
        with _tape.paused():
            grads = tape.backward([(out_slot, np.array(dy, dtype=np.float32))])
        g = grads[in_slot]
        dy[...] = 0 if g is None else g
        return dy

    def __call__(self, x, **kwargs):
        return self.fn(x, **kwargs)

    def serialize(self):
        import types
        from fastnn.saving.custom_objects import get_registered_name
        if not isinstance(self.fn, types.FunctionType):  # a callable object
            from fastnn.keras._saving import serialize_keras_object
            return serialize_keras_object(self.fn)
        return {"module": "builtins", "class_name": "function",
                "config": get_registered_name(self.fn), "registered_name": "function"}

    def __repr__(self):
        return f"<activation {self.name} (a Python function)>"
