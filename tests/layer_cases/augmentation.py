"""Rows for the augmentation layers at inference (the identity, except RandomCrop's
centred resize); their training behaviour is tested in tests/test_augmentation.py."""
from fastnn import _reference as ref
from fastnn.layers import (RandomBrightness, RandomContrast, RandomCrop, RandomFlip,
                           RandomRotation, RandomTranslation, RandomZoom)
from fastnn.layers.preprocessing import aspect_crop_box
from layer_harness import Case

BAD = [([(2, 6, 7)], "expected ndim=4"), ([(2, 3, 6, 7, 1)], "expected ndim=4")]
IDENTITY = lambda xs, ws: xs[0]  # noqa: E731

CASES = [Case(f"{cls.__name__}-inference", make, [(2, 5, 6, 3)], IDENTITY, bad=BAD)
         for cls, make in [
             (RandomFlip, lambda: RandomFlip("horizontal", seed=3)),
             (RandomRotation, lambda: RandomRotation(0.2, fill_mode="constant", seed=3)),
             (RandomZoom, lambda: RandomZoom((-0.3, 0.2), 0.1, interpolation="nearest")),
             (RandomTranslation, lambda: RandomTranslation(0.1, (-0.2, 0.3), fill_mode="wrap")),
             (RandomContrast, lambda: RandomContrast((0.2, 0.4), value_range=(-1, 1))),
             (RandomBrightness, lambda: RandomBrightness(0.2, value_range=[-2, 2], seed=9))]]
CASES.append(Case("RandomCrop-inference", lambda: RandomCrop(3, 4, seed=1), [(2, 5, 6, 2)],
                  lambda xs, ws: ref.resize_forward(xs[0], (3, 4), "bilinear",
                                                    aspect_crop_box(5, 6, 3, 4)), bad=BAD))
