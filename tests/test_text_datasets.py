"""imdb/reuters on small synthetic files in Keras's exact format (np.savez of object arrays
of int lists), compared with real Keras on the same files where /work/tfvenv exists; the
restricted object-array parser on the hostile files of tests/hostile_files/npz/."""
import importlib.util
import io
import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

import fastnn
from fastnn.datasets import DatasetNotFoundError, _download, _npz_objects, imdb, reuters

HERE = os.path.dirname(os.path.abspath(__file__))
TF_PYTHON = os.environ.get("FASTNN_TF_PYTHON", "/work/tfvenv/bin/python")
_spec = importlib.util.spec_from_file_location(
    "make_hostile_npz", os.path.join(HERE, "hostile_files", "make_hostile_npz.py"))
make = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make)


def ragged(rng, n, vocab, low=1, high=30):
    out = np.empty(n, dtype=object)
    for i in range(n):
        out[i] = [int(w) for w in rng.integers(1, vocab, rng.integers(low, high))]
    return out


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(fastnn.config, "DATA_DIR", None)
    monkeypatch.setattr(fastnn.config, "KERAS_HOME", None)
    for mod in (imdb, reuters):
        monkeypatch.setattr(mod, "ORIGIN", "http://127.0.0.1:9/nothing.npz")
        monkeypatch.setattr(mod, "WORD_INDEX_ORIGIN", "http://127.0.0.1:9/nothing.json")
    keras_dir = tmp_path / "home" / ".keras" / "datasets"
    keras_dir.mkdir(parents=True)
    return keras_dir


@pytest.fixture
def files(rng, home):
    """imdb.npz and reuters.npz (and word indices) in Keras's cache, as Keras writes them."""
    np.savez(home / "imdb.npz", x_train=ragged(rng, 40, 60), y_train=rng.integers(0, 2, 40),
             x_test=ragged(rng, 30, 60), y_test=rng.integers(0, 2, 30))
    np.savez(home / "reuters.npz", x=ragged(rng, 50, 80), y=rng.integers(0, 46, 50))
    for name in ("imdb", "reuters"):
        words = {f"w{i}": i for i in range(1, 80)}
        (home / f"{name}_word_index.json").write_text(json.dumps(words))
    return home


ARGS = [dict(), dict(num_words=20), dict(skip_top=5, num_words=30, seed=7),
        dict(maxlen=15), dict(start_char=None, oov_char=None, num_words=25),
        dict(start_char=None, index_from=0), dict(oov_char=None, skip_top=3, index_from=2)]
REUTERS_ARGS = ARGS + [dict(test_split=0.5, num_words=10), dict(test_split=0.0)]


def as_lists(result):
    (xa, ya), (xb, yb) = result
    return [[list(map(int, r)) for r in xa], [int(v) for v in ya],
            [list(map(int, r)) for r in xb], [int(v) for v in yb]]


def test_load_data_shapes_and_defaults(files):
    (x_train, y_train), (x_test, y_test) = imdb.load_data()
    assert x_train.dtype == object and x_train.shape == (40,) and y_train.shape == (40,)
    assert x_test.shape == (30,) and all(isinstance(r, list) and r[0] == 1 for r in x_train)
    raw = np.load(files / "imdb.npz", allow_pickle=True)
    idx = np.arange(40)
    np.random.RandomState(113).shuffle(idx)
    assert x_train[0] == [1] + [w + 3 for w in raw["x_train"][idx[0]]]
    (x, y), (xt, yt) = reuters.load_data()
    assert len(x) == 40 and len(xt) == 10 and y.max() < 46
    assert imdb.get_word_index()["w3"] == 3 and reuters.get_word_index()["w9"] == 9
    names = reuters.get_label_names()
    assert len(names) == 46 and names[:3] == ("cocoa", "grain", "veg-oil") and names[-1] == "lead"


def test_num_words_skip_top_maxlen(files):
    (x, _), (xt, _) = imdb.load_data(num_words=20, skip_top=4)
    words = {w for r in list(x) + list(xt) for w in r[1:]}
    assert words <= set(range(4, 20)) | {2}
    (x, _), _ = imdb.load_data(maxlen=15)
    assert all(len(r) < 15 for r in x)
    with pytest.raises(ValueError, match="no sequence was kept"):
        imdb.load_data(maxlen=1)
    with pytest.raises(ValueError, match="num_words"):
        imdb.load_data(num_words=-1)
    with pytest.raises(ValueError, match="test_split"):
        reuters.load_data(test_split=1.5)
    with pytest.raises(TypeError, match="Unrecognized keyword"):
        imdb.load_data(nb_words=10)


def test_python2_era_pickles_load(tmp_path, rng):
    """Keras's files predate NumPy 2: protocol-2 streams naming numpy.core.multiarray."""
    x = ragged(rng, 5, 30)
    data = pickle.dumps(x, protocol=2).replace(b"numpy._core.multiarray",
                                               b"numpy.core.multiarray")
    assert b"numpy.core.multiarray" in data
    member = make.header((5,)) + data
    got = _npz_objects.read_member(member, "x")
    assert [list(r) for r in got] == [list(r) for r in x]


def test_shared_rows_are_copied(tmp_path):
    row = [5, 6]
    x = np.empty(2, dtype=object)
    x[0] = x[1] = row
    got = _npz_objects.read_member(make.npy(x), "x")
    got[0].append(7)
    assert got[1] == [5, 6]


@pytest.mark.parametrize("name,words", make.CASES)
def test_hostile_file_is_refused(name, words):
    path = os.path.join(make.HERE, name)
    assert os.path.isfile(path), "run tests/hostile_files/make_hostile_npz.py"
    with pytest.raises(ValueError, match=words):
        imdb.load_data(path=path)


def test_every_hostile_npz_is_listed():
    assert sorted(os.listdir(make.HERE)) == sorted(n for n, _ in make.CASES)


def test_downloaded_with_checksum(files, tmp_path, monkeypatch):
    src = tmp_path / "origin.npz"
    os.replace(files / "reuters.npz", src)
    monkeypatch.setattr(reuters, "ORIGIN", src.as_uri())
    monkeypatch.setattr(reuters, "SHA256", _download.sha256_of(src))
    first = as_lists(reuters.load_data())
    assert os.path.isfile(tmp_path / "home" / ".fastnn" / "datasets" / "reuters.npz")
    assert as_lists(reuters.load_data()) == first
    # the word index is checked with an MD5, as Keras publishes it
    src = tmp_path / "index.json"
    src.write_text('{"a": 1}')
    os.remove(files / "reuters_word_index.json")
    monkeypatch.setattr(reuters, "WORD_INDEX_ORIGIN", src.as_uri())
    monkeypatch.setattr(reuters, "WORD_INDEX_MD5", "0" * 32)
    with pytest.raises(DatasetNotFoundError, match="MD5 mismatch"):
        reuters.get_word_index()
    import hashlib
    monkeypatch.setattr(reuters, "WORD_INDEX_MD5", hashlib.md5(b'{"a": 1}').hexdigest())
    assert reuters.get_word_index() == {"a": 1}


def test_not_found_offline(home):
    with pytest.raises(DatasetNotFoundError, match="imdb.npz"):
        imdb.load_data()


KERAS_SCRIPT = r"""
import json, sys
import numpy as np
from keras.src.datasets import imdb, reuters
folder, imdb_args, reuters_args = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
imdb.get_file = lambda fname, **kw: folder + "/" + fname
reuters.get_file = lambda fname, **kw: folder + "/" + fname
def lists(result):
    (xa, ya), (xb, yb) = result
    return [[list(map(int, r)) for r in xa], [int(v) for v in ya],
            [list(map(int, r)) for r in xb], [int(v) for v in yb]]
out = {"imdb": [lists(imdb.load_data(**a)) for a in imdb_args],
       "reuters": [lists(reuters.load_data(**a)) for a in reuters_args],
       "index": imdb.get_word_index()}
print("RESULT" + json.dumps(out))
"""


@pytest.mark.skipif(not os.path.exists(TF_PYTHON), reason="no Keras venv at /work/tfvenv")
def test_same_as_keras(files, tmp_path):
    proc = subprocess.run([TF_PYTHON, "-c", KERAS_SCRIPT, str(files), json.dumps(ARGS),
                           json.dumps(REUTERS_ARGS)], capture_output=True, text=True,
                          cwd=str(tmp_path), timeout=300,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    want = json.loads(proc.stdout.split("RESULT", 1)[1])
    for args, expected in zip(ARGS, want["imdb"]):
        assert as_lists(imdb.load_data(**args)) == expected, args
    for args, expected in zip(REUTERS_ARGS, want["reuters"]):
        assert as_lists(reuters.load_data(**args)) == expected, args
    assert imdb.get_word_index() == want["index"]


BOMB = r"""
import os, resource, sys
if "libasan" not in os.environ.get("LD_PRELOAD", ""):  # ASan reserves terabytes
    resource.setrlimit(resource.RLIMIT_AS, (1 << 31, 1 << 31))
from fastnn.datasets import imdb
for path in sys.argv[1:]:
    try:
        imdb.load_data(path=path)
        print("LOADED", path)
    except ValueError as e:
        print("ValueError", e)
"""


def test_bombs_are_refused_under_a_memory_limit():
    """A 2 GiB address-space limit: every size bomb is refused before it allocates."""
    import sys
    import tempfile
    from conftest import subprocess_env
    names = ["shape_bomb.npz", "reference_bomb.npz", "zip_bomb.npz", "huge_string.npz",
             "oversized_member.npz"]
    out = subprocess.run([sys.executable, "-c", BOMB] +
                         [os.path.join(make.HERE, n) for n in names],
                         capture_output=True, text=True, timeout=300, env=subprocess_env(),
                         cwd=tempfile.gettempdir())
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert len(lines) == len(names) and all(l.startswith("ValueError") for l in lines), \
        out.stdout + out.stderr[-2000:]
