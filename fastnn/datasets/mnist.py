"""MNIST handwritten digits dataset."""
import os

from fastnn.datasets import _arrays, _download, _files

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"


def load_data(path="mnist.npz"):
    """Loads the MNIST dataset.

    This is a dataset of 60,000 28x28 grayscale images of the 10 digits, along with a test
    set of 10,000 images. More info can be found at the
    [MNIST homepage](http://yann.lecun.com/exdb/mnist/).

    Where the file is looked for, first match wins (see `candidate_dirs()`):

    1. `path` itself, if it is absolute or names an existing file;
    2. `$FASTNN_DATA/path`;
    3. fastnn's cache, `~/.fastnn/datasets/path`;
    4. Keras's cache, `$KERAS_HOME/datasets/path` or `~/.keras/datasets/path`.

    If none holds it, the file is downloaded from Keras's location (`ORIGIN`), checked
    against its SHA-256 and moved into fastnn's cache (or to `path` if it is absolute).
    Offline, a `DatasetNotFoundError` lists the directories searched.

    Args:
        path: path where to cache the dataset locally, relative to the cache directory,
            or an absolute path. Defaults to `"mnist.npz"`.

    Returns:
        Tuple of NumPy arrays: `(x_train, y_train), (x_test, y_test)`.

        **`x_train`**: `uint8` NumPy array of grayscale image data with shape
          `(60000, 28, 28)`, containing the training data. Pixel values range
          from 0 to 255.

        **`y_train`**: `uint8` NumPy array of digit labels (integers in range 0-9)
          with shape `(60000,)` for the training data.

        **`x_test`**: `uint8` NumPy array of grayscale image data with shape
          `(10000, 28, 28)`, containing the test data.

        **`y_test`**: `uint8` NumPy array of digit labels (integers in range 0-9)
          with shape `(10000,)` for the test data.

    Raises:
        DatasetNotFoundError: (a `FileNotFoundError`) if the file is found nowhere and
            cannot be downloaded.
        ValueError: naming the file, if it is not a valid MNIST `.npz`.

    Example:

    ```python
    (x_train, y_train), (x_test, y_test) = fastnn.datasets.mnist.load_data()
    assert x_train.shape == (60000, 28, 28)
    assert x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,)
    assert y_test.shape == (10000,)
    ```

    License:
        Yann LeCun and Corinna Cortes hold the copyright of the MNIST dataset, which is
        a derivative work from original NIST datasets. MNIST is made available under the
        terms of the [Creative Commons Attribution-Share Alike 3.0 license.](
        https://creativecommons.org/licenses/by-sa/3.0/)
    """
    path = os.fspath(path)
    if os.path.isabs(path) or os.path.isfile(path):
        if os.path.isfile(path):
            return _arrays.read_npz(path)
        dirs, target = [os.path.dirname(path)], path
    else:
        dirs = candidate_dirs()
        found = _files.find_in_dirs([path], dirs)
        if found:
            return _arrays.read_npz(found[0])
        target = os.path.join(_files.fastnn_cache_dir(), path)
    try:
        _download.download(ORIGIN, target, SHA256)
    except _download.DownloadError as exc:
        message = _files.not_found_message(path, path, dirs, exc)
        raise _files.DatasetNotFoundError(message) from None
    return _arrays.read_npz(target)


def candidate_dirs():
    """The directories searched for `mnist.npz`, best first; they need not exist."""
    return _files.candidate_dirs()
