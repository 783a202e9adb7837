"""Rows for Rescaling, Normalization, Resizing and CenterCrop."""
import numpy as np

from fastnn import _reference as ref
from fastnn.layers import CenterCrop, Normalization, Rescaling, Resizing
from fastnn.layers.preprocessing import aspect_crop_box
from layer_harness import Case

BAD4 = [([(2, 6, 7)], "expected ndim=4")]


def _normalized(x, mean, var, invert=False):
    std = np.maximum(np.sqrt(var), 1e-7)
    return x * std + mean if invert else (x - mean) / std


def _adapted(axis, data_shape, **kw):
    def make():
        layer = Normalization(axis=axis, **kw)
        layer.adapt(np.random.default_rng(3).normal(2.0, 3.0, data_shape))
        return layer
    return make


def _norm_twin(keep_shape, invert=False):
    def twin(xs, ws):
        return _normalized(xs[0], ws[0].reshape(keep_shape), ws[1].reshape(keep_shape), invert)
    return twin


CASES = [
    Case("Rescaling", lambda: Rescaling(1 / 127.5, offset=-1), [(2, 4, 5, 3)],
         lambda xs, ws: xs[0] / 127.5 - 1),
    Case("Rescaling-per-channel", lambda: Rescaling([0.5, 2.0, -1.0], offset=[0.0, 1.0, 2.0]),
         [(3, 2, 3)], lambda xs, ws: xs[0] * np.array([0.5, 2, -1]) + np.array([0, 1, 2.0])),
    Case("Normalization-given", lambda: Normalization(mean=[1.0, -2.0], variance=[4.0, 0.25]),
         [(3, 5, 2)], lambda xs, ws: _normalized(xs[0], np.array([1.0, -2.0]),
                                                 np.array([4.0, 0.25]))),
    Case("Normalization-adapted-last", _adapted(-1, (20, 4)), [(3, 4)], _norm_twin((4,)),
         bad=[([(3, 5)], "kept axes")]),
    Case("Normalization-adapted-axis12", _adapted((1, 2), (10, 3, 2, 2)), [(2, 3, 2, 2)],
         _norm_twin((3, 2, 1))),
    Case("Normalization-adapted-none-invert", _adapted(None, (6, 5), invert=True), [(2, 5)],
         _norm_twin((), invert=True)),
]
for interp in ("bilinear", "nearest"):
    for crop in (False, True):
        CASES.append(Case(
            f"Resizing-{interp}-{'crop' if crop else 'plain'}",
            lambda interp=interp, crop=crop: Resizing(5, 3, interpolation=interp,
                                                      crop_to_aspect_ratio=crop),
            [(2, 7, 8, 2)],
            lambda xs, ws, interp=interp, crop=crop: ref.resize_forward(
                xs[0], (5, 3), interp, aspect_crop_box(7, 8, 5, 3) if crop else None),
            bad=BAD4))
CASES.append(Case("CenterCrop-crop", lambda: CenterCrop(3, 4), [(2, 6, 7, 2)],
                  lambda xs, ws: xs[0][:, 1:4, 1:5], bad=BAD4))
CASES.append(Case("CenterCrop-upsize", lambda: CenterCrop(8, 3), [(2, 5, 6, 1)],
                  lambda xs, ws: ref.resize_forward(xs[0], (8, 3), "bilinear",
                                                    aspect_crop_box(5, 6, 8, 3))))
