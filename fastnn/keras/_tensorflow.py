"""The `tensorflow` a script sees under the runner: a stand-in holding only `keras`.

`import tensorflow as tf; tf.keras.layers.Dense(...)` and `from tensorflow import keras`
work; so do the few TensorFlow pieces Keras tutorials use around a model and fastnn
has: `tf.random.set_seed`, `tf.random.normal/uniform/truncated_normal`, `tf.function`
(a transparent decorator: fastnn runs eagerly), `tf.Variable`, `tf.GradientTape`
(fastnn.autodiff's tape, for the custom `train_step` of the "customizing fit" guide),
`tf.data.Dataset`/`tf.data.AUTOTUNE` (the hook: `DATA_SOURCES`),
`tf.strings.lower/upper/strip/regex_replace` (for text standardization: `_tf_strings`),
and the array functions the guides' train steps call
(`tf.concat`, `tf.shape`, `tf.expand_dims`, ..., `tf.nn.softmax`: `ARRAY_FUNCTIONS`
and `NN_FUNCTIONS`, run as keras.ops, so a GradientTape records them) with the dtype
names (`tf.float32`, ...).  Anything else a script asks of
TensorFlow itself is named: `AttributeError: fastnn's tensorflow stand-in has no
tf.linalg; run this script with real TensorFlow`.
"""
import functools
import types

from fastnn.keras import _tf_strings

# tf.data names -> where fastnn keeps them (searched in order; a module that has not
# landed yet is skipped, and the name then reports itself as missing).
DATA_SOURCES = ["fastnn.utils.dataset", "fastnn.data"]
DATA_NAMES = ("Dataset", "AUTOTUNE", "Options")


def _transposed(x):
    from fastnn.keras import ops
    return ops.transpose(x)  # (recorded on a tape, as `x.T` would not be)


# tf.<name> -> (the keras.ops function, how TensorFlow's arguments map onto it)
ARRAY_FUNCTIONS = {
    "concat": ("concatenate", lambda values, axis: ((values,), {"axis": axis})),
    "shape": ("shape", lambda input, out_type=None, name=None: ((input,), {})),
    "ones": ("ones", lambda shape, dtype="float32", name=None: ((shape,), {"dtype": dtype})),
    "zeros": ("zeros", lambda shape, dtype="float32", name=None: ((shape,), {"dtype": dtype})),
    "reshape": ("reshape", lambda tensor, shape, name=None: ((tensor, shape), {})),
    "reduce_mean": ("mean", lambda input_tensor, axis=None, keepdims=False, name=None:
                    ((input_tensor,), {"axis": axis, "keepdims": keepdims})),
    "reduce_sum": ("sum", lambda input_tensor, axis=None, keepdims=False, name=None:
                   ((input_tensor,), {"axis": axis, "keepdims": keepdims})),
    "square": ("square", lambda x, name=None: ((x,), {})),
    "abs": ("abs", lambda x, name=None: ((x,), {})),
    "sqrt": ("sqrt", lambda x, name=None: ((x,), {})),
    "exp": ("exp", lambda x, name=None: ((x,), {})),
    "reduce_max": ("max", lambda input_tensor, axis=None, keepdims=False, name=None:
                   ((input_tensor,), {"axis": axis, "keepdims": keepdims})),
    "reduce_min": ("min", lambda input_tensor, axis=None, keepdims=False, name=None:
                   ((input_tensor,), {"axis": axis, "keepdims": keepdims})),
    "expand_dims": ("expand_dims", lambda input, axis, name=None: ((input, axis), {})),
    "squeeze": ("squeeze", lambda input, axis=None, name=None: ((input,), {"axis": axis})),
    "cast": ("cast", lambda x, dtype, name=None: ((x, dtype), {})),
    # TensorFlow's argmax/argmin default to axis 0, not to the flattened array
    "argmax": ("argmax", lambda input, axis=None, output_type=None, name=None:
               ((input,), {"axis": 0 if axis is None else axis})),
    "argmin": ("argmin", lambda input, axis=None, output_type=None, name=None:
               ((input,), {"axis": 0 if axis is None else axis})),
    "stack": ("stack", lambda values, axis=0, name="stack": ((values,), {"axis": axis})),
    "transpose": ("transpose", lambda a, perm=None, conjugate=False, name="transpose":
                  ((a,), {"axes": perm})),
    "matmul": ("matmul", lambda a, b, transpose_a=False, transpose_b=False, name=None:
               ((_transposed(a) if transpose_a else a, _transposed(b) if transpose_b else b),
                {})),
    "constant": ("convert_to_tensor", lambda value, dtype=None, shape=None, name="Const":
                 ((value,), {"dtype": dtype})),
    "convert_to_tensor": ("convert_to_tensor", lambda value, dtype=None, dtype_hint=None,
                          name=None: ((value,), {"dtype": dtype})),
}
# tf.float32, ...: TensorFlow's dtypes, as the names keras.ops and NumPy take
DTYPES = {"float16": "float16", "float32": "float32", "float64": "float64",
          "int8": "int8", "int16": "int16", "int32": "int32", "int64": "int64",
          "uint8": "uint8", "bool": "bool", "string": "string"}
# tf.nn.<name> -> the same
NN_FUNCTIONS = {
    "softmax": ("softmax", lambda logits, axis=None, name=None:
                ((logits,), {"axis": -1 if axis is None else axis})),
    "relu": ("relu", lambda features, name=None: ((features,), {})),
    "sigmoid": ("sigmoid", lambda x, name=None: ((x,), {})),
    "tanh": ("tanh", lambda x, name=None: ((x,), {})),
}


def _array_function(name, table=ARRAY_FUNCTIONS, prefix="tf"):
    op_name, convert = table[name]

    def call(*args, **kwargs):
        from fastnn._eager import eager
        from fastnn.keras import ops
        op_args, op_kwargs = convert(*args, **kwargs)
        return eager(getattr(ops, op_name)(*op_args, **op_kwargs))  # with .numpy()
    call.__name__ = call.__qualname__ = name
    call.__doc__ = (f"`{prefix}.{name}`, as `keras.ops.{op_name}` (fastnn's tensorflow "
                    f"stand-in).")
    return call


def _absent(path):
    return AttributeError(f"fastnn's tensorflow stand-in has no {path}; run this script "
                          f"with real TensorFlow")


class _StandIn(types.ModuleType):
    """A module whose unknown attributes say they belong to real TensorFlow."""

    def __init__(self, name, path, attrs):
        super().__init__(name)
        self._path = path
        self.__path__ = []
        self.__dict__.update(attrs)

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return self._lookup(attr)

    def _lookup(self, attr):
        raise _absent(f"{self._path}.{attr}")


class _Data(_StandIn):
    def _lookup(self, attr):
        if attr in DATA_NAMES:
            from fastnn.keras._namespace import _import_optional
            for source in DATA_SOURCES:
                module = _import_optional(source)
                if module is not None and hasattr(module, attr):
                    return getattr(module, attr)
            raise AttributeError(f"fastnn's tensorflow stand-in has no tf.data.{attr} yet "
                                 f"(fastnn's dataset object has not landed); pass NumPy "
                                 f"arrays to fit, or run this script with real TensorFlow")
        return super()._lookup(attr)


def _set_seed(seed):
    """`tf.random.set_seed`: seeds fastnn's generator (weights, shuffling, dropout)."""
    from fastnn import random
    random.set_seed(seed)
    _op_streams.clear()  # as TensorFlow, which restarts every op seed's sequence


# --- tf.function and TensorFlow's random draws (the custom training loop guide) ---

def function(func=None, input_signature=None, autograph=True, jit_compile=None,
             reduce_retracing=False, experimental_implements=None,
             experimental_autograph_options=None, experimental_attributes=None,
             experimental_relax_shapes=None, experimental_compile=None,
             experimental_follow_type_hints=None):
    """`tf.function`: fastnn runs every step eagerly, so the decorated function is run as
    it is (TensorFlow would trace it into a graph that computes the same values).  Works
    bare (`@tf.function`) and with arguments (`@tf.function(jit_compile=True)`); the
    result keeps TensorFlow's `.python_function`."""
    if func is None:
        return lambda f: function(f)
    if not callable(func):
        raise TypeError(f"{func!r} is not a callable object")

    @functools.wraps(func)
    def run(*args, **kwargs):
        return func(*args, **kwargs)
    run.python_function = func
    return run


# op seed -> its own generator, as TensorFlow's ops with a `seed=` draw a sequence of
# their own (a new value at each call, the same sequence after tf.random.set_seed)
_op_streams = {}


def _op_generator(seed):
    import numpy as np
    if seed is None:
        from fastnn import random
        return random.generator()
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"`seed` must be an int or None. Received: seed={seed!r}")
    if int(seed) not in _op_streams:
        _op_streams[int(seed)] = np.random.default_rng(int(seed))
    return _op_streams[int(seed)]


def _draw_shape(shape):
    import numpy as np
    return tuple(int(d) for d in np.asarray(shape, dtype=np.int64).reshape(-1))


def _float_dtype(dtype, op):
    import numpy as np
    dtype = np.dtype(DTYPES.get(dtype, dtype) if isinstance(dtype, str) else dtype)
    if dtype.kind != "f":
        raise TypeError(f"tf.random.{op} draws floating-point values; received "
                        f"dtype={dtype.name}")
    return dtype


def _random_normal(shape, mean=0.0, stddev=1.0, dtype="float32", seed=None, name=None):
    """`tf.random.normal`: draws from N(mean, stddev**2)."""
    from fastnn._eager import eager
    dtype = _float_dtype(dtype, "normal")
    return eager(_op_generator(seed).normal(mean, stddev, _draw_shape(shape)).astype(dtype))


def _random_uniform(shape, minval=0, maxval=None, dtype="float32", seed=None, name=None):
    """`tf.random.uniform`: draws from [minval, maxval) (maxval 1 for floats; an integer
    dtype needs maxval)."""
    import numpy as np
    from fastnn._eager import eager
    dtype = np.dtype(DTYPES.get(dtype, dtype) if isinstance(dtype, str) else dtype)
    gen, size = _op_generator(seed), _draw_shape(shape)
    if dtype.kind in "iu":
        if maxval is None:
            raise ValueError(f"Must specify maxval for integer dtype tf.{dtype.name}")
        return eager(gen.integers(minval, maxval, size).astype(dtype))
    dtype = _float_dtype(dtype, "uniform")
    high = 1.0 if maxval is None else maxval
    return eager(gen.uniform(minval, high, size).astype(dtype))


def _random_truncated_normal(shape, mean=0.0, stddev=1.0, dtype="float32", seed=None,
                             name=None):
    """`tf.random.truncated_normal`: normal draws more than two standard deviations from
    the mean are drawn again."""
    from fastnn._eager import eager
    dtype = _float_dtype(dtype, "truncated_normal")
    gen, size = _op_generator(seed), _draw_shape(shape)
    out = gen.normal(0.0, 1.0, size)
    bad = abs(out) > 2
    while bad.any():
        out[bad] = gen.normal(0.0, 1.0, int(bad.sum()))
        bad = abs(out) > 2
    return eager((mean + stddev * out).astype(dtype))


def Variable(initial_value=None, trainable=None, validate_shape=True, caching_device=None,
             name=None, variable_def=None, dtype=None, import_scope=None, constraint=None,
             synchronization="auto", aggregation="none", shape=None,
             experimental_enable_variable_lifting=True):
    """`tf.Variable`: a keras.Variable (float32, as fastnn's variables are) named
    "Variable" by default, as TensorFlow names them."""
    from fastnn.layers.layer import Variable as _Variable
    if initial_value is None:
        raise ValueError("initial_value must be specified.")
    var = _Variable(initial_value, dtype=DTYPES.get(dtype, dtype) if isinstance(dtype, str)
                    else dtype, trainable=True if trainable is None else bool(trainable),
                    name="Variable" if name is None else name)
    if shape is not None and tuple(shape) != var.shape:
        raise ValueError(f"The initial value's shape ({var.shape}) is not compatible with "
                         f"the explicitly supplied `shape` argument ({tuple(shape)}).")
    var.constraint = constraint
    return var


RANDOM_FUNCTIONS = {"set_seed": _set_seed, "normal": _random_normal,
                    "uniform": _random_uniform, "truncated_normal": _random_truncated_normal}


_module = None
_submodules = None


def submodules():
    """`tf.data` and `tf.random` (besides `tf.keras`), by their names under tensorflow."""
    global _submodules
    if _submodules is None:
        _submodules = {
            "data": _Data("tensorflow.data", "tf.data", {}),
            "random": _StandIn("tensorflow.random", "tf.random", dict(RANDOM_FUNCTIONS)),
            "nn": _StandIn("tensorflow.nn", "tf.nn", {
                name: _array_function(name, NN_FUNCTIONS, "tf.nn") for name in NN_FUNCTIONS}),
            "strings": _StandIn("tensorflow.strings", "tf.strings", _tf_strings.FUNCTIONS),
        }
    return _submodules


def module():
    """The `tensorflow` stand-in module."""
    global _module
    if _module is None:
        import fastnn
        import fastnn.keras
        from fastnn.autodiff import GradientTape
        attrs = {"keras": fastnn.keras, "GradientTape": GradientTape, "function": function,
                 "Variable": Variable,
                 "__version__":
                 f"fastnn-{fastnn.__version__} (tensorflow stand-in)",
                 "__doc__": __doc__}
        attrs.update(submodules())
        attrs.update({name: _array_function(name) for name in ARRAY_FUNCTIONS})
        attrs.update(DTYPES)
        _module = _StandIn("tensorflow", "tf", attrs)
    return _module
