"""Dataset.cache(filename) (a full pass writes the file, later passes read it, an
interrupted pass leaves nothing, damaged files are refused) and map with
num_parallel_calls (order kept unless deterministic=False, errors name the element, no
threads left behind)."""
import gc
import os
import threading
import time

import numpy as np
import pytest

from fastnn.data import AUTOTUNE, Dataset
from fastnn.utils import dataset_cache


def map_threads():
    return [t for t in threading.enumerate() if t.name.startswith("fastnn-map")]


def elements(ds):
    return [tuple(np.asarray(v).tolist() for v in e) if isinstance(e, tuple)
            else np.asarray(e).tolist() for e in ds]


def test_cache_file_written_once_then_read(tmp_path):
    calls = []
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    labels = np.array(["a", "bb", "c", "dd", "e", "ff"])
    path = tmp_path / "cache"

    def f(x, y):
        calls.append(1)
        return {"x": x * 2, "s": y}, np.int64(len(y))
    ds = Dataset.from_tensor_slices((x, labels)).map(f).cache(str(path))
    first = list(ds)
    assert len(calls) == 6 and path.is_file()
    second = list(ds)
    assert len(calls) == 6  # read from the file
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a[0]["x"], b[0]["x"])
        assert a[0]["s"] == b[0]["s"] and a[1] == b[1] and b[1].dtype == np.int64
    # a new pipeline over the same file reads it too (as tf.data does)
    again = Dataset.from_tensor_slices((x, labels)).map(f).cache(str(path))
    assert len(list(again)) == 6 and len(calls) == 6
    assert ds.batch(4).cardinality() == 2
    assert [b[1].tolist() for b in ds.batch(4)] == [[1, 2, 1, 2], [1, 2]]


def test_interrupted_pass_leaves_no_cache(tmp_path):
    path = tmp_path / "cache"
    ds = Dataset.range(10).cache(str(path))
    it = iter(ds)
    next(it), next(it)
    it.close()
    assert os.listdir(tmp_path) == []
    for _ in ds.take(3):
        pass
    assert os.listdir(tmp_path) == []

    def boom(x):
        if int(x) == 5:
            raise KeyError("bad element")
        return x
    with pytest.raises(KeyError):
        list(Dataset.range(10).map(boom).cache(str(path)))
    assert os.listdir(tmp_path) == []
    assert elements(ds) == list(range(10)) and os.listdir(tmp_path) == ["cache"]


@pytest.mark.parametrize("damage", ["truncate", "magic", "bomb", "header", "dtype"])
def test_damaged_cache_files_are_refused(tmp_path, damage):
    path = str(tmp_path / "cache")
    list(Dataset.from_tensor_slices(np.arange(8.0).reshape(4, 2)).cache(path))
    data = open(path, "rb").read()
    if damage == "truncate":
        data = data[:-7]
    elif damage == "magic":
        data = b"PICKLE!!!\n" + data[10:]
    elif damage == "bomb":
        data = data.replace(b'"shape":[2]', b'"shape":[9999999999]')
    elif damage == "header":
        data = data[:10] + b"\xff\xff\xff\x7f" + data[14:]
    else:
        data = data.replace(b'"<f8"', b'"|O8"')
    with open(path, "wb") as f:
        f.write(data)
    with pytest.raises(ValueError, match="cache file"):
        list(Dataset.from_tensor_slices(np.arange(8.0).reshape(4, 2)).cache(path))


def test_cache_refuses_object_elements(tmp_path):
    ds = Dataset.from_generator(lambda: iter([np.array([{"a": 1}], dtype=object)]))
    with pytest.raises(ValueError, match="numbers, bools and strings"):
        list(ds.cache(str(tmp_path / "c")))
    assert os.listdir(tmp_path) == []


def test_parallel_map_keeps_order_and_runs_in_threads():
    seen = set()

    def slow(x):
        seen.add(threading.current_thread().name)
        time.sleep(0.002 * (3 - int(x) % 3))
        return x * 10
    ds = Dataset.range(30).map(slow, num_parallel_calls=4)
    assert elements(ds) == [10 * i for i in range(30)]
    assert len(seen) > 1 and all(n.startswith("fastnn-map") for n in seen)
    auto = Dataset.range(30).map(slow, num_parallel_calls=AUTOTUNE, deterministic=False)
    assert sorted(elements(auto)) == [10 * i for i in range(30)]
    assert not map_threads()


def test_parallel_map_error_names_the_element_and_stops_threads():
    def f(x):
        if int(x) == 7:
            raise ZeroDivisionError("no")
        return x
    for ordered in (True, False):
        with pytest.raises(ZeroDivisionError) as info:
            list(Dataset.range(20).map(f, num_parallel_calls=3, deterministic=ordered))
        assert any("element 7" in n for n in info.value.__notes__)
        assert not map_threads()
    with pytest.raises(ZeroDivisionError) as info:
        list(Dataset.range(20).map(f))
    assert any("element 7" in n for n in info.value.__notes__)


def test_abandoned_parallel_map_leaves_no_threads():
    it = iter(Dataset.range(1000).map(lambda x: x + 1, num_parallel_calls=4))
    assert int(next(it)) == 1
    del it
    gc.collect()
    deadline = time.monotonic() + 5
    while map_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not map_threads()
    for _ in Dataset.range(100).map(lambda x: x, num_parallel_calls=2).take(3):
        pass
    assert not map_threads()


def test_map_argument_checks():
    with pytest.raises(ValueError, match="num_parallel_calls"):
        Dataset.range(3).map(lambda x: x, num_parallel_calls=0)
    with pytest.raises(ValueError, match="deterministic"):
        Dataset.range(3).map(lambda x: x, num_parallel_calls=2, deterministic="yes")


def test_cache_format_round_trips_structures(tmp_path):
    path = str(tmp_path / "c")
    w = dataset_cache.Writer(path)
    element = ({"a": np.array([1, 2], np.int16), "b": [np.bool_(True), np.array("é")]},
               np.zeros((0, 3), np.float32))
    w.write(element)
    w.commit()
    (got,) = list(dataset_cache.read(path))
    assert got[0]["a"].dtype == np.int16 and got[0]["b"][1] == "é" and got[1].shape == (0, 3)
