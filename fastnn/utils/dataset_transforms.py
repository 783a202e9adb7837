"""The transformations of fastnn's `Dataset` (fastnn/utils/dataset.py): element-wise
(`map`, in threads with `num_parallel_calls`; `filter`; `cache(filename)`), order and count
(`shuffle`, `cache()`, `take`, `skip`, `repeat`, `concatenate`) and `prefetch` (its
background thread: `BackgroundIterator`, in dataset.py).
"""
import collections
import concurrent.futures
import os

import numpy as np

from fastnn.utils import dataset_cache
from fastnn.utils.dataset import BackgroundIterator, Dataset
from fastnn.utils.dataset_elements import AUTOTUNE, INFINITE, UNKNOWN
from fastnn.utils.dataset_sources import _Slices


# ---- element-wise ---------------------------------------------------------------------
class _Map(Dataset):
    def __init__(self, parent, fn):
        super().__init__(parent)
        self._fn = fn

    def cardinality(self):
        return self._parent.cardinality()

    def _iter(self):
        fn = self._fn
        for index, element in enumerate(self._parent._iter()):
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
        source = iter(self._parent._iter())
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
            for element in self._parent._iter():
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
        for element in self._parent._iter():
            keep = self._predicate(*element) if isinstance(element, tuple) else \
                self._predicate(element)
            if bool(np.asarray(keep)):
                yield element


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
        for element in self._parent._iter():
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
        for element in self._parent._iter():
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
            yield from self._parent._iter()
            return
        if self._count == 0:
            return
        for i, element in enumerate(self._parent._iter()):
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
        for i, element in enumerate(self._parent._iter()):
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
            for element in self._parent._iter():
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
        yield from self._parent._iter()
        yield from self._other._iter()


class _Prefetch(Dataset):
    def __init__(self, parent, buffer_size):
        super().__init__(parent)
        self._size = buffer_size

    def cardinality(self):
        return self._parent.cardinality()

    def _iter(self):
        if self._size == 0:
            return iter(self._parent._iter())
        return BackgroundIterator(iter(self._parent._iter()), self._size)
