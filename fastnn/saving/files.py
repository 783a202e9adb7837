"""Files that are never half-written, and archives read within bounds.

Every save writes a temporary file in the target's own folder, flushes it to disk, then
renames it over the target: a crash, a kill or a full disk during a save leaves the
previous file as it was (at worst a stray `.NAME.*.tmp` beside it).  A save through a
symbolic link writes the file the link points to (the link stays); over an existing file
it keeps that file's permission bits (and owner, where allowed); a new file gets 0666
minus the umask, applied by the kernel (the process umask is never read or changed); a
target without write permission is refused with PermissionError, as `open(path, "wb")`
would refuse it.
"""
import errno
import io
import os
import secrets
import stat
import zipfile

# Bounds for reading a `.keras` archive from an untrusted source.
MAX_JSON_BYTES = 64 << 20
MAX_WEIGHTS_BYTES = 16 << 30  # absolute cap, lowered to the machine's memory
MAX_MEMBERS = 10000
# A zip member may inflate to at most this many times its stored size, beyond a small
# floor (Keras stores members uncompressed; deflate cannot exceed ~1032:1 anyway).
MAX_ZIP_EXPANSION = 100
ZIP_EXPANSION_FLOOR = 16 << 20


class UnreadableFileError(ValueError):
    """A file that cannot be read: not a zip or HDF5 file, damaged, truncated, too large,
    or using what fastnn refuses to read (external storage, links, size bombs).  A
    ValueError; BackupAndRestore(double_checkpoint=True) falls back to the previous backup
    on this error only, not when the file is fine but does not fit the model."""


def max_weights_bytes():
    """The largest weights file fastnn reads: 16 GiB, or the machine's memory if less."""
    from fastnn._validate import PHYSICAL_MEMORY
    return min(MAX_WEIGHTS_BYTES, PHYSICAL_MEMORY or MAX_WEIGHTS_BYTES)


def _target(path):
    """The file a save to `path` replaces: symbolic links followed; PermissionError for a
    target that exists without write permission."""
    real = os.path.realpath(path)
    try:
        st = os.stat(real)
    except FileNotFoundError:
        return real, None
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, "Cannot save over a directory", path)
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"Cannot save to {path!r}: it is not a regular file")
    if not st.st_mode & 0o222 or not os.access(real, os.W_OK):
        raise PermissionError(errno.EACCES, "Permission denied (the file is read-only)", path)
    return real, st


def _create_temp(folder, base):
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | \
        getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = os.path.join(folder, f".{base}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp  # the kernel applies the umask
        except FileExistsError:
            continue
    raise FileExistsError(f"Cannot create a temporary file in {folder!r}")


def atomic_write(path, write):
    """Call `write(binary_file)` on a temporary file, then rename it to `path`."""
    path = os.fspath(path)
    real, existing = _target(path)
    folder = os.path.dirname(real)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"Cannot save to {path!r}: the folder {folder!r} does not exist")
    fd, tmp = _create_temp(folder, os.path.basename(real))
    try:
        with os.fdopen(fd, "wb") as f:
            if existing is not None:  # keep the replaced file's mode (and owner if allowed)
                os.fchmod(f.fileno(), stat.S_IMODE(existing.st_mode))
                if (existing.st_uid, existing.st_gid) != (os.geteuid(), os.getegid()):
                    try:
                        os.fchown(f.fileno(), existing.st_uid, existing.st_gid)
                    except OSError:
                        pass
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, real)
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


def _open_regular(path, what):
    """`path` opened for reading, refusing what is not a regular file (a FIFO would block,
    a device never end).  Opened non-blocking and checked on the descriptor (fstat), so
    opening a FIFO returns at once and a file swapped for a FIFO between a check and the
    open cannot slip through."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnreadableFileError(f"{what} {path!r} is not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb"), st
    except BaseException:
        os.close(fd)
        raise


def read_file(path, limit, what):
    path = os.fspath(path)
    f, st = _open_regular(path, what)
    with f:
        if st.st_size > limit:
            raise UnreadableFileError(f"{what} {path!r} is {st.st_size} bytes, more than the "
                                      f"{limit}-byte limit")
        data = f.read(st.st_size + 1)  # (read(n) allocates n bytes up front: never the limit)
    if len(data) > st.st_size:
        raise UnreadableFileError(f"{what} {path!r} is more than the {limit}-byte limit")
    return data


class Archive:
    """The members of a `.keras` zip, read with size checks (no zip bombs, no huge JSON)."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self.file, _ = _open_regular(self.path, "File")
        try:
            self._open_zip()
        except BaseException:
            self.file.close()
            raise

    def _open_zip(self):
        try:
            self.zip = zipfile.ZipFile(self.file, "r")
        except MemoryError:
            raise
        except Exception as exc:  # BadZipFile, EOFError, OverflowError... on a damaged file
            raise UnreadableFileError(f"{self.path!r} is not a valid .keras file: it is not a zip "
                             f"archive ({exc}). The file may be truncated or corrupted.") from exc
        infos = self.zip.infolist()
        if len(infos) > MAX_MEMBERS:
            self.zip.close()
            raise UnreadableFileError(f"{self.path!r}: {len(infos)} archive members, too many for a "
                             f".keras file")
        self.members = {i.filename: i for i in infos}

    def read(self, name, limit):
        info = self.members.get(name)
        if info is None:
            raise UnreadableFileError(f"{self.path!r} is not a valid .keras file: it has no {name} "
                             f"(members: {sorted(self.members)[:10]})")
        if info.file_size > limit:
            raise UnreadableFileError(f"{self.path!r}: {name} is {info.file_size} bytes, more than the "
                             f"{limit}-byte limit")
        limit = min(limit, max(ZIP_EXPANSION_FLOOR, MAX_ZIP_EXPANSION * info.compress_size))
        if info.file_size > limit:
            raise UnreadableFileError(f"Not allowed: ZIP member '{name}' of {self.path!r} declares "
                             f"{info.file_size} bytes but only {info.compress_size} are "
                             f"stored; refusing a potential decompression bomb")
        try:
            with self.zip.open(info) as f:
                data = f.read(info.file_size + 1)  # at most what it claims, plus one
        except MemoryError:
            raise
        except Exception as exc:  # BadZipFile, zlib.error, EOFError... on a damaged file
            raise UnreadableFileError(f"{self.path!r}: cannot read {name}: {exc}. The file may be "
                             f"truncated or corrupted.") from exc
        if len(data) > limit or len(data) != info.file_size:
            raise UnreadableFileError(f"{self.path!r}: {name} is not the size it claims "
                             f"({info.file_size} bytes). The file may be corrupted.")
        return data

    def close(self):
        self.zip.close()
        self.file.close()

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
