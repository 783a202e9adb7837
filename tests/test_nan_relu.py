"""ReLU keeps NaN as NaN, as Keras (and the NumPy twin) do, on every path: the activation
kernel, and the bias+ReLU epilogue fused into Dense and Conv2D on every GEMM ISA.  A NaN
hidden as 0 would be a silent wrong answer in a diverging run."""
import numpy as np
import pytest

from fastnn import _C, _reference, ops


@pytest.fixture(params=_C.gemm_isa_list())
def isa(request):
    old = _C.gemm_isa()
    _C.select_isa(request.param)
    yield request.param
    _C.select_isa(old)


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
