"""fastnn's Dataset: tf.data's semantics for the chain methods, iterated as NumPy."""
import os
import threading
import time

import numpy as np
import pytest

from fastnn import data as tf_data
from fastnn.utils.dataset import INFINITE, UNKNOWN, BackgroundIterator, Dataset


def as_lists(ds):
    out = []
    for e in ds:
        out.append(tuple(np.asarray(a).tolist() for a in e) if isinstance(e, tuple)
                   else np.asarray(e).tolist())
    return out


def test_slices_map_batch_unbatch():
    ds = Dataset.from_tensor_slices((np.arange(5), np.arange(5) * 10))
    assert len(ds) == 5 and ds.cardinality() == 5
    assert as_lists(ds.batch(2)) == [([0, 1], [0, 10]), ([2, 3], [20, 30]), ([4], [40])]
    assert as_lists(ds.batch(2, drop_remainder=True)) == [([0, 1], [0, 10]), ([2, 3], [20, 30])]
    assert len(ds.batch(2)) == 3 and len(ds.batch(2, drop_remainder=True)) == 2
    mapped = ds.map(lambda x, y: (x + 1, y), num_parallel_calls=tf_data.AUTOTUNE)
    assert as_lists(mapped.batch(3)) == [([1, 2, 3], [0, 10, 20]), ([4, 5], [30, 40])]
    assert as_lists(ds.batch(2).unbatch()) == as_lists(ds)
    d = Dataset.from_tensor_slices({"a": np.arange(3), "b": np.ones((3, 2))}).batch(2)
    first = next(iter(d))
    assert first["a"].tolist() == [0, 1] and first["b"].shape == (2, 2)


def test_take_skip_repeat_cache_concatenate_filter():
    ds = Dataset.range(6)
    assert as_lists(ds.take(2)) == [0, 1] and as_lists(ds.skip(4)) == [4, 5]
    assert as_lists(ds.take(-1)) == list(range(6)) and as_lists(ds.skip(-1)) == []
    assert as_lists(ds.take(2).repeat(3)) == [0, 1] * 3 and len(ds.repeat(2)) == 12
    assert ds.repeat().cardinality() == INFINITE
    assert as_lists(ds.repeat().take(8)) == [0, 1, 2, 3, 4, 5, 0, 1]
    assert as_lists(ds.filter(lambda x: x % 2 == 0)) == [0, 2, 4]
    assert ds.filter(lambda x: True).cardinality() == UNKNOWN
    with pytest.raises(TypeError, match="length is unknown"):
        len(ds.filter(lambda x: True))
    assert as_lists(ds.take(2).concatenate(ds.skip(5))) == [0, 1, 5]
    calls = []
    cached = ds.map(lambda x: calls.append(int(x)) or x).cache()
    assert as_lists(cached) == as_lists(cached) == list(range(6))
    assert calls == list(range(6))  # the map ran once


def test_shuffle_is_a_permutation_reshuffled_each_iteration_and_seeded():
    ds = Dataset.range(100).shuffle(100, seed=3)
    a, b = as_lists(ds), as_lists(ds)
    assert sorted(a) == sorted(b) == list(range(100)) and a != b
    assert as_lists(Dataset.range(100).shuffle(100, seed=3)) == a
    fixed = Dataset.range(50).shuffle(50, seed=1, reshuffle_each_iteration=False)
    assert as_lists(fixed) == as_lists(fixed)
    small = Dataset.range(100).shuffle(10, seed=0)  # a buffer of 10: local shuffling
    order = as_lists(small)
    assert sorted(order) == list(range(100))
    assert all(v <= i + 10 for i, v in enumerate(order))  # never ahead of the buffer
    batched = as_lists(Dataset.from_tensor_slices(np.arange(10)).shuffle(10).batch(4))
    assert sorted(sum(batched, [])) == list(range(10)) and [len(b) for b in batched] == [4, 4, 2]


def test_prefetch_runs_ahead_in_a_thread_and_reraises():
    seen = []

    def slow(x):
        seen.append(threading.current_thread().name)
        return x
    assert as_lists(Dataset.range(4).map(slow).prefetch(tf_data.AUTOTUNE)) == [0, 1, 2, 3]
    assert set(seen) == {"fastnn-prefetch"}

    def boom(x):
        if x == 2:
            raise ValueError("bad element 2")
        return x
    with pytest.raises(ValueError, match="bad element 2"):
        list(Dataset.range(4).map(boom).prefetch(2))
    it = BackgroundIterator(iter(Dataset.range(2 ** 40)), 2)  # closed early: the thread ends
    next(it)
    it.close()
    time.sleep(0.3)
    assert not it._thread.is_alive()


def test_from_generator_zip_enumerate_and_errors():
    ds = Dataset.from_generator(lambda: iter([(1, 2), (3, 4)]))
    assert as_lists(ds) == as_lists(ds) == [(1, 2), (3, 4)]
    z = Dataset.zip((Dataset.range(3), Dataset.range(10, 13)))
    assert as_lists(z) == [(0, 10), (1, 11), (2, 12)] and len(z) == 3
    assert as_lists(Dataset.range(2).enumerate()) == [(0, 0), (1, 1)]
    with pytest.raises(ValueError, match="different first dimensions"):
        Dataset.from_tensor_slices((np.arange(3), np.arange(4)))
    with pytest.raises(ValueError, match="batch_size"):
        Dataset.range(3).batch(0)
    with pytest.raises(ValueError, match="buffer_size"):
        Dataset.range(3).shuffle(0)
    with pytest.raises(ValueError, match="is a directory"):
        Dataset.range(3).cache(os.path.dirname(os.path.abspath(__file__)))


def test_class_names_carried_through_the_chain():
    ds = Dataset.from_tensor_slices(np.arange(4))
    ds.class_names = ["a", "b"]
    assert ds.map(lambda x: x).batch(2).prefetch(1).class_names == ["a", "b"]


def test_an_abandoned_prefetch_stops_its_thread():
    import gc
    before = set(threading.enumerate())
    for _ in Dataset.range(10 ** 6).prefetch(2):
        break
    gc.collect()
    deadline = time.time() + 5
    while time.time() < deadline and set(threading.enumerate()) - before:
        time.sleep(0.05)
    assert not set(threading.enumerate()) - before


def test_pack_and_unpack_x_y_sample_weight():
    from fastnn.utils import pack_x_y_sample_weight, unpack_x_y_sample_weight
    assert unpack_x_y_sample_weight(1) == (1, None, None)
    assert unpack_x_y_sample_weight([1, 2]) == (1, 2, None)
    assert unpack_x_y_sample_weight((1, 2, 3)) == (1, 2, 3)
    with pytest.raises(ValueError, match="Data is expected to be in format"):
        unpack_x_y_sample_weight((1, 2, 3, 4))
    assert pack_x_y_sample_weight([1, 2]) == ([1, 2],)
    assert pack_x_y_sample_weight(1, 2) == (1, 2) and pack_x_y_sample_weight(1) == 1


def test_lists_of_scalars_are_one_tensor_as_tf_data_reads_them():
    """tf.data turns a list of scalars into one tensor (keras.io's pretrained-embeddings
    example slices a list of strings); tuples, dicts and lists of arrays stay structures."""
    texts = Dataset.from_tensor_slices(["a b", "c", "d e f"])
    assert [str(t) for t in texts] == ["a b", "c", "d e f"]
    assert [b.tolist() for b in texts.batch(2)] == [["a b", "c"], ["d e f"]]
    rows = list(Dataset.from_tensor_slices([[1, 2], [3, 4]]))
    assert [r.tolist() for r in rows] == [[1, 2], [3, 4]]
    pairs = list(Dataset.from_tensor_slices((["x", "y"], [0, 1])))
    assert [(str(a), int(b)) for a, b in pairs] == [("x", 0), ("y", 1)]
    arrays = list(Dataset.from_tensor_slices([np.zeros(2), np.ones(2)]))
    assert len(arrays) == 2 and isinstance(arrays[0], list)  # a structure of two arrays
