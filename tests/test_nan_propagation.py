"""NaN stays NaN through ReLU and max-pooling, as in Keras (and the NumPy twins), on every
path: the activation kernel, the bias+ReLU epilogue fused into Dense and Conv2D on every
GEMM ISA, and the pool (the first NaN of a window wins, and gets the gradient).  A NaN
hidden as 0 would be a silent wrong answer in a diverging run."""
import numpy as np

from fastnn import _C, _reference, ops


def test_relu_kernel_keeps_nan():
    x = np.array([np.nan, -1.0, 0.0, 2.0, -np.inf, np.inf] * 11, np.float32)
    y = _C.relu_forward(x.copy())
    np.testing.assert_array_equal(y, _reference.relu_forward(x))
    assert np.isnan(y[::6]).all()


def test_fused_dense_and_conv_relu_keep_nan(isa):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((13, 7)).astype(np.float32)
    w = rng.standard_normal((7, 37)).astype(np.float32)
    w[:, 5] = np.nan  # output column 5 is NaN for every row
    y = ops.dense_forward(x, w, np.zeros(37, np.float32), relu=True)
    assert np.isnan(y[:, 5]).all() and not np.isnan(np.delete(y, 5, axis=1)).any()
    img = rng.standard_normal((2, 9, 9, 3)).astype(np.float32)
    k = rng.standard_normal((3, 3, 3, 33)).astype(np.float32)
    k[..., 4] = np.nan
    out = ops.conv2d_forward(img, k, np.zeros(33, np.float32), relu=True)
    assert np.isnan(out[..., 4]).all() and not np.isnan(np.delete(out, 4, axis=-1)).any()


def test_max_pooling_propagates_nan_and_routes_its_gradient():
    x = np.arange(2 * 6 * 6 * 3, dtype=np.float32).reshape(2, 6, 6, 3)
    x[0, 1, 0, 1] = np.nan  # in the second pixel of window (0, 0), channel 1
    x[1, 5, 5, 2] = np.nan  # the last pixel of window (2, 2), channel 2
    y, argmax = _C.maxpool2d_forward(x, (2, 2), None, "valid")
    y_ref, argmax_ref = _reference.maxpool2d_forward(x)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(argmax, argmax_ref)
    assert np.isnan(y[0, 0, 0, 1]) and np.isnan(y[1, 2, 2, 2]) and np.isnan(y).sum() == 2
    assert argmax[0, 0, 0, 1] == 1 * 6 + 0 and argmax[1, 2, 2, 2] == 5 * 6 + 5
