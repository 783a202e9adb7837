"""`Dataset`: a small input pipeline iterated as NumPy, with the chain methods tutorials use.

It follows `tf.data.Dataset`'s semantics for the methods it has: an element is an array,
a tuple, or a dict of arrays (nested); `map` calls its function with a tuple element's
items as arguments; `batch` stacks elements (the last batch partial unless
`drop_remainder`); `shuffle` keeps a buffer of `buffer_size` elements and draws from it,
reshuffling on every iteration; `repeat()` without a count repeats forever.
`map(fn, num_parallel_calls=n)` runs `fn` in n threads (`AUTOTUNE`: one per core), the
elements in order unless `deterministic=False`; `prefetch` prepares elements in a
background thread; `cache(filename)` writes the first full pass to a file that later
passes read (fastnn's own format, see `fastnn.utils.dataset_cache`).

A dataset built with `from_tensor_slices` and batched (optionally after a `shuffle`
whose buffer holds it all) gathers each batch with one indexed copy per array
instead of stacking elements one by one.

This module holds the `Dataset` class (its constructors and chain methods) and the
background thread `prefetch` and fit use (`BackgroundIterator`, `DATA_THREAD_NICE`); the
nodes the methods build are in dataset_sources.py, dataset_transforms.py and
dataset_batching.py, the element helpers and constants in dataset_elements.py.

    >>> import numpy as np
    >>> ds = Dataset.from_tensor_slices((np.arange(5), np.arange(5) * 10))
    >>> [tuple(b.tolist() for b in batch) for batch in ds.map(lambda x, y: (x, y + 1)).batch(2)]
    [([0, 1], [1, 11]), ([2, 3], [21, 31]), ([4], [41])]
"""
import os
import queue
import threading

from fastnn._eager import eager
from fastnn.utils.dataset_elements import AUTOTUNE, INFINITE, UNKNOWN, _positive_int
# the element helpers, importable from here as before (fastnn.utils, dataset_utils, ...)
from fastnn.utils.dataset_elements import (flatten, map_structure, pack_like,  # noqa: F401
                                           pack_x_y_sample_weight, unpack_x_y_sample_weight)


class Dataset:
    """An iterable of elements (arrays, or tuples/dicts of arrays), built by chaining.

    Make one with `Dataset.from_tensor_slices(...)` or the directory utilities
    (`image_dataset_from_directory`, ...); `fit`, `evaluate` and `predict` take it as `x`.
    Iterating yields NumPy arrays. `class_names` and `file_paths` are set by the directory
    utilities and carried through the chain methods.
    """

    class_names = None
    file_paths = None

    def __init__(self, parent=None):
        self._parent = parent
        if parent is not None:  # carried through the chain (tf.data drops them)
            self.class_names, self.file_paths = parent.class_names, parent.file_paths

    # ---- what subclasses provide ------------------------------------------------------
    def _iter(self):
        raise NotImplementedError

    def cardinality(self):
        """The number of elements: an int, `INFINITE` (-1) or `UNKNOWN` (-2)."""
        return UNKNOWN

    def _index_order(self):
        """For a dataset of slices: this iteration's order of slice indices (else None)."""
        return None

    # ---- iteration ----------------------------------------------------------------------
    def __iter__(self):
        """The elements, with TensorFlow's .numpy() as a tf.data loop sees them (closing
        this iterator closes the pipeline's)."""
        inner = iter(self._iter())
        try:
            for element in inner:
                yield eager(element)
        finally:
            close = getattr(inner, "close", None)
            if close is not None:
                close()

    def as_numpy_iterator(self):
        return iter(self._iter())

    def __len__(self):
        n = self.cardinality()
        if n == INFINITE:
            raise TypeError("The dataset is infinite.")
        if n == UNKNOWN:
            raise TypeError("The dataset length is unknown.")
        return n

    def __bool__(self):
        return True

    def __repr__(self):
        n = self.cardinality()
        n = {INFINITE: "infinite", UNKNOWN: "unknown"}.get(n, n)
        return f"<{type(self).__name__} cardinality={n}>"

    # ---- constructors -------------------------------------------------------------------
    @staticmethod
    def from_tensor_slices(tensors, name=None):
        """A dataset whose elements are slices of the given arrays along their first axis."""
        return _Slices(tensors)

    @staticmethod
    def from_generator(generator, output_signature=None, output_types=None,
                       output_shapes=None, args=None):
        """A dataset whose elements come from calling `generator(*args)` at each iteration."""
        if not callable(generator):
            raise TypeError("`generator` must be a callable that returns an iterator, "
                            f"received {type(generator).__name__}")
        return _FromGenerator(generator, tuple(args or ()))

    @staticmethod
    def range(*args):
        """Integers as `range(*args)` gives them (int64 scalars)."""
        return _Range(range(*args))

    @staticmethod
    def zip(*datasets):
        if len(datasets) == 1 and isinstance(datasets[0], (tuple, list)):
            datasets = tuple(datasets[0])
        return _Zip(datasets)

    # ---- transformations --------------------------------------------------------------
    def map(self, map_func, num_parallel_calls=None, deterministic=None, name=None):
        """Apply `map_func` to each element (a tuple element's items are its arguments).

        Args:
            map_func: the function.
            num_parallel_calls: `None` (one call at a time, in the iterating thread), a
                positive int n (n worker threads), or `AUTOTUNE` (one thread per core).
                NumPy and fastnn release the GIL in their heavy work, so threads pay for
                array work; pure-Python functions gain little.
            deterministic: with threads, `False` yields elements as they finish instead
                of in order. `None` and `True` keep the order.

        An error in `map_func` is re-raised as it was, with a note naming the element's
        position; the worker threads are stopped when iteration ends, fails or is
        abandoned.
        """
        if not callable(map_func):
            raise TypeError(f"`map_func` must be callable, received {type(map_func).__name__}")
        if num_parallel_calls is not None:
            num_parallel_calls = _positive_int("num_parallel_calls", num_parallel_calls,
                                               allow=(AUTOTUNE,))
            if num_parallel_calls == AUTOTUNE:
                num_parallel_calls = max(os.cpu_count() or 1, 2)
        if deterministic not in (None, True, False):
            raise ValueError(f"`deterministic` must be None, True or False, received "
                             f"deterministic={deterministic!r}")
        if num_parallel_calls is None or num_parallel_calls == 1:
            return _Map(self, map_func)
        return _ParallelMap(self, map_func, num_parallel_calls, deterministic is not False)

    def filter(self, predicate, name=None):
        return _Filter(self, predicate)

    def batch(self, batch_size, drop_remainder=False, num_parallel_calls=None,
              deterministic=None, name=None):
        """Stack consecutive elements into batches of `batch_size`."""
        return _Batch(self, _positive_int("batch_size", batch_size), bool(drop_remainder))

    def unbatch(self, name=None):
        """Split each element along its first axis (the inverse of `batch`)."""
        return _Unbatch(self)

    def rebatch(self, batch_size, drop_remainder=False, name=None):
        return self.unbatch().batch(batch_size, drop_remainder)

    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=True, name=None):
        """Draw elements at random from a buffer of `buffer_size` (all of them when it holds
        the dataset); a new order on each iteration unless `reshuffle_each_iteration=False`."""
        buffer_size = _positive_int("buffer_size", buffer_size, allow=(AUTOTUNE,))
        return _Shuffle(self, buffer_size, seed, reshuffle_each_iteration)

    def prefetch(self, buffer_size, name=None):
        """Prepare up to `buffer_size` elements ahead, in a background thread."""
        buffer_size = _positive_int("buffer_size", buffer_size, allow=(AUTOTUNE, 0))
        return _Prefetch(self, 2 if buffer_size == AUTOTUNE else buffer_size)

    def cache(self, filename="", name=None):
        """Keep the elements after the first full iteration: in memory (`filename=""`), or
        in the file `filename`, which later iterations (and later programs) read instead
        of the dataset, as tf.data does.

        The file is written to a temporary name and moved to `filename` only when a pass
        has read the whole dataset, so an interrupted pass leaves no cache. An existing
        file is read as it is (remove it when the data changes). Elements must be arrays
        of numbers, bools or strings (or tuples/lists/dicts of them).
        """
        if filename is None or filename == "":
            return _Cache(self)
        filename = os.fspath(filename)
        if os.path.isdir(filename):
            raise ValueError(f"Dataset.cache: {filename!r} is a directory; give the path of "
                             f"a file to create")
        folder = os.path.dirname(os.path.abspath(filename))
        if not os.path.isdir(folder):
            raise ValueError(f"Dataset.cache: the folder {folder!r} does not exist")
        return _FileCache(self, filename)

    def take(self, count, name=None):
        return _Take(self, int(count))

    def skip(self, count, name=None):
        return _Skip(self, int(count))

    def repeat(self, count=None, name=None):
        return _Repeat(self, None if count is None or count < 0 else int(count))

    def concatenate(self, dataset, name=None):
        return _Concatenate(self, dataset)

    def enumerate(self, start=0, name=None):
        return Dataset.zip((Dataset.range(start, 2 ** 62), self))

    def apply(self, transformation_func):
        return transformation_func(self)


_DONE = object()

# How much lower than the training thread's the scheduling priority of the data thread is
# (a Linux nice increment; 0: the same). Experimental, measured by benchmarks/bench_data.py:
# a lower priority lets the kernels' threads preempt decoding, which then fills the time
# they leave idle instead of stalling a parallel region at its barrier.
DATA_THREAD_NICE = 0


def _lower_priority(increment):
    if increment <= 0 or not hasattr(os, "setpriority"):
        return
    try:  # on Linux, a thread id names the thread alone
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + increment)
    except OSError:
        pass


class BackgroundIterator:
    """Runs `iterator` in a daemon thread, `depth` items ahead (each passed through
    `transform` there when given); exceptions are re-raised in the consumer, and `close()`
    (also when the consumer drops it) stops the thread."""

    def __init__(self, iterator, depth=2, name="fastnn-prefetch", transform=None):
        self._queue = queue.Queue(maxsize=max(depth, 1))
        self._stop = threading.Event()
        self._finished = False
        # the thread holds the queue, the event and the source, never `self`: an iterator
        # its consumer drops is collected, and __del__ stops the thread
        self._thread = threading.Thread(target=_produce, name=name, daemon=True,
                                        args=(iterator, self._queue, self._stop, transform))
        self._thread.start()

    def __iter__(self):
        return self

    def __next__(self):
        if self._finished:
            raise StopIteration
        while True:
            try:
                ok, item = self._queue.get(timeout=0.1)
                break
            except queue.Empty:
                if not self._thread.is_alive() and self._queue.empty():
                    self._finished = True
                    raise RuntimeError("the background data thread stopped without a result")
        if not ok:
            self._finished = True
            self.close()
            raise item
        if item is _DONE:
            self._finished = True
            self.close()
            raise StopIteration
        return item

    def close(self, timeout=5.0):
        self._stop.set()
        while True:  # unblock a producer waiting on a full queue
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def __del__(self):
        try:
            self._stop.set()
        except Exception:  # noqa: BLE001
            pass


def _put(q, stop, item):
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _produce(source, q, stop, transform=None):
    _lower_priority(DATA_THREAD_NICE)
    try:
        for item in source:
            if transform is not None:
                item = transform(item)
            if not _put(q, stop, (True, item)):
                return
        _put(q, stop, (True, _DONE))
    except BaseException as exc:  # noqa: BLE001 -- handed to the consumer
        _put(q, stop, (False, exc))
    finally:
        close = getattr(source, "close", None)
        if close is not None and stop.is_set():
            try:
                close()
            except Exception:  # noqa: BLE001
                pass


# The nodes each method builds subclass Dataset, so their modules are imported after it
# (and after BackgroundIterator, which `prefetch` uses); they stay importable from here.
from fastnn.utils.dataset_batching import _Batch, _Unbatch  # noqa: E402
from fastnn.utils.dataset_sources import _FromGenerator, _Range, _Slices, _Zip  # noqa: E402
from fastnn.utils.dataset_transforms import (_Cache, _Concatenate, _FileCache,  # noqa: E402
                                             _Filter, _Map, _ParallelMap, _Prefetch, _Repeat,
                                             _Shuffle, _Skip, _Take)
