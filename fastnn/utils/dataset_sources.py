"""The sources of fastnn's `Dataset` (fastnn/utils/dataset.py): the nodes behind
`from_tensor_slices`, `range`, `from_generator` and `zip`.
"""
import numpy as np

from fastnn.utils.dataset import Dataset
from fastnn.utils.dataset_elements import INFINITE, UNKNOWN, _as_array, _structure, flatten, \
    pack_like


# ---- sources ---------------------------------------------------------------------------
def _is_plain_list(value):
    """A (nested) list of Python/NumPy scalars: one tensor to tf.data, not a structure."""
    if not isinstance(value, list) or not value:
        return False
    return all(_is_plain_list(v) if isinstance(v, list) else
               isinstance(v, (str, bytes, bool, int, float, np.generic)) for v in value)


def _lists_as_arrays(tensors):
    """As tf.data reads an element: a list of scalars (strings, numbers, nested lists of
    them) is one tensor (`from_tensor_slices(["a", "b"])` gives two strings); tuples,
    dicts and lists of arrays stay structures."""
    if _is_plain_list(tensors):
        return np.asarray(tensors)
    if isinstance(tensors, dict):
        return {k: _lists_as_arrays(v) for k, v in tensors.items()}
    if isinstance(tensors, (tuple, list)):
        return type(tensors)(_lists_as_arrays(v) for v in tensors)
    return tensors


class _Slices(Dataset):
    def __init__(self, tensors):
        super().__init__()
        tensors = _lists_as_arrays(tensors)
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
        return zip(*(d._iter() for d in self._datasets))
