"""Rows for the seed's layers: Dense, Conv2D, MaxPooling2D, Flatten, Activation, Dropout,
Add, Concatenate."""
import numpy as np

from fastnn import _reference as ref
from fastnn.layers import (Activation, Add, Concatenate, Conv2D, Dense, Dropout, Flatten,
                           MaxPooling2D)
from layer_harness import Case

ACT = {"linear": lambda z: z, "relu": ref.relu_forward, "sigmoid": ref.sigmoid_forward,
       "tanh": ref.tanh_forward, "softmax": ref.softmax_forward}


def _act(name):
    return None if name == "linear" else name


CASES = []
for act in ACT:
    CASES.append(Case(f"Dense-{act}", lambda act=act: Dense(5, activation=_act(act)), [(4, 3)],
                      lambda xs, ws, act=act: ACT[act](ref.dense_forward(xs[0], *ws)),
                      bad=[([(4, 3, 2, 2)], "expected ndim=2")]))
CASES.append(Case("Dense-sequence", lambda: Dense(4, activation="tanh"), [(3, 5, 6)],
                  lambda xs, ws: np.tanh(xs[0] @ ws[0] + ws[1])))
CASES.append(Case("Dense-no-bias", lambda: Dense(4, use_bias=False, activation="tanh"), [(3, 6)],
                  lambda xs, ws: np.tanh(xs[0] @ ws[0])))

for cid, f, k, s, pad, act, shape in [
        ("3x3-valid-s1-c1", 4, 3, 1, "valid", "linear", (2, 6, 7, 1)),
        ("3x3-same-s1-c3", 3, (3, 3), (1, 1), "same", "relu", (2, 5, 6, 3)),
        ("3x3-valid-s2-c3", 2, 3, 2, "valid", "tanh", (2, 7, 8, 3)),
        ("3x2-valid-s21-c3", 2, (3, 2), (2, 1), "valid", "linear", (2, 7, 5, 3))]:
    CASES.append(Case(
        f"Conv2D-{cid}", lambda f=f, k=k, s=s, pad=pad, act=act: Conv2D(
            f, k, strides=s, padding=pad, activation=_act(act)), [shape],
        lambda xs, ws, s=s, pad=pad, act=act: ACT[act](ref.conv2d_forward(xs[0], ws[0], ws[1], s,
                                                                          pad)),
        bad=[([(2, 6, 7)], "expected ndim=4|min_ndim=4")]))

for pool, strides, padding, shape in [((2, 2), None, "valid", (2, 6, 7, 3)),
                                      (3, 2, "same", (1, 7, 7, 2))]:
    CASES.append(Case(
        f"MaxPooling2D-{pool}-{strides}-{padding}",
        lambda pool=pool, strides=strides, padding=padding: MaxPooling2D(pool, strides=strides,
                                                                         padding=padding),
        [shape], lambda xs, ws, p=pool, s=strides, pad=padding:
        ref.maxpool2d_forward(xs[0], p, s, pad)[0]))

CASES.append(Case("Flatten", Flatten, [(2, 3, 4, 5)], lambda xs, ws: xs[0].reshape(2, -1)))
for act in ACT:
    CASES.append(Case(f"Activation-{act}", lambda act=act: Activation(act), [(3, 5)],
                      lambda xs, ws, act=act: ACT[act](xs[0])))
CASES.append(Case("Dropout-inference", lambda: Dropout(0.5), [(4, 6)], lambda xs, ws: xs[0]))
CASES.append(Case("Add-2", Add, [(3, 4)] * 2, lambda xs, ws: sum(xs),
                  bad=[([(3, 4), (3, 5)], "same shape")]))
CASES.append(Case("Add-3", Add, [(3, 4)] * 3, lambda xs, ws: sum(xs)))
for axis, shapes in [(-1, [(3, 2), (3, 5)]), (1, [(2, 3, 4, 2), (2, 1, 4, 2)])]:
    CASES.append(Case(f"Concatenate-{axis}-{len(shapes[0])}d",
                      lambda axis=axis: Concatenate(axis=axis), shapes,
                      lambda xs, ws, axis=axis: np.concatenate(xs, axis=axis),
                      bad=[([(3, 2), (4, 5, 1)], "matching shapes")]))

# element-wise merges (fastnn/layers/merging_elementwise.py)
from fastnn.layers import Average, Maximum, Minimum, Multiply, Subtract  # noqa: E402

CASES.append(Case("Subtract", Subtract, [(3, 4)] * 2, lambda xs, ws: xs[0] - xs[1],
                  bad=[([(3, 4)] * 3, "exactly 2 inputs"), ([(3, 4), (3, 5)], "same shape")]))
CASES.append(Case("Multiply-3", Multiply, [(3, 4)] * 3, lambda xs, ws: xs[0] * xs[1] * xs[2],
                  bad=[([(3, 4), (3, 5)], "same shape")]))
CASES.append(Case("Average-2", Average, [(3, 4)] * 2, lambda xs, ws: (xs[0] + xs[1]) / 2))


def _apart(rng, shapes):
    """Inputs whose values all differ (no ties between inputs: no kink at a difference)."""
    from layer_harness import distinct_values
    flat = distinct_values(rng, (sum(int(np.prod(s)) for s in shapes),))
    out, i = [], 0
    for s in shapes:
        n = int(np.prod(s))
        out.append(flat[i:i + n].reshape(s))
        i += n
    return out


CASES.append(Case("Maximum-3", Maximum, [(3, 4)] * 3, lambda xs, ws: np.maximum.reduce(xs),
                  inputs=_apart))
CASES.append(Case("Minimum-2", Minimum, [(2, 5)] * 2, lambda xs, ws: np.minimum(*xs),
                  inputs=_apart))
