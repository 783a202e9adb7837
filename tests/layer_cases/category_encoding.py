"""Rows for CategoryEncoding (integer ids in, not differentiable)."""
import numpy as np

from fastnn.layers import CategoryEncoding
from layer_harness import Case


def ids(high):
    return lambda rng, shapes: [rng.integers(0, high, size=s).astype(np.float32) for s in shapes]


def one_hot(xs, ws, n=5):
    x = xs[0].astype(int)
    x = x[..., 0] if x.ndim > 1 and x.shape[-1] == 1 else x
    return np.eye(n)[x]


def multi_hot(xs, ws, n=5):
    out = np.zeros((len(xs[0]), n))
    for r, row in enumerate(xs[0].astype(int)):
        out[r, row] = 1
    return out


def count(xs, ws, n=5):
    return np.stack([np.bincount(row, minlength=n) for row in xs[0].astype(int)]).astype(float)


CASES = [
    Case("CategoryEncoding-one_hot", lambda: CategoryEncoding(5, output_mode="one_hot"),
         [(4, 1)], one_hot, inputs=ids(5), grad=False),
    Case("CategoryEncoding-one_hot-seq", lambda: CategoryEncoding(5, output_mode="one_hot"),
         [(3, 4)], one_hot, inputs=ids(5), grad=False),
    Case("CategoryEncoding-multi_hot", lambda: CategoryEncoding(5), [(4, 3)], multi_hot,
         inputs=ids(5), grad=False),
    Case("CategoryEncoding-count", lambda: CategoryEncoding(5, output_mode="count"), [(4, 6)],
         count, inputs=ids(5), grad=False),
]
