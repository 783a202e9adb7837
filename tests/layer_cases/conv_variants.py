"""Rows for Conv2D with dilation_rate and groups, DepthwiseConv2D, SeparableConv2D and
Conv2DTranspose."""
import numpy as np

from fastnn import _reference as ref
from fastnn.layers import Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D
from layer_harness import Case

BAD = [([(2, 6, 7)], "expected ndim=4")]
TANH = np.tanh

CASES = [
    Case("Conv2D-dilated", lambda: Conv2D(3, 3, dilation_rate=2, padding="same"),
         [(2, 7, 8, 2)], lambda xs, ws: ref.gconv2d_forward(xs[0], ws[0], ws[1], (1, 1), "same",
                                                            (2, 2), 1), bad=BAD),
    Case("Conv2D-groups", lambda: Conv2D(6, (3, 2), strides=(2, 1), groups=3,
                                         activation="tanh"),
         [(2, 7, 6, 3)], lambda xs, ws: TANH(ref.gconv2d_forward(xs[0], ws[0], ws[1], (2, 1),
                                                                 "valid", (1, 1), 3)),
         bad=BAD + [([(2, 7, 6, 4)], "evenly divisible by the number of groups")]),
    Case("Conv2D-dilated-groups", lambda: Conv2D(4, 2, dilation_rate=(1, 2), groups=2,
                                                 use_bias=False),
         [(2, 5, 7, 4)], lambda xs, ws: ref.gconv2d_forward(xs[0], ws[0], None, (1, 1), "valid",
                                                            (1, 2), 2)),
    Case("DepthwiseConv2D", lambda: DepthwiseConv2D(3, padding="same"), [(2, 5, 6, 3)],
         lambda xs, ws: ref.gconv2d_forward(xs[0], ws[0].reshape(3, 3, 1, 3), ws[1], (1, 1),
                                            "same", (1, 1), 3), bad=BAD),
    Case("DepthwiseConv2D-multiplier-strided", lambda: DepthwiseConv2D(
        (2, 3), strides=2, depth_multiplier=2, activation="tanh"), [(2, 6, 7, 2)],
        lambda xs, ws: TANH(ref.gconv2d_forward(xs[0], ws[0].reshape(2, 3, 1, 4), ws[1], (2, 2),
                                                "valid", (1, 1), 2))),
    Case("DepthwiseConv2D-dilated", lambda: DepthwiseConv2D(2, dilation_rate=2, use_bias=False),
         [(1, 5, 5, 2)], lambda xs, ws: ref.gconv2d_forward(xs[0], ws[0].reshape(2, 2, 1, 2),
                                                            None, (1, 1), "valid", (2, 2), 2)),
    Case("SeparableConv2D", lambda: SeparableConv2D(4, 3, padding="same", depth_multiplier=2),
         [(2, 5, 6, 3)], lambda xs, ws: ref.conv2d_forward(
             ref.gconv2d_forward(xs[0], ws[0].reshape(3, 3, 1, 6), None, (1, 1), "same", (1, 1),
                                 3), ws[1], ws[2]), bad=BAD),
    Case("SeparableConv2D-strided-relu", lambda: SeparableConv2D(
        3, 2, strides=2, activation="tanh", use_bias=False), [(2, 6, 5, 2)],
        lambda xs, ws: TANH(ref.conv2d_forward(ref.gconv2d_forward(
            xs[0], ws[0].reshape(2, 2, 1, 2), None, (2, 2), "valid", (1, 1), 2), ws[1]))),
]
for k, s, pad in [(3, 1, "valid"), (3, 2, "same"), (2, 3, "valid"), (4, 2, "same")]:
    CASES.append(Case(
        f"Conv2DTranspose-k{k}-s{s}-{pad}", lambda k=k, s=s, pad=pad: Conv2DTranspose(
            3, k, strides=s, padding=pad), [(2, 4, 5, 2)],
        lambda xs, ws, k=k, s=s, pad=pad: ref.conv2d_backward_input(
            xs[0], ws[0], (2,) + tuple(d * s if pad == "same" else d * s + max(k - s, 0)
                                       for d in (4, 5)) + (3,), s, pad) + ws[1],
        bad=BAD if k == 3 and s == 1 else []))
