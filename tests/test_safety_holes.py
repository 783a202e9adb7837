"""The smaller holes of issue 21: aliased kernel arguments, Concatenate's axis, values
float32 cannot hold, validation_batch_size, uint64 labels, OpenMP thread failures."""
import os
import subprocess
import tempfile
import sys

import numpy as np
import pytest

from fastnn import _C, layers, models
from conftest import subprocess_env


def f(*shape):
    return np.random.default_rng(0).uniform(-1, 1, shape).astype(np.float32)


# ---- aliased kernel arguments ------------------------------------------------------
def test_optimizer_slots_must_not_alias_each_other():
    w, g, m = f(64), f(64), f(64)
    with pytest.raises(ValueError, match="`v` must not overlap `m`"):
        _C.adam_update(w, m, m, g)
    with pytest.raises(ValueError, match="`v` must not overlap `m`"):
        _C.adam_update(f(32), m[:32], m[16:48], f(32))  # partly shared
    with pytest.raises(ValueError, match="overlap"):
        _C.rmsprop_update(w, m, m, g, momentum=0.9)
    with pytest.raises(ValueError, match="`param` must not overlap `grad`"):
        _C.sgd_update(w, None, w, 0.1)
    before = m.copy()
    with pytest.raises(ValueError):
        _C.adam_update(w, m, m, g)
    np.testing.assert_array_equal(m, before)  # refused before anything changed


@pytest.mark.parametrize("call", [
    lambda a, b, work: _C.sgemm(a, b, work=work),
    lambda a, b, work: _C.dense_forward(a, b, None, work=work),
])
def test_a_workspace_overlapping_an_input_is_refused(call):
    a, b = f(64, 64), f(64, 64)
    need = _C.sgemm_workspace_size(64, 64, 64)
    flat = np.zeros(a.size + need, np.float32)
    flat[:a.size] = a.ravel()
    aliased_a = flat[:a.size].reshape(64, 64)
    with pytest.raises(ValueError, match="`work` must not overlap"):
        call(aliased_a, b, flat[16:])


def test_a_workspace_overlapping_the_output_is_refused():
    x, k = f(8, 5, 5, 2), f(3, 3, 2, 4)
    y = _C.conv2d_forward(x, k, None, 1, "valid")
    need = max(1, y.size)
    work = np.zeros(y.size + 4096 * 64, np.float32)
    out = work[:y.size].reshape(y.shape)
    with pytest.raises(ValueError, match="`work` must not overlap"):
        _C.conv2d_forward(x, k, None, 1, "valid", out=out, work=work)
    del need


# ---- layers and arguments --------------------------------------------------------------
@pytest.mark.parametrize("axis", [4, 5, -4, -5])
def test_concatenate_axis_out_of_range_is_refused(axis):
    a = layers.Input((4, 4, 3))
    with pytest.raises(ValueError, match="does not fit inputs of rank 4"):
        layers.Concatenate(axis=axis)([a, a])
    with pytest.raises(ValueError, match="does not fit inputs of rank 4"):
        layers.Concatenate(axis=axis)([np.ones((1, 4, 4, 3)), np.ones((1, 4, 4, 3))])


def test_concatenate_axis_must_be_an_int():
    with pytest.raises(ValueError, match="must be an int"):
        layers.Concatenate(axis=1.5)


def _model():
    m = models.Sequential([layers.Input((3,)), layers.Dense(4)])
    m.compile("adam", "sparse_categorical_crossentropy")
    return m


@pytest.mark.parametrize("target", ["model", "layer"])
def test_set_weights_refuses_values_beyond_float32(target):
    m = _model()
    before = [w.copy() for w in m.get_weights()]
    values = [np.full((3, 4), 0.5), np.full(4, 1e300)]
    with pytest.raises(ValueError, match="too large for float32"):
        (m if target == "model" else m.layers[0]).set_weights(values)
    for a, b in zip(before, m.get_weights()):
        np.testing.assert_array_equal(a, b)  # not even the kernel was set


@pytest.mark.parametrize("value", [-1, 0, 2.5, True, "8"])
def test_validation_batch_size_is_checked_before_training(value):
    m = _model()
    before = m.get_weights()[0].copy()
    with pytest.raises(ValueError, match="validation_batch_size"):
        m.fit(np.ones((8, 3), np.float32), np.zeros(8), validation_split=0.25,
              validation_batch_size=value, epochs=1, verbose=0)
    np.testing.assert_array_equal(m.get_weights()[0], before)


def test_uint64_label_is_reported_as_itself():
    m = _model()
    y = np.array([0, 1, 2, 2 ** 64 - 1], np.uint64)
    with pytest.raises(ValueError, match="label value of 18446744073709551615 "):
        m.fit(np.ones((4, 3), np.float32), y, verbose=0)


# ---- OpenMP cannot start its threads --------------------------------------------------
THREADS = r"""
import os, resource, sys
import numpy as np
import fastnn
from fastnn import _C
w, m, v, g = (np.ones(1 << 20, np.float32) for _ in range(4))
_C.adam_update(w, m, v, g)           # the pool at the default size is fine
size = int(open("/proc/self/status").read().split("VmSize:")[1].split()[0]) * 1024
if "libasan" not in os.environ.get("LD_PRELOAD", ""):  # ASan reserves terabytes
    resource.setrlimit(resource.RLIMIT_AS, (size + (96 << 20), resource.RLIM_INFINITY))
fastnn.set_num_threads(int(sys.argv[1]))
try:
    _C.adam_update(w, m, v, g)       # no allocation: only the threads can fail
    print("ran")
except RuntimeError as e:
    print("RuntimeError:", e)
fastnn.set_num_threads(1)
try:
    _C.adam_update(w, m, v, g, step=2)
    print("after", bool(np.isfinite(w).all()))  # the process goes on, single-threaded
finally:
    print("finally ran")
"""


@pytest.mark.skipif(not _C.has_openmp(), reason="built without OpenMP")
@pytest.mark.skipif("libasan" in os.environ.get("LD_PRELOAD", ""),
                    reason="ASan reserves terabytes of address space: no RLIMIT_AS")
def test_thread_creation_failure_is_an_exception_not_an_exit():
    """With 96 MiB of address space left, 200 threads (8 MiB stacks) cannot start: libgomp
    would exit(1); fastnn checks first and raises."""
    out = subprocess.run([sys.executable, "-c", THREADS, "200"], capture_output=True,
                         text=True, timeout=300, env=subprocess_env(OMP_NUM_THREADS="2"),
                         cwd=tempfile.gettempdir())
    assert out.returncode == 0, (out.returncode, out.stdout, out.stderr[-2000:])
    assert "RuntimeError: adam_update: cannot start 200 threads" in out.stdout, out.stdout
    assert "after True" in out.stdout and "finally ran" in out.stdout


@pytest.mark.skipif(not _C.has_openmp(), reason="built without OpenMP")
def test_threads_that_can_start_still_run():
    out = subprocess.run([sys.executable, "-c", THREADS, "3"], capture_output=True,
                         text=True, timeout=300, env=subprocess_env(),
                         cwd=tempfile.gettempdir())
    assert out.returncode == 0, out.stderr[-2000:]
    assert "ran" in out.stdout.splitlines()[0]


def test_batchnorm_workspace_overlapping_its_input_is_refused():
    x = f(4, 6, 6, 8)
    need = _C.batchnorm_workspace_size(4 * 6 * 6, 8, 1)
    flat = np.zeros(x.size + max(need, 1) + 64, np.float32)
    flat[:x.size] = x.ravel()
    with pytest.raises(ValueError, match="`work` must not overlap"):
        _C.batchnorm_stats(flat[:x.size].reshape(x.shape), work=flat[8:])
