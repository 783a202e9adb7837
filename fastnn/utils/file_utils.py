"""`get_file`: Keras's cached download, with its cache layout and arguments, safe
archive extraction, and nothing half-written left behind."""
import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.parse
import warnings
import zipfile

from fastnn import config
from fastnn.datasets import _download


def get_file(fname=None, origin=None, untar=False, md5_hash=None, file_hash=None,
             cache_subdir="datasets", hash_algorithm="auto", extract=False,
             archive_format="auto", cache_dir=None, force_download=False):
    """Downloads a file from a URL unless it is already in the cache; returns its path.

    As Keras 3's `get_file`: the file goes to `cache_dir` (default `$KERAS_HOME`, else
    `~/.keras`; `/tmp/.keras` when that is not writable) / `cache_subdir` / `fname`
    (default: the URL's file name).  With `extract=True` (or the deprecated `untar`) the
    archive (tar, tar.gz, tar.bz2 or zip) is unpacked and the directory is returned:
    `<fname>` without its extension + "_extracted" when `fname` has one, else `<fname>`
    (the archive then kept as `<fname>_archive`).

    Args:
        fname: the local file name (no directories), or None for the URL's.
        origin: the URL (`https://`, `http://`, `file://`).
        untar: deprecated: extract a tar archive.
        md5_hash: deprecated: `file_hash` with `hash_algorithm="md5"`.
        file_hash: the expected SHA-256 (64 hex digits) or MD5 of the file; a cached file
            that does not match is downloaded again, a download that does not match is
            discarded with a ValueError.
        cache_subdir: the folder under `cache_dir`, or an absolute path.
        hash_algorithm: "auto" (by the hash's length), "sha256" or "md5".
        extract: unpack the archive.
        archive_format: "auto" (tar, then zip), "tar", "zip", a list of those, or None.
        cache_dir: the cache's root.
        force_download: download even when the file is cached.

    Extraction refuses members that would land outside the target directory (absolute
    paths, `..`, links pointing out) and special files, and happens in a temporary
    directory moved into place when complete.  An archive already extracted is not
    extracted again unless it was downloaded anew.
    """
    if origin is None:
        raise ValueError('Please specify the "origin" argument (URL of the file to download).')
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    if hash_algorithm not in ("auto", "md5", "sha256"):
        raise ValueError(f"hash_algorithm must be 'auto', 'md5' or 'sha256', received "
                         f"{hash_algorithm!r}")
    base = os.path.expanduser(cache_dir if cache_dir is not None else
                              (config.KERAS_HOME or os.path.join("~", ".keras")))
    try:
        os.makedirs(base, exist_ok=True)
    except OSError:
        pass
    if not os.access(base, os.W_OK):
        base = os.path.join("/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir(),
                            ".keras")
    datadir = os.path.join(base, os.fspath(cache_subdir))
    os.makedirs(datadir, exist_ok=True)

    given = fname
    fname = os.fspath(fname) if fname is not None else None
    if not fname:
        fname = os.path.basename(urllib.parse.urlsplit(origin).path)
        if not fname:
            raise ValueError(f"Can't parse the file name from the origin provided: "
                             f"'{origin}'. Please specify the `fname` argument.")
    elif os.sep in fname or (os.altsep and os.altsep in fname):
        raise ValueError(f"Paths are no longer accepted as the `fname` argument. To specify "
                         f"the file's parent directory, use the `cache_dir` argument. "
                         f"Received: fname={fname}")
    if fname in (".", ".."):
        raise ValueError(f"`fname` must name a file, received fname={fname!r}")

    unpack = extract or untar
    if unpack and given and "." in fname:
        target = os.path.join(datadir, fname)
        extraction_dir = os.path.join(datadir, f"{fname[:fname.find('.')]}_extracted")
    elif unpack:
        extraction_dir = os.path.join(datadir, fname)
        target = os.path.join(datadir, f"{fname}_archive")
    else:
        target = os.path.join(datadir, fname)

    download = force_download or not os.path.exists(target)
    if not download and file_hash is not None and \
            not validate_file(target, file_hash, hash_algorithm):
        print(f"A local file was found, but it seems to be incomplete or outdated because "
              f"the {_algorithm(hash_algorithm, file_hash)} file hash does not match the "
              f"original value of {file_hash} so we will re-download the data.")
        download = True
    if download:
        algorithm = _algorithm(hash_algorithm, file_hash)
        # _download checks a hash before moving the file into place; it tells MD5 from
        # SHA-256 by length (another length is checked after, below)
        expected = file_hash if file_hash is not None and \
            len(file_hash) == (32 if algorithm == "md5" else 64) else None
        try:
            _download.download(origin, target, expected)
        except _download.DownloadError as exc:
            if "mismatch" in str(exc):
                raise ValueError(f"Incomplete or corrupted file detected. The {algorithm} "
                                 f"file hash does not match the provided value of "
                                 f"{file_hash}.") from None
            raise Exception(f"URL fetch failure on {origin}: {exc}") from exc
        if file_hash is not None and expected is None and \
                not validate_file(target, file_hash, hash_algorithm):
            os.remove(target)
            raise ValueError(f"Incomplete or corrupted file detected. The {algorithm} file "
                             f"hash does not match the provided value of {file_hash}.")

    if unpack:
        if download or not os.path.isdir(extraction_dir):
            if not extract_archive(target, extraction_dir, "tar" if untar else archive_format):
                warnings.warn("Could not extract archive.", stacklevel=2)
        return extraction_dir
    return target


def _algorithm(hash_algorithm, file_hash):
    if hash_algorithm != "auto":
        return hash_algorithm
    return "sha256" if file_hash is not None and len(file_hash) == 64 else "md5"


def hash_file(fpath, algorithm="sha256", chunk_size=65535):
    """The file's hex SHA-256 (or MD5 with algorithm="md5")."""
    hasher = hashlib.md5() if algorithm == "md5" else hashlib.sha256()
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(fpath, file_hash, algorithm="auto", chunk_size=65535):
    """Whether the file's SHA-256 or MD5 (by `algorithm`, or the hash's length) matches."""
    return hash_file(fpath, _algorithm(algorithm, file_hash), chunk_size) == \
        str(file_hash).lower()


def extract_archive(file_path, path=".", archive_format="auto"):
    """Unpacks a tar (also gzip/bzip2/xz) or zip archive into `path`; returns whether the
    file was an archive of the formats asked for.  Members that would land outside `path`
    and special files raise a ValueError and leave `path` as it was."""
    if archive_format is None:
        return False
    formats = ["tar", "zip"] if archive_format == "auto" else \
        [archive_format] if isinstance(archive_format, str) else list(archive_format)
    for kind in formats:
        if kind not in ("tar", "zip"):
            raise NotImplementedError(kind)
        if (tarfile.is_tarfile if kind == "tar" else zipfile.is_zipfile)(file_path):
            _extract_atomically(file_path, path, kind)
            return True
    return False


def _extract_atomically(file_path, path, kind):
    path = os.path.abspath(path)
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.", dir=parent)
    try:
        if kind == "tar":
            with tarfile.open(file_path) as archive:
                for member in archive.getmembers():
                    _check_tar_member(member, tmp)
                if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4, 3.10.12, ...
                    archive.extractall(tmp, filter="data")
                else:
                    archive.extractall(tmp)
        else:
            with zipfile.ZipFile(file_path) as archive:
                for info in archive.infolist():
                    _check_inside(info.filename, tmp)
                archive.extractall(tmp)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        elif os.path.lexists(path):
            os.remove(path)
        os.replace(tmp, path)
        tmp = None
    except (tarfile.TarError, zipfile.BadZipFile) as exc:
        raise ValueError(f"Could not extract {file_path}: {exc}") from None
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def _check_inside(name, base):
    dest = os.path.realpath(os.path.join(base, name))
    if os.path.isabs(name) or os.path.commonpath([dest, os.path.realpath(base)]) != \
            os.path.realpath(base):
        raise ValueError(f"Refusing to extract '{name}': it would be written outside the "
                         f"extraction directory")


def _check_tar_member(member, base):
    _check_inside(member.name, base)
    if member.issym():
        _check_inside(os.path.join(os.path.dirname(member.name), member.linkname), base)
    elif member.islnk():
        _check_inside(member.linkname, base)
    elif not (member.isfile() or member.isdir()):
        raise ValueError(f"Refusing to extract '{member.name}': a device, FIFO or other "
                         f"special file")
