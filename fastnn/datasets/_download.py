"""Downloading one dataset file: a progress bar, a SHA-256 check, an atomic move into place."""
import hashlib
import http.client
import os
import sys
import tempfile
import urllib.request

from fastnn.utils.progbar import Progbar

TIMEOUT = 30  # seconds without data before a download is abandoned
_CHUNK = 1 << 16


class DownloadError(OSError):
    """A download failed, was cut short, or did not match its SHA-256."""


def sha256_of(path):
    """The hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(url, dest, sha256, timeout=TIMEOUT, verbose=1):
    """Downloads `url` to `dest`, checks its SHA-256, and only then moves it into place.

    The bytes go to a temporary file next to `dest`, which `os.replace` renames to `dest`
    once the whole file has arrived and matches `sha256`. On any failure the temporary file
    is removed: `dest` is either the complete, verified file or untouched.

    Args:
        url: the URL to fetch (`http://`, `https://` or `file://`).
        dest: the file to create; its directory is created if needed.
        sha256: the expected hex SHA-256 of the file (a 32-digit hex is taken as an MD5,
            as Keras's `get_file` does: Keras publishes MD5s for its word-index files), or
            None: no check.
        timeout: seconds to wait for the connection or for more data. Defaults to `30`.
        verbose: `1` prints `Downloading data from <url>` and a progress bar on stdout,
            as Keras does; `0` is silent. Defaults to `1`.

    Returns:
        `dest`.

    Raises:
        DownloadError: (an `OSError`) naming the URL, if the connection fails, the
            transfer is cut short, or the checksum differs.
    """
    folder = os.path.dirname(os.path.abspath(dest))
    created = []  # directories this call creates, deepest first, removed again on failure
    parent = folder
    while not os.path.isdir(parent) and parent != os.path.dirname(parent):
        created.append(parent)
        parent = os.path.dirname(parent)
    tmp = None
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(dest)}.", suffix=".part",
                                   dir=folder)
        with os.fdopen(fd, "wb") as out:
            got = _fetch(url, out, timeout, verbose,
                         "md5" if sha256 is not None and len(sha256) == 32 else "sha256")
        if sha256 is not None and got != sha256.lower():
            kind = "MD5" if len(sha256) == 32 else "SHA-256"
            raise DownloadError(f"{url}: {kind} mismatch: expected {sha256}, received "
                                f"{got}; the download was discarded")
        os.replace(tmp, dest)
        tmp = created = None
    except (OSError, http.client.HTTPException) as exc:
        if isinstance(exc, DownloadError):
            raise
        raise DownloadError(f"{url}: {type(exc).__name__}: {exc}") from exc
    finally:
        _remove(tmp, created)
    return dest


def _remove(tmp, created):
    """Removes the temporary file, then the directories created for it while empty."""
    try:
        if tmp is not None:
            os.remove(tmp)
        for folder in created or ():
            os.rmdir(folder)
    except OSError:
        pass


def _fetch(url, out, timeout, verbose, algorithm="sha256"):
    """Streams `url` into the open file `out`; returns the hex SHA-256 of what was read."""
    if verbose:
        print(f"Downloading data from {url}", file=sys.stdout, flush=True)
    digest = hashlib.new(algorithm)
    with urllib.request.urlopen(url, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        bar = Progbar(total, unit_name="byte") if verbose else None
        received = 0
        for chunk in iter(lambda: response.read(_CHUNK), b""):
            out.write(chunk)
            digest.update(chunk)
            received += len(chunk)
            if bar is not None:
                bar.update(received, finalize=False)
        if total is not None and received != total:
            raise DownloadError(f"{url}: transfer cut short: received {received} of "
                                f"{total} bytes; the download was discarded")
        if bar is not None:
            bar.update(received, finalize=True)
    return digest.hexdigest()
