"""Shared fixtures: a seeded generator, a random-array helper, and a thread-count param."""
import os

import numpy as np
import pytest

import fastnn


@pytest.fixture
def rng():
    """A fresh, seeded generator per test: every test is reproducible on its own."""
    return np.random.default_rng(20240601)


@pytest.fixture
def rand(rng):
    """rand(shape, dtype=np.float32, low=-1, high=1): uniform random array."""
    def rand(shape, dtype=np.float32, low=-1.0, high=1.0):
        return rng.uniform(low, high, size=shape).astype(dtype)
    return rand


@pytest.fixture(params=[1, 2], ids=["1thread", "2threads"])
def threads(request):
    """Run the test under fastnn.set_num_threads(1) and (2); restore the old count."""
    old = fastnn.get_num_threads()
    fastnn.set_num_threads(request.param)
    try:
        yield request.param
    finally:
        fastnn.set_num_threads(old)


@pytest.fixture(params=fastnn._C.gemm_isa_list())
def isa(request):
    """Run the test with each GEMM micro-kernel this CPU runs (the plain-C kernels that
    follow the GEMM's ISA too); restore the old choice."""
    old = fastnn._C.gemm_isa()
    fastnn._C.select_isa(request.param)
    try:
        yield request.param
    finally:
        fastnn._C.select_isa(old)


def subprocess_env(**overrides):
    """Environment for a child Python that imports the same fastnn as these tests
    (installed or built in place), without the parent's FASTNN_* settings."""
    import fastnn
    env = {k: v for k, v in os.environ.items() if not k.startswith("FASTNN_")}
    env["PYTHONPATH"] = os.path.dirname(os.path.dirname(os.path.abspath(fastnn.__file__)))
    env.update(overrides)
    return env


def keras_python():
    """A Python interpreter with real Keras 3 (TensorFlow backend), for the tests that check
    files in both directions: this one when it has Keras, else the interpreter named by
    FASTNN_TEST_KERAS_PYTHON (e.g. a separate venv with tensorflow-cpu), else None."""
    import importlib.util
    import sys
    if importlib.util.find_spec("keras") and importlib.util.find_spec("tensorflow"):
        return sys.executable
    other = os.environ.get("FASTNN_TEST_KERAS_PYTHON")
    return other if other and os.path.exists(other) else None


def script_result(script, tmp_path, keras=False):
    """Run a Keras program (its last printed line a Python literal) through fastnn's runner,
    or with `keras=True` under real Keras on TensorFlow (keras_python()); returns that
    literal.  The tests that compare fastnn's numbers with Keras's run the same text."""
    import subprocess
    import sys
    path = tmp_path / "program.py"
    path.write_text("import os\nos.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'\n" + script)
    args = [keras_python()] if keras else [sys.executable, "-m", "fastnn.keras"]
    env = subprocess_env(KERAS_BACKEND="tensorflow") if keras else subprocess_env()
    proc = subprocess.run(args + [str(path)], capture_output=True, text=True, timeout=300,
                          env=env, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return eval(proc.stdout.strip().splitlines()[-1])


# Property tests (test_properties.py): 25 examples each by default, so the suite stays
# fast; `pytest --hypothesis-profile=thorough` runs 500 (tools/sanitize.sh uses "fastnn").
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile("fastnn", max_examples=25, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=500, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("fastnn")


def summary_rows(text):
    """The rows of a Keras 3 box-drawn `model.summary()` table (header first), each a list
    of its cells' text; a cell wrapped over several lines is joined with spaces."""
    rows, current = [], None
    for line in text.splitlines():
        if line[:1] in ("│", "┃"):
            cells = [c.strip() for c in line[1:-1].split(line[0])]
            if current is None:
                current = cells
            else:
                current = [f"{a} {b}".strip() for a, b in zip(current, cells)]
        elif current is not None:
            rows.append(current)
            current = None
    return rows
