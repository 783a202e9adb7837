"""`Dataset.cache(filename)`'s file: fastnn's own format, written once, read safely.

Layout: the magic `b"FNNCACHE1\\n"`, then one record per element, then an end record.
A record is a 4-byte little-endian length, a JSON header of that length, and the raw
bytes of the element's arrays.  The header describes the element's structure (tuples,
lists, dicts with string keys) and, per array, its dtype (numbers, bools, fixed-width
strings) and shape; the end record gives the number of elements.  Reading checks every
header, bounds each array by the bytes the file still holds, and needs the end record,
so a truncated or foreign file is a `ValueError` naming it; no code is ever executed.

A pass writes a temporary file beside `filename` and renames it into place only once the
pass has read the whole dataset: an interrupted pass leaves no cache.
"""
import json
import os
import struct
import tempfile

import numpy as np

MAGIC = b"FNNCACHE1\n"
MAX_HEADER = 1 << 20
_KINDS = "biufcUS"


def _describe(element, leaves):
    """The JSON structure of `element`, its arrays appended to `leaves`."""
    if isinstance(element, dict):
        if not all(isinstance(k, str) for k in element):
            raise ValueError("Dataset.cache(filename) stores dicts with string keys only")
        return {"dict": [[k, _describe(v, leaves)] for k, v in element.items()]}
    if isinstance(element, (tuple, list)):
        kind = "tuple" if isinstance(element, tuple) else "list"
        return {kind: [_describe(v, leaves) for v in element]}
    arr = element
    if not isinstance(arr, np.ndarray):
        arr = np.asarray(arr.numpy() if hasattr(arr, "numpy") else arr)
    if arr.dtype.kind not in _KINDS or arr.dtype.fields is not None:
        raise ValueError(f"Dataset.cache(filename) stores arrays of numbers, bools and "
                         f"strings; this element holds an array of dtype {arr.dtype}")
    if not arr.flags.c_contiguous:  # (ascontiguousarray would make a 0-d array 1-d)
        arr = arr.copy(order="C")
    leaves.append(arr)
    return {"dtype": arr.dtype.str, "shape": list(arr.shape)}


def _record(header):
    data = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<I", len(data)) + data


class Writer:
    """Writes one pass to a temporary file; `commit()` renames it to `path`."""

    def __init__(self, path):
        self.path = path
        folder = os.path.dirname(os.path.abspath(path))
        fd, self.tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".part",
                                        dir=folder)
        self.file = os.fdopen(fd, "wb")
        self.file.write(MAGIC)
        self.count = 0

    def write(self, element):
        leaves = []
        header = {"element": _describe(element, leaves)}
        self.file.write(_record(header))
        for arr in leaves:
            self.file.write(arr.tobytes())
        self.count += 1

    def commit(self):
        self.file.write(_record({"end": self.count}))
        self.file.close()
        os.replace(self.tmp, self.path)
        self.tmp = None

    def discard(self):
        if not self.file.closed:
            self.file.close()
        if self.tmp is not None:
            try:
                os.remove(self.tmp)
            except OSError:
                pass
            self.tmp = None


def read(path):
    """Yields the elements of the cache file `path`, checking it as it goes."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if f.read(len(MAGIC)) != MAGIC:
            raise ValueError(f"{path}: not a fastnn dataset cache file (remove it, or give "
                             f"cache() another filename)")
        count = 0
        while True:
            header = _read_header(f, path)
            if "end" in header:
                if header["end"] != count or f.read(1):
                    raise ValueError(f"{path}: damaged dataset cache file (the end record "
                                     f"does not match)")
                return
            if set(header) != {"element"}:
                raise ValueError(f"{path}: damaged dataset cache file (bad record header)")
            specs = []
            structure = _check_structure(header["element"], specs, path, 0)
            arrays = []
            for dtype, shape in specs:
                nbytes = dtype.itemsize
                for d in shape:
                    nbytes *= d
                if nbytes > size - f.tell():
                    raise ValueError(f"{path}: damaged dataset cache file (an array of "
                                     f"{nbytes} bytes, only {size - f.tell()} left)")
                data = f.read(nbytes)
                if len(data) != nbytes:
                    raise ValueError(f"{path}: truncated dataset cache file")
                arrays.append(np.frombuffer(data, dtype=dtype).reshape(shape).copy())
            count += 1
            yield _build(structure, iter(arrays))


def _read_header(f, path):
    raw = f.read(4)
    if len(raw) != 4:
        raise ValueError(f"{path}: truncated dataset cache file (no end record: the pass "
                         f"that wrote it did not finish)")
    (n,) = struct.unpack("<I", raw)
    if n > MAX_HEADER:
        raise ValueError(f"{path}: damaged dataset cache file (a {n}-byte record header)")
    data = f.read(n)
    if len(data) != n:
        raise ValueError(f"{path}: truncated dataset cache file")
    try:
        header = json.loads(data)
    except (ValueError, RecursionError):
        raise ValueError(f"{path}: damaged dataset cache file (unreadable header)") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path}: damaged dataset cache file (bad record header)")
    return header


def _check_structure(node, specs, path, depth):
    bad = ValueError(f"{path}: damaged dataset cache file (bad element structure)")
    if depth > 64 or not isinstance(node, dict) or len(node) not in (1, 2):
        raise bad
    if "dtype" in node:
        try:
            dtype = np.dtype(node["dtype"])
        except (TypeError, ValueError):
            raise bad from None
        shape = node.get("shape")
        if dtype.kind not in _KINDS or dtype.fields is not None or not isinstance(shape, list) \
                or not all(type(d) is int and d >= 0 for d in shape) or len(shape) > 32:
            raise bad
        specs.append((dtype, tuple(shape)))
        return None
    (kind, items), = node.items()
    if kind == "dict":
        if not isinstance(items, list) or not all(
                isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) for p in items):
            raise bad
        return ("dict", [(k, _check_structure(v, specs, path, depth + 1)) for k, v in items])
    if kind in ("tuple", "list") and isinstance(items, list):
        return (kind, [_check_structure(v, specs, path, depth + 1) for v in items])
    raise bad


def _build(structure, arrays):
    if structure is None:
        return next(arrays)
    kind, items = structure
    if kind == "dict":
        return {k: _build(v, arrays) for k, v in items}
    built = [_build(v, arrays) for v in items]
    return tuple(built) if kind == "tuple" else built
