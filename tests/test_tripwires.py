"""Tripwires: the kernel module, its NumPy twins and the public `fastnn.ops` stay the same
set of operations, so a kernel cannot land without its twin (the test oracle) or its
public face.  (Layers without a conformance row are caught in test_layer_conformance.py.)"""
import inspect
import os

import fastnn
from fastnn import _C, _reference, ops

# _C's functions that are not operations: configuration, workspace sizes, shape helpers.
C_INFRASTRUCTURE = {"conv2d_set_winograd", "fork_child_single_threaded", "gemm_blocking",
                    "gemm_isa", "gemm_isa_list", "gemm_peak_flops", "get_num_threads",
                    "has_openmp", "is_single_threaded_child", "isa_sites", "isa_sites_reset",
                    "kernels_ran",
                    "max_hardware_threads", "max_threads", "normalize_padding", "conv2d_output_shape",
                    "gconv2d_output_shape", "gconv2d_uses_gemm",
                    "conv2d_relu_maxpool2d_uses_winograd",
                    "normalize_pair", "select_isa", "set_num_threads", "window_geometry",
                    "rnn_gates", "rnn_state_size"}
# Twins and ops with no kernel of their own.
NOT_KERNELS = {"conv2d_output_shape", "gconv2d_output_shape"}
# Kernels used only inside others' twins/tests, with no public op.
INTERNAL_KERNELS = {"dropout_bits"}


def _functions(module):
    """The module's own functions (a package's: those of its modules) and _C's it re-exports."""
    def own(where):
        return where in (module.__name__, "fastnn._C") or where.startswith(module.__name__ + ".")
    return {name for name, value in vars(module).items()
            if callable(value) and not name.startswith("_") and not inspect.isclass(value)
            and own(getattr(value, "__module__", module.__name__))}


def c_kernels():
    names = {n for n in dir(_C) if not n.startswith("_") and callable(getattr(_C, n))
             and not inspect.isclass(getattr(_C, n))}
    return {n for n in names - C_INFRASTRUCTURE if not n.endswith("_workspace_size")}


def test_every_kernel_has_a_numpy_twin_and_the_reverse():
    twins = {n for n in _functions(_reference) - NOT_KERNELS
             if not n.endswith("_workspace_size")}
    assert c_kernels() - twins == set(), "kernels without a NumPy twin in fastnn._reference"
    assert twins - c_kernels() == set(), "twins in fastnn._reference without a kernel"


def test_ops_exposes_every_kernel():
    public = set(ops.__all__) - NOT_KERNELS
    assert c_kernels() - INTERNAL_KERNELS - public == set(), "kernels missing from fastnn.ops"
    assert public - c_kernels() == set(), "fastnn.ops functions without a kernel"


def test_ops_all_lists_exactly_the_public_functions():
    defined = {name for name, value in vars(ops).items()
               if callable(value) and not name.startswith("_")
               and getattr(value, "__module__", None) == ops.__name__}
    assert set(ops.__all__) == defined


def test_twins_have_the_wrappers_signatures():
    """A twin takes the same arguments as its fastnn.ops function (same names, same order;
    the buffers a C wrapper is handed, `out*` and `work`, aside)."""
    def args(fn):
        return [p for p in inspect.signature(fn).parameters
                if p != "work" and p != "out" and not p.startswith("out_")]

    for name in set(ops.__all__) & _functions(_reference):
        op, twin = args(getattr(ops, name)), args(getattr(_reference, name))
        assert twin[:len(op)] == op or op[:len(twin)] == twin, (name, op, twin)


def test_show_config_names_the_isa(capsys):
    fastnn.show_config()
    assert fastnn._C.gemm_isa() in capsys.readouterr().out


def test_each_package_imports_on_its_own():
    """No import cycle between the packages: each imports first in a fresh interpreter."""
    import subprocess
    import sys
    from conftest import subprocess_env
    for package in ("fastnn.saving", "fastnn.callbacks", "fastnn.models", "fastnn.utils",
                    "fastnn.layers", "fastnn.optimizers", "fastnn.datasets", "fastnn.distributed"):
        proc = subprocess.run([sys.executable, "-c", f"import {package}"], capture_output=True,
                              text=True, env=subprocess_env(), timeout=120,
                              cwd=os.path.dirname(os.path.dirname(fastnn.__file__)))
        assert proc.returncode == 0, (package, proc.stderr[-2000:])
