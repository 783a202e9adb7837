"""fastnn.ops's faces of the normalization and image kernels agree with their NumPy twins
(any float dtype or layout in, float32 out)."""
import numpy as np
import pytest

from fastnn import _reference as ref, ops


def test_batchnorm_faces(rng):
    x = rng.standard_normal((4, 3, 3, 5))
    mean, var = ops.batchnorm_stats(x)
    want_mean, want_var = ref.batchnorm_stats(x)
    np.testing.assert_allclose(mean, want_mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(var, want_var, rtol=1e-5, atol=1e-6)
    gamma, beta = rng.random(5) + 0.5, rng.standard_normal(5)
    y = ops.batchnorm_forward(np.asfortranarray(x), mean, var, gamma, beta, relu=True)
    np.testing.assert_allclose(y, ref.batchnorm_forward(x, want_mean, want_var, gamma, beta,
                                                        relu=True), rtol=1e-5, atol=1e-5)
    dy = rng.standard_normal(x.shape)
    got = ops.batchnorm_backward(dy, x, y, mean, var, gamma)
    want = ref.batchnorm_backward(dy, x, y, want_mean, want_var, gamma)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_image_faces(rng):
    x = rng.random((2, 6, 7, 3))
    np.testing.assert_allclose(ops.scale_shift(x, np.full(3, 2.0), np.ones(3)), 2 * x + 1,
                               rtol=1e-6)
    np.testing.assert_allclose(ops.resize_forward(x, (4, 5)), ref.resize_forward(x, (4, 5)),
                               rtol=1e-5, atol=1e-6)
    t = np.tile(np.array([1, 0, 0.5, 0, 1, -0.5, 0, 0], np.float32), (2, 1))
    np.testing.assert_allclose(ops.warp_forward(x, t), ref.warp_forward(x, t), rtol=1e-5,
                               atol=1e-6)
    delta = np.array([0.1, -0.2])
    np.testing.assert_allclose(ops.brightness_forward(x, delta, (0, 1)),
                               ref.brightness_forward(x, delta, (0, 1)), rtol=1e-5, atol=1e-6)
    factor = np.array([0.5, 1.5])
    np.testing.assert_allclose(ops.contrast_forward(x, factor, (0, 1)),
                               ref.contrast_forward(x, factor, (0, 1)), rtol=1e-5, atol=1e-6)
    with pytest.raises(TypeError, match="scale_shift"):
        ops.scale_shift(np.array(["a"]), np.ones(1))
