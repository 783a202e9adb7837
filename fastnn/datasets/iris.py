"""Iris flowers dataset, shipped inside fastnn (150 rows, public domain)."""
import csv
import os

import numpy as np

CSV_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "iris.csv")
CLASS_NAMES = ("setosa", "versicolor", "virginica")
FEATURE_NAMES = ("sepal length (cm)", "sepal width (cm)",
                 "petal length (cm)", "petal width (cm)")


def load_data(test_split=0.2, seed=113):
    """Loads the Iris dataset, split into training and test sets.

    R.A. Fisher's 150 iris flowers, 50 of each species (`CLASS_NAMES`: 0 setosa,
    1 versicolor, 2 virginica), each described by 4 measurements in cm (`FEATURE_NAMES`:
    sepal length, sepal width, petal length, petal width). The file ships inside fastnn;
    nothing is downloaded.

    The split is stratified and fixed: from each species, `round(50 * test_split)` rows
    chosen by `np.random.RandomState(seed)` (a generator whose stream NumPy keeps stable)
    go to the test set. Both sets are then shuffled by the same generator, so the classes
    are interleaved (a `validation_split` tail holds every class). With the defaults this
    gives 120 training rows (40 per species) and 30 test rows (10 per species), the same
    ones on every machine.

    Args:
        test_split: fraction of each species kept for the test set, in `[0, 1)`.
            Defaults to `0.2`.
        seed: seed of the split and shuffle. Defaults to `113` (Keras's datasets' seed).

    Returns:
        Tuple of NumPy arrays: `(x_train, y_train), (x_test, y_test)`: `x` float32 of
        shape `(n, 4)`, `y` int64 class indices of shape `(n,)`; `n` is 120 and 30 with
        the defaults.

    Example:

    >>> (x_train, y_train), (x_test, y_test) = load_data()
    >>> x_train.shape, y_train.shape, x_test.shape, y_test.shape
    ((120, 4), (120,), (30, 4), (30,))
    >>> np.bincount(y_test).tolist()
    [10, 10, 10]

    License:
        The Iris data (Fisher, 1936) is in the public domain. The values are those of R's
        `iris` data set.
    """
    if isinstance(test_split, bool) or not 0 <= test_split < 1:
        raise ValueError(f"test_split must be in [0, 1), received test_split={test_split!r}")
    x, y = _read_csv()
    rng = np.random.RandomState(seed)
    test = []
    for label in range(len(CLASS_NAMES)):
        rows = np.flatnonzero(y == label)
        test.extend(rows[rng.permutation(len(rows))[:int(round(len(rows) * test_split))]])
    is_test = np.zeros(len(y), dtype=bool)
    is_test[test] = True
    train_rows = rng.permutation(np.flatnonzero(~is_test))
    test_rows = rng.permutation(np.flatnonzero(is_test))
    return (x[train_rows], y[train_rows]), (x[test_rows], y[test_rows])


def _read_csv():
    """The 150 rows of `CSV_PATH` as `x` float32 (150, 4) and `y` int64 (150,)."""
    with open(CSV_PATH, newline="") as f:
        rows = list(csv.reader(f))[1:]  # skip the header
    x = np.array([[float(v) for v in row[:4]] for row in rows], dtype=np.float32)
    y = np.array([CLASS_NAMES.index(row[4]) for row in rows], dtype=np.int64)
    if x.shape != (150, 4):
        raise ValueError(f"{CSV_PATH}: expected 150 rows of 4 measurements, found {x.shape}")
    return x, y
