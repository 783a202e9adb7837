"""Fashion-MNIST dataset."""
import os
import sys

import numpy as np

from fastnn.datasets import _arrays, _download, _files
from fastnn.datasets.idx import read_idx

BASE_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
# SHA-256 of each file at BASE_URL, as pinned by Keras (keras/src/datasets/fashion_mnist.py)
# and TensorFlow Datasets; Zalando's originals, byte for byte.
FILE_HASHES = {
    "train-labels-idx1-ubyte.gz":
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "train-images-idx3-ubyte.gz":
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "t10k-labels-idx1-ubyte.gz":
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    "t10k-images-idx3-ubyte.gz":
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
}
# In the order load_data reads them: x_train, y_train, x_test, y_test.
FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
SUBDIR = "fashion-mnist"  # the cache subfolder Keras uses
SYSTEM_DIRS = ("/usr/share/datasets/fashion-mnist",)  # Debian's dataset-fashion-mnist
SUBSET_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data",
                           "fashion_mnist_subset.npz")
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
INSTALL_HINT = ("Install it with `apt-get install dataset-fashion-mnist` (Debian/Ubuntu) "
                "or set FASTNN_DATA.")


def load_data(path=None, allow_subset=True):
    """Loads the Fashion-MNIST dataset.

    This is a dataset of 60,000 28x28 grayscale images of 10 fashion categories, along
    with a test set of 10,000 images. This dataset can be used as a drop-in replacement
    for MNIST. The class names are `CLASS_NAMES`: 0 T-shirt/top, 1 Trouser, 2 Pullover,
    3 Dress, 4 Coat, 5 Sandal, 6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot.

    The four IDX files (`FILES`, gzipped or not) are looked for in `path` if given, else
    in `candidate_dirs()`: `$FASTNN_DATA/fashion-mnist`, `$FASTNN_DATA`,
    `~/.fastnn/datasets/fashion-mnist`, Keras's `~/.keras/datasets/fashion-mnist` and
    Debian's `/usr/share/datasets/fashion-mnist`; the first directory holding all four
    wins. Failing that they are downloaded from Keras's location (`BASE_URL`), checked
    against `FILE_HASHES` and moved into fastnn's cache. Failing that too, the subset of
    Fashion-MNIST shipped inside fastnn (the first 2,000 training and 500 test images)
    is returned, and one line on stderr says so.

    Args:
        path: a directory holding the four files; when given, nothing else is searched
            or downloaded. Defaults to `None`.
        allow_subset: whether to fall back to the embedded subset. If `False`, a missing
            dataset raises `DatasetNotFoundError`. Defaults to `True`.

    Returns:
        Tuple of NumPy arrays: `(x_train, y_train), (x_test, y_test)`, all `uint8`:
        images of shape `(60000, 28, 28)` and `(10000, 28, 28)`, labels (integers in
        range 0-9) of shape `(60000,)` and `(10000,)`. The embedded subset has 2,000
        and 500 rows instead.

    Raises:
        DatasetNotFoundError: (a `FileNotFoundError`) if `path` lacks the files, or if
            the dataset is found nowhere, cannot be downloaded and `allow_subset=False`.
        ValueError: naming the file, if a file found is not valid IDX or gzip.

    Example:

    ```python
    (x_train, y_train), (x_test, y_test) = fastnn.datasets.fashion_mnist.load_data()
    assert x_train.shape == (60000, 28, 28)
    assert x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,)
    assert y_test.shape == (10000,)
    ```

    License:
        The copyright for Fashion-MNIST is held by Zalando SE. Fashion-MNIST is
        licensed under the [MIT license](
        https://github.com/zalandoresearch/fashion-mnist/blob/master/LICENSE).
    """
    names = [(f, f[:-len(".gz")]) for f in FILES]
    if path is not None:
        found = _files.find_in_dirs(names, [os.fspath(path)])
        if found is None:
            raise _files.DatasetNotFoundError(
                f"{path} does not hold the four Fashion-MNIST files {', '.join(FILES)} "
                "(gzipped or not)")
        return _read(found)
    dirs = candidate_dirs()
    found = _files.find_in_dirs(names, dirs)
    if found is not None:
        return _read(found)
    try:
        return _read(_download_all())
    except _download.DownloadError as exc:
        reason = exc
    if not allow_subset:
        message = _files.not_found_message(
            "Fashion-MNIST", "the four files " + ", ".join(FILES), dirs, reason,
            "\n  Or install Debian's package: apt-get install dataset-fashion-mnist")
        raise _files.DatasetNotFoundError(message) from None
    data = load_subset()
    print(f"fastnn: full Fashion-MNIST not found (searched {', '.join(dirs)}; download "
          f"failed: {reason}); using the embedded subset of {len(data[0][0])} training and "
          f"{len(data[1][0])} test images. {INSTALL_HINT}", file=sys.stderr, flush=True)
    return data


def load_subset():
    """Loads the subset of Fashion-MNIST shipped inside fastnn, without searching.

    Returns:
        `(x_train, y_train), (x_test, y_test)`, `uint8`, of shapes `(2000, 28, 28)`,
        `(2000,)`, `(500, 28, 28)` and `(500,)`: the first 2,000 training and the first
        500 test images of Fashion-MNIST, with their labels.

    >>> (x_train, y_train), (x_test, y_test) = load_subset()
    >>> x_train.shape, y_train.shape, x_test.shape, y_test.shape
    ((2000, 28, 28), (2000,), (500, 28, 28), (500,))
    """
    return _arrays.read_npz(SUBSET_PATH)


def candidate_dirs():
    """The directories searched for the four Fashion-MNIST files, best first."""
    return _files.candidate_dirs(SUBDIR, SYSTEM_DIRS)


def _download_all():
    """Downloads the files missing from fastnn's cache; returns the four paths."""
    folder = os.path.join(_files.fastnn_cache_dir(), SUBDIR)
    paths = [os.path.join(folder, f) for f in FILES]
    for name, dest in zip(FILES, paths):
        if not os.path.isfile(dest):
            _download.download(BASE_URL + name, dest, FILE_HASHES[name])
    return paths


def _read(paths):
    """Reads and checks the four IDX files, in the order of `FILES`."""
    x_train, y_train, x_test, y_test = (read_idx(p) for p in paths)
    train = _arrays.check_split(f"{paths[0]}, {paths[1]}", "train", x_train, y_train)
    test = _arrays.check_split(f"{paths[2]}, {paths[3]}", "test", x_test, y_test)
    return train, test
