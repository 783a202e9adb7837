"""`PyDataset` (and its legacy name `Sequence`): batches computed by `__getitem__`."""
import warnings


class PyDataset:
    """Base class for datasets that compute batch `index` in `__getitem__(index)`.

    Subclass it, call `super().__init__(**kwargs)`, and implement `__getitem__` (a batch:
    `x`, `(x, y)` or `(x, y, sample_weight)`) and `__len__` (the number of batches), or a
    `num_batches` property returning None for an endless dataset. `on_epoch_end()` runs
    after every epoch (reshuffle there). `fit`, `evaluate` and `predict` take it as `x`.

    Args:
        workers: how many threads (or processes) compute batches at once. Defaults to 1,
            which still prepares the next batch in the background while a step runs.
        use_multiprocessing: compute batches in worker processes (forked; the dataset is
            inherited, not pickled) instead of threads.
        max_queue_size: how many batches may be prepared ahead. Defaults to 10.

    Example:

    >>> import numpy as np
    >>> class Squares(PyDataset):
    ...     def __init__(self, n, batch_size, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.x = np.arange(n, dtype="float32")[:, None]
    ...         self.batch_size = batch_size
    ...     def __len__(self):
    ...         return -(-len(self.x) // self.batch_size)
    ...     def __getitem__(self, idx):
    ...         x = self.x[idx * self.batch_size:(idx + 1) * self.batch_size]
    ...         return x, x ** 2
    >>> len(Squares(10, 4)), Squares(10, 4)[2][1].ravel().tolist()
    (3, [64.0, 81.0])
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self._workers = workers
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = max_queue_size

    def _warn_if_super_not_called(self):
        if not all(hasattr(self, a) for a in
                   ("_workers", "_use_multiprocessing", "_max_queue_size")):
            warnings.warn("Your `PyDataset` class should call `super().__init__(**kwargs)` in "
                          "its constructor. `**kwargs` can include `workers`, "
                          "`use_multiprocessing`, `max_queue_size`. Do not pass these arguments "
                          "to `fit()`, as they will be ignored.", stacklevel=3)

    @property
    def workers(self):
        self._warn_if_super_not_called()
        return getattr(self, "_workers", 1)

    @workers.setter
    def workers(self, value):
        self._workers = value

    @property
    def use_multiprocessing(self):
        self._warn_if_super_not_called()
        return getattr(self, "_use_multiprocessing", False)

    @use_multiprocessing.setter
    def use_multiprocessing(self, value):
        self._use_multiprocessing = value

    @property
    def max_queue_size(self):
        self._warn_if_super_not_called()
        return getattr(self, "_max_queue_size", 10)

    @max_queue_size.setter
    def max_queue_size(self, value):
        self._max_queue_size = value

    def __getitem__(self, index):
        """Gets batch at position `index`."""
        raise NotImplementedError

    def __iter__(self):
        n = self.num_batches
        i = 0
        while n is None or i < n:
            yield self[i]
            i += 1

    @property
    def num_batches(self):
        """Number of batches in the PyDataset: `len(self)`, or None if it is endless."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(
            "You need to implement the `num_batches` property:\n\n"
            "@property\ndef num_batches(self):\n  return ...")

    def on_epoch_begin(self):
        """Called at the beginning of every epoch."""

    def on_epoch_end(self):
        """Called at the end of every epoch."""


Sequence = PyDataset  # Keras 2's name
