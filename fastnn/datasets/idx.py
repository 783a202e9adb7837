"""A reader for the IDX format of MNIST and Fashion-MNIST (`*-idx3-ubyte[.gz]`).

An IDX file is a 4-byte magic number -- two zero bytes, a type code and the number of
dimensions -- then one big-endian uint32 per dimension, then the values, big-endian, in
C order. http://yann.lecun.com/exdb/mnist/ describes it.
"""
import gzip
import zlib

import numpy as np

# IDX type code -> big-endian NumPy dtype.
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path):
    """Reads an IDX file, gzip-compressed or not, into a NumPy array.

    The file is gzip-decompressed when its name ends in `.gz` or its first two bytes are
    gzip's magic. Every header field is checked, and the number of value bytes must equal
    the product of the dimensions times the item size: a truncated or over-long file is an
    error, never a short array.

    Args:
        path: path of the file (`str` or path-like).

    Returns:
        A NumPy array in native byte order, writable, with the file's shape and dtype
        (`uint8` for type code 0x08, `int8` 0x09, `int16` 0x0B, `int32` 0x0C,
        `float32` 0x0D, `float64` 0x0E).

    Raises:
        FileNotFoundError: if `path` does not exist.
        ValueError: if the file is not valid IDX or not valid gzip; the message names
            the file.

    Example:

    >>> import os, tempfile
    >>> import numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte")
    >>> with open(path, "wb") as f:
    ...     _ = f.write(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1]))
    >>> read_idx(path)
    array([7, 2, 1], dtype=uint8)
    """
    data = _read_bytes(path)
    if len(data) < 4:
        raise ValueError(f"{path}: not an IDX file: {len(data)} bytes, shorter than the "
                         "4-byte magic number")
    zero0, zero1, code, ndim = data[0], data[1], data[2], data[3]
    if zero0 != 0 or zero1 != 0:
        raise ValueError(f"{path}: not an IDX file: the magic number 0x{data[:4].hex()} "
                         "does not start with two zero bytes")
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise ValueError(f"{path}: unknown IDX type code 0x{code:02X} (known: {known})")
    if ndim < 1:
        raise ValueError(f"{path}: the IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path}: truncated IDX header: {ndim} dimensions need {header} "
                         f"bytes, the file has {len(data)}")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=object)) * dtype.itemsize
    actual = len(data) - header
    if actual != expected:
        what = "truncated" if actual < expected else "has extra bytes"
        raise ValueError(f"{path}: IDX file {what}: shape {shape} of {dtype.newbyteorder('=')} "
                         f"needs {expected} bytes of values, the file has {actual}")
    values = np.frombuffer(data, dtype, offset=header).reshape(shape)
    return values.astype(dtype.newbyteorder("="))  # a native, writable copy


def _read_bytes(path):
    """The file's bytes, gunzipped if it is a gzip file; a bad stream is a ValueError."""
    with open(path, "rb") as f:
        raw = f.read()
    if not (str(path).endswith(".gz") or raw[:2] == b"\x1f\x8b"):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{path}: corrupt gzip data ({exc})") from None
