"""Rows for the layers of fastnn.autodiff: Lambda (a function of keras.ops, trained by the
tape)."""
import numpy as np

from fastnn.autodiff import ops
from fastnn.layers import Lambda
from layer_harness import Case


def scaled_softplus(x, scale=1.0):
    return ops.softplus(x) * scale + ops.mean(ops.square(x), axis=-1, keepdims=True)


def gate(x):
    a, b = ops.split(x, 2, axis=-1)
    return ops.concatenate([a * ops.sigmoid(b), ops.tanh(b)], axis=-1)


def _softplus(x):
    return np.log1p(np.exp(x))


CASES = [
    Case("Lambda-softplus", lambda: Lambda(scaled_softplus, arguments={"scale": 2.0}), [(3, 4)],
         lambda xs, ws: _softplus(xs[0]) * 2 + np.mean(xs[0] ** 2, -1, keepdims=True)),
    Case("Lambda-gate-shape", lambda: Lambda(gate, output_shape=(6,)), [(2, 6)],
         lambda xs, ws: np.concatenate([xs[0][:, :3] / (1 + np.exp(-xs[0][:, 3:])),
                                        np.tanh(xs[0][:, 3:])], -1)),
]
