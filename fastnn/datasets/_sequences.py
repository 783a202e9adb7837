"""What IMDB and Reuters share: finding or downloading a file, and Keras's re-indexing of
word sequences (`start_char`, `oov_char`, `index_from`, `num_words`, `skip_top`,
`maxlen`)."""
import json
import os

import numpy as np

from fastnn.datasets import _download, _files


def locate(path, origin, file_hash, name):
    """The local path of a dataset file, downloading it (checked against `file_hash`) when
    no searched directory holds it; `path` as Keras's `get_file(fname=path)` takes it."""
    path = os.fspath(path)
    if os.path.isabs(path) or os.path.isfile(path):
        if os.path.isfile(path):
            return path
        dirs, target = [os.path.dirname(path)], path
    else:
        dirs = _files.candidate_dirs()
        found = _files.find_in_dirs([path], dirs)
        if found:
            return found[0]
        target = os.path.join(_files.fastnn_cache_dir(), path)
    try:
        _download.download(origin, target, file_hash)
    except _download.DownloadError as exc:
        raise _files.DatasetNotFoundError(
            _files.not_found_message(f"{name} ({path})", path, dirs, exc)) from None
    return target


def read_word_index(path):
    """A word-index JSON file: `{word: index}`, checked."""
    try:
        with open(path, encoding="utf8") as f:
            index = json.load(f)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a word-index JSON file ({exc})") from None
    if not isinstance(index, dict) or not all(
            isinstance(k, str) and type(v) is int for k, v in index.items()):
        raise ValueError(f"{path}: a word index maps words (strings) to indices (ints)")
    return index


def check_pair(path, x, y, xname, yname):
    """Checks that `x` is a 1-D object array of sequences and `y` n integer labels."""
    if not isinstance(x, np.ndarray) or x.dtype != object or x.ndim != 1:
        raise ValueError(f"{path}: {xname} must be a 1-D object array of sequences, found "
                         f"{getattr(x, 'dtype', type(x).__name__)} "
                         f"{getattr(x, 'shape', '')}")
    if not isinstance(y, np.ndarray) or y.dtype.kind not in "iu" or y.shape != x.shape:
        raise ValueError(f"{path}: {yname} must hold {x.shape[0]} integer labels, found "
                         f"{getattr(y, 'dtype', type(y).__name__)} {getattr(y, 'shape', '')}")


def check_args(num_words, skip_top, maxlen, start_char, oov_char, index_from):
    for name, value, none_ok in (("num_words", num_words, True), ("skip_top", skip_top, False),
                                 ("maxlen", maxlen, True), ("start_char", start_char, True),
                                 ("oov_char", oov_char, True), ("index_from", index_from, False)):
        if value is None and none_ok:
            continue
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
                or value < 0:
            raise ValueError(f"`{name}` must be a non-negative integer"
                             f"{' or None' if none_ok else ''}. Received: {name}={value!r}")


def offset(xs, start_char, index_from):
    """Each sequence as a list, shifted by `index_from` and led by `start_char` (Keras)."""
    if start_char is not None:
        return [[start_char] + [w + index_from for w in x] for x in xs]
    if index_from:
        return [[w + index_from for w in x] for x in xs]
    return [list(x) for x in xs]


def remove_long(maxlen, xs, labels):
    """The sequences strictly shorter than `maxlen`, with their labels (Keras's rule)."""
    keep = [i for i, x in enumerate(xs) if len(x) < maxlen]
    return [xs[i] for i in keep], [labels[i] for i in keep]


def clip_vocabulary(xs, num_words, skip_top, oov_char):
    """Words outside `[skip_top, num_words)` become `oov_char`, or are dropped if it is None."""
    if not num_words:
        num_words = max((max(x) for x in xs if len(x)), default=0)
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    return [[w for w in x if skip_top <= w < num_words] for x in xs]


def object_array(rows):
    """A 1-D object array of lists (even when every row has the same length)."""
    out = np.empty(len(rows), dtype=object)
    for i, r in enumerate(rows):
        out[i] = r
    return out
