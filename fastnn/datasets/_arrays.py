"""Reading and checking the arrays of a 28x28 image-classification dataset (MNIST's layout)."""
import zipfile
import zlib

import numpy as np

NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


def read_npz(path, num_classes=10):
    """Reads an `mnist.npz`-style file and checks its four arrays.

    Args:
        path: path of a `.npz` holding `x_train`, `y_train`, `x_test`, `y_test`
            (other keys are ignored). It is opened with `allow_pickle=False`.
        num_classes: labels must lie in `[0, num_classes)`. Defaults to `10`.

    Returns:
        `(x_train, y_train), (x_test, y_test)`, uint8, shapes `(n, 28, 28)` and `(n,)`.

    Raises:
        ValueError: naming the file, if it is not a readable `.npz` or its arrays are
            missing or have the wrong shape, dtype or label range.
    """
    try:
        npz = np.load(path, allow_pickle=False)
        if not hasattr(npz, "files"):
            raise ValueError(f"{path}: a single .npy array, not an .npz archive of arrays")
        with npz:
            arrays = {k: npz[k] for k in NPZ_KEYS if k in npz.files}
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
        if str(exc).startswith(f"{path}:"):
            raise
        raise ValueError(f"{path}: not a readable .npz file ({exc})") from None
    missing = [k for k in NPZ_KEYS if k not in arrays]
    if missing:
        raise ValueError(f"{path}: missing array(s) {', '.join(missing)}; an MNIST-style "
                         f".npz holds {', '.join(NPZ_KEYS)}")
    train = check_split(path, "train", arrays["x_train"], arrays["y_train"], num_classes)
    test = check_split(path, "test", arrays["x_test"], arrays["y_test"], num_classes)
    return train, test


def check_split(source, split, x, y, num_classes=10):
    """Checks one split's images and labels; returns `(x, y)` unchanged.

    Args:
        source: the file(s) the arrays came from, named in error messages.
        split: `"train"` or `"test"`, named in error messages.
        x: the images, which must be uint8 of shape `(n, 28, 28)`.
        y: the labels, which must be uint8 of shape `(n,)` with values below
            `num_classes`.
        num_classes: the number of classes. Defaults to `10`.
    """
    if x.dtype != np.uint8 or y.dtype != np.uint8:
        raise ValueError(f"{source}: x_{split} and y_{split} must be uint8, received "
                         f"{x.dtype} and {y.dtype}")
    if x.ndim != 3 or x.shape[1:] != (28, 28):
        raise ValueError(f"{source}: x_{split} must have shape (n, 28, 28), received "
                         f"{x.shape}")
    if y.shape != (x.shape[0],):
        raise ValueError(f"{source}: y_{split} must have shape ({x.shape[0]},) to match "
                         f"x_{split} {x.shape}, received {y.shape}")
    if y.size and int(y.max()) >= num_classes:
        raise ValueError(f"{source}: y_{split} holds the label {int(y.max())}, outside "
                         f"[0, {num_classes})")
    return x, y
