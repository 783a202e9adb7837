"""User arrays -> what the kernels read, with clear errors instead of numpy's or C's.

The kernels read float32 (labels int32), C-contiguous, in native byte order and aligned
(fastnn._C refuses anything else).  Data from users is checked here first: numeric,
real, not ragged, within float32's range, and (where it enters training or inference)
finite.  Every error names the argument or layer it is about.  Arrays too large for the machine
are a MemoryError naming their owner (`allocate`).
"""
import os

import numpy as np


def numeric_array(x, what, hint=""):
    """x as a numpy array of numbers (bool, ints or floats), or a ValueError naming `what`."""
    if x is None:
        raise ValueError(f"`{what}` is None: provide a NumPy array")
    if isinstance(x, np.ndarray):
        arr = x
    else:
        try:
            arr = np.asarray(x)
        except (ValueError, TypeError) as e:  # ragged nested lists, odd objects
            raise ValueError(f"Failed to convert `{what}` to a NumPy array: {e} "
                             f"(nested lists must all have the same length){hint}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(f"Failed to convert `{what}` to a float32 array: unsupported dtype "
                         f"{arr.dtype}. Expected numeric data (ints or floats).{hint}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError(f"`{what}` is complex ({arr.dtype}); fastnn trains on real numbers")
    return arr


def kernel_array(arr, dtype=np.float32, what="x"):
    """arr converted for the kernels: C-contiguous, native byte order, aligned (a copy
    only when needed).  Values beyond float32's range are an error, not infinity."""
    try:
        with np.errstate(over="raise"):
            out = np.asarray(arr, dtype=dtype, order="C")  # 0-d stays 0-d
    except FloatingPointError:
        with np.errstate(invalid="ignore"):
            big = float(np.nanmax(np.abs(np.asarray(arr, np.float64))))
        raise ValueError(f"`{what}` holds values too large for float32 (largest magnitude "
                         f"{big:.3g} > {np.finfo(np.float32).max:.3g})") from None
    return out if out.flags.aligned else out.copy()


def float_array(x, what, hint=""):
    """A float32 array for the kernels, with at least one (batch) dimension."""
    arr = numeric_array(x, what, hint)
    if arr.ndim == 0:
        raise ValueError(f"`{what}` must have a batch dimension, received a scalar")
    return kernel_array(arr, np.float32, what)


def string_array(x, what):
    """A model's text input (keras.Input(dtype="string")) as a NumPy array of strings with
    a batch dimension, or a ValueError naming `what`."""
    arr = x if isinstance(x, np.ndarray) else np.asarray(x)
    if arr.dtype.kind not in "USO" or (arr.dtype.kind == "O" and not all(
            isinstance(v, (str, bytes)) for v in arr.ravel())):
        raise ValueError(f"`{what}` feeds a string input (keras.Input(dtype=\"string\")): "
                         f"expected an array of str, received dtype {arr.dtype}")
    if arr.ndim == 0:
        raise ValueError(f"`{what}` must have a batch dimension, received a scalar")
    return arr


def check_finite(arr, what):
    """ValueError naming the first sample with NaN or infinity (float arrays only)."""
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        bad = int(np.argwhere(~np.isfinite(arr.reshape(len(arr), -1)))[0][0]) if arr.ndim else 0
        raise ValueError(f"`{what}` contains NaN or infinity (first at sample {bad}); "
                         f"fastnn does not train or evaluate on non-finite values")


def weight_value(value, name, shape):
    """A value for the weight `name` of `shape`: numeric, real, exactly that shape."""
    if value is None:
        raise ValueError(f"Weight {name} has shape {shape}, but the value given is None")
    arr = numeric_array(value, f"value for weight {name}")
    if arr.shape != tuple(shape):
        raise ValueError(f"Weight {name} has shape {tuple(shape)}, but the value given has "
                         f"shape {arr.shape}")
    return kernel_array(arr, np.float32, f"value for weight {name}")  # 1e300 is an error


def _physical_memory():
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


PHYSICAL_MEMORY = _physical_memory()


def allocate(shape, dtype, owner, what="an array", advice="use a smaller batch_size",
             check_only=False):
    """np.empty, with a MemoryError naming its owner (e.g. "Layer 'dense'") when the array
    cannot exist: more bytes than the machine has (refused before the OS might overcommit
    and then kill the process), or more than numpy can allocate."""
    nbytes = int(np.prod(shape, dtype=object)) * np.dtype(dtype).itemsize
    advice = (f"{owner} needs {nbytes / 2 ** 30:.3g} GiB for {what} of shape "
              f"{tuple(shape)}; {advice}")
    if PHYSICAL_MEMORY and nbytes > PHYSICAL_MEMORY:
        raise MemoryError(f"{advice}: this machine has {PHYSICAL_MEMORY / 2 ** 30:.3g} GiB")
    if check_only:
        return None
    try:
        return np.empty(shape, dtype=dtype)
    except (MemoryError, ValueError) as e:  # ValueError: "array is too big"
        raise MemoryError(f"{advice} ({e})") from None


def weight_list(weights, owner):
    """`weights` as a list, or a clear error (set_weights takes a list of arrays)."""
    if isinstance(weights, np.ndarray) or not hasattr(weights, "__iter__") or \
            isinstance(weights, (str, bytes, dict)):
        raise ValueError(f"`set_weights` on {owner} expects a list of NumPy arrays, received "
                         f"{type(weights).__name__}")
    return list(weights)
