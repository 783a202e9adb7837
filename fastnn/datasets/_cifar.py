"""Reading the CIFAR-10/100 "python version" files (Keras's cache layout and format).

Each batch file is a Python pickle of a dict with bytes keys (b"data": a uint8 array
(n, 3072) in planar RGB order, b"labels" or b"fine_labels"/b"coarse_labels": lists of
ints).  A pickle can run arbitrary code when loaded, so the files are read with an
unpickler that only rebuilds plain containers, numbers, bytes/str and NumPy arrays: any
other global in the stream is rejected with a ValueError naming the file.

Where the data is looked for, first match wins:
  1. the extracted folders Keras 3 leaves in its cache (`<dir>/cifar-10-batches-py-target/
     cifar-10-batches-py/`) or Keras 2 left (`<dir>/cifar-10-batches-py/`), in
     `FASTNN_DATA`, fastnn's cache and Keras's cache;
  2. the tarball (`cifar-10-python.tar.gz`) in those directories, read without extracting;
  3. a download of the tarball from Keras's origin, checked against its SHA-256, into
     fastnn's cache.
"""
import codecs
import io
import os
import pickle
import tarfile

import numpy as np

from fastnn.datasets import _download, _files

# The only globals a batch file may name: NumPy's array (and scalar) reconstruction,
# under NumPy 1's and NumPy 2's module names, and codecs.encode (how Python 3 writes
# bytes at protocol 2).
_RECONSTRUCT = np.array(0).__reduce__()[0]
_SCALAR = np.float64(0).__reduce__()[0]
_ALLOWED = {}
for _mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
    _ALLOWED[(_mod, "_reconstruct")] = _RECONSTRUCT
    _ALLOWED[(_mod, "scalar")] = _SCALAR
_ALLOWED[("numpy", "ndarray")] = np.ndarray
_ALLOWED[("numpy", "dtype")] = np.dtype
_ALLOWED[("_codecs", "encode")] = codecs.encode  # bytes in a protocol-2 pickle by Python 3


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, where):
        super().__init__(file, encoding="bytes")
        self.where = where

    def find_class(self, module, name):
        if (module, name) not in _ALLOWED:
            raise ValueError(f"{self.where}: refusing to load global {module}.{name} from a "
                             f"CIFAR batch file (only NumPy arrays and plain containers are "
                             f"allowed); the file is not a CIFAR batch")
        return _ALLOWED[(module, name)]


def load_batch(data, where, label_key="labels"):
    """(images (n, 3, 32, 32) uint8, labels (n,) uint8) from a batch file's bytes."""
    try:
        d = _RestrictedUnpickler(io.BytesIO(data), where).load()
    except ValueError:
        raise
    except Exception as exc:  # a truncated or foreign file
        raise ValueError(f"{where}: not a CIFAR batch file ({type(exc).__name__}: "
                         f"{exc})") from None
    if not isinstance(d, dict):
        raise ValueError(f"{where}: not a CIFAR batch file (a {type(d).__name__}, not a dict)")
    d = {k.decode("utf8") if isinstance(k, bytes) else k: v for k, v in d.items()}
    if "data" not in d or label_key not in d:
        raise ValueError(f"{where}: a CIFAR batch needs the keys 'data' and '{label_key}', "
                         f"found {sorted(d)}")
    x, labels = d["data"], np.asarray(d[label_key])
    if not isinstance(x, np.ndarray) or x.dtype != np.uint8 or x.ndim != 2 or \
            x.shape[1] != 3072 or labels.shape != (x.shape[0],):
        raise ValueError(f"{where}: expected uint8 data (n, 3072) and n labels, found data "
                         f"{getattr(x, 'shape', None)} {getattr(x, 'dtype', None)} and labels "
                         f"{labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() > 255):
        raise ValueError(f"{where}: labels out of range [0, 255]")
    return x.reshape(-1, 3, 32, 32), labels.astype(np.uint8)


class Source:
    """One CIFAR variant: where its files live and how to download them."""

    def __init__(self, name, target, folder, tarball, origin, sha256, train, test):
        self.name, self.target, self.folder, self.tarball = name, target, folder, tarball
        self.origin, self.sha256, self.train, self.test = origin, sha256, train, test

    def _members(self):
        return list(self.train) + [self.test]

    def read(self, label_key):
        """((x_train, y_train), (x_test, y_test)), channels last, labels (n, 1)."""
        dirs = _files.candidate_dirs()
        for d in dirs:
            for folder in (os.path.join(d, self.target, self.folder), os.path.join(d, self.folder)):
                if all(os.path.isfile(os.path.join(folder, m)) for m in self._members()):
                    return self._assemble(lambda m, f=folder: _read_file(os.path.join(f, m)),
                                          folder, label_key)
        found = _files.find_in_dirs([self.tarball], dirs)
        if found:
            return self._from_tarball(found[0], label_key)
        target = os.path.join(_files.fastnn_cache_dir(), self.tarball)
        try:
            _download.download(self.origin, target, self.sha256)
        except _download.DownloadError as exc:
            raise _files.DatasetNotFoundError(_files.not_found_message(
                self.name, f"{self.tarball} (or its extracted folder {self.folder}/)", dirs,
                exc)) from None
        return self._from_tarball(target, label_key)

    def _from_tarball(self, path, label_key):
        try:
            with tarfile.open(path, "r:gz") as tar:
                def member(m):
                    info = tar.getmember(f"{self.folder}/{m}")
                    if not info.isfile():
                        raise ValueError(f"{path}: {self.folder}/{m} is not a regular file")
                    return tar.extractfile(info).read()
                return self._assemble(member, path, label_key)
        except (tarfile.TarError, KeyError, EOFError, OSError) as exc:
            raise ValueError(f"{path}: not a {self.name} tarball ({type(exc).__name__}: "
                             f"{exc})") from None

    def _assemble(self, read, where, label_key):
        parts = [load_batch(read(m), f"{where}/{m}", label_key) for m in self.train]
        x_train = np.concatenate([p[0] for p in parts])
        y_train = np.concatenate([p[1] for p in parts])
        x_test, y_test = load_batch(read(self.test), f"{where}/{self.test}", label_key)
        return ((np.ascontiguousarray(x_train.transpose(0, 2, 3, 1)), y_train.reshape(-1, 1)),
                (np.ascontiguousarray(x_test.transpose(0, 2, 3, 1)), y_test.reshape(-1, 1)))


def _read_file(path):
    with open(path, "rb") as f:
        return f.read()
