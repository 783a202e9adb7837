"""Hostile and damaged files (tests/hostile_files/, made by make_hostile_files.py): each is
refused with a ValueError saying what is wrong, without reading anything outside the file,
without allocating what the file only declares, and without changing the model."""
import importlib.util
import os
import subprocess
import tempfile
import sys

import numpy as np
import pytest

from fastnn import layers, models, optimizers
from fastnn.saving import files, h5_reader
from conftest import subprocess_env

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hostile_files")
_spec = importlib.util.spec_from_file_location(
    "make_hostile_files", os.path.join(HERE, "make_hostile_files.py"))
make = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make)


def _model():
    model = models.Sequential([layers.Input((4,)), layers.Dense(3, name="dense")])
    model.compile(optimizers.Adam(0.01), "mse")
    model.fit(np.ones((4, 4), np.float32), np.ones((4, 3), np.float32), verbose=0)
    return model


def _state(model):
    opt = model.optimizer
    return [w.copy() for w in model.get_weights()] + \
        [np.array(v).copy() for v in opt.keras_variables(model.trainable_weights)]


def test_every_fixture_is_listed_and_present():
    names = {n for n in os.listdir(HERE) if n.endswith((".h5", ".keras"))}
    assert names == {n for n, _ in make.CASES} | {"base.weights.h5"}


def test_the_base_file_loads():
    model = _model()
    model.load_weights(os.path.join(HERE, "base.weights.h5"))
    np.testing.assert_allclose(model.layers[0].bias.value, [0.1, 0.2, 0.3], atol=0.05)
    assert model.optimizer.iterations == 2


@pytest.mark.parametrize("name, words", make.CASES, ids=[n for n, _ in make.CASES])
def test_hostile_file_is_refused(name, words):
    path = os.path.join(HERE, name)
    model = _model()
    before = _state(model)
    with pytest.raises(ValueError, match=words):
        if name.endswith(".keras"):
            models.load_model(path)
        else:
            model.load_weights(path)
    after = _state(model)
    assert len(before) == len(after)
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)


def test_keras_weights_of_a_hostile_archive_are_refused_by_load_weights():
    model = _model()
    with pytest.raises(ValueError, match="declares"):
        model.load_weights(os.path.join(HERE, "shape_bomb.keras"))


FIFO_LOAD = r"""
import os, sys
from fastnn import layers, models
os.chdir(sys.argv[1])  # where the external storage's relative name is a FIFO
model = models.Sequential([layers.Input((4,)), layers.Dense(3, name="dense")])
for path in sys.argv[2:]:
    try:
        models.load_model(path) if path.endswith(".keras") else model.load_weights(path)
        print("loaded", path)
    except ValueError as e:
        print("ValueError", e)
"""


def _load_in_child(folder, *paths):
    """Load in a subprocess: without the protection, opening a FIFO blocks forever (and
    inside h5py it holds h5py's global lock, which would hang this whole session)."""
    try:
        out = subprocess.run([sys.executable, "-c", FIFO_LOAD, str(folder), *map(str, paths)],
                             capture_output=True, text=True, timeout=120,
                             env=subprocess_env(), cwd=tempfile.gettempdir())
    except subprocess.TimeoutExpired:
        pytest.fail("loading blocked on a FIFO")
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.splitlines()


def test_external_storage_never_opens_the_named_file(tmp_path):
    """external_fifo.weights.h5 names a FIFO: opening it would block forever."""
    os.mkfifo(tmp_path / "fastnn-test-fifo")
    lines = _load_in_child(tmp_path, os.path.join(HERE, "external_fifo.weights.h5"))
    assert len(lines) == 1 and lines[0].startswith("ValueError Not allowed: H5 file with "
                                                   "external Dataset"), lines


def test_a_fifo_as_the_file_itself_is_refused(tmp_path):
    os.mkfifo(tmp_path / "m.weights.h5")
    os.mkfifo(tmp_path / "m.keras")
    lines = _load_in_child(tmp_path, tmp_path / "m.weights.h5", tmp_path / "m.keras")
    assert len(lines) == 2 and all(l.startswith("ValueError") and "not a regular file" in l
                                   for l in lines), lines


def test_a_device_as_the_file_is_refused(tmp_path):
    """/dev/zero would never end; links to it are followed, then refused."""
    os.symlink("/dev/zero", tmp_path / "m.weights.h5")
    os.symlink("/dev/zero", tmp_path / "m.keras")
    with pytest.raises(ValueError, match="not a regular file"):
        _model().load_weights(str(tmp_path / "m.weights.h5"))
    with pytest.raises(ValueError, match="not a regular file"):
        models.load_model(str(tmp_path / "m.keras"))


BOMB = r"""
import os, resource, sys
if "libasan" not in os.environ.get("LD_PRELOAD", ""):  # ASan reserves terabytes
    resource.setrlimit(resource.RLIMIT_AS, (1 << 31, 1 << 31))
from fastnn import models
try:
    models.load_model(sys.argv[1])
except ValueError as e:
    print("ValueError", e)
"""


@pytest.mark.parametrize("name", ["zip_bomb.keras", "shape_bomb.keras", "config_bomb.keras"])
def test_bombs_are_refused_under_a_memory_limit(name):
    """A 2 GiB address-space limit: the bombs must be refused before they allocate."""
    out = subprocess.run([sys.executable, "-c", BOMB, os.path.join(HERE, name)],
                         capture_output=True, text=True, timeout=300, env=subprocess_env(),
                         cwd=tempfile.gettempdir())
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("ValueError"), out.stdout + out.stderr[-2000:]


def test_zip_ratio_limit_allows_a_deflated_genuine_file(tmp_path):
    """A genuine .keras file recompressed with deflate still loads (ratio far below 100)."""
    import zipfile
    model = _model()
    path = str(tmp_path / "m.keras")
    model.save(path)
    packed = str(tmp_path / "packed.keras")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
    loaded = models.load_model(packed)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_filtered_datasets_within_the_ratio_load(tmp_path):
    """gzip + shuffle + fletcher32 chunked datasets (what h5py can write) are allowed."""
    import h5py
    path = str(tmp_path / "m.weights.h5")
    model = _model()
    model.save_weights(path)
    with h5py.File(path, "r+") as h5:
        kernel = h5["layers/dense/vars/0"][()]
        del h5["layers/dense/vars/0"]
        h5.create_dataset("layers/dense/vars/0", data=kernel, chunks=(2, 3),
                          compression="gzip", shuffle=True, fletcher32=True)
    other = _model()
    other.load_weights(path)
    np.testing.assert_array_equal(other.layers[0].kernel.value, kernel)


def test_parse_wraps_h5py_errors_with_the_file_name():
    with pytest.raises(ValueError, match="somefile"):
        h5_reader.parse(b"\x89HDF\r\n\x1a\n" + b"\0" * 100, "somefile")


def test_the_regenerated_fixtures_match_the_list(tmp_path):
    make.main(str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == sorted([n for n, _ in make.CASES] +
                                                  ["base.weights.h5"])


def test_weights_cap_is_bounded_by_memory():
    assert files.max_weights_bytes() <= files.MAX_WEIGHTS_BYTES
