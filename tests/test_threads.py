"""Thread-count independence (bitwise), the thread-count API, and the environment
variables read at import (in subprocesses)."""
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest

import fastnn
from fastnn import _C



@pytest.fixture(scope="module")
def data():
    """Inputs large enough that every kernel runs in parallel with 2 threads."""
    r = np.random.default_rng(7)
    f = lambda *s: r.uniform(-1, 1, s).astype(np.float32)
    d = dict(a=f(300, 500), b=f(500, 400), c=f(300, 400), at=f(500, 100), bt=f(700, 500),
             x=f(256, 500), w=f(500, 300), dy=f(256, 300),
             img=f(16, 28, 28, 8), k=f(3, 3, 8, 16), k1=f(1, 1, 8, 16),
             cdy=f(16, 28, 28, 16), cdy2=f(16, 14, 14, 16),
             pool=r.permutation(32 * 28 * 28 * 16).astype(np.float32).reshape(32, 28, 28, 16),
             pdy=f(32, 14, 14, 16), pdy3=f(32, 14, 28, 16),
             e=f(10 ** 6) * 4, e2=f(10 ** 6), logits=f(2000, 100) * 5,
             labels=r.integers(0, 100, 2000).astype(np.int32))
    t = r.uniform(0, 1, (2000, 100)).astype(np.float32)
    d["targets"] = t / t.sum(1, keepdims=True)
    return d


def optimizer_run(kind, **hp):
    def run(d):
        w, s1, s2 = d["e"].copy(), np.zeros(10 ** 6, np.float32), np.zeros(10 ** 6, np.float32)
        for t in range(1, 4):
            g = d["e2"] * t
            if kind == "adam":
                _C.adam_update(w, s1, s2, g, step=t, **hp)
            elif kind == "sgd":
                _C.sgd_update(w, s1, g, **hp)
            else:
                _C.rmsprop_update(w, s1, s2, g, **hp)
        return w, s1, s2
    return run


def activation_case(name, direction):
    fn = getattr(_C, f"{name}_{direction}")
    return lambda d: fn(d["e"]) if direction == "forward" else fn(d["e2"], d["e"])


CASES = [  # (id, run(data) -> array or tuple of arrays)
    ("sgemm-split-m", lambda d: _C.sgemm(d["a"], d["b"])),
    ("sgemm-split-n-TT", lambda d: _C.sgemm(d["at"], d["bt"], trans_a=True, trans_b=True)),
    ("sgemm-beta", lambda d: _C.sgemm(d["a"], d["b"], d["c"].copy(), 0.5, -2.0)),
    ("dense_forward", lambda d: _C.dense_forward(d["x"], d["w"], d["w"][0])),
    ("dense_backward_input", lambda d: _C.dense_backward_input(d["dy"], d["w"])),
    ("dense_backward_weight", lambda d: _C.dense_backward_weight(d["dy"], d["x"])),
    ("sgemm-narrow-transposed", lambda d: _C.sgemm(d["x"], d["w"][:, :10])),
    ("sgemm-narrow-transposed-TN", lambda d: _C.sgemm(d["x"], d["dy"][:, :10], trans_a=True)),
    ("dense-narrow-bias-relu", lambda d: _C.dense_forward(d["x"], d["w"][:, :10].copy(),
                                                          d["w"][0, :10].copy(), relu=True)),
    ("conv2d_forward", lambda d: _C.conv2d_forward(d["img"], d["k"], d["k"][0, 0, 0], 1, "same")),
    ("conv2d_forward-s2", lambda d: _C.conv2d_forward(d["img"], d["k"], None, 2, "same")),
    ("conv2d_forward-pointwise", lambda d: _C.conv2d_forward(d["img"], d["k1"])),
    ("conv2d_backward_input",
     lambda d: _C.conv2d_backward_input(d["cdy"], d["k"], d["img"].shape, 1, "same")),
    ("conv2d_backward_input-pointwise",
     lambda d: _C.conv2d_backward_input(d["cdy"], d["k1"], d["img"].shape)),
    ("conv2d_backward_weight",
     lambda d: _C.conv2d_backward_weight(d["cdy"], d["img"], 3, 1, "same")),
    ("conv2d_backward_weight-s2",
     lambda d: _C.conv2d_backward_weight(d["cdy2"], d["img"], 3, 2, "same")),
    ("conv2d_backward_weight-pointwise",
     lambda d: _C.conv2d_backward_weight(d["cdy"], d["img"], 1)),
    ("maxpool2d_forward", lambda d: _C.maxpool2d_forward(d["pool"], 3, 2, "same")),
    ("maxpool2d_backward", lambda d: _C.maxpool2d_backward(
        d["pdy"], _C.maxpool2d_forward(d["pool"], 3, 2, "same")[1], d["pool"].shape, 3, 2,
        "same")),
    ("maxpool2d_backward-overlap", lambda d: _C.maxpool2d_backward(
        d["pdy3"], _C.maxpool2d_forward(d["pool"], 3, (2, 1), "same")[1], d["pool"].shape, 3,
        (2, 1), "same")),
] + [
    (f"{name}_{direction}", activation_case(name, direction))
    for name in ["relu", "sigmoid", "tanh", "softmax"] for direction in ["forward", "backward"]
] + [
    ("softmax_forward-rows", lambda d: _C.softmax_forward(d["logits"])),
    ("dropout_forward", lambda d: _C.dropout_forward(d["e"], 0.3, 99)),
    ("dropout_backward", lambda d: _C.dropout_backward(d["e"], 0.3, 99)),
    ("softmax_cross_entropy",
     lambda d: _C.softmax_cross_entropy_forward(d["logits"], d["targets"])
     + (_C.softmax_cross_entropy_backward(d["targets"], d["targets"] * 2),)),
    ("sparse_softmax_cross_entropy",
     lambda d: _C.sparse_softmax_cross_entropy_forward(d["logits"], d["labels"])
     + (_C.sparse_softmax_cross_entropy_backward(d["targets"], d["labels"]),)),
    ("adam", optimizer_run("adam", learning_rate=0.01)),
    ("sgd-nesterov", optimizer_run("sgd", learning_rate=0.1, momentum=0.9, nesterov=True)),
    ("rmsprop-momentum", optimizer_run("rmsprop", learning_rate=0.01, momentum=0.5)),
]


def run_with_threads(n, fn, d):
    old = fastnn.get_num_threads()
    fastnn.set_num_threads(n)
    try:
        out = fn(d)
    finally:
        fastnn.set_num_threads(old)
    return [o for o in (out if isinstance(out, tuple) else (out,)) if o is not None]


@pytest.mark.parametrize("_, fn", CASES, ids=[c[0] for c in CASES])
def test_bitwise_identical_for_1_and_2_threads(data, _, fn):
    one, two = run_with_threads(1, fn, data), run_with_threads(2, fn, data)
    assert len(one) == len(two) > 0
    for a, b in zip(one, two):
        assert a.shape == b.shape and a.dtype == b.dtype
        differ = np.count_nonzero(a != b)
        assert a.tobytes() == b.tobytes(), (
            f"{differ} of {a.size} elements differ, max |diff| {np.max(np.abs(a - b))}")


# ---- the thread-count API ---------------------------------------------------------

def test_set_get_num_threads_round_trip():
    old = fastnn.get_num_threads()
    try:
        for n in [1, 3, 2]:
            fastnn.set_num_threads(n)
            assert fastnn.get_num_threads() == n
    finally:
        fastnn.set_num_threads(old)
    assert fastnn.get_num_threads() == old


@pytest.mark.parametrize("bad, exc", [(0, ValueError), (-1, ValueError), ("2", TypeError),
                                      (2.0, TypeError), (True, TypeError), (None, TypeError)])
def test_set_num_threads_rejects(bad, exc):
    old = fastnn.get_num_threads()
    with pytest.raises(exc, match="set_num_threads"):
        fastnn.set_num_threads(bad)
    assert fastnn.get_num_threads() == old


# ---- environment variables, read once at import -----------------------------------

def run_python(code, **env_vars):
    """Run `code` in a fresh interpreter that imports the same fastnn as these tests
    (installed or built in place), from a neutral working directory, with the GEMM ISA
    these tests run (results are compared bit for bit, and ISAs agree only to rounding:
    under FASTNN_ISA=avx2 a child left to choose took AVX-512)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("FASTNN_") and k != "OMP_NUM_THREADS"}
    env["PYTHONPATH"] = os.path.dirname(os.path.dirname(os.path.abspath(fastnn.__file__)))
    env["FASTNN_ISA"] = _C.gemm_isa()
    env.update(env_vars)
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=tempfile.gettempdir(),
                          capture_output=True, text=True, timeout=120)


PRINT_CONFIG = "import fastnn; print(fastnn.get_num_threads(), fastnn._C.gemm_isa())"


@pytest.mark.parametrize("env, threads", [({"FASTNN_NUM_THREADS": "1"}, 1),
                                          ({"FASTNN_NUM_THREADS": " 2 "}, 2),
                                          ({"OMP_NUM_THREADS": "1"}, 1)],
                         ids=["FASTNN_NUM_THREADS=1", "FASTNN_NUM_THREADS=2", "OMP_NUM_THREADS=1"])
def test_num_threads_from_environment(env, threads):
    r = run_python(PRINT_CONFIG, **env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] == str(threads)


IDLE_CPU_SECONDS = """
import os, time, numpy as np, fastnn
assert "OMP_WAIT_POLICY" not in os.environ or os.environ["OMP_WAIT_POLICY"] == "active"
fastnn.set_num_threads(2)
a = np.ones((512, 512), np.float32)
fastnn._C.sgemm(a, a)  # a parallel region: the second thread now waits for the next one
t0 = time.process_time()
time.sleep(0.5)
print(time.process_time() - t0)
"""


@pytest.mark.skipif(not _C.has_openmp() or (os.cpu_count() or 1) < 2, reason="needs 2 threads")
def test_waiting_threads_sleep_unless_the_environment_says_otherwise():
    """fastnn asks libgomp for passive waiting (a spinning thread holds a core that a
    busy machine's other work, or our own straggler, needs) without changing the
    environment it leaves; a user's own OMP_WAIT_POLICY wins."""
    # NumPy's OpenBLAS keeps its own thread spinning for a while after import: one thread
    quiet_blas = {"OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    r = run_python(IDLE_CPU_SECONDS, **quiet_blas)
    assert r.returncode == 0, r.stderr
    assert float(r.stdout) < 0.02  # asleep, not spinning through the 0.5 s
    r = run_python(IDLE_CPU_SECONDS, OMP_WAIT_POLICY="active", **quiet_blas)
    assert r.returncode == 0, r.stderr
    assert float(r.stdout) > 0.02  # the user's choice: spinning (a share of a busy core)


def test_huge_omp_num_threads_is_clamped():
    """OMP_NUM_THREADS=100000 once made libgomp crash (segfault) on the first kernel."""
    r = run_python("import fastnn; print(fastnn.get_num_threads(), fastnn._C.max_threads())",
                   OMP_NUM_THREADS="100000")
    assert r.returncode == 0, r.stderr
    threads, limit = map(int, r.stdout.split())
    assert threads == limit == max(1024, fastnn._C.max_hardware_threads())


def test_huge_fastnn_num_threads_fails_at_import():
    r = run_python("import fastnn", FASTNN_NUM_THREADS="100000")
    assert r.returncode != 0
    assert "ValueError: FASTNN_NUM_THREADS must be at most" in r.stderr


@pytest.mark.parametrize("value", ["abc", "0", "-3", "1.5"])
def test_bad_num_threads_fails_at_import(value):
    r = run_python("import fastnn", FASTNN_NUM_THREADS=value)
    assert r.returncode != 0
    assert f"ValueError: FASTNN_NUM_THREADS must be a positive integer, received " \
           f"FASTNN_NUM_THREADS={value!r}" in r.stderr


@pytest.mark.parametrize("isa", _C.gemm_isa_list() + ["GENERIC"])
def test_isa_from_environment(isa):
    r = run_python(PRINT_CONFIG, FASTNN_ISA=isa)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[1] == isa.lower()


def test_unknown_isa_fails_at_import():
    r = run_python("import fastnn", FASTNN_ISA="nonsense")
    assert r.returncode != 0
    assert "ValueError: FASTNN_ISA='nonsense' is not available on this CPU" in r.stderr
    assert "generic" in r.stderr  # the message lists the choices


# ---- OpenMP starting fewer threads than asked -------------------------------------

FEWER_THREADS = """
import sys, numpy as np
sys.path.insert(0, {tests!r})
import fastnn, test_threads as t
fastnn.set_num_threads(2)
out = [o for _, fn in t.SPLIT_CASES for o in t.run_with_threads(2, fn, t.make_data())]
np.savez({path!r}, *out)
"""


def make_data():
    return data.__wrapped__()


# the kernels that size their team to the work (GEMM, Dense, Conv2D)
SPLIT_CASES = [c for c in CASES if c[0].startswith(("sgemm", "dense", "conv2d"))]


@pytest.mark.parametrize("env", [{"OMP_THREAD_LIMIT": "1"}, {"OMP_DYNAMIC": "true"}],
                         ids=["OMP_THREAD_LIMIT=1", "OMP_DYNAMIC=true"])
def test_fewer_threads_than_asked_give_the_same_bits(env):
    """OpenMP may start a smaller team than asked (a thread limit, dynamic adjustment,
    nesting); kernels that split their work for the team they asked for left parts of
    their output unwritten (sgemm and conv returned garbage under OMP_THREAD_LIMIT=1)."""
    d = make_data()
    expected = [o for _, fn in SPLIT_CASES for o in run_with_threads(2, fn, d)]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "out.npz")
        code = FEWER_THREADS.format(tests=os.path.dirname(__file__), path=path)
        r = run_python(code, **env)
        assert r.returncode == 0, r.stderr
        with np.load(path) as f:
            got = [f[f"arr_{i}"] for i in range(len(f.files))]
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        assert a.tobytes() == b.tobytes()
