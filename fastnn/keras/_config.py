"""`keras.config` and the `keras.backend` functions tutorials still call.

fastnn has one backend, float32 and channels-last: the getters return those, and the
setters accept them and refuse anything else with a clear error (never silently ignored).
"""
import numpy as np

from fastnn.layers.layer import KerasTensor
from fastnn.utils.output_style import (disable_interactive_logging,  # noqa: F401 (keras names)
                                       enable_interactive_logging,
                                       is_interactive_logging_enabled)

EPSILON = 1e-7  # fastnn's losses clip probabilities with Keras's default fuzz factor
_uids = {}


def backend():
    """The name of the backend: always "fastnn"."""
    return "fastnn"


def floatx():
    return "float32"


def set_floatx(value):
    if value != "float32":
        raise ValueError(f"fastnn computes in float32 only; set_floatx({value!r}) is not "
                         f"supported")


def epsilon():
    return EPSILON


def set_epsilon(value):
    if value != EPSILON:
        raise ValueError(f"fastnn's losses use Keras's default epsilon {EPSILON}; "
                         f"set_epsilon({value!r}) is not supported")


def image_data_format():
    return "channels_last"


def set_image_data_format(data_format):
    if data_format != "channels_last":
        raise ValueError(f"fastnn works channels-last only; set_image_data_format("
                         f"{data_format!r}) is not supported")


def set_backend(backend):
    raise ValueError(f"fastnn.keras has one backend, fastnn; to use {backend!r}, run the "
                     f"script with real Keras")


def clear_session(free_memory=True):
    """Forget the automatic layer and model names (the next Dense is 'dense' again), as
    Keras's clear_session does; fastnn keeps no other global graph state."""
    from fastnn.layers import layer
    layer.reset_names()
    _uids.clear()


def get_uid(prefix=""):
    """1, 2, 3... per prefix, as Keras's `backend.get_uid`."""
    _uids[prefix] = _uids.get(prefix, 0) + 1
    return _uids[prefix]


def is_keras_tensor(x):
    return isinstance(x, KerasTensor)


def standardize_dtype(dtype):
    if dtype is None:
        return "float32"
    if hasattr(dtype, "name") and isinstance(dtype.name, str) and not isinstance(dtype, type):
        return np.dtype(dtype.name).name if dtype.name != "bool" else "bool"
    return np.dtype(dtype).name


def is_float_dtype(dtype):
    return standardize_dtype(dtype).startswith(("float", "bfloat"))


def is_int_dtype(dtype):
    return standardize_dtype(dtype).startswith(("int", "uint"))


def result_type(*dtypes):
    return np.result_type(*[standardize_dtype(d) for d in dtypes]).name
