"""CIFAR-10/100 loaders on small synthetic files in Keras's format made here: Keras 3's and
Keras 2's cache folders, the tarball (found or downloaded, with its checksum), labels and
layout as Keras returns them, and the restricted unpickler's refusal of other globals."""
import io
import os
import pickle
import tarfile

import numpy as np
import pytest

import fastnn
from fastnn.datasets import DatasetNotFoundError, _download, cifar10, cifar100

N = 4  # images per batch file


def batch(rng, label_keys):
    d = {b"batch_label": b"synthetic", b"data": rng.integers(0, 256, (N, 3072), dtype=np.uint8),
         b"filenames": [b"f%d.png" % i for i in range(N)]}
    for key, high in label_keys:
        d[key.encode()] = [int(v) for v in rng.integers(0, high, N)]
    return d


def cifar10_files(rng):
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    return "cifar-10-batches-py", {n: batch(rng, [("labels", 10)]) for n in names}


def cifar100_files(rng):
    keys = [("fine_labels", 100), ("coarse_labels", 20)]
    return "cifar-100-python", {"train": batch(rng, keys), "test": batch(rng, keys)}


def write_folder(root, folder, files):
    os.makedirs(os.path.join(root, folder), exist_ok=True)
    for name, d in files.items():
        with open(os.path.join(root, folder, name), "wb") as f:
            pickle.dump(d, f, protocol=2)


def write_tarball(path, folder, files):
    with tarfile.open(path, "w:gz") as tar:
        for name, d in files.items():
            data = pickle.dumps(d, protocol=2)
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def expected(files, train, test, key):
    def xy(names):
        x = np.concatenate([files[n][b"data"] for n in names]).reshape(-1, 3, 32, 32)
        y = np.concatenate([files[n][key.encode()] for n in names]).astype(np.uint8)
        return x.transpose(0, 2, 3, 1), y.reshape(-1, 1)
    return xy(train), xy([test])


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(fastnn.config, "DATA_DIR", None)
    monkeypatch.setattr(fastnn.config, "KERAS_HOME", None)
    for mod in (cifar10, cifar100):
        monkeypatch.setattr(mod.SOURCE, "origin", "http://127.0.0.1:9/nothing.tar.gz")
    return tmp_path / "home"


def check(got, want):
    for (gx, gy), (wx, wy) in zip(got, want):
        assert gx.dtype == np.uint8 and gy.dtype == np.uint8 and gx.shape[1:] == (32, 32, 3)
        np.testing.assert_array_equal(gx, wx)
        np.testing.assert_array_equal(gy, wy)


@pytest.mark.parametrize("layout", ["keras3", "keras2", "tarball"])
def test_cifar10_from_keras_cache(rng, home, layout):
    folder, files = cifar10_files(rng)
    cache = home / ".keras" / "datasets"
    if layout == "keras3":
        write_folder(cache / "cifar-10-batches-py-target", folder, files)
    elif layout == "keras2":
        write_folder(cache, folder, files)
    else:
        os.makedirs(cache)
        write_tarball(cache / "cifar-10-python.tar.gz", folder, files)
    names = [f"data_batch_{i}" for i in range(1, 6)]
    check(cifar10.load_data(), expected(files, names, "test_batch", "labels"))


@pytest.mark.parametrize("mode", ["fine", "coarse"])
def test_cifar100_downloaded_with_checksum(rng, home, tmp_path, monkeypatch, mode):
    folder, files = cifar100_files(rng)
    src = tmp_path / "served.tar.gz"
    write_tarball(src, folder, files)
    monkeypatch.setattr(cifar100.SOURCE, "origin", src.as_uri())
    monkeypatch.setattr(cifar100.SOURCE, "sha256", _download.sha256_of(src))
    check(cifar100.load_data(mode), expected(files, ["train"], "test", f"{mode}_labels"))
    assert (home / ".fastnn" / "datasets" / "cifar-100-python.tar.gz").is_file()


def test_bad_checksum_is_not_kept(rng, home, tmp_path, monkeypatch):
    folder, files = cifar10_files(rng)
    src = tmp_path / "served.tar.gz"
    write_tarball(src, folder, files)
    monkeypatch.setattr(cifar10.SOURCE, "origin", src.as_uri())
    with pytest.raises(DatasetNotFoundError, match="SHA-256 mismatch"):
        cifar10.load_data()
    assert not (home / ".fastnn" / "datasets" / "cifar-10-python.tar.gz").exists()


def test_not_found_offline(home):
    with pytest.raises(DatasetNotFoundError, match="CIFAR-10 was not found"):
        cifar10.load_data()


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_unpickler_refuses_other_globals(rng, home):
    folder, files = cifar10_files(rng)
    files["test_batch"][b"data"] = Evil()
    write_folder(home / ".keras" / "datasets", folder, files)
    with pytest.raises(ValueError, match="refusing to load global"):
        cifar10.load_data()


def test_malformed_batch(rng, home):
    folder, files = cifar10_files(rng)
    files["data_batch_3"][b"data"] = np.zeros((N, 100), np.uint8)
    write_folder(home / ".keras" / "datasets", folder, files)
    with pytest.raises(ValueError, match="data_batch_3: expected uint8 data"):
        cifar10.load_data()


def test_label_mode_checked():
    with pytest.raises(ValueError, match="label_mode"):
        cifar100.load_data("medium")
