"""Reading `.npz` files that hold ragged *object arrays* (IMDB's and Reuters' format) safely.

Keras's `imdb.npz` and `reuters.npz` store each split's sequences as a NumPy array of
`dtype=object` whose elements are Python lists of ints.  NumPy can only persist such an
array as a pickle stream inside the `.npy` member, and `np.load(allow_pickle=True)` would
run whatever that stream asks for.  This module never does:

- numeric members are read by NumPy with `allow_pickle=False`, after checking that the
  bytes stored match the shape the header declares (no allocation from a lying header);
- object members are read by an unpickler whose only globals are *stand-ins* for the three
  names NumPy's object-array pickle uses (`multiarray._reconstruct`, `numpy.ndarray`,
  `numpy.dtype`; and `_codecs.encode` of a short latin-1 string, which is how Python 3 writes
  bytes at protocol 2).  The stand-ins only record their arguments; the array is built by this
  module once the recorded state has been checked: a 1-D object array whose elements are
  lists of non-negative ints, with as many elements as the header declares, and no more
  ints in total than the stream has bytes (so memo references cannot multiply a small file
  into a huge one);
- each member's decompressed size is bounded, by a fixed cap and by a ratio to its
  compressed size.

Anything else (another global, a truncated stream, a size that does not match, a zip
bomb) raises a `ValueError` naming the file and the member.
"""
import ast
import io
import pickle
import struct
import zipfile
import zlib

import numpy as np

MAX_MEMBER_BYTES = 256 << 20  # decompressed bytes of one member (Keras's are ~20 MB)
MAX_RATIO = 200  # decompressed / compressed bytes of one deflated member
MAX_WORD = (1 << 31) - 1  # largest word index accepted in a sequence


class _Reconstruct:
    """Stand-in for `numpy.core.multiarray._reconstruct`: records `(subtype, shape, dtype)`."""

    def __init__(self, where):
        self.where = where

    def __call__(self, subtype, shape, typecode):
        if subtype is not _NDARRAY or tuple(shape) != (0,) or typecode not in (b"b", "b"):
            raise ValueError(f"{self.where}: unexpected array reconstruction arguments "
                             f"({subtype!r}, {shape!r}, {typecode!r})")
        return _ArraySpec(self.where)


class _NDArrayName:
    """Stand-in for `numpy.ndarray` (only ever passed to `_reconstruct`)."""

    def __repr__(self):
        return "numpy.ndarray"


_NDARRAY = _NDArrayName()


class _ArraySpec:
    """What a pickled ndarray's BUILD sets: checked, turned into an array later."""

    def __init__(self, where):
        self.where = where
        self.state = None

    def __setstate__(self, state):
        if not isinstance(state, tuple) or len(state) not in (4, 5) or self.state is not None:
            raise ValueError(f"{self.where}: malformed array state in the pickle stream")
        self.state = state[-4:]  # (shape, dtype, is_fortran, data); the version is dropped


class _DTypeSpec:
    """Stand-in for `numpy.dtype(...)`: only the object dtype ("O8"/"O4") is accepted."""

    def __init__(self, where, name, align=False, copy=True):
        if isinstance(name, bytes):
            name = name.decode("ascii", "replace")
        if name not in ("O8", "O4"):
            raise ValueError(f"{where}: the pickled array has dtype {name!r}; only object "
                             f"arrays of sequences are accepted")
        self.where = where

    def __setstate__(self, state):
        if not isinstance(state, tuple):
            raise ValueError(f"{self.where}: malformed dtype state in the pickle stream")


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, where):
        super().__init__(file)
        self.where = where

    def find_class(self, module, name):
        if module in ("numpy.core.multiarray", "numpy._core.multiarray") and \
                name == "_reconstruct":
            return _Reconstruct(self.where)
        if (module, name) == ("numpy", "ndarray"):
            return _NDARRAY
        if (module, name) == ("numpy", "dtype"):
            where = self.where
            return lambda *args: _DTypeSpec(where, *args)
        if (module, name) == ("_codecs", "encode"):  # bytes in a protocol-2 pickle by Python 3
            return self._encode
        raise ValueError(f"{self.where}: refusing to load the global {module}.{name} from "
                         f"the pickle stream (only NumPy object arrays of integer "
                         f"sequences are allowed); the file may be damaged or malicious")

    def _encode(self, text, encoding="utf-8"):
        if not isinstance(text, str) or len(text) > 16 or encoding not in ("latin1", "latin-1"):
            raise ValueError(f"{self.where}: unexpected _codecs.encode call in the pickle "
                             f"stream")
        return text.encode("latin1")

    def persistent_load(self, pid):
        raise ValueError(f"{self.where}: persistent ids are not allowed in the pickle stream")


def _object_array(stream, shape, where):
    """The object array of int lists pickled in `stream`, declared with `shape`."""
    try:
        spec = _Unpickler(io.BytesIO(stream), where).load()
    except ValueError:
        raise
    except RecursionError:
        raise ValueError(f"{where}: the pickle stream nests too deeply") from None
    except Exception as exc:  # truncated or malformed stream
        raise ValueError(f"{where}: not a readable object array ({type(exc).__name__}: "
                         f"{exc})") from None
    if not isinstance(spec, _ArraySpec) or spec.state is None:
        raise ValueError(f"{where}: the pickle stream does not hold a NumPy array")
    got_shape, dtype, fortran, data = spec.state
    if not isinstance(dtype, _DTypeSpec):
        raise ValueError(f"{where}: the pickled array has no object dtype")
    if not isinstance(got_shape, tuple) or tuple(got_shape) != tuple(shape) or len(shape) != 1:
        raise ValueError(f"{where}: the pickled array has shape {got_shape!r}, the header "
                         f"declares {shape!r}; only 1-D arrays of sequences are accepted")
    if not isinstance(data, list) or len(data) != shape[0]:
        raise ValueError(f"{where}: the pickled array holds "
                         f"{len(data) if isinstance(data, list) else type(data).__name__} "
                         f"elements, the header declares {shape[0]}")
    budget = len(stream)
    out = np.empty(shape[0], dtype=object)
    for i, row in enumerate(data):
        if not isinstance(row, list):
            raise ValueError(f"{where}: element {i} is a {type(row).__name__}, not a list of "
                             f"word indices")
        budget -= len(row)
        if budget < 0:
            raise ValueError(f"{where}: the sequences hold more words than the stream has "
                             f"bytes ({len(stream)}); refusing a reference bomb")
        for w in row:
            if type(w) is not int or not 0 <= w <= MAX_WORD:
                raise ValueError(f"{where}: element {i} holds {w!r}, not a word index in "
                                 f"[0, {MAX_WORD}]")
        out[i] = list(row)  # a copy: rows shared through the memo stay independent
    return out


def _read_header(fp, where):
    """(shape, fortran_order, dtype descr) of a `.npy` stream; `fp` left at the data."""
    magic = fp.read(8)
    if len(magic) != 8 or magic[:6] != b"\x93NUMPY" or magic[6] not in (1, 2, 3):
        raise ValueError(f"{where}: not a .npy array (bad magic or version)")
    if magic[6] == 1:
        raw = fp.read(2)
        size = struct.unpack("<H", raw)[0] if len(raw) == 2 else -1
    else:
        raw = fp.read(4)
        size = struct.unpack("<I", raw)[0] if len(raw) == 4 else -1
    if size < 0 or size > 1 << 16:
        raise ValueError(f"{where}: bad .npy header length")
    text = fp.read(size)
    if len(text) != size:
        raise ValueError(f"{where}: truncated .npy header")
    try:
        header = ast.literal_eval(text.decode("utf8" if magic[6] == 3 else "latin1"))
    except (ValueError, SyntaxError, UnicodeDecodeError, MemoryError, RecursionError):
        raise ValueError(f"{where}: unreadable .npy header") from None
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise ValueError(f"{where}: bad .npy header {header!r}")
    shape, fortran, descr = header["shape"], header["fortran_order"], header["descr"]
    if not isinstance(shape, tuple) or not all(type(d) is int and d >= 0 for d in shape) or \
            not isinstance(fortran, bool):
        raise ValueError(f"{where}: bad .npy header {header!r}")
    return shape, fortran, descr


def read_member(data, where):
    """One `.npy` member's bytes as an array (numeric, or a 1-D object array of int lists)."""
    fp = io.BytesIO(data)
    shape, fortran, descr = _read_header(fp, where)
    try:
        dtype = np.dtype(np.lib.format.descr_to_dtype(descr))
    except (TypeError, ValueError):
        raise ValueError(f"{where}: unsupported dtype {descr!r}") from None
    stream = data[fp.tell():]
    if dtype == object:
        return _object_array(stream, shape, where)
    if dtype.hasobject or dtype.kind not in "biuf" or dtype.fields is not None:
        raise ValueError(f"{where}: unsupported dtype {dtype}; expected numbers or objects")
    count = 1
    for d in shape:
        count *= d
    if count * dtype.itemsize != len(stream):
        raise ValueError(f"{where}: the header declares {count * dtype.itemsize} bytes of "
                         f"data ({shape} {dtype}), the member stores {len(stream)}")
    flat = np.frombuffer(stream, dtype=dtype).copy()
    return flat.reshape(shape, order="F" if fortran else "C")


def load_npz(path):
    """The arrays of an `.npz` file as a dict, object members parsed safely.

    Args:
        path: the `.npz` file.

    Returns:
        `{name: array}` for every `<name>.npy` member.

    Raises:
        ValueError: naming the file (and member), if it is not a zip archive, a member is
            too large or inflates too much, or an array is damaged or not of the accepted
            kinds (numbers; 1-D object arrays of lists of word indices).
    """
    path = str(path)
    arrays = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                where = f"{path}: {info.filename}"
                if info.file_size > MAX_MEMBER_BYTES or (
                        info.compress_type != zipfile.ZIP_STORED and
                        info.file_size > MAX_RATIO * max(info.compress_size, 1) + 4096):
                    raise ValueError(f"{where}: declares {info.file_size} bytes from "
                                     f"{info.compress_size} stored; refusing a "
                                     f"decompression bomb")
                with archive.open(info) as raw:
                    data = raw.read(info.file_size + 1)
                if len(data) != info.file_size:
                    raise ValueError(f"{where}: holds {len(data)} bytes, not the size it "
                                     f"claims ({info.file_size})")
                arrays[info.filename[:-4]] = read_member(data, where)
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, NotImplementedError,
            RuntimeError, zlib.error) as exc:
        raise ValueError(f"{path}: not a readable .npz archive ({type(exc).__name__}: "
                         f"{exc})") from None
    return arrays
