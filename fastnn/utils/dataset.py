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

    >>> import numpy as np
    >>> ds = Dataset.from_tensor_slices((np.arange(5), np.arange(5) * 10))
    >>> [tuple(b.tolist() for b in batch) for batch in ds.map(lambda x, y: (x, y + 1)).batch(2)]
    [([0, 1], [1, 11]), ([2, 3], [21, 31]), ([4], [41])]
"""
import collections
import concurrent.futures
import os
import queue
import threading

import numpy as np

from fastnn.utils import dataset_cache

AUTOTUNE = -1
INFINITE = -1   # cardinality() values, as tf.data.INFINITE_CARDINALITY / UNKNOWN_CARDINALITY
UNKNOWN = -2


# ---- nested structures: arrays, tuples, lists and dicts of them -------------------------
def flatten(element):
    if isinstance(element, dict):
        return [leaf for k in sorted(element) for leaf in flatten(element[k])]
    if isinstance(element, (tuple, list)):
        return [leaf for item in element for leaf in flatten(item)]
    return [element]


def pack_like(structure, leaves):
    """Rebuild `structure` with `leaves` (in `flatten`'s order)."""
    it = iter(leaves)

    def build(s):
        if isinstance(s, dict):
            built = {k: build(s[k]) for k in sorted(s)}
            return {k: built[k] for k in s}
        if isinstance(s, (tuple, list)):
            return type(s)(build(item) for item in s)
        return next(it)
    return build(structure)


def map_structure(fn, element):
    return pack_like(element, [fn(leaf) for leaf in flatten(element)])


def _as_array(value):
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "numpy") and callable(value.numpy):  # a TF or torch tensor
        return np.asarray(value.numpy())
    return np.asarray(value)


def _positive_int(name, value, allow=()):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or (
            value < 1 and value not in allow):
        raise ValueError(f"`{name}` must be a positive integer, received {name}={value!r}")
    return int(value)


def _structure(element):
    if isinstance(element, dict):
        return {k: _structure(v) for k, v in element.items()}
    if isinstance(element, (tuple, list)):
        return type(element)(_structure(v) for v in element)
    return None


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """Keras's packing of one batch: `x` (a tuple/list x as `(x,)`), `(x, y)` or
    `(x, y, sample_weight)`."""
    if y is None:
        return (x,) if isinstance(x, (tuple, list)) else x
    return (x, y) if sample_weight is None else (x, y, sample_weight)


def unpack_x_y_sample_weight(data):
    """`(x, y, sample_weight)` from `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)` (a list
    counts as a tuple), missing parts None."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) in (1, 2, 3):
        return tuple(data) + (None,) * (3 - len(data))
    raise ValueError(f"Data is expected to be in format `x`, `(x,)`, `(x, y)`, or "
                     f"`(x, y, sample_weight)`, found: {data}")


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
        return iter(self._iter())

    def as_numpy_iterator(self):
        return self.__iter__()

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


# ---- sources ---------------------------------------------------------------------------
class _Slices(Dataset):
    def __init__(self, tensors):
        super().__init__()
        self._structure = _structure(tensors)
        self._leaves = [_as_array(t) for t in flatten(tensors)]
        if not self._leaves:
            raise ValueError("from_tensor_slices needs at least one array")
        sizes = {len(a) if a.ndim else None for a in self._leaves}
        if None in sizes:
            raise ValueError("from_tensor_slices: every array needs a first axis to slice "
                             "(received a scalar)")
        if len(sizes) > 1:
            raise ValueError(f"from_tensor_slices: the arrays have different first dimensions "
                             f"{[len(a) for a in self._leaves]}; they must all match")
        self._n = sizes.pop()

    def cardinality(self):
        return self._n

    def _index_order(self):
        return np.arange(self._n)

    def gather(self, idx):
        leaves = [a[idx] for a in self._leaves]
        return leaves[0] if self._structure is None else pack_like(self._structure, leaves)

    def _iter(self):
        for i in range(self._n):
            yield self.gather(i)


class _Range(Dataset):
    def __init__(self, r):
        super().__init__()
        self._range = r

    def cardinality(self):
        return len(self._range)

    def _iter(self):
        return (np.int64(i) for i in self._range)


class _FromGenerator(Dataset):
    def __init__(self, generator, args):
        super().__init__()
        self._generator, self._args = generator, args

    def _iter(self):
        return iter(self._generator(*self._args))


class _Zip(Dataset):
    def __init__(self, datasets):
        super().__init__()
        self._datasets = datasets

    def cardinality(self):
        ns = [d.cardinality() for d in self._datasets]
        finite = [n for n in ns if n >= 0]
        if finite:
            return min(finite)
        return UNKNOWN if UNKNOWN in ns else INFINITE

    def _iter(self):
        return zip(*self._datasets)


# ---- element-wise ---------------------------------------------------------------------
class _Map(Dataset):
    def __init__(self, parent, fn):
        super().__init__(parent)
        self._fn = fn

    def cardinality(self):
        return self._parent.cardinality()

    def _iter(self):
        fn = self._fn
        for index, element in enumerate(self._parent):
            try:
                result = fn(*element) if isinstance(element, tuple) else fn(element)
            except Exception as exc:  # noqa: BLE001 -- re-raised, naming the element
                raise _name_element(exc, index)
            yield result


def _call(fn, element):
    return fn(*element) if isinstance(element, tuple) else fn(element)


def _name_element(exc, index):
    if hasattr(exc, "add_note"):
        exc.add_note(f"(raised by the Dataset.map function on element {index})")
    return exc


class _ParallelMap(Dataset):
    """`map` in a pool of threads, at most twice as many calls in flight as threads."""

    def __init__(self, parent, fn, threads, ordered):
        super().__init__(parent)
        self._fn, self._threads, self._ordered = fn, threads, ordered

    def cardinality(self):
        return self._parent.cardinality()

    def _iter(self):
        fn, window = self._fn, 2 * self._threads
        pool = concurrent.futures.ThreadPoolExecutor(self._threads,
                                                     thread_name_prefix="fastnn-map")
        pending = collections.deque()  # (index, future), in submission order
        source = iter(self._parent)
        exhausted = False
        try:
            index = 0
            while True:
                while not exhausted and len(pending) < window:
                    try:
                        element = next(source)
                    except StopIteration:
                        exhausted = True
                        break
                    pending.append((index, pool.submit(_call, fn, element)))
                    index += 1
                if not pending:
                    return
                if self._ordered:
                    i, future = pending.popleft()
                else:
                    done, _ = concurrent.futures.wait([f for _, f in pending],
                                                      return_when="FIRST_COMPLETED")
                    i, future = next((i, f) for i, f in pending if f in done)
                    pending.remove((i, future))
                try:
                    result = future.result()
                except Exception as exc:  # noqa: BLE001 -- re-raised, naming the element
                    raise _name_element(exc, i)
                yield result
        finally:
            for _, future in pending:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
            close = getattr(source, "close", None)
            if close is not None:
                close()


class _FileCache(Dataset):
    def __init__(self, parent, filename):
        super().__init__(parent)
        self._filename = filename

    def cardinality(self):
        return self._parent.cardinality()

    def _iter(self):
        if os.path.isfile(self._filename):
            yield from dataset_cache.read(self._filename)
            return
        writer = dataset_cache.Writer(self._filename)
        try:
            for element in self._parent:
                writer.write(element)
                yield element
            writer.commit()
        finally:
            writer.discard()  # after commit() there is nothing left to remove


class _Filter(Dataset):
    def __init__(self, parent, predicate):
        super().__init__(parent)
        self._predicate = predicate

    def _iter(self):
        for element in self._parent:
            keep = self._predicate(*element) if isinstance(element, tuple) else \
                self._predicate(element)
            if bool(np.asarray(keep)):
                yield element


def _stack(elements):
    first = elements[0]
    leaves = [np.stack([_as_array(x) for x in column]) for column in
              zip(*(flatten(e) for e in elements))]
    return pack_like(first, leaves) if _structure(first) is not None else leaves[0]


class _Batch(Dataset):
    def __init__(self, parent, batch_size, drop_remainder):
        super().__init__(parent)
        self._size, self._drop = batch_size, drop_remainder

    def cardinality(self):
        n = self._parent.cardinality()
        if n < 0:
            return n
        return n // self._size if self._drop else -(-n // self._size)

    def _iter(self, views=False):
        """With `views` (for a reader that never writes to a batch, as `fit`), batches of
        slices in their original order are views of the arrays, not copies."""
        order = self._parent._index_order()
        if order is not None:  # slices: one gather per array and batch
            source = self._parent._slices()
            stop = len(order) - (len(order) % self._size if self._drop else 0)
            if views and np.array_equal(order, np.arange(len(order))):
                for lo in range(0, stop, self._size):
                    yield source.gather(slice(lo, lo + self._size))
                return
            for lo in range(0, stop, self._size):
                yield source.gather(order[lo:lo + self._size])
            return
        pending = []
        for element in self._parent:
            pending.append(element)
            if len(pending) == self._size:
                yield _stack(pending)
                pending = []
        if pending and not self._drop:
            yield _stack(pending)


class _Unbatch(Dataset):
    def cardinality(self):
        n = self._parent.cardinality()
        return INFINITE if n == INFINITE else UNKNOWN

    def _iter(self):
        for element in self._parent:
            leaves = [_as_array(a) for a in flatten(element)]
            if any(a.ndim == 0 for a in leaves):
                raise ValueError("unbatch: the elements must have a batch (first) axis, "
                                 "received a scalar")
            structured = _structure(element) is not None
            for i in range(len(leaves[0])):
                row = [a[i] for a in leaves]
                yield pack_like(element, row) if structured else row[0]


class _Shuffle(Dataset):
    def __init__(self, parent, buffer_size, seed, reshuffle):
        super().__init__(parent)
        self._buffer, self._reshuffle = buffer_size, reshuffle
        self._seed_rng = np.random.default_rng(seed)
        self._fixed_seed = int(self._seed_rng.integers(2 ** 63))

    def cardinality(self):
        return self._parent.cardinality()

    def _rng(self):
        seed = int(self._seed_rng.integers(2 ** 63)) if self._reshuffle else self._fixed_seed
        return np.random.default_rng(seed)

    def _index_order(self):
        order = self._parent._index_order()
        if order is None or (0 < self._buffer < len(order)):
            return None
        return order[self._rng().permutation(len(order))]

    def _slices(self):
        return self._parent._slices()

    def _iter(self):
        rng = self._rng()
        buffer, size = [], self._buffer
        for element in self._parent:
            if size == AUTOTUNE or len(buffer) < size:
                buffer.append(element)
                if size == AUTOTUNE or len(buffer) < size:
                    continue
            i = int(rng.integers(len(buffer)))
            buffer[i], buffer[-1] = buffer[-1], buffer[i]
            yield buffer.pop()
        rng.shuffle(buffer)
        yield from buffer


_Slices._slices = lambda self: self


class _Cache(Dataset):
    def __init__(self, parent):
        super().__init__(parent)
        self._cached = None

    def cardinality(self):
        return self._parent.cardinality() if self._cached is None else len(self._cached)

    def _iter(self):
        if self._cached is not None:
            yield from self._cached
            return
        items = []
        for element in self._parent:
            items.append(element)
            yield element
        self._cached = items  # only a complete pass is kept


class _Take(Dataset):
    def __init__(self, parent, count):
        super().__init__(parent)
        self._count = count

    def cardinality(self):
        n = self._parent.cardinality()
        if self._count < 0:
            return n
        return self._count if n in (INFINITE,) else (min(n, self._count) if n >= 0 else UNKNOWN)

    def _iter(self):
        if self._count < 0:
            yield from self._parent
            return
        if self._count == 0:
            return
        for i, element in enumerate(self._parent):
            yield element
            if i + 1 >= self._count:
                return


class _Skip(Dataset):
    def __init__(self, parent, count):
        super().__init__(parent)
        self._count = count

    def cardinality(self):
        n = self._parent.cardinality()
        if n < 0:
            return n
        return 0 if self._count < 0 else max(n - self._count, 0)

    def _iter(self):
        for i, element in enumerate(self._parent):
            if self._count < 0:
                return
            if i >= self._count:
                yield element


class _Repeat(Dataset):
    def __init__(self, parent, count):
        super().__init__(parent)
        self._count = count

    def cardinality(self):
        n = self._parent.cardinality()
        if self._count is None:
            return 0 if n == 0 else INFINITE
        return n * self._count if n >= 0 else n

    def _iter(self):
        i = 0
        while self._count is None or i < self._count:
            empty = True
            for element in self._parent:
                empty = False
                yield element
            if empty:
                return
            i += 1


class _Concatenate(Dataset):
    def __init__(self, parent, other):
        super().__init__(parent)
        self._other = other

    def cardinality(self):
        a, b = self._parent.cardinality(), self._other.cardinality()
        if INFINITE in (a, b):
            return INFINITE
        return UNKNOWN if UNKNOWN in (a, b) else a + b

    def _iter(self):
        yield from self._parent
        yield from self._other


class _Prefetch(Dataset):
    def __init__(self, parent, buffer_size):
        super().__init__(parent)
        self._size = buffer_size

    def cardinality(self):
        return self._parent.cardinality()

    def _iter(self):
        if self._size == 0:
            return iter(self._parent)
        return BackgroundIterator(iter(self._parent), self._size)


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
