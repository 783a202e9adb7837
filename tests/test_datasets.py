"""fastnn.datasets: the IDX and npz readers, the search order, downloads against a real local
HTTP server, the offline error, the embedded Fashion-MNIST subset, Iris, and Debian's files."""
import doctest
import gzip
import hashlib
import http.server
import io
import os
import pathlib
import socket
import struct
import threading

import numpy as np
import pytest

import fastnn.config
from fastnn.datasets import (DatasetNotFoundError, DownloadError, _download, _files,
                             fashion_mnist, idx, iris, mnist)
from fastnn.datasets.idx import read_idx

DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
IDX_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C,
             np.float32: 0x0D, np.float64: 0x0E}


# ----------------------------------------------------------------------------- helpers

def idx_bytes(array, code=None):
    """An IDX file's bytes for `array` (big-endian), like the MNIST files."""
    array = np.asarray(array)
    code = IDX_CODES[array.dtype.type] if code is None else code
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write(path, data, gz=None):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    gz = path.suffix == ".gz" if gz is None else gz
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def tiny_split(n, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
            rng.integers(0, 10, n, dtype=np.uint8))


def npz_bytes(n_train=3, n_test=2, **override):
    (x, y), (xt, yt) = tiny_split(n_train, 1), tiny_split(n_test, 2)
    arrays = dict(x_train=x, y_train=y, x_test=xt, y_test=yt)
    arrays.update(override)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    out = io.BytesIO()
    np.savez(out, **arrays)
    return out.getvalue()


def write_fashion(folder, n_train=4, n_test=3, gz=True):
    """The four Fashion-MNIST IDX files, tiny, in `folder`; returns the arrays written."""
    (x, y), (xt, yt) = tiny_split(n_train, n_train), tiny_split(n_test, 100 + n_test)
    for name, array in zip(fashion_mnist.FILES, (x, y, xt, yt)):
        write(pathlib.Path(folder) / (name if gz else name[:-3]), idx_bytes(array), gz=gz)
    return (x, y), (xt, yt)


def closed_port_url():
    """A URL on 127.0.0.1 where nothing listens: connecting is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No test sees the real home, FASTNN_DATA, KERAS_HOME, Debian's files or the network."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(fastnn.config, "DATA_DIR", None)
    monkeypatch.setattr(fastnn.config, "KERAS_HOME", None)
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIRS", ())
    monkeypatch.setattr(mnist, "ORIGIN", closed_port_url() + "mnist.npz")
    monkeypatch.setattr(fashion_mnist, "BASE_URL", closed_port_url())
    return home


@pytest.fixture
def server():
    """A real HTTP server on 127.0.0.1 in a thread. `routes[path] = (body, cut, hook)`: the
    server declares len(body) bytes, sends body[:cut] (all if cut is None), calls hook() (if
    any) after the first half, and closes the connection."""
    routes, requests = {}, []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            if self.path not in routes:
                self.send_error(404)
                return
            body, cut, hook = routes[self.path]
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            sent = body if cut is None else body[:cut]
            self.wfile.write(sent[:len(sent) // 2])
            self.wfile.flush()
            if hook is not None:
                hook()
            self.wfile.write(sent[len(sent) // 2:])
            self.wfile.flush()
            self.close_connection = True

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}/", routes, requests
    finally:
        httpd.shutdown()
        httpd.server_close()


def sha(data):
    return hashlib.sha256(data).hexdigest()


# ----------------------------------------------------------------------------- IDX

@pytest.mark.parametrize("dtype", list(IDX_CODES), ids=lambda t: t.__name__)
@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
def test_read_idx_round_trips_every_type(tmp_path, dtype, gz):
    array = (np.arange(2 * 3 * 5) - 7).astype(dtype).reshape(2, 3, 5)
    path = write(tmp_path / ("a-idx3.gz" if gz else "a-idx3"), idx_bytes(array))
    got = read_idx(path)
    assert got.dtype == np.dtype(dtype) and got.dtype.isnative and got.flags.writeable
    np.testing.assert_array_equal(got, array)


def test_read_idx_sniffs_gzip_without_the_suffix(tmp_path):
    labels = np.array([3, 1, 4], np.uint8)
    path = write(tmp_path / "labels-idx1-ubyte", idx_bytes(labels), gz=True)
    np.testing.assert_array_equal(read_idx(path), labels)


@pytest.mark.parametrize("data, match", [
    (b"", "shorter than the 4-byte magic"),
    (bytes([1, 0, 8, 1, 0, 0, 0, 1, 5]), "does not start with two zero bytes"),
    (b"PK\x03\x04" + bytes(20), "does not start with two zero bytes"),
    (bytes([0, 0, 0x0A, 1, 0, 0, 0, 1, 5]), "unknown IDX type code 0x0A"),
    (bytes([0, 0, 8, 0]), "declares 0 dimensions"),
    (bytes([0, 0, 8, 3, 0, 0, 0, 2]), "truncated IDX header"),
    (idx_bytes(np.zeros((4, 28, 28), np.uint8))[:-1], "truncated"),
    (idx_bytes(np.zeros((4, 28, 28), np.uint8))[:16 + 28 * 28], "truncated"),
    (idx_bytes(np.zeros((3,), np.int32))[:-2], "truncated"),
    (idx_bytes(np.zeros((4, 28, 28), np.uint8)) + b"\0", "extra bytes"),
])
@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
def test_read_idx_rejects_bad_files_naming_them(tmp_path, data, match, gz):
    path = write(tmp_path / ("bad-idx.gz" if gz else "bad-idx"), data)
    with pytest.raises(ValueError, match=match) as info:
        read_idx(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("damage", ["garbage", "cut stream", "bad crc", "not gzip"])
def test_read_idx_rejects_corrupt_gzip_naming_the_file(tmp_path, damage):
    good = bytearray(gzip.compress(idx_bytes(np.arange(1000, dtype=np.uint8))))
    data = {"garbage": bytes(good[:10]) + b"\xff" * 50,
            "cut stream": bytes(good[:len(good) // 2]),
            "bad crc": bytes(good[:-8]) + b"\0\0\0\0" + bytes(good[-4:]),
            "not gzip": b"plain text, not gzip"}[damage]
    path = write(tmp_path / "train-labels-idx1-ubyte.gz", data, gz=False)
    with pytest.raises(ValueError, match="corrupt gzip") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_read_idx_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope-idx1-ubyte.gz")


# ----------------------------------------------------------------------------- npz

def test_read_npz_valid(tmp_path):
    path = write(tmp_path / "mnist.npz", npz_bytes(5, 4), gz=False)
    (x, y), (xt, yt) = mnist.load_data(str(path))
    assert (x.shape, y.shape, xt.shape, yt.shape) == ((5, 28, 28), (5,), (4, 28, 28), (4,))
    assert {a.dtype for a in (x, y, xt, yt)} == {np.dtype(np.uint8)}


@pytest.mark.parametrize("override, match", [
    (dict(y_test=None), "missing array.*y_test"),
    (dict(x_train=np.zeros((3, 28, 28), np.float32)), "must be uint8"),
    (dict(y_train=np.zeros(3, np.int64)), "must be uint8"),
    (dict(x_train=np.zeros((3, 28, 27), np.uint8)), r"shape \(n, 28, 28\)"),
    (dict(x_test=np.zeros((2, 784), np.uint8)), r"shape \(n, 28, 28\)"),
    (dict(y_train=np.zeros(2, np.uint8)), r"y_train must have shape \(3,\)"),
    (dict(y_test=np.full(2, 10, np.uint8)), r"label 10, outside \[0, 10\)"),
    (dict(x_train=np.array([None] * 3, dtype=object)), "not a readable .npz"),
])
def test_read_npz_rejects_bad_contents_naming_the_file(tmp_path, override, match):
    path = write(tmp_path / "mnist.npz", npz_bytes(**override), gz=False)
    with pytest.raises(ValueError, match=match) as info:
        mnist.load_data(str(path))
    assert str(path) in str(info.value)


@pytest.mark.parametrize("data", [b"not a zip file at all", npz_bytes()[:200], b""])
def test_read_npz_rejects_unreadable_files(tmp_path, data):
    path = write(tmp_path / "mnist.npz", data, gz=False)
    with pytest.raises(ValueError, match="not a readable .npz") as info:
        mnist.load_data(str(path))
    assert str(path) in str(info.value)


def test_read_npz_rejects_a_single_npy(tmp_path):
    path = tmp_path / "mnist.npz"
    with open(path, "wb") as f:
        np.save(f, np.zeros(3, np.uint8))
    with pytest.raises(ValueError, match="not an .npz archive"):
        mnist.load_data(str(path))


# ----------------------------------------------------------------------------- search order

@pytest.fixture
def places(tmp_path, isolated, monkeypatch):
    """FASTNN_DATA, KERAS_HOME and a 'system' dir set to folders under tmp_path."""
    monkeypatch.setattr(fastnn.config, "DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(fastnn.config, "KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIRS", (str(tmp_path / "system"),))
    return dict(data=tmp_path / "data", fastnn=isolated / ".fastnn" / "datasets",
                keras=tmp_path / "keras" / "datasets", system=tmp_path / "system")


def test_candidate_dirs_order(places):
    p = {k: str(v) for k, v in places.items()}
    assert mnist.candidate_dirs() == [p["data"], p["fastnn"], p["keras"]]
    assert fashion_mnist.candidate_dirs() == [
        os.path.join(p["data"], "fashion-mnist"), p["data"],
        os.path.join(p["fastnn"], "fashion-mnist"), os.path.join(p["keras"], "fashion-mnist"),
        p["system"]]


def test_cache_dirs_follow_home_and_keras_home(isolated, monkeypatch, tmp_path):
    assert _files.fastnn_cache_dir() == str(isolated / ".fastnn" / "datasets")
    assert _files.keras_cache_dir() == str(isolated / ".keras" / "datasets")
    assert mnist.candidate_dirs() == [_files.fastnn_cache_dir(), _files.keras_cache_dir()]
    monkeypatch.setattr(fastnn.config, "KERAS_HOME", str(tmp_path / "kh"))
    assert _files.keras_cache_dir() == str(tmp_path / "kh" / "datasets")
    monkeypatch.setenv("HOME", str(tmp_path / "other"))
    assert _files.fastnn_cache_dir() == str(tmp_path / "other" / ".fastnn" / "datasets")


@pytest.mark.parametrize("present, winner", [
    (["data", "fastnn", "keras"], "data"),
    (["fastnn", "keras"], "fastnn"),
    (["keras"], "keras"),
])
def test_mnist_first_location_wins(places, present, winner):
    sizes = {"data": 1, "fastnn": 2, "keras": 3}
    for place in present:
        write(places[place] / "mnist.npz", npz_bytes(sizes[place]), gz=False)
    (x, _), _ = mnist.load_data()
    assert len(x) == sizes[winner]


@pytest.mark.parametrize("present, winner", [
    (["data/fashion-mnist", "data", "fastnn", "keras", "system"], "data/fashion-mnist"),
    (["data", "fastnn", "keras", "system"], "data"),
    (["fastnn", "keras", "system"], "fastnn"),
    (["keras", "system"], "keras"),
    (["system"], "system"),
])
def test_fashion_first_location_wins(places, present, winner):
    folders = {"data/fashion-mnist": places["data"] / "fashion-mnist", "data": places["data"],
               "fastnn": places["fastnn"] / "fashion-mnist",
               "keras": places["keras"] / "fashion-mnist", "system": places["system"]}
    for n, place in enumerate(present):
        write_fashion(folders[place], n_train=10 - n, gz=n % 2 == 0)
    (x, y), _ = fashion_mnist.load_data()
    assert len(x) == len(y) == 10 - present.index(winner)


def test_fashion_skips_a_folder_missing_a_file(places):
    write_fashion(places["fastnn"] / "fashion-mnist", n_train=7)
    os.remove(places["fastnn"] / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz")
    expected = write_fashion(places["system"], n_train=5, gz=False)
    (x, y), (xt, yt) = fashion_mnist.load_data()
    np.testing.assert_array_equal(x, expected[0][0])
    np.testing.assert_array_equal(yt, expected[1][1])


def test_explicit_paths_come_first(places, tmp_path, monkeypatch):
    write(places["data"] / "mnist.npz", npz_bytes(1), gz=False)
    own = write(tmp_path / "own" / "mine.npz", npz_bytes(6), gz=False)
    assert len(mnist.load_data(str(own))[0][0]) == 6          # absolute
    monkeypatch.chdir(tmp_path)
    assert len(mnist.load_data("own/mine.npz")[0][0]) == 6   # relative, existing
    assert len(mnist.load_data()[0][0]) == 1                 # the default name: searched
    write_fashion(places["data"], n_train=2)
    write_fashion(tmp_path / "fm", n_train=8)
    assert len(fashion_mnist.load_data(path=tmp_path / "fm")[0][0]) == 8
    with pytest.raises(DatasetNotFoundError, match="does not hold the four"):
        fashion_mnist.load_data(path=tmp_path / "own")


def test_a_corrupt_file_found_is_an_error_not_a_fallback(places):
    write_fashion(places["keras"] / "fashion-mnist")
    write(places["keras"] / "fashion-mnist" / "train-images-idx3-ubyte.gz", b"\0\0\x08")
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz"):
        fashion_mnist.load_data()


# ----------------------------------------------------------------------------- offline

def test_mnist_offline_fails_with_one_clear_error(isolated, capsys):
    with pytest.raises(DatasetNotFoundError) as info:
        mnist.load_data()
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    for folder in mnist.candidate_dirs():
        assert folder in message
    assert "Download failed" in message and "127.0.0.1" in message
    assert "Put mnist.npz in one of the directories above" in message
    assert "FASTNN_DATA" in message
    assert not (isolated / ".fastnn").exists()  # nothing left behind, not even a folder


def test_fashion_offline_without_subset_mentions_apt(isolated):
    with pytest.raises(DatasetNotFoundError) as info:
        fashion_mnist.load_data(allow_subset=False)
    message = str(info.value)
    assert "apt-get install dataset-fashion-mnist" in message
    assert "train-images-idx3-ubyte.gz" in message and "FASTNN_DATA" in message
    assert os.path.join(_files.keras_cache_dir(), "fashion-mnist") in message
    assert not (isolated / ".fastnn").exists()


# ----------------------------------------------------------------------------- downloads

def test_download_ok_appears_atomically(server, tmp_path, capsys):
    base, routes, _ = server
    body = os.urandom(300_000)
    dest = tmp_path / "cache" / "sub" / "file.bin"
    seen = []
    routes["/file.bin"] = (body, None, lambda: seen.append((dest.exists(),
                                                             sorted(os.listdir(dest.parent)))))
    assert _download.download(base + "file.bin", str(dest), sha(body)) == str(dest)
    assert dest.read_bytes() == body
    assert os.listdir(dest.parent) == ["file.bin"]  # the temporary file is gone
    (exists_midway, listing_midway), = seen
    assert not exists_midway and listing_midway[0].endswith(".part")  # written aside
    out = capsys.readouterr().out
    assert f"Downloading data from {base}file.bin" in out and "300000/300000" in out


@pytest.mark.parametrize("case, match", [
    ("bad checksum", "SHA-256 mismatch"),
    ("cut mid-file", "cut short: received 150000 of 300000 bytes"),
    ("not found", "404"),
    ("closed port", "refused"),
])
def test_failed_download_leaves_nothing(server, tmp_path, case, match):
    base, routes, _ = server
    body = os.urandom(300_000)
    routes["/f.bin"] = (body, 150_000 if case == "cut mid-file" else None, None)
    url = {"not found": base + "missing.bin", "closed port": closed_port_url() + "f.bin"
           }.get(case, base + "f.bin")
    digest = "0" * 64 if case == "bad checksum" else sha(body)
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError, match=match) as info:
        _download.download(url, str(cache / "datasets" / "f.bin"), digest, verbose=0)
    assert isinstance(info.value, OSError) and url in str(info.value)
    assert not cache.exists()


def test_failed_download_keeps_an_existing_file(server, tmp_path):
    base, routes, _ = server
    routes["/f.bin"] = (b"new contents", None, None)
    dest = write(tmp_path / "cache" / "f.bin", b"old contents", gz=False)
    with pytest.raises(DownloadError):
        _download.download(base + "f.bin", str(dest), "0" * 64, verbose=0)
    assert dest.read_bytes() == b"old contents" and os.listdir(dest.parent) == ["f.bin"]


def test_mnist_downloads_into_the_cache_once(server, isolated, monkeypatch):
    base, routes, requests = server
    body = npz_bytes(7, 2)
    routes["/mnist.npz"] = (body, None, None)
    monkeypatch.setattr(mnist, "ORIGIN", base + "mnist.npz")
    monkeypatch.setattr(mnist, "SHA256", sha(body))
    assert len(mnist.load_data()[0][0]) == 7
    assert (isolated / ".fastnn" / "datasets" / "mnist.npz").read_bytes() == body
    assert len(mnist.load_data()[0][0]) == 7 and requests == ["/mnist.npz"]


def test_mnist_download_with_a_bad_checksum_is_not_found(server, isolated, monkeypatch):
    base, routes, _ = server
    routes["/mnist.npz"] = (npz_bytes(), None, None)
    monkeypatch.setattr(mnist, "ORIGIN", base + "mnist.npz")
    with pytest.raises(DatasetNotFoundError, match="SHA-256 mismatch"):
        mnist.load_data()
    assert not (isolated / ".fastnn").exists()


def test_fashion_downloads_the_missing_files(server, isolated, monkeypatch, tmp_path):
    base, routes, requests = server
    expected = write_fashion(tmp_path / "src", n_train=6)
    hashes = {}
    for name in fashion_mnist.FILES:
        body = (tmp_path / "src" / name).read_bytes()
        routes["/" + name], hashes[name] = (body, None, None), sha(body)
    cache = isolated / ".fastnn" / "datasets" / "fashion-mnist"
    write(cache / fashion_mnist.FILES[0], (tmp_path / "src" / fashion_mnist.FILES[0])
          .read_bytes(), gz=False)  # already there from an earlier, interrupted run
    monkeypatch.setattr(fashion_mnist, "BASE_URL", base)
    monkeypatch.setattr(fashion_mnist, "FILE_HASHES", hashes)
    (x, y), (xt, yt) = fashion_mnist.load_data(allow_subset=False)
    np.testing.assert_array_equal(x, expected[0][0])
    np.testing.assert_array_equal(yt, expected[1][1])
    assert sorted(os.listdir(cache)) == sorted(fashion_mnist.FILES)
    assert sorted(requests) == sorted("/" + n for n in fashion_mnist.FILES[1:])


# ----------------------------------------------------------------------------- embedded subset

def test_subset_is_used_only_when_nothing_else_works(isolated, capsys):
    (x, y), (xt, yt) = fashion_mnist.load_data()
    assert (x.shape, y.shape, xt.shape, yt.shape) == ((2000, 28, 28), (2000,),
                                                      (500, 28, 28), (500,))
    assert {a.dtype for a in (x, y, xt, yt)} == {np.dtype(np.uint8)}
    assert set(np.unique(y)) == set(range(10)) and yt.max() <= 9
    assert x.max() > 200 and x.min() == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("fastnn: full Fashion-MNIST not found")
    assert "embedded subset of 2000 training and 500 test images" in err
    assert "apt-get install dataset-fashion-mnist" in err and "FASTNN_DATA" in err
    assert os.path.join(_files.keras_cache_dir(), "fashion-mnist") in err


def test_subset_file_is_small_and_labelled():
    assert os.path.getsize(fashion_mnist.SUBSET_PATH) < 1_200_000
    with np.load(fashion_mnist.SUBSET_PATH, allow_pickle=False) as npz:
        assert tuple(npz["class_names"]) == fashion_mnist.CLASS_NAMES
    readme = pathlib.Path(fashion_mnist.SUBSET_PATH).with_name("README.md").read_text()
    assert "Zalando" in readme and "MIT" in readme


# ----------------------------------------------------------------------------- iris

def test_iris_split():
    (x, y), (xt, yt) = iris.load_data()
    assert (x.shape, y.shape, xt.shape, yt.shape) == ((120, 4), (120,), (30, 4), (30,))
    assert x.dtype == xt.dtype == np.float32 and y.dtype == yt.dtype == np.int64
    assert np.bincount(y).tolist() == [40, 40, 40] and np.bincount(yt).tolist() == [10] * 3
    assert len(iris.CLASS_NAMES) == 3 and len(iris.FEATURE_NAMES) == 4
    assert len(set(np.unique(y[-24:]))) == 3  # shuffled: a validation tail has every class
    everything = np.concatenate([x, xt])
    rows = np.concatenate([everything, np.concatenate([y, yt])[:, None]], axis=1)
    all_x, all_y = iris._read_csv()  # the split is a partition of the 150 rows
    np.testing.assert_array_equal(np.unique(rows, axis=0),
                                  np.unique(np.concatenate([all_x, all_y[:, None]], 1), axis=0))
    assert len(np.unique(rows, axis=0)) == 149  # R's iris repeats one row (102 and 143)
    np.testing.assert_allclose(everything.mean(axis=0), [5.843, 3.057, 3.758, 1.199],
                               atol=1e-3)  # Fisher's data, as in R
    (x2, y2), (xt2, _) = iris.load_data()
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(iris.load_data(seed=1)[1][0], xt)


def test_iris_test_split_argument():
    (x, _), (xt, yt) = iris.load_data(test_split=0.1)
    assert len(x) == 135 and len(xt) == 15 and np.bincount(yt).tolist() == [5, 5, 5]
    assert len(iris.load_data(test_split=0)[0][0]) == 150
    for bad in (1, 1.5, -0.1, True):
        with pytest.raises(ValueError, match="test_split"):
            iris.load_data(test_split=bad)


# ----------------------------------------------------------------------------- Debian's files

def debian_files_present():
    return all(os.path.isfile(os.path.join(DEBIAN_DIR, f)) for f in fashion_mnist.FILES)


@pytest.mark.skipif(not debian_files_present(), reason=f"Fashion-MNIST is not installed in "
                    f"{DEBIAN_DIR} (apt-get install dataset-fashion-mnist)")
def test_debian_fashion_mnist(monkeypatch, capsys):
    monkeypatch.setattr(fashion_mnist, "SYSTEM_DIRS", (DEBIAN_DIR,))
    (x, y), (xt, yt) = fashion_mnist.load_data(allow_subset=False)
    assert (x.shape, y.shape, xt.shape, yt.shape) == ((60000, 28, 28), (60000,),
                                                      (10000, 28, 28), (10000,))
    assert {a.dtype for a in (x, y, xt, yt)} == {np.dtype(np.uint8)}
    assert np.bincount(y).tolist() == [6000] * 10 and np.bincount(yt).tolist() == [1000] * 10
    assert capsys.readouterr().err == ""  # no subset notice
    (sx, sy), (sxt, syt) = fashion_mnist.load_subset()  # the subset is real, unchanged data
    np.testing.assert_array_equal(sx, x[:len(sx)])
    np.testing.assert_array_equal(sy, y[:len(sy)])
    np.testing.assert_array_equal(sxt, xt[:len(sxt)])
    np.testing.assert_array_equal(syt, yt[:len(syt)])


# ----------------------------------------------------------------------------- conventions

@pytest.mark.parametrize("module", [idx, _files, fashion_mnist, iris],
                         ids=lambda m: m.__name__)
def test_doctests(module):
    assert doctest.testmod(module).failed == 0


def test_environment_is_read_only_in_config():
    folder = pathlib.Path(fashion_mnist.__file__).parent
    for source in folder.glob("*.py"):
        text = source.read_text()
        assert "os.environ" not in text and "getenv" not in text, source
