"""fastnn: Keras-compatible neural-network training on the CPU, on our own C/OpenMP kernels."""
__version__ = "0.1.0"

from fastnn import config as _config

try:
    with _config.openmp_wait_policy():  # waiting threads sleep: see config.py
        from fastnn import _C
except ImportError as exc:  # never fall back to NumPy silently
    raise ImportError(
        "fastnn's compiled kernels (fastnn._C) could not be imported: " + str(exc) + "\n"
        "Build and install fastnn with `pip install .` from the source tree (a C compiler "
        "with OpenMP is needed), and do not run Python from inside the source folder "
        "unless the extension was built in place (`python setup.py build_ext --inplace`)."
    ) from exc

from fastnn import _fork  # noqa: F401  (one thread in a forked child: libgomp would hang)
from fastnn import team as _team

if _config.NUM_THREADS is not None:
    if _config.NUM_THREADS > _C.max_threads():
        raise ValueError(f"FASTNN_NUM_THREADS must be at most {_C.max_threads()}, received "
                         f"FASTNN_NUM_THREADS={_config.NUM_THREADS}")
    _C.set_num_threads(_config.NUM_THREADS)
if _config.ISA is not None:
    _C.select_isa(_config.ISA)


def set_num_threads(n):
    """Set the number of threads every fastnn kernel uses.

    Without it, `fit` starts with every core and runs on fewer while other programs keep
    cores busy (fastnn/team.py); a count set here is kept as it is.

    Args:
        n: a positive int. Without OpenMP the kernels stay single-threaded.

    >>> import fastnn
    >>> old = fastnn.get_num_threads()
    >>> fastnn.set_num_threads(1); fastnn.get_num_threads()
    1
    >>> fastnn.set_num_threads(old)
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"set_num_threads expects an int, received {n!r}")
    _team.choose_thread_count(n)  # at most _C.max_threads(); 1 in a forked child (see README)


def get_num_threads():
    """The number of threads fastnn's kernels use."""
    return _C.get_num_threads()


def show_config(file=None):
    """Print how this fastnn was built and what it will run: OpenMP, threads, GEMM ISA."""
    import platform
    import numpy as np
    omp = "yes" if _C.has_openmp() else "NO -- built without OpenMP, kernels run single-threaded"
    lines = [
        f"fastnn {__version__}",
        f"  python      {platform.python_version()} ({platform.machine()})",
        f"  numpy       {np.__version__}",
        f"  openmp      {omp}",
        f"  threads     {_C.get_num_threads()} (of {_C.max_hardware_threads()} processors)"
        + (" -- forked child: 1 thread, see fastnn/_fork.py" if _C.is_single_threaded_child()
           else ""),
        f"  gemm isa    {_C.gemm_isa()} (available: {', '.join(_C.gemm_isa_list())})",
    ]
    print("\n".join(lines), file=file)
