"""Rows for UpSampling2D, ZeroPadding2D and Cropping2D."""
import numpy as np

from fastnn import _reference as ref
from fastnn.layers import Cropping2D, UpSampling2D, ZeroPadding2D
from layer_harness import Case

BAD = [([(2, 6, 7)], "expected ndim=4")]

CASES = [
    Case("UpSampling2D-nearest", lambda: UpSampling2D((2, 3)), [(2, 3, 4, 2)],
         lambda xs, ws: np.repeat(np.repeat(xs[0], 2, axis=1), 3, axis=2), bad=BAD),
    Case("UpSampling2D-bilinear", lambda: UpSampling2D(2, interpolation="bilinear"),
         [(2, 3, 4, 2)], lambda xs, ws: ref.resize_forward(xs[0], (6, 8), "bilinear")),
    Case("ZeroPadding2D-1", ZeroPadding2D, [(2, 3, 4, 2)],
         lambda xs, ws: np.pad(xs[0], ((0, 0), (1, 1), (1, 1), (0, 0))), bad=BAD),
    Case("ZeroPadding2D-asym", lambda: ZeroPadding2D(((0, 2), (3, 1))), [(2, 3, 4, 2)],
         lambda xs, ws: np.pad(xs[0], ((0, 0), (0, 2), (3, 1), (0, 0)))),
    Case("Cropping2D", lambda: Cropping2D(((1, 0), (2, 1))), [(2, 4, 6, 3)],
         lambda xs, ws: xs[0][:, 1:, 2:5],
         bad=BAD + [([(2, 1, 6, 3)], "should be smaller than the corresponding spatial")]),
    Case("Cropping2D-int", lambda: Cropping2D(1), [(1, 4, 4, 2)],
         lambda xs, ws: xs[0][:, 1:3, 1:3]),
]
