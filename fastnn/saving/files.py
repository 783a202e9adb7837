"""Files that are never half-written, and archives read within bounds.

Every save writes a temporary file in the target's own folder, flushes it to disk, then
renames it over the target: a crash, a kill or a full disk during a save leaves the
previous file as it was (at worst a stray `.NAME.*.tmp` beside it).
"""
import io
import os
import tempfile
import zipfile

# Bounds for reading a `.keras` archive from an untrusted source.
MAX_JSON_BYTES = 64 << 20
MAX_WEIGHTS_BYTES = 16 << 30
MAX_MEMBERS = 10000


def atomic_write(path, write):
    """Call `write(binary_file)` on a temporary file, then rename it to `path`."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"Cannot save to {path!r}: the folder {folder!r} does not exist")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a saved model is a normal file
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def h5_bytes(fill):
    """An HDF5 file built in memory by `fill(h5py.File)`, as bytes."""
    h5py = require_h5py()
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        fill(h5)
    return buffer.getvalue()


def require_h5py():
    try:
        import h5py
    except ImportError as exc:  # a dependency of fastnn, so only a broken install gets here
        raise ImportError("Saving and loading need h5py: `pip install h5py`") from exc
    return h5py


def open_h5(data, what):
    """An h5py File over bytes, with a clear error when they are not HDF5."""
    h5py = require_h5py()
    try:
        return h5py.File(io.BytesIO(data), "r")
    except (OSError, ValueError) as exc:
        raise ValueError(f"{what} is not a valid HDF5 weights file ({exc})") from exc


def read_file(path, limit, what):
    path = os.fspath(path)
    size = os.path.getsize(path)
    if size > limit:
        raise ValueError(f"{what} {path!r} is {size} bytes, more than the {limit}-byte limit")
    with open(path, "rb") as f:
        return f.read()


class Archive:
    """The members of a `.keras` zip, read with size checks (no zip bombs, no huge JSON)."""

    def __init__(self, path):
        self.path = os.fspath(path)
        try:
            self.zip = zipfile.ZipFile(self.path, "r")
        except zipfile.BadZipFile as exc:
            raise ValueError(f"{self.path!r} is not a valid .keras file: it is not a zip "
                             f"archive ({exc}). The file may be truncated or corrupted.") from exc
        infos = self.zip.infolist()
        if len(infos) > MAX_MEMBERS:
            raise ValueError(f"{self.path!r}: {len(infos)} archive members, too many for a "
                             f".keras file")
        self.members = {i.filename: i for i in infos}

    def read(self, name, limit):
        info = self.members.get(name)
        if info is None:
            raise ValueError(f"{self.path!r} is not a valid .keras file: it has no {name} "
                             f"(members: {sorted(self.members)[:10]})")
        if info.file_size > limit:
            raise ValueError(f"{self.path!r}: {name} is {info.file_size} bytes, more than the "
                             f"{limit}-byte limit")
        try:
            with self.zip.open(info) as f:
                data = f.read(limit + 1)
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
            raise ValueError(f"{self.path!r}: cannot read {name}: {exc}. The file may be "
                             f"truncated or corrupted.") from exc
        if len(data) > limit:
            raise ValueError(f"{self.path!r}: {name} is larger than it claims")
        return data

    def close(self):
        self.zip.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def write_archive(path, members):
    """Write a zip of {name: bytes} atomically (stored, like Keras: weights do not compress)."""
    def write(f):
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as z:
            for name, data in members.items():
                z.writestr(name, data)
    atomic_write(path, write)
