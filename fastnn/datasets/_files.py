"""Where fastnn.datasets looks for dataset files, in one place.

The order, first match wins:

1. an explicit path given by the caller (handled by each loader);
2. `FASTNN_DATA` (`fastnn.config.DATA_DIR`): its dataset subfolder, then itself;
3. fastnn's cache, `~/.fastnn/datasets` (downloads go here);
4. Keras's cache, `$KERAS_HOME/datasets` or `~/.keras/datasets`, so files a Keras user
   already downloaded are reused;
5. system folders a loader adds, e.g. `/usr/share/datasets/fashion-mnist` from Debian's
   `dataset-fashion-mnist` package.

Files found this way are checked for structure when read, not for a checksum: Debian's
Fashion-MNIST files are recompressed, so their bytes differ from the downloads'.
"""
import os

from fastnn import config


class DatasetNotFoundError(FileNotFoundError):
    """A dataset was found in no searched location and could not be downloaded."""


def fastnn_cache_dir():
    """fastnn's dataset cache, `~/.fastnn/datasets`, with `~` resolved at each call."""
    return os.path.join(os.path.expanduser("~"), ".fastnn", "datasets")


def keras_cache_dir():
    """Keras's dataset cache: `$KERAS_HOME/datasets`, else `~/.keras/datasets`."""
    home = config.KERAS_HOME or os.path.join("~", ".keras")
    return os.path.join(os.path.expanduser(home), "datasets")


def candidate_dirs(subdir=None, system_dirs=()):
    """The directories searched for a dataset's files, best first.

    Args:
        subdir: the dataset's subfolder in the caches (Keras uses `"fashion-mnist"` for
            Fashion-MNIST, none for `mnist.npz`). Defaults to `None`.
        system_dirs: folders searched last, in order. Defaults to `()`.

    Returns:
        A list of directory paths, without duplicates. They need not exist.

    Example:

    >>> dirs = candidate_dirs("fashion-mnist", ["/usr/share/datasets/fashion-mnist"])
    >>> dirs[-3:] == [os.path.join(fastnn_cache_dir(), "fashion-mnist"),
    ...               os.path.join(keras_cache_dir(), "fashion-mnist"),
    ...               "/usr/share/datasets/fashion-mnist"]
    True
    """
    dirs = []
    if config.DATA_DIR:
        data_dir = os.path.expanduser(config.DATA_DIR)
        if subdir:
            dirs.append(os.path.join(data_dir, subdir))
        dirs.append(data_dir)
    for cache in (fastnn_cache_dir(), keras_cache_dir()):
        dirs.append(os.path.join(cache, subdir) if subdir else cache)
    dirs.extend(system_dirs)
    return list(dict.fromkeys(dirs))


def find_in_dirs(names, dirs):
    """The files `names` from the first directory in `dirs` that holds all of them.

    Args:
        names: one entry per file needed; each is a file name or a tuple of accepted
            spellings, e.g. `("train-images-idx3-ubyte.gz", "train-images-idx3-ubyte")`.
        dirs: directories, best first.

    Returns:
        A list with one path per entry of `names`, or `None` if no directory holds them all.
    """
    for folder in dirs:
        found = []
        for spellings in names:
            if isinstance(spellings, str):
                spellings = (spellings,)
            paths = [os.path.join(folder, s) for s in spellings]
            found.append(next((p for p in paths if os.path.isfile(p)), None))
        if all(found):
            return found
    return None


def not_found_message(what, files, dirs, reason, advice=""):
    """The message of a `DatasetNotFoundError`: what was searched, why the download failed
    and where to put the files."""
    searched = "\n".join(f"    {d}" for d in dirs)
    return (f"{what} was not found and could not be downloaded.\n"
            f"  Searched, in order:\n{searched}\n"
            f"  Download failed: {reason}\n"
            f"  Put {files} in one of the directories above, or set FASTNN_DATA to the "
            f"directory that holds them.{advice}")
