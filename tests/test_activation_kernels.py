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


# ---- the activation functions against Keras's own outputs ---------------------------------

X = [-4.0, -2.5, -1.0, -0.3, 0.0, 0.4, 1.5, 3.5, 7.0]
KERAS_VALUES = {  # keras.activations.<name>(X) from Keras 3.15 on TensorFlow
    "elu": [-0.9816844, -0.917915, -0.6321205, -0.2591818, 0.0, 0.4, 1.5, 3.5, 7.0],
    "selu": [-1.725899, -1.613786, -1.111331, -0.4556673, 0.0, 0.4202804, 1.576051, 3.677454, 7.354907],
    "gelu": [-0.000126685, -0.01552416, -0.1586553, -0.1146266, 0.0, 0.2621687, 1.399789, 3.499186, 7.0],
    "silu": [-0.07194484, -0.1896454, -0.2689414, -0.1276672, 0.0, 0.2394751, 1.226362, 3.397407, 6.993623],
    "swish": [-0.07194484, -0.1896454, -0.2689414, -0.1276672, 0.0, 0.2394751, 1.226362, 3.397407, 6.993623],
    "softplus": [0.01814993, 0.07888974, 0.3132617, 0.5543552, 0.6931472, 0.9130152, 1.701413, 3.52975, 7.000912],
    "softsign": [-0.8, -0.7142857, -0.5, -0.2307692, 0.0, 0.2857143, 0.6, 0.7777778, 0.875],
    "hard_sigmoid": [0.0, 0.08333334, 0.3333333, 0.45, 0.5, 0.5666667, 0.75, 1.0, 1.0],
    "hard_silu": [-0.0, -0.2083333, -0.3333333, -0.135, 0.0, 0.2266667, 1.125, 3.5, 7.0],
    "leaky_relu": [-0.8, -0.5, -0.2, -0.06, 0.0, 0.4, 1.5, 3.5, 7.0],
    "relu6": [0.0, 0.0, 0.0, 0.0, 0.0, 0.4, 1.5, 3.5, 6.0],
    "exponential": [0.01831564, 0.082085, 0.3678795, 0.7408182, 1.0, 1.491825, 4.481689, 33.11545, 1096.633],
    "mish": [-0.07259174, -0.1968162, -0.3034015, -0.1511332, 0.0, 0.2890306, 1.403378, 3.493991, 6.999989],
    "log_softmax": [-11.03697, -9.536967, -8.036967, -7.336967, -7.036967, -6.636967, -5.536967, -3.536967, -0.03696715],
    "gelu_approx": [-7.021427e-05, -0.01508422, -0.158808, -0.1146291, 0.0, 0.2621612, 1.399572, 3.499384, 7.0],
    "relu_args": [-0.45, -0.3, -0.15, -0.08000001, -0.05, -0.01, 1.5, 3.0, 3.0],
}


@pytest.mark.parametrize("name", sorted(KERAS_VALUES))
def test_activation_functions_match_keras(name):
    from fastnn import activations
    x = np.array([X], np.float32)
    if name == "gelu_approx":
        got = activations.gelu(x, approximate=True)
    elif name == "relu_args":
        got = activations.relu(x, negative_slope=0.1, max_value=3.0, threshold=0.5)
    else:
        got = activations.get(name)(x)
    np.testing.assert_allclose(got.ravel(), KERAS_VALUES[name], rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("name", ["gelu", "mish", "elu", "softplus", "log_softmax"])
@pytest.mark.parametrize("layer", ["Dense", "Conv2D"])
def test_activation_inside_dense_and_conv_has_the_right_gradient(name, layer):
    """The activations that need their input for the backward pass keep it per output
    buffer (fastnn.activations.KindActivation): checked through Dense and Conv2D (the
    activations here have continuous derivatives: no kink inside the difference step)."""
    from fastnn import layers
    from fastnn.layers import Input
    from fastnn.utils import set_random_seed
    set_random_seed(0)  # the weights do not depend on the tests run before
    rng = np.random.default_rng(0)
    lay = layers.Dense(4, activation=name) if layer == "Dense" else \
        layers.Conv2D(3, 3, activation=name)
    shape = (3, 5) if layer == "Dense" else (2, 5, 5, 2)
    lay(Input(shape[1:]))
    x = rng.standard_normal(shape).astype(np.float32)
    dy = rng.standard_normal(lay.forward(x.copy()).shape).astype(np.float32)
    lay.forward(x.copy())
    dx = lay.backward(dy.copy()).copy()
    i, eps = (1,) * len(shape), 1e-2
    hi, lo = x.copy(), x.copy()
    hi[i] += eps
    lo[i] -= eps
    f = lambda a: float((lay.forward(a).astype(np.float64) * dy).sum())
    np.testing.assert_allclose(dx[i], (f(hi) - f(lo)) / (2 * eps), rtol=2e-3, atol=2e-3)
