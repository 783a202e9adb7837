"""Rows for Dot (the batched dot product), normalized or not."""
import numpy as np

from fastnn.layers import Dot
from layer_harness import Case


def batch_dot(x, y, a0, a1, normalize=False):
    if normalize:
        x = x / np.maximum(np.linalg.norm(x, axis=a0, keepdims=True), 1e-7)
        y = y / np.maximum(np.linalg.norm(y, axis=a1, keepdims=True), 1e-7)
    xm, ym = np.moveaxis(x, a0, -1), np.moveaxis(y, a1, 1)
    n, k = x.shape[0], xm.shape[-1]
    out = np.matmul(xm.reshape(n, -1, k), ym.reshape(n, k, -1))
    shape = (n,) + xm.shape[1:-1] + ym.shape[2:]
    return out.reshape(shape if len(shape) > 1 else (n, 1))


CASES = [
    Case("Dot-2d", lambda: Dot(axes=1), [(4, 5), (4, 5)],
         lambda xs, ws: batch_dot(xs[0], xs[1], 1, 1),
         bad=[([(4, 5), (4, 6)], "Incompatible input shapes")]),
    Case("Dot-3d-last", lambda: Dot(axes=2), [(3, 4, 5), (3, 2, 5)],
         lambda xs, ws: batch_dot(xs[0], xs[1], 2, 2)),
    Case("Dot-3d-pair", lambda: Dot(axes=(1, 2)), [(3, 4, 5), (3, 2, 4)],
         lambda xs, ws: batch_dot(xs[0], xs[1], 1, 2)),
    Case("Dot-mixed-rank-cosine", lambda: Dot(axes=-1, normalize=True), [(3, 6), (3, 4, 6)],
         lambda xs, ws: batch_dot(xs[0], xs[1], 1, 2, normalize=True)),
]
