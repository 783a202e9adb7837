"""BatchNormalization kernels (csrc/batchnorm.c) against their NumPy twins, every ISA and
thread count; the twin's gradient by finite differences in float64."""
import numpy as np
import pytest

from fastnn import _C
from fastnn import _reference as ref

# (x shape, axis): channels last (B = 1) with edge chunk counts, and a middle axis (B > 1)
SHAPES = [((1, 1), -1), ((7, 3), -1), ((2, 5, 6, 17), -1), ((130, 33), 1),
          ((4, 3, 5), 1), ((3, 4, 2, 5), 0), ((65, 2, 3), -2)]


def close(a, b, rtol=2e-4, atol=2e-5):
    assert a.shape == b.shape and a.dtype == b.dtype == np.float32
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol * max(1.0, float(np.abs(b).max())))


@pytest.mark.parametrize("relu", [False, True], ids=["plain", "relu"])
@pytest.mark.parametrize("shape, axis", SHAPES, ids=str)
def test_batchnorm_matches_twin(rng, isa, threads, shape, axis, relu):
    x = (rng.standard_normal(shape) * 3 + 5).astype(np.float32)  # mean far from 0
    c = shape[axis]
    gamma = rng.uniform(0.5, 1.5, c).astype(np.float32)
    beta = rng.standard_normal(c).astype(np.float32)
    mean, var = _C.batchnorm_stats(x, axis)
    rmean, rvar = ref.batchnorm_stats(x.astype(np.float64), axis)
    np.testing.assert_allclose(mean, rmean, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(var, rvar, rtol=1e-4, atol=1e-5)
    y = _C.batchnorm_forward(x, mean, var, gamma, beta, axis, 1e-3, relu)
    close(y, ref.batchnorm_forward(x, mean, var, gamma, beta, axis, 1e-3, relu))
    dy = rng.standard_normal(shape).astype(np.float32)
    for stats in (True, False):
        got = _C.batchnorm_backward(dy, x, y if relu else None, mean, var, gamma, axis, 1e-3,
                                    stats)
        want = ref.batchnorm_backward(dy, x, y if relu else None, mean, var, gamma, axis, 1e-3,
                                      stats)
        for a, b in zip(got, want):
            close(a, b.astype(np.float32), atol=1e-4)


def test_batchnorm_without_gamma_beta_and_in_place(rng):
    x = rng.standard_normal((9, 4, 4, 6)).astype(np.float32)
    mean, var = _C.batchnorm_stats(x)
    want = ref.batchnorm_forward(x, mean, var)
    close(_C.batchnorm_forward(x, mean, var), want)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    want_dx = ref.batchnorm_backward(dy, x, None, mean, var)[0]
    dx = _C.batchnorm_backward(dy, x, None, mean, var, out=dy)[0]
    assert dx is dy
    close(dx, want_dx, atol=1e-4)
    xc = x.copy()
    assert _C.batchnorm_forward(xc, mean, var, out=xc) is xc
    close(xc, want)


def test_batchnorm_stats_of_a_constant_channel_is_exact(rng):
    x = np.full((300, 3), 1e4, np.float32)
    x[:, 1] = rng.standard_normal(300)
    mean, var = _C.batchnorm_stats(x)
    assert mean[0] == 1e4 and var[0] == 0.0


@pytest.mark.parametrize("batch_stats", [True, False])
@pytest.mark.parametrize("relu", [False, True])
def test_batchnorm_twin_gradient_by_finite_differences(rng, batch_stats, relu):
    x = rng.standard_normal((5, 3, 4)).astype(np.float64)
    gamma, beta = rng.uniform(0.5, 1.5, 3), rng.standard_normal(3)
    dy = rng.standard_normal(x.shape)
    fixed = ref.batchnorm_stats(x + 0.3, 1)

    def loss():
        mean, var = ref.batchnorm_stats(x, 1) if batch_stats else fixed
        return float((ref.batchnorm_forward(x, mean, var, gamma, beta, 1, 1e-3, relu) * dy).sum())

    mean, var = ref.batchnorm_stats(x, 1) if batch_stats else fixed
    y = ref.batchnorm_forward(x, mean, var, gamma, beta, 1, 1e-3, relu)
    dx, dg, db = ref.batchnorm_backward(dy, x, y if relu else None, mean, var, gamma, 1, 1e-3,
                                        batch_stats)
    for got, arr in ((dx, x), (dg, gamma), (db, beta)):
        fd = np.zeros_like(arr)
        for i in np.ndindex(arr.shape):
            old = arr[i]
            arr[i] = old + 1e-6
            hi = loss()
            arr[i] = old - 1e-6
            lo = loss()
            arr[i] = old
            fd[i] = (hi - lo) / 2e-6
        np.testing.assert_allclose(got, fd, rtol=1e-5, atol=1e-6)


def test_batchnorm_bad_calls():
    x = np.zeros((2, 3), np.float32)
    m = np.zeros(3, np.float32)
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        _C.batchnorm_stats(x, 2)
    with pytest.raises(ValueError, match=r"`gamma` must have shape \(3,\)"):
        _C.batchnorm_forward(x, m, m, np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="empty"):
        _C.batchnorm_stats(np.zeros((0, 3), np.float32))
    with pytest.raises(TypeError, match="float32"):
        _C.batchnorm_stats(x.astype(np.float64))
    with pytest.raises(ValueError, match="must not overlap"):
        _C.batchnorm_backward(x, x, None, m, m, out=x)
