"""Rows for LayerNormalization, GroupNormalization and UnitNormalization: the last axis
(the fast path), trailing and non-trailing axis lists (the transposed path), groups of
several channels, one channel per group, no gamma/beta, Keras's rms_scaling."""
import numpy as np

from fastnn import _reference as ref
from fastnn.layers import GroupNormalization, LayerNormalization, UnitNormalization
from layer_harness import Case


def _trailing(x, axes):
    """x with `axes` (non-negative, sorted) moved to the end, and the inverse permutation."""
    perm = [i for i in range(x.ndim) if i not in axes] + list(axes)
    return np.transpose(x, perm), np.argsort(perm)


def _ln_twin(axis, center=True, scale=True, rms=False, epsilon=1e-3):
    def twin(xs, ws):
        x = xs[0]
        axes = sorted({a % x.ndim for a in ([axis] if isinstance(axis, int) else axis)})
        ws = list(ws)
        gamma = ws.pop(0).reshape(-1) if scale or rms else None
        beta = ws.pop(0).reshape(-1) if center and not rms else None
        xt, back = _trailing(x, axes)
        k = int(np.prod([x.shape[a] for a in axes]))
        y = ref.layernorm_forward(xt.reshape(-1, k), gamma, beta, epsilon, rms)[0]
        return np.transpose(y.reshape(xt.shape), back)
    return twin


def _gn_twin(groups, axis=-1, center=True, scale=True):
    def twin(xs, ws):
        x = xs[0]
        ws = list(ws)
        gamma = ws.pop(0) if scale else None
        beta = ws.pop(0) if center else None
        xt, back = _trailing(x, [axis % x.ndim])
        g = xt.shape[-1] if groups == -1 else groups
        return np.transpose(ref.groupnorm_forward(xt, g, gamma, beta)[0], back)
    return twin


def _un_twin(axis):
    def twin(xs, ws):
        x = xs[0]
        axes = sorted({a % x.ndim for a in ([axis] if isinstance(axis, int) else axis)})
        xt, back = _trailing(x, axes)
        y = ref.unitnorm_forward(xt.reshape(xt.shape[:x.ndim - len(axes)] + (-1,)))
        return np.transpose(y.reshape(xt.shape), back)
    return twin


def _with_weights(cls, shape, **kwargs):
    """A built layer with non-trivial gamma and beta."""
    def make():
        layer = cls(**kwargs)
        layer.ensure_built((None,) + tuple(shape[1:]))
        rng = np.random.default_rng(11)
        layer.set_weights([rng.uniform(0.5, 2.0, w.shape) if "gamma" in w.name else
                           rng.standard_normal(w.shape) for w in layer.weights])
        return layer
    return make


CASES = []
for cid, shape, kwargs in [("last", (4, 6), {}), ("seq", (3, 4, 8), {}),
                           ("trailing-pair", (2, 3, 4, 5), {"axis": [2, 3]}),
                           ("middle-axis", (3, 4, 5), {"axis": 1, "epsilon": 0.01}),
                           ("split-axes", (2, 3, 4, 5), {"axis": [-1, 1]}),
                           ("no-affine", (5, 7), {"center": False, "scale": False}),
                           ("rms", (3, 2, 9), {"rms_scaling": True})]:
    twin = _ln_twin(kwargs.get("axis", -1), kwargs.get("center", True),
                    kwargs.get("scale", True), kwargs.get("rms_scaling", False),
                    kwargs.get("epsilon", 1e-3))
    CASES.append(Case(f"LayerNormalization-{cid}", _with_weights(LayerNormalization, shape,
                                                                  **kwargs),
                      [shape], twin, grad_rtol=1e-3,
                      bad=[([(2, 6)], "out of bounds")] if cid == "trailing-pair" else []))

for cid, shape, kwargs in [("nhwc", (2, 4, 4, 6), {"groups": 3}),
                           ("2d", (3, 8), {"groups": 2}),
                           ("axis1", (2, 6, 5), {"groups": 3, "axis": 1}),
                           ("instance", (2, 3, 3, 4), {"groups": -1}),
                           ("one-group-no-center", (3, 5, 4), {"groups": 1, "center": False})]:
    twin = _gn_twin(kwargs["groups"], kwargs.get("axis", -1), kwargs.get("center", True),
                    kwargs.get("scale", True))
    CASES.append(Case(f"GroupNormalization-{cid}", _with_weights(GroupNormalization, shape,
                                                                  **kwargs),
                      [shape], twin, grad_rtol=1e-3,
                      bad=[([(2, 4, 4, 8)], "must be a multiple of the number of channels"),
                           ([(2, 4, 4, 2)], "cannot be more than the number of channels")]
                      if cid == "nhwc" else []))

for cid, shape, axis in [("last", (4, 6), -1), ("pair", (2, 3, 4), [1, 2]),
                         ("middle", (3, 4, 5), 1)]:
    CASES.append(Case(f"UnitNormalization-{cid}", lambda axis=axis: UnitNormalization(axis),
                      [shape], _un_twin(axis),
                      bad=[([(2, 3)], "out of bounds")] if cid == "pair" else []))
