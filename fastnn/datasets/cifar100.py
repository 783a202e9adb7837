"""CIFAR-100 small images classification dataset."""
from fastnn.datasets import _cifar

SOURCE = _cifar.Source(
    "CIFAR-100", target="cifar-100-python-target", folder="cifar-100-python",
    tarball="cifar-100-python.tar.gz",
    origin="https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
    sha256="85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7",
    train=["train"], test="test")


def load_data(label_mode="fine"):
    """Loads the CIFAR-100 dataset: 50,000 32x32 colour training images and 10,000 test
    images, labelled over 100 fine-grained classes grouped into 20 coarse ones.

    Args:
        label_mode: "fine" (100 classes) or "coarse" (20 superclasses).

    Files are found or downloaded as for `cifar10.load_data()`.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images (n, 32, 32, 3) and uint8
        labels (n, 1).
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError('`label_mode` must be one of `"fine"`, `"coarse"`. '
                         f"Received: label_mode={label_mode}.")
    return SOURCE.read(f"{label_mode}_labels")
