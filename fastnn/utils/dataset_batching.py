"""Batching in fastnn's `Dataset` (fastnn/utils/dataset.py): the nodes behind `batch`
(stacking elements, or gathering a batch of slices with one indexed copy per array) and
`unbatch`.
"""
import numpy as np

from fastnn.utils.dataset import Dataset
from fastnn.utils.dataset_elements import INFINITE, UNKNOWN, _as_array, _structure, flatten, \
    pack_like


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
        for element in self._parent._iter():
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
        for element in self._parent._iter():
            leaves = [_as_array(a) for a in flatten(element)]
            if any(a.ndim == 0 for a in leaves):
                raise ValueError("unbatch: the elements must have a batch (first) axis, "
                                 "received a scalar")
            structured = _structure(element) is not None
            for i in range(len(leaves[0])):
                row = [a[i] for a in leaves]
                yield pack_like(element, row) if structured else row[0]
