"""Rows for the normalization layers: BatchNormalization in training (batch statistics)
and inference (moving statistics), channels last and other axes, with and without
center/scale."""
import numpy as np

from fastnn import _reference as ref
from fastnn.layers import BatchNormalization
from layer_harness import Case


def _bn_twin(axis, training, center=True, scale=True, epsilon=1e-3):
    def twin(xs, ws):
        x = xs[0]
        ws = list(ws)
        gamma = ws.pop(0) if scale else None
        beta = ws.pop(0) if center else None
        mean, var = ref.batchnorm_stats(x, axis) if training else ws
        return ref.batchnorm_forward(x, mean, var, gamma, beta, axis, epsilon)
    return twin


def _with_weights(shape, **kwargs):
    """A built layer with non-trivial gamma, beta and moving statistics."""
    def make():
        layer = BatchNormalization(**kwargs)
        layer.ensure_built((None,) + tuple(shape[1:]))
        rng = np.random.default_rng(7)
        layer.set_weights([rng.uniform(0.5, 2.0, w.shape) if "var" in w.name or "gamma" in
                           w.name else rng.standard_normal(w.shape) for w in layer.weights])
        return layer
    return make


CASES = []
for cid, shape, kwargs in [("nhwc", (4, 3, 3, 5), {}), ("2d", (6, 4), {}),
                           ("axis1-3d", (3, 4, 5), {"axis": 1}),
                           ("axis-2-4d", (2, 3, 4, 2), {"axis": -2, "epsilon": 0.01}),
                           ("no-center", (5, 2, 3), {"center": False}),
                           ("no-scale-no-center", (4, 3), {"center": False, "scale": False})]:
    axis = kwargs.get("axis", -1)
    twin_args = dict(center=kwargs.get("center", True), scale=kwargs.get("scale", True),
                     epsilon=kwargs.get("epsilon", 1e-3))
    CASES.append(Case(f"BatchNormalization-train-{cid}", _with_weights(shape, **kwargs), [shape],
                      _bn_twin(axis, True, **twin_args), training=True, grad_rtol=1e-3,
                      bad=[([(2, 3)], "expected axis|Invalid axis")] if cid == "nhwc" else []))
    CASES.append(Case(f"BatchNormalization-infer-{cid}", _with_weights(shape, **kwargs), [shape],
                      _bn_twin(axis, False, **twin_args)))
