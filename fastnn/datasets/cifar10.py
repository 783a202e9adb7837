"""CIFAR-10 small images classification dataset."""
from fastnn.datasets import _cifar

SOURCE = _cifar.Source(
    "CIFAR-10", target="cifar-10-batches-py-target", folder="cifar-10-batches-py",
    tarball="cifar-10-python.tar.gz",
    origin="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    sha256="6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
    train=[f"data_batch_{i}" for i in range(1, 6)], test="test_batch")


def load_data():
    """Loads the CIFAR-10 dataset: 50,000 32x32 colour training images and 10,000 test
    images, labelled over 10 categories.

    The files are looked for in Keras's cache layout (the folder Keras 3 or Keras 2
    extracted, or the tarball) in `FASTNN_DATA`, `~/.fastnn/datasets` and Keras's
    `~/.keras/datasets`; else the tarball is downloaded from Keras's origin, checked
    against its SHA-256 and kept in fastnn's cache.  The batch files are pickles, read
    with an unpickler that rebuilds only NumPy arrays and plain containers.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images (n, 32, 32, 3) and uint8
        labels (n, 1) in [0, 9], as Keras returns them.

    Raises:
        DatasetNotFoundError: found nowhere and not downloadable.
        ValueError: a file that is not a CIFAR-10 file.
    """
    return SOURCE.read("labels")
