"""What `fit`/`evaluate`/`predict` accept besides arrays, turned into batches per epoch.

`get(x, ...)` returns an `EpochIterator` for a Python generator or iterator, a
`PyDataset` (or `Sequence`), a fastnn `Dataset`, a `tf.data.Dataset` (when TensorFlow
is installed) or a PyTorch `DataLoader` (when torch is); NumPy arrays keep the trainer's
own gathering path. Each epoch yields `(step, (x, y, sample_weight))` with the structure
of x and y kept as given (an array, a list, a dict).

Batches are produced in a background thread (`BackgroundIterator`) a few steps ahead:
while C runs a step with the GIL released, the next batch is read, mapped or decoded.
A PyDataset with `workers > 1` computes batches in a thread pool, or with
`use_multiprocessing=True` in forked processes (re-forked every epoch, so a dataset
reshuffled in `on_epoch_end` is seen by its workers). Closing the iterator (at the end
of the epoch, on an error or Ctrl-C) stops the thread and shuts the pool down.

Keras's step semantics: without `steps_per_epoch` an epoch reads the source to its end
(the first epoch teaches the progress bar the count); with it, one iterator continues
across epochs and running out of data warns and stops training.
"""
import collections
import concurrent.futures
import itertools
import multiprocessing
import signal
import types
import warnings

import numpy as np

from fastnn.utils.dataset import (INFINITE, BackgroundIterator, Dataset, _Batch, _Prefetch,
                                  map_structure)
from fastnn.utils.py_dataset import PyDataset

RAN_OUT = ("Your input ran out of data; interrupting training. Make sure that your dataset or "
           "generator can generate at least `steps_per_epoch * epochs` batches. You may need to "
           "use the `.repeat()` function when building your dataset.")


def _module_class(x, module, names):
    return any(c.__module__.startswith(module) and c.__name__ in names for c in type(x).__mro__)


def is_tf_dataset(x):
    return _module_class(x, "tensorflow", ("DatasetV2", "DistributedDataset"))


def is_torch_dataloader(x):
    return _module_class(x, "torch.utils.data", ("DataLoader",))


def is_source(x):
    """Whether x is a data source other than arrays (and lists/dicts of them)."""
    if x is None or isinstance(x, (np.ndarray, list, tuple, dict, str, bytes)):
        return False
    return (isinstance(x, (Dataset, PyDataset, types.GeneratorType)) or is_tf_dataset(x)
            or is_torch_dataloader(x) or hasattr(x, "__next__"))


def _to_numpy(value):
    if value is None or isinstance(value, np.ndarray):
        return value
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        return value.detach().cpu().numpy()
    if hasattr(value, "numpy") and callable(value.numpy):  # a TF tensor
        return np.asarray(value.numpy())
    return np.asarray(value)


def unpack_batch(batch, kind):
    """Keras's (x, y, sample_weight) from `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)`."""
    if isinstance(batch, list):
        batch = tuple(batch)
    if not isinstance(batch, tuple):
        return batch, None, None
    if len(batch) in (1, 2, 3):
        return batch + (None,) * (3 - len(batch))
    raise ValueError(f"Data is expected to be in format `x`, `(x,)`, `(x, y)`, or "
                     f"`(x, y, sample_weight)`, found a tuple of {len(batch)} items from the "
                     f"{kind}")


def _unsupported(name, description, kind):
    raise ValueError(f"When providing `x` as a {kind}, `{name}` should not be passed. Instead, "
                     f"{description} should be included as part of the {kind}.")


# ---- adapters: one per kind of source ----------------------------------------------------
class _Adapter:
    kind = "data"
    num_batches = None
    depth = 2  # batches read ahead by the background thread

    def __init__(self, x):
        self.x = x

    def iterator(self):
        raise NotImplementedError

    def on_epoch_begin(self):
        pass

    def on_epoch_end(self):
        pass


class _IterableAdapter(_Adapter):
    """A generator or iterator: read once, the same object across epochs."""

    def __init__(self, x):
        super().__init__(x)
        self.kind = "generator" if isinstance(x, types.GeneratorType) else \
            f"iterator ({type(x).__name__})"

    def iterator(self):
        return self.x


class _DatasetAdapter(_Adapter):
    kind = "Dataset"

    def __init__(self, x):
        super().__init__(x)
        n = x.cardinality()
        self.num_batches = n if n >= 0 else None
        self.infinite = n == INFINITE

    def iterator(self):
        # a trailing `.prefetch()` would be a second thread handing batches to the epoch's
        # own background thread: read its parent instead, as far ahead as it asked
        ds = self.x
        while isinstance(ds, _Prefetch) and ds._size > 0:
            self.depth = max(self.depth, ds._size)
            ds = ds._parent
        if isinstance(ds, _Batch):  # batches only the trainer reads: views where they can be
            return iter(ds._iter(views=True))
        return iter(ds._iter())


class _TFDatasetAdapter(_DatasetAdapter):
    kind = "tf.data.Dataset"

    def __init__(self, x):
        _Adapter.__init__(self, x)
        n = int(x.cardinality())
        self.num_batches = n if n >= 0 else None
        self.infinite = n == -1

    def iterator(self):
        return iter(self.x.as_numpy_iterator())


class _TorchAdapter(_Adapter):
    kind = "torch DataLoader"

    def __init__(self, x):
        super().__init__(x)
        try:
            self.num_batches = len(x)
        except TypeError:  # an IterableDataset without __len__
            self.num_batches = None

    def iterator(self):
        return (map_structure(_to_numpy, b) for b in self.x)


_SHARED = {}  # uid -> PyDataset, read by forked worker processes
_uids = itertools.count()


def _ignore_sigint():
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle


def _shared_item(uid, index):
    return _SHARED[uid][index]


class _PyDatasetAdapter(_Adapter):
    kind = "PyDataset"

    def __init__(self, x, shuffle):
        super().__init__(x)
        self.kind = f"PyDataset ({type(x).__name__})"
        self.num_batches = x.num_batches
        self.shuffle = bool(shuffle)
        self.workers = x.workers
        self.processes = bool(x.use_multiprocessing)
        self.depth = x.max_queue_size
        if not isinstance(self.workers, int) or isinstance(self.workers, bool) or self.workers < 1:
            raise ValueError(f"PyDataset `workers` must be a positive integer, received "
                             f"{self.workers!r}")
        if not isinstance(self.depth, int) or self.depth < 1:
            raise ValueError(f"PyDataset `max_queue_size` must be a positive integer, received "
                             f"{self.depth!r}")

    def on_epoch_begin(self):
        self.x.on_epoch_begin()

    def on_epoch_end(self):
        self.x.on_epoch_end()

    def _indices(self):
        if self.num_batches is None:
            return itertools.count()
        order = np.arange(self.num_batches)
        if self.shuffle:
            np.random.shuffle(order)
        return iter(order.tolist())

    def iterator(self):
        indices = self._indices()
        if self.workers == 1 and not self.processes:
            return self._serial(indices)
        # the pool is made here, in the caller's thread, before the batches are read
        uid = None
        if self.processes:
            uid = next(_uids)
            _SHARED[uid] = self.x
            pool = concurrent.futures.ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("fork"),
                initializer=_ignore_sigint)
            pool.submit(int).result()  # fork every worker now, from this thread
        else:
            pool = concurrent.futures.ThreadPoolExecutor(self.workers,
                                                         thread_name_prefix="fastnn-pydataset")
        return self._pooled(indices, pool, uid)

    def _item(self, index):
        try:
            return self.x[index]
        except IndexError:
            if self.num_batches is None:
                raise StopIteration from None
            raise

    def _serial(self, indices):
        for i in indices:
            try:
                batch = self._item(i)
            except StopIteration:
                return
            except Exception as exc:
                _note(exc, f"while computing batch {i} of the {self.kind} (its __getitem__({i}))")
                raise
            yield batch

    def _pooled(self, indices, pool, uid):
        call = (lambda i: pool.submit(_shared_item, uid, i)) if uid is not None else \
            (lambda i: pool.submit(self.x.__getitem__, i))
        pending = collections.deque()
        try:
            for i in itertools.islice(indices, self.depth):
                pending.append((i, call(i)))
            while pending:
                i, future = pending.popleft()
                try:
                    batch = future.result()
                except concurrent.futures.process.BrokenProcessPool as exc:
                    raise RuntimeError(f"A worker process of the {self.kind} died while "
                                       f"computing batch {i} (killed, or crashed in native "
                                       f"code); training stopped.") from exc
                except IndexError:
                    if self.num_batches is None:
                        return
                    raise
                except Exception as exc:
                    _note(exc, f"while computing batch {i} of the {self.kind} "
                               f"(its __getitem__({i}), in a worker)")
                    raise
                for j in itertools.islice(indices, 1):
                    pending.append((j, call(j)))
                yield batch
        finally:
            for _, future in pending:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
            _SHARED.pop(uid, None)


def _note(exc, text):
    if hasattr(exc, "add_note"):
        exc.add_note(text)


# ---- the epoch loop's view --------------------------------------------------------------
class EpochIterator:
    """Batches of one epoch at a time, with Keras's `steps_per_epoch` semantics."""

    def __init__(self, adapter, steps, what):
        self.adapter = adapter
        self.kind = adapter.kind
        self.steps = steps
        self.what = what  # "steps_per_epoch", "validation_steps" or "steps"
        self.num_batches = adapter.num_batches
        if steps is None and getattr(adapter, "infinite", False):
            raise ValueError(f"The {self.kind} is infinite (e.g. made with `.repeat()`): pass "
                             f"`{what}` to say how many batches make an epoch")
        self.ran_out = False
        self._persistent = None  # with `steps`: one iterator read across epochs
        self._seen = 0
        self._epochs = 0

    @property
    def steps_hint(self):
        """The number of steps of an epoch when known in advance (for the progress bar)."""
        if self.steps is not None:
            return self.steps if self.num_batches is None else min(self.steps, self.num_batches)
        return self.num_batches

    def _background(self, prepare):
        """The batches read, unpacked and (when `prepare` says so) prepared in a
        background thread, `depth` of them ahead."""
        kind = self.kind

        def unpacked(batch):
            batch = unpack_batch(map_structure(_to_numpy, batch), kind)
            return batch, (None if prepare is None else prepare(batch))
        return BackgroundIterator(iter(self.adapter.iterator()), self.adapter.depth,
                                  transform=unpacked)

    def epoch(self, prepare=None):
        """A generator of `(step, ((x, y, sample_weight), prepared))`; closing it stops the
        producer. `prepare(batch)`, when given, runs in the background thread on each
        unpacked batch; its result (None: "do it yourself") comes with the batch."""
        self.adapter.on_epoch_begin()
        if self.steps is not None:
            if self._persistent is None:
                self._persistent = self._background(prepare)
                self._seen = 0
            source, limit = self._persistent, self.steps
            if self.num_batches is not None:
                limit = min(limit, self.num_batches - self._seen)
        else:
            source, limit = self._background(prepare), None
        step = 0
        try:
            while limit is None or step < limit:
                try:
                    batch = next(source)
                except StopIteration:
                    break
                self._seen += 1
                yield step, batch
                step += 1
        finally:
            if self.steps is None:
                source.close()
        self._epochs += 1
        if step == 0 and self._epochs == 1:
            raise ValueError(f"The {self.kind} yielded no batches: it must yield at least one "
                             f"batch (x, y) per epoch")
        if self.steps is not None:
            if step < self.steps:
                if self.num_batches is None or self._seen < self.num_batches:
                    self.ran_out = True
                    warnings.warn(RAN_OUT, stacklevel=4)
            if self.num_batches is not None and self._seen >= self.num_batches:
                self._persistent.close()
                self._persistent = None
        elif step == 0:  # a generator read to its end in an earlier epoch
            self.ran_out = True
            warnings.warn(RAN_OUT, stacklevel=4)
        elif self.num_batches is None:
            self.num_batches = step
        self.adapter.on_epoch_end()

    def close(self):
        if self._persistent is not None:
            self._persistent.close()
            self._persistent = None


def get(x, y=None, sample_weight=None, steps=None, shuffle=False, class_weight=None,
        batch_size=None, what="steps_per_epoch"):
    """The EpochIterator for a non-array source `x` (see `is_source`)."""
    if isinstance(x, PyDataset):
        kind, adapter = "PyDataset", None
    elif isinstance(x, Dataset):
        kind, adapter = "fastnn Dataset", _DatasetAdapter(x)
    elif is_tf_dataset(x):
        kind, adapter = "tf.data.Dataset", _TFDatasetAdapter(x)
    elif is_torch_dataloader(x):
        kind, adapter = "torch DataLoader", _TorchAdapter(x)
        if class_weight is not None:
            raise ValueError(f"Argument `class_weight` is not supported for torch DataLoader "
                             f"inputs. Received: class_weight={class_weight}")
    else:
        kind, adapter = "Python generator", _IterableAdapter(x)
    if y is not None:
        _unsupported("y", "the targets", kind)
    if sample_weight is not None:
        _unsupported("sample_weights", "the sample weights", kind)
    if batch_size is not None:
        warnings.warn(f"`batch_size={batch_size}` is ignored: the {kind} given as `x` yields "
                      f"batches already", stacklevel=3)
    if adapter is None:
        adapter = _PyDatasetAdapter(x, shuffle)
    return EpochIterator(adapter, steps, what)
