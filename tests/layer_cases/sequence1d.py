"""Rows for the 1-D layers: Conv1D, the 1-D poolings, UpSampling1D, Cropping1D,
ZeroPadding1D."""
import numpy as np

from fastnn.layers import (AveragePooling1D, Conv1D, Cropping1D, GlobalAveragePooling1D,
                           GlobalMaxPooling1D, MaxPooling1D, UpSampling1D, ZeroPadding1D)
from layer_harness import Case


def conv1d_twin(x, w, b, stride, padding, dilation=1, groups=1):
    """Direct definition: y[n, o, f] = sum_{j, c} xp[n, o * stride + j * dilation, c] w[j, c, f]
    + b, the channels of group g (of `groups`) feeding only its filters."""
    k = w.shape[0]
    span = dilation * (k - 1) + 1
    T = x.shape[1]
    if padding == "causal":
        x = np.pad(x, ((0, 0), (span - 1, 0), (0, 0)))
    elif padding == "same":
        out = -(-T // stride)
        total = max((out - 1) * stride + span - T, 0)
        x = np.pad(x, ((0, 0), (total // 2, total - total // 2), (0, 0)))
    out = (x.shape[1] - span) // stride + 1
    cin, fout = w.shape[1], w.shape[2] // groups
    y = np.concatenate([np.stack([np.einsum(
        "njc,jcf->nf", x[:, o * stride:o * stride + span:dilation, g * cin:(g + 1) * cin],
        w[:, :, g * fout:(g + 1) * fout]) for o in range(out)], axis=1) for g in range(groups)],
        axis=2)
    return y if b is None else y + b


def pool1d_twin(x, size, stride, padding, reduce):
    T = x.shape[1]
    if padding == "same":
        out = -(-T // stride)
        pl = max((out - 1) * stride + size - T, 0) // 2
    else:
        out, pl = (T - size) // stride + 1, 0
    cols = []
    for o in range(out):
        lo, hi = max(o * stride - pl, 0), min(o * stride - pl + size, T)
        cols.append(reduce(x[:, lo:hi], axis=1))
    return np.stack(cols, axis=1)


CASES = []
for pad, stride, act, shape in [("valid", 1, None, (2, 7, 3)), ("same", 2, "relu", (2, 8, 2)),
                                ("causal", 1, "tanh", (2, 6, 1)), ("same", 1, None, (1, 5, 4))]:
    acts = {None: lambda z: z, "relu": lambda z: np.maximum(z, 0), "tanh": np.tanh}
    CASES.append(Case(
        f"Conv1D-{pad}-s{stride}-{act}",
        lambda pad=pad, stride=stride, act=act: Conv1D(3, 3, strides=stride, padding=pad,
                                                       activation=act),
        [shape], lambda xs, ws, pad=pad, stride=stride, act=act: acts[act](
            conv1d_twin(xs[0], ws[0], ws[1], stride, pad)),
        bad=[([(2, 7)], "expected ndim=3")]))

for pad, dilation, groups, shape in [("causal", 2, 1, (2, 9, 2)), ("same", 3, 2, (2, 11, 4)),
                                     ("valid", 1, 2, (2, 7, 4)), ("valid", 2, 4, (1, 9, 4))]:
    CASES.append(Case(
        f"Conv1D-{pad}-d{dilation}-g{groups}",
        lambda pad=pad, d=dilation, g=groups: Conv1D(4, 3, padding=pad, dilation_rate=d,
                                                     groups=g, activation="relu"),
        [shape], lambda xs, ws, pad=pad, d=dilation, g=groups: np.maximum(
            conv1d_twin(xs[0], ws[0], ws[1], 1, pad, d, g), 0),
        bad=[([(2, 9, 3)], "evenly divisible")] if groups > 1 else []))

for cls, red in [(MaxPooling1D, np.max), (AveragePooling1D, np.mean)]:
    for size, stride, pad, shape in [(2, None, "valid", (2, 7, 3)), (3, 2, "same", (2, 8, 2)),
                                     (3, 1, "same", (1, 5, 2))]:
        CASES.append(Case(
            f"{cls.__name__}-{size}-{stride}-{pad}",
            lambda cls=cls, size=size, stride=stride, pad=pad: cls(size, strides=stride,
                                                                   padding=pad),
            [shape], lambda xs, ws, size=size, stride=stride, pad=pad, red=red:
            pool1d_twin(xs[0], size, stride or size, pad, red),
            bad=[([(2, 7)], "expected ndim=3")]))

for keep in (False, True):
    CASES.append(Case(f"GlobalAveragePooling1D-keepdims={keep}",
                      lambda keep=keep: GlobalAveragePooling1D(keepdims=keep), [(2, 5, 3)],
                      lambda xs, ws, keep=keep: xs[0].mean(1, keepdims=keep),
                      bad=[([(2, 5)], "expected ndim=3")]))
    CASES.append(Case(f"GlobalMaxPooling1D-keepdims={keep}",
                      lambda keep=keep: GlobalMaxPooling1D(keepdims=keep), [(2, 5, 3)],
                      lambda xs, ws, keep=keep: xs[0].max(1, keepdims=keep)))

CASES += [
    Case("UpSampling1D", lambda: UpSampling1D(3), [(2, 4, 3)],
         lambda xs, ws: np.repeat(xs[0], 3, axis=1), bad=[([(2, 4)], "expected ndim=3")]),
    Case("Cropping1D", lambda: Cropping1D((1, 2)), [(2, 6, 3)], lambda xs, ws: xs[0][:, 1:4],
         bad=[([(2, 3, 1)], "must be smaller than the input length")]),
    Case("ZeroPadding1D", lambda: ZeroPadding1D((2, 1)), [(2, 4, 3)],
         lambda xs, ws: np.pad(xs[0], ((0, 0), (2, 1), (0, 0)))),
]
