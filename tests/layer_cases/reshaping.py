"""Rows for the shape layers: Reshape, Permute, RepeatVector, Flatten(channels_first)."""
import numpy as np

from fastnn.layers import Flatten, Permute, RepeatVector, Reshape
from layer_harness import Case

CASES = [
    Case("Reshape-infer", lambda: Reshape((3, -1)), [(2, 12)],
         lambda xs, ws: xs[0].reshape(2, 3, 4), bad=[([(2, 13)], "total size")]),
    Case("Reshape-4d", lambda: Reshape((6, 2, 1)), [(3, 3, 4)],
         lambda xs, ws: xs[0].reshape(3, 6, 2, 1), bad=[([(3, 3, 5)], "total size")]),
    Case("Permute-21", lambda: Permute((2, 1)), [(2, 3, 4)],
         lambda xs, ws: xs[0].transpose(0, 2, 1), bad=[([(2, 3)], "expected ndim=3")]),
    Case("Permute-312", lambda: Permute((3, 1, 2)), [(2, 3, 4, 5)],
         lambda xs, ws: xs[0].transpose(0, 3, 1, 2)),
    Case("RepeatVector", lambda: RepeatVector(3), [(2, 5)],
         lambda xs, ws: np.repeat(xs[0][:, None, :], 3, axis=1),
         bad=[([(2, 3, 5)], "expected ndim=2")]),
    Case("Flatten-channels_first", lambda: Flatten(data_format="channels_first"), [(2, 3, 4, 5)],
         lambda xs, ws: np.moveaxis(xs[0], 1, -1).reshape(2, -1)),
]
