"""Rows for the activation layers (ReLU, LeakyReLU, ELU, PReLU, Softmax) and for
Activation with each function of fastnn.activations beyond the seed's.  (Sizes are
odd so the inputs, k / size * 4 - 2, never sit on a kink at 0.)"""
import numpy as np

from fastnn import _reference as ref
from fastnn.layers import ELU, Activation, LeakyReLU, PReLU, ReLU, Softmax
from layer_harness import Case


def _act(kind, p0=0.0, p1=0.0, p2=0.0):
    return lambda xs, ws: ref.activation_forward(xs[0], kind, p0, p1, p2)


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _prelu_make(shape, shared):
    def make():
        layer = PReLU(shared_axes=shared)
        layer.ensure_built((None,) + shape[1:])
        layer.set_weights([np.random.default_rng(3).uniform(0.1, 0.9, layer.alpha.shape)])
        return layer
    return make


CASES = [
    Case("ReLU-default", ReLU, [(3, 3, 5)], _act("relu", np.inf)),
    Case("ReLU-max-slope-threshold",
         lambda: ReLU(max_value=1.5, negative_slope=0.2, threshold=0.3), [(4, 7)],
         _act("relu", 1.5, 0.2, 0.3)),
    Case("ReLU-max-only", lambda: ReLU(max_value=0.7), [(3, 7)], _act("relu", 0.7)),
    Case("LeakyReLU-default", LeakyReLU, [(3, 7)], _act("leaky_relu", 0.3)),
    Case("LeakyReLU-0.05", lambda: LeakyReLU(negative_slope=0.05), [(1, 3, 3, 3)],
         _act("leaky_relu", 0.05)),
    Case("ELU-default", ELU, [(3, 7)], _act("elu", 1.0)),
    Case("ELU-0.5", lambda: ELU(0.5), [(3, 3, 5)], _act("elu", 0.5)),
    Case("PReLU-per-element", _prelu_make((3, 3, 5), None), [(3, 3, 5)],
         lambda xs, ws: np.where(xs[0] > 0, xs[0], ws[0] * xs[0]),
         bad=[([(2, 3, 4)], "alpha")]),
    Case("PReLU-shared-hw", _prelu_make((3, 3, 3, 5), [1, 2]), [(3, 3, 3, 5)],
         lambda xs, ws: np.where(xs[0] > 0, xs[0], ws[0] * xs[0])),
    Case("Softmax-last", Softmax, [(3, 6)], lambda xs, ws: _softmax(xs[0], -1)),
    Case("Softmax-axis1", lambda: Softmax(axis=1), [(2, 4, 3)],
         lambda xs, ws: _softmax(xs[0], 1), bad=[([(2,)], "out of range")]),
]
for name in ["elu", "selu", "gelu", "silu", "swish", "softplus", "softsign", "hard_sigmoid",
             "hard_silu", "leaky_relu", "relu6", "exponential", "mish"]:
    kind = {"swish": "silu"}.get(name, name)
    p0 = {"elu": 1.0, "leaky_relu": 0.2}.get(name, 0.0)
    CASES.append(Case(f"Activation-{name}", lambda n=name: Activation(n), [(3, 5)],
                      _act(kind, p0)))
CASES.append(Case("Activation-log_softmax", lambda: Activation("log_softmax"), [(3, 5)],
                  lambda xs, ws: ref.log_softmax_forward(xs[0])))
