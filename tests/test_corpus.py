"""The corpus (tests/corpus/): public Keras programs, run unchanged through the runner.

Each program runs in a subprocess, `python -m fastnn.keras program.py`, in a fresh
folder.  A row of `tests/corpus/index.py` with a reason is a strict expected failure: it
fails when the program starts to pass, so the row (and docs/corpus.md) is updated as
features land.  Where a Python with real Keras is available, `test_same_outcome_as_keras`
runs each program with it too and compares the outcomes (opt-in, it takes minutes:
FASTNN_TEST_KERAS_CORPUS=1, and FASTNN_KERAS_PYTHON if Keras is not in /work/tfvenv).
"""
import importlib
import os
import re
import subprocess
import sys

import pytest

from conftest import subprocess_env

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "tests", "corpus")
sys.path.insert(0, CORPUS)
index = importlib.import_module("index")
sys.path.pop(0)

KERAS_PYTHON = os.environ.get("FASTNN_KERAS_PYTHON", "/work/tfvenv/bin/python")
RUN_KERAS = os.environ.get("FASTNN_TEST_KERAS_CORPUS") == "1"


def _param(row):
    name, _source, reason = row
    marks = []
    if reason is not None:
        marks.append(pytest.mark.xfail(reason=reason, strict=name not in index.NOT_STRICT))
    return pytest.param(name, marks=marks, id=name[:-3])


def run_program(name, cwd, python=sys.executable, runner=True, timeout=180):
    args = [python] + (["-m", "fastnn.keras"] if runner else []) + [os.path.join(CORPUS, name)]
    env = subprocess_env(TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def _tail(text, n=15):
    return "\n".join(text.splitlines()[-n:])


@pytest.mark.parametrize("name", [_param(row) for row in index.PROGRAMS])
def test_program_runs_on_fastnn(name, tmp_path):
    result = run_program(name, tmp_path)
    assert result.returncode == 0, f"{name} failed on fastnn:\n{_tail(result.stderr)}"


_NUMBER = re.compile(r"-?\d+(\.\d+)?(e[-+]?\d+)?")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_PROGRESS = re.compile(r"/step|━|\[=|ETA:|^Epoch \d+/\d+$")


def outcome(result):
    """What a program's run comes to: its exit code and the last line it printed itself
    (not a progress bar, whose look differs) with every number masked (values differ
    between frameworks' random streams; the shape, keys and types printed should not)."""
    lines = [_ANSI.sub("", l).replace("\b", "").strip()  # Keras 3 writes \b even to pipes
             for l in re.split(r"[\r\n]", result.stdout)]
    lines = [l for l in lines if l and not _PROGRESS.search(l)]
    # numbers masked, and the padding around them (`{:8.2f}` widths vary with the value)
    last = re.sub(r" +", " ", _NUMBER.sub("#", lines[-1])) if lines else ""
    return result.returncode, last


def _keras_param(name):
    reason = index.KERAS_OUTCOME_DIFFERS.get(name)
    marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
    return pytest.param(name, marks=marks, id=name[:-3])


@pytest.mark.skipif(not RUN_KERAS, reason="opt-in (minutes): FASTNN_TEST_KERAS_CORPUS=1")
@pytest.mark.skipif(not os.path.exists(KERAS_PYTHON), reason=f"no Keras at {KERAS_PYTHON}")
@pytest.mark.parametrize("name", [_keras_param(row[0]) for row in index.PROGRAMS
                                  if row[2] is None])
def test_same_outcome_as_keras(name, tmp_path):
    (tmp_path / "keras").mkdir()
    (tmp_path / "fastnn").mkdir()
    keras_run = run_program(name, tmp_path / "keras", python=KERAS_PYTHON, runner=False,
                            timeout=600)
    assert keras_run.returncode == 0, f"{name} fails with real Keras:\n{_tail(keras_run.stderr)}"
    ours = run_program(name, tmp_path / "fastnn")
    assert outcome(ours) == outcome(keras_run)


def test_every_program_has_a_row_and_a_source():
    files = sorted(f for f in os.listdir(CORPUS) if f.endswith(".py")
                   and not f.startswith("_") and f != "index.py")
    assert sorted(row[0] for row in index.PROGRAMS) == files
    assert len(files) >= 15
    for name in files:
        with open(os.path.join(CORPUS, name)) as f:
            head = f.read(400)
        assert head.startswith("# Corpus program"), f"{name}: name its source at the top"


def test_corpus_doc_is_current():
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    try:
        tool = importlib.import_module("corpus")
    finally:
        sys.path.pop(0)
    with open(os.path.join(ROOT, "docs", "corpus.md")) as f:
        assert f.read() == tool.corpus_markdown(), (
            "docs/corpus.md is out of date: run `python tools/corpus.py`")
