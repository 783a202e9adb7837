"""The activation kernels of fnn_activation_forward/backward and log_softmax against
their NumPy twins, every ISA and 1 and 2 threads."""
import numpy as np
import pytest

from fastnn import _C
from fastnn import _reference as ref

KINDS = [("elu", (1.0, 0, 0)), ("elu", (0.5, 0, 0)), ("selu", (0, 0, 0)), ("gelu", (0, 0, 0)),
         ("gelu_tanh", (0, 0, 0)), ("silu", (0, 0, 0)), ("softplus", (0, 0, 0)),
         ("softsign", (0, 0, 0)), ("hard_sigmoid", (0, 0, 0)), ("hard_silu", (0, 0, 0)),
         ("leaky_relu", (0.3, 0, 0)), ("relu6", (0, 0, 0)), ("exponential", (0, 0, 0)),
         ("mish", (0, 0, 0)), ("relu", (np.inf, 0, 0)), ("relu", (6.0, 0.1, 0.5)),
         ("relu", (np.inf, 0.2, -1.0)), ("relu", (2.5, 0, -0.5))]
IDS = [f"{k}-{p}" for k, p in KINDS]


@pytest.mark.parametrize("kind, params", KINDS, ids=IDS)
@pytest.mark.parametrize("n", [1, 37, 70001])
def test_activation_matches_twin(rng, isa, threads, kind, params, n):
    # values away from the kinks (0, +-3, 6, thresholds), where derivatives jump
    x = rng.uniform(-7, 7, n).astype(np.float32)
    for kink in (0.0, 3.0, -3.0, 6.0, 0.5, -1.0, 2.5, -0.5):
        x[np.abs(x - kink) < 1e-3] += 2e-3
    y = _C.activation_forward(x, kind, *params)
    np.testing.assert_allclose(y, ref.activation_forward(x.astype(np.float64), kind, *params),
                               rtol=2e-6, atol=2e-6)
    dy = rng.standard_normal(n).astype(np.float32)
    dx = _C.activation_backward(dy, x, y, kind, *params)
    np.testing.assert_allclose(dx, ref.activation_backward(dy.astype(np.float64), x, y, kind,
                                                           *params), rtol=1e-4, atol=1e-5)
    assert _C.activation_backward(dy, x, y, kind, *params, out=dy) is dy  # in place


@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (3, 4, 300)], ids=str)
def test_log_softmax(rng, threads, shape):
    x = (rng.standard_normal(shape) * 30).astype(np.float32)
    y = _C.log_softmax_forward(x)
    np.testing.assert_allclose(y, ref.log_softmax_forward(x.astype(np.float64)), rtol=1e-5,
                               atol=1e-5)
    dy = rng.standard_normal(shape).astype(np.float32)
    np.testing.assert_allclose(_C.log_softmax_backward(dy, y), ref.log_softmax_backward(dy, y),
                               rtol=1e-5, atol=1e-5)


def test_unknown_kind():
    with pytest.raises(ValueError, match="unknown activation kind 'swoosh'"):
        _C.activation_forward(np.zeros(3, np.float32), "swoosh")
