"""Rows for the noise layers (GaussianNoise, GaussianDropout, AlphaDropout,
SpatialDropout1D/2D/3D) at inference, where each is the identity, and for Identity and
ActivityRegularization (tests/test_noise_layers.py checks training)."""
from fastnn.layers import (ActivityRegularization, AlphaDropout, GaussianDropout,
                           GaussianNoise, Identity, SpatialDropout1D, SpatialDropout2D,
                           SpatialDropout3D)
from layer_harness import Case


def same(xs, ws):
    return xs[0]


CASES = [
    Case("GaussianNoise-inference", lambda: GaussianNoise(0.5, seed=3), [(3, 4)], same),
    Case("GaussianDropout-inference", lambda: GaussianDropout(0.3), [(2, 3, 4)], same),
    Case("AlphaDropout-inference", lambda: AlphaDropout(0.2, noise_shape=(None, 1)),
         [(3, 4)], same),
    Case("SpatialDropout1D-inference", lambda: SpatialDropout1D(0.5), [(2, 3, 4)], same,
         bad=[([(2, 3)], "expected ndim=3")]),
    Case("SpatialDropout2D-inference", lambda: SpatialDropout2D(0.5), [(2, 3, 4, 2)], same,
         bad=[([(2, 3, 4)], "expected ndim=4")]),
    Case("SpatialDropout3D-inference", lambda: SpatialDropout3D(0.5, "channels_first"),
         [(2, 2, 3, 2, 2)], same, bad=[([(2, 3, 4, 2)], "expected ndim=5")]),
    Case("Identity", Identity, [(2, 5)], same),
    Case("ActivityRegularization", lambda: ActivityRegularization(l1=0.1, l2=0.2), [(2, 5)],
         same),
]
