"""Layer, Group and Unit normalization kernels (csrc/norm.c) against their NumPy twins on
every ISA and thread count, bitwise thread-count independence, in-place calls, the twins'
gradients by finite differences in float64, and bad calls."""
import numpy as np
import pytest

import fastnn
from fastnn import _C
from fastnn import _reference as ref

# rows (R, K): a single value, lane tails (K % 16), several row chunks (R > 32), 3-D
LN_SHAPES = [(1, 1), (7, 3), (5, 16), (3, 37), (70, 100), (2, 3, 40)]
# (x shape, groups): 2-D, images, one channel per group, one group, positions > chunk
GN_SHAPES = [((4, 6), 3), ((3, 5, 5, 8), 2), ((2, 7, 4), 4), ((3, 9, 6), 1),
             ((2, 40, 64), 32)]


def close(a, b, rtol=2e-4, atol=2e-5):
    b = np.asarray(b)
    assert a.shape == b.shape and a.dtype == np.float32
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol * max(1.0, float(np.abs(b).max())))


def f64(*arrays):
    return [None if a is None else a.astype(np.float64) for a in arrays]


@pytest.mark.parametrize("affine", ["gamma-beta", "gamma", "none", "rms"])
@pytest.mark.parametrize("shape", LN_SHAPES, ids=str)
def test_layernorm_matches_twin(rng, isa, threads, shape, affine):
    rms = affine == "rms"
    x = (rng.standard_normal(shape) * 3 + 5).astype(np.float32)  # mean far from 0
    k = shape[-1]
    gamma = rng.uniform(0.5, 1.5, k).astype(np.float32) if affine != "none" else None
    beta = rng.standard_normal(k).astype(np.float32) if affine == "gamma-beta" else None
    y, mean, rstd = _C.layernorm_forward(x, gamma, beta, 1e-3, rms)
    want = ref.layernorm_forward(*f64(x, gamma, beta), 1e-3, rms)
    for got, w in zip((y, mean, rstd), want):
        close(got, w, atol=1e-5)
    dy = rng.standard_normal(shape).astype(np.float32)
    got = _C.layernorm_backward(dy, x, mean, rstd, gamma, rms)
    want = ref.layernorm_backward(*f64(dy, x, mean, rstd, gamma), rms)
    for a, b in zip(got, want):
        close(a, b, atol=1e-4)


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("shape, groups", GN_SHAPES, ids=str)
def test_groupnorm_matches_twin(rng, isa, threads, shape, groups, affine):
    x = (rng.standard_normal(shape) * 2 - 3).astype(np.float32)
    c = shape[-1]
    gamma = rng.uniform(0.5, 1.5, c).astype(np.float32) if affine else None
    beta = rng.standard_normal(c).astype(np.float32) if affine else None
    y, mean, rstd = _C.groupnorm_forward(x, groups, gamma, beta, 1e-3)
    want = ref.groupnorm_forward(*f64(x), groups, *f64(gamma, beta), 1e-3)
    for got, w in zip((y, mean, rstd), want):
        close(got, w, atol=1e-5)
    dy = rng.standard_normal(shape).astype(np.float32)
    got = _C.groupnorm_backward(dy, x, mean, rstd, groups, gamma)
    want = ref.groupnorm_backward(*f64(dy, x, mean, rstd), groups, *f64(gamma))
    for a, b in zip(got, want):
        close(a, b, atol=1e-4)


@pytest.mark.parametrize("shape", LN_SHAPES, ids=str)
def test_unitnorm_matches_twin(rng, isa, threads, shape):
    x = rng.standard_normal(shape).astype(np.float32)
    if shape[0] > 1:
        x[1] = 0.0  # an all-zero row: the capped inverse norm
    close(_C.unitnorm_forward(x), ref.unitnorm_forward(*f64(x)))
    dy = rng.standard_normal(shape).astype(np.float32)
    close(_C.unitnorm_backward(dy, x), ref.unitnorm_backward(*f64(dy, x)), rtol=1e-4)


def test_results_do_not_depend_on_the_thread_count(rng):
    """Bitwise: every row sum is one thread's, the sums over rows are fixed chunks."""
    x = rng.standard_normal((300, 257)).astype(np.float32)
    xg = rng.standard_normal((9, 13, 13, 64)).astype(np.float32)
    g = rng.standard_normal(257).astype(np.float32)
    gg = rng.standard_normal(64).astype(np.float32)
    dy, dyg = rng.standard_normal(x.shape).astype(np.float32), \
        rng.standard_normal(xg.shape).astype(np.float32)

    def run():
        y, m, r = _C.layernorm_forward(x, g, g, 1e-3)
        y2, m2, r2 = _C.groupnorm_forward(xg, 8, gg, gg, 1e-3)
        return ([y, m, r, *_C.layernorm_backward(dy, x, m, r, g), y2, m2, r2,
                 *_C.groupnorm_backward(dyg, xg, m2, r2, 8, gg),
                 _C.unitnorm_forward(x), _C.unitnorm_backward(dy, x)])

    old = fastnn.get_num_threads()
    try:
        fastnn.set_num_threads(1)
        one = run()
        fastnn.set_num_threads(2)
        two = run()
    finally:
        fastnn.set_num_threads(old)
    for a, b in zip(one, two):
        assert a.tobytes() == b.tobytes()


def test_in_place_calls(rng):
    x = rng.standard_normal((40, 24)).astype(np.float32)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    y, m, r = _C.layernorm_forward(x, None, None, 1e-3)
    xc = x.copy()
    assert _C.layernorm_forward(xc, None, None, 1e-3, out=xc)[0] is xc
    np.testing.assert_array_equal(xc, y)
    want = _C.layernorm_backward(dy, x, m, r)[0]
    dyc = dy.copy()
    assert _C.layernorm_backward(dyc, x, m, r, out=dyc)[0] is dyc
    np.testing.assert_array_equal(dyc, want)
    y, m, r = _C.groupnorm_forward(x, 4)
    want = _C.groupnorm_backward(dy, x, m, r, 4)[0]
    dyc = dy.copy()
    assert _C.groupnorm_backward(dyc, x, m, r, 4, out=dyc)[0] is dyc
    np.testing.assert_array_equal(dyc, want)
    want = _C.unitnorm_backward(dy, x)
    dyc = dy.copy()
    assert _C.unitnorm_backward(dyc, x, out=dyc) is dyc
    np.testing.assert_array_equal(dyc, want)


def test_constant_rows_normalize_to_beta_and_stay_finite():
    x = np.full((3, 20), 1e4, np.float32)
    beta = np.arange(20, dtype=np.float32)
    y, mean, rstd = _C.layernorm_forward(x, None, beta, 1e-3)
    np.testing.assert_array_equal(y, np.broadcast_to(beta, x.shape))
    assert np.all(mean == 1e4) and np.all(np.isfinite(rstd))
    assert np.all(_C.unitnorm_forward(np.zeros((2, 5), np.float32)) == 0)


def fd_check(loss, pairs, rtol=1e-5, atol=1e-6):
    for got, arr in pairs:
        fd = np.zeros_like(arr)
        for i in np.ndindex(arr.shape):
            old = arr[i]
            arr[i] = old + 1e-6
            hi = loss()
            arr[i] = old - 1e-6
            lo = loss()
            arr[i] = old
            fd[i] = (hi - lo) / 2e-6
        np.testing.assert_allclose(got, fd, rtol=rtol, atol=atol)


@pytest.mark.parametrize("rms", [False, True])
def test_layernorm_twin_gradient_by_finite_differences(rng, rms):
    x, dy = rng.standard_normal((4, 3, 6)) + 1.0, rng.standard_normal((4, 3, 6))
    gamma, beta = rng.uniform(0.5, 1.5, 6), rng.standard_normal(6)
    loss = lambda: float((ref.layernorm_forward(x, gamma, None if rms else beta, 1e-3,
                                                rms)[0] * dy).sum())
    _, mean, rstd = ref.layernorm_forward(x, gamma, beta, 1e-3, rms)
    dx, dg, db = ref.layernorm_backward(dy, x, mean, rstd, gamma, rms)
    fd_check(loss, [(dx, x), (dg, gamma)] + ([] if rms else [(db, beta)]))


def test_groupnorm_twin_gradient_by_finite_differences(rng):
    x, dy = rng.standard_normal((3, 4, 6)), rng.standard_normal((3, 4, 6))
    gamma, beta = rng.uniform(0.5, 1.5, 6), rng.standard_normal(6)
    loss = lambda: float((ref.groupnorm_forward(x, 3, gamma, beta)[0] * dy).sum())
    _, mean, rstd = ref.groupnorm_forward(x, 3, gamma, beta)
    dx, dg, db = ref.groupnorm_backward(dy, x, mean, rstd, 3, gamma)
    fd_check(loss, [(dx, x), (dg, gamma), (db, beta)])


def test_unitnorm_twin_gradient_by_finite_differences(rng):
    x, dy = rng.standard_normal((5, 7)), rng.standard_normal((5, 7))
    loss = lambda: float((ref.unitnorm_forward(x) * dy).sum())
    fd_check(loss, [(ref.unitnorm_backward(dy, x), x)])


def test_bad_calls():
    x = np.zeros((2, 6), np.float32)
    v = np.zeros(2, np.float32)
    with pytest.raises(ValueError, match=r"`gamma` must have shape \(6,\)"):
        _C.layernorm_forward(x, np.zeros(5, np.float32))
    with pytest.raises(ValueError, match="empty"):
        _C.layernorm_forward(np.zeros((0, 3), np.float32))
    with pytest.raises(TypeError, match="float32"):
        _C.unitnorm_forward(x.astype(np.float64))
    with pytest.raises(ValueError, match=r"`mean` must have shape \(2,\)"):
        _C.layernorm_backward(x, x, np.zeros(3, np.float32), v)
    with pytest.raises(ValueError, match="must not overlap"):
        _C.layernorm_backward(x, x, v, v, out=x)
    with pytest.raises(ValueError, match="positive divisor of the 6 channels"):
        _C.groupnorm_forward(x, 4)
    with pytest.raises(ValueError, match="batch and a channel axis"):
        _C.groupnorm_forward(np.zeros(6, np.float32), 2)
    with pytest.raises(ValueError, match="epsilon must be > 0"):
        _C.unitnorm_forward(x, 0.0)
