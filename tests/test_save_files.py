"""How saves treat the file they replace: the mode is kept, symbolic links are written
through, read-only targets are refused, and the process umask is never touched."""
import os
import stat

import numpy as np
import pytest

from fastnn import layers, models

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fastnn")


def _model():
    model = models.Sequential([layers.Input((3,)), layers.Dense(2)])
    model.compile("adam", "mse")
    return model


def _save(model, path):
    if path.endswith(".keras"):
        model.save(path)
    else:
        model.save_weights(path)


@pytest.mark.parametrize("name", ["m.keras", "m.weights.h5"])
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o604])
def test_resave_keeps_the_mode(tmp_path, name, mode):
    path = str(tmp_path / name)
    model = _model()
    _save(model, path)
    os.chmod(path, mode)
    _save(model, path)
    assert stat.S_IMODE(os.stat(path).st_mode) == mode


@pytest.mark.parametrize("name", ["m.keras", "m.weights.h5"])
def test_new_file_mode_follows_the_umask(tmp_path, name):
    old = os.umask(0o027)  # the test sets it; fastnn must only read it through the kernel
    try:
        _save(_model(), str(tmp_path / name))
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o640


@pytest.mark.parametrize("name", ["m.keras", "m.weights.h5"])
def test_read_only_target_is_refused_and_unchanged(tmp_path, name):
    path = str(tmp_path / name)
    model = _model()
    _save(model, path)
    with open(path, "rb") as f:
        before = f.read()
    os.chmod(path, 0o444)
    model.layers[0].kernel.value[...] = 5
    with pytest.raises(PermissionError):
        _save(model, path)
    with open(path, "rb") as f:
        assert f.read() == before
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o444
    assert sorted(os.listdir(tmp_path)) == [name]  # no stray temporary file


@pytest.mark.parametrize("name", ["m.keras", "m.weights.h5"])
def test_save_through_a_symlink_writes_its_target(tmp_path, name):
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    target = str(real_dir / name)
    model = _model()
    _save(model, target)
    os.chmod(target, 0o600)
    link = str(tmp_path / name)
    os.symlink(target, link)
    model.layers[0].bias.value[...] = 3
    _save(model, link)
    assert os.path.islink(link) and os.readlink(link) == target
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    other = _model()
    other.load_weights(target)
    np.testing.assert_array_equal(other.layers[0].bias.value, [3, 3])
    assert sorted(os.listdir(real_dir)) == [name]


def test_dangling_symlink_creates_its_target(tmp_path):
    target = tmp_path / "real.weights.h5"
    link = tmp_path / "link.weights.h5"
    os.symlink(target, link)
    _model().save_weights(str(link))
    assert os.path.islink(link) and target.is_file()


def test_saving_over_a_directory_is_an_error(tmp_path):
    (tmp_path / "d.weights.h5").mkdir()
    with pytest.raises(IsADirectoryError):
        _model().save_weights(str(tmp_path / "d.weights.h5"))


def test_fastnn_never_calls_os_umask():
    """os.umask is process-wide: reading it by setting it races with other threads."""
    for root, _, names in os.walk(SOURCE):
        for name in names:
            if name.endswith((".py", ".pyx", ".pxi")):
                with open(os.path.join(root, name)) as f:
                    assert "os.umask" not in f.read(), os.path.join(root, name)
