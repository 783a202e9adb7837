"""Property-based tests: every kernel against its NumPy twin on shapes, strides, paddings,
pool sizes, thread counts and GEMM micro-kernels drawn by hypothesis.

The example-based tests (test_kernels.py) pick the edge cases we thought of; these draw
the ones we did not (they found the conv weight-gradient stack overflow at patch lengths
above 1024, and a twin that divided by zero for a dropout rate that is 1 in float32).
Each test runs 25 examples by default (`hypothesis` profile "fastnn", set in
conftest.py); `pytest --hypothesis-profile=thorough` runs 500 each.
"""
import numpy as np
from hypothesis import assume, example, given, strategies as st

import fastnn
from fastnn import _C, ops
from fastnn import _reference as ref
from fastnn._shapes import window_geometry

from test_kernels import assert_close

ISAS = _C.gemm_isa_list()


class Context:
    """Thread count and GEMM ISA for one example, restored afterwards."""

    def __init__(self, threads, isa):
        self.threads, self.isa = threads, isa

    def __enter__(self):
        self.old = fastnn.get_num_threads(), _C.gemm_isa()
        fastnn.set_num_threads(self.threads)
        _C.select_isa(self.isa)

    def __exit__(self, *exc):
        fastnn.set_num_threads(self.old[0])
        _C.select_isa(self.old[1])


contexts = st.builds(Context, st.integers(1, 3), st.sampled_from(ISAS))
seeds = st.integers(0, 2 ** 32 - 1)


def uniform(seed, shape, low=-1.0, high=1.0):
    return np.random.default_rng(seed).uniform(low, high, shape).astype(np.float32)


def away_from_zero(seed, shape):
    """Values in +-[0.1, 1]: ReLU kinks never sit on a rounding error."""
    v = uniform(seed, shape, 0.1, 1.0)
    return v * np.where(uniform(seed + 1, shape) < 0, -1, 1).astype(np.float32)


def windows(max_hw=12):
    """(H, W, KH, KW, SH, SW, padding) such that the window fits ('valid') or any ('same')."""
    @st.composite
    def draw(d):
        h, w = d(st.integers(1, max_hw)), d(st.integers(1, max_hw))
        padding = d(st.sampled_from(["valid", "same"]))
        limit_h, limit_w = (h, w) if padding == "valid" else (h + 3, w + 3)
        return (h, w, d(st.integers(1, min(limit_h, 6))), d(st.integers(1, min(limit_w, 6))),
                d(st.integers(1, 3)), d(st.integers(1, 3)), padding)
    return draw()


# ---- GEMM and Dense ---------------------------------------------------------------------

@given(m=st.integers(1, 70), n=st.integers(1, 70), k=st.integers(1, 300),
       ta=st.booleans(), tb=st.booleans(), alpha=st.sampled_from([1.0, -0.5, 2.0, 0.0]),
       beta=st.sampled_from([0.0, 1.0, -2.0]), pad=st.tuples(*[st.integers(0, 5)] * 3),
       ctx=contexts, seed=seeds)
def test_sgemm(m, n, k, ta, tb, alpha, beta, pad, ctx, seed):
    """Any shape, either transpose, alpha/beta, leading dimensions beyond the row length."""
    a_shape = (k, m) if ta else (m, k)
    b_shape = (n, k) if tb else (k, n)
    a = uniform(seed, (a_shape[0], a_shape[1] + pad[0]))[:, :a_shape[1]]
    b = uniform(seed + 1, (b_shape[0], b_shape[1] + pad[1]))[:, :b_shape[1]]
    c_wide = uniform(seed + 2, (m, n + pad[2]))
    if beta == 0.0:
        c_wide[:, :n] = np.nan  # beta == 0 never reads C
    expected = ref.sgemm(a.copy(), b.copy(), np.nan_to_num(c_wide[:, :n]), alpha, beta, ta, tb)
    outside = c_wide[:, n:].copy()
    with ctx:
        c = _C.sgemm(a, b, c_wide[:, :n], alpha, beta, ta, tb)
    assert_close(c, expected, k)
    np.testing.assert_array_equal(c_wide[:, n:], outside)


@given(n=st.integers(1, 40), k=st.integers(1, 80), u=st.integers(1, 80), bias=st.booleans(),
       relu=st.booleans(), ctx=contexts, seed=seeds)
def test_dense(n, k, u, bias, relu, ctx, seed):
    x, w = uniform(seed, (n, k)), uniform(seed + 1, (k, u))
    b = uniform(seed + 2, u) if bias else None
    dy = uniform(seed + 3, (n, u))
    with ctx:
        y = _C.dense_forward(x, w, b, relu=relu)
        dx = _C.dense_backward_input(dy, w)
        dw, db = _C.dense_backward_weight(dy, x, bias)
    expected = ref.dense_forward(x, w, b, relu=relu)
    # with relu, entries within rounding of 0 may be clipped on one side only
    near_kink = relu & (np.abs(ref.dense_forward(x, w, b)) < 1e-4 * np.sqrt(k))
    assert_close(np.where(near_kink, 0, y), np.where(near_kink, 0, expected), k)
    assert_close(dx, ref.dense_backward_input(dy, w), u)
    rdw, rdb = ref.dense_backward_weight(dy, x, bias)
    assert_close(dw, rdw, n)
    if bias:
        assert_close(db, rdb, n)


# ---- Conv2D -------------------------------------------------------------------------

@given(n=st.integers(1, 3), geo=windows(), c=st.one_of(st.integers(1, 9), st.integers(100, 160)),
       f=st.integers(1, 20), bias=st.booleans(), ctx=contexts, seed=seeds)
def test_conv2d(n, geo, c, f, bias, ctx, seed):
    """Forward, input and weight gradients; C up to 160 makes patches longer than the
    packers' 1024-entry table."""
    h, w, kh, kw, sh, sw, padding = geo
    x, k = uniform(seed, (n, h, w, c)), uniform(seed + 1, (kh, kw, c, f))
    b = uniform(seed + 2, f) if bias else None
    with ctx:
        y = _C.conv2d_forward(x, k, b, (sh, sw), padding)
        dy = uniform(seed + 3, y.shape)
        dx = _C.conv2d_backward_input(dy, k, x.shape, (sh, sw), padding)
        dw, db = _C.conv2d_backward_weight(dy, x, (kh, kw), (sh, sw), padding, bias)
    assert y.shape == ref.conv2d_output_shape(x.shape, k.shape, (sh, sw), padding)
    assert_close(y, ref.conv2d_forward(x, k, b, (sh, sw), padding), kh * kw * c)
    assert_close(dx, ref.conv2d_backward_input(dy, k, x.shape, (sh, sw), padding), kh * kw * f)
    rdw, rdb = ref.conv2d_backward_weight(dy, x, (kh, kw), (sh, sw), padding, bias)
    rows = y.shape[0] * y.shape[1] * y.shape[2]
    assert_close(dw, rdw, rows)
    if bias:
        assert_close(db, rdb, rows)


@given(n=st.integers(1, 2), geo=windows(), c=st.integers(1, 12), f=st.integers(1, 12),
       ctx=contexts, seed=seeds)
def test_conv2d_fused_relu(n, geo, c, f, ctx, seed):
    h, w, kh, kw, sh, sw, padding = geo
    x, k, b = uniform(seed, (n, h, w, c)), uniform(seed + 1, (kh, kw, c, f)), uniform(seed + 2, f)
    with ctx:
        y = _C.conv2d_forward(x, k, b, (sh, sw), padding, relu=True)
    linear = ref.conv2d_forward(x, k, b, (sh, sw), padding)
    near_kink = np.abs(linear) < 1e-4 * np.sqrt(kh * kw * c)
    assert_close(np.where(near_kink, 0, y), np.where(near_kink, 0, np.maximum(linear, 0)),
                 kh * kw * c)


# ---- MaxPooling2D ---------------------------------------------------------------------

@given(n=st.integers(1, 3), geo=windows(), c=st.integers(1, 9), default_strides=st.booleans(),
       ctx=contexts, seed=seeds)
def test_maxpool2d(n, geo, c, default_strides, ctx, seed):
    h, w, kh, kw, sh, sw, padding = geo
    strides = None if default_strides else (sh, sw)
    if default_strides and padding == "valid":
        assume(kh <= h and kw <= w)
    shape = (n, h, w, c)
    # distinct values (a permutation, exact in float32): no ties
    x = np.random.default_rng(seed).permutation(n * h * w * c).astype(np.float32).reshape(shape)
    with ctx:
        y, am = _C.maxpool2d_forward(x, (kh, kw), strides, padding)
        dy = uniform(seed + 1, y.shape)
        dx = _C.maxpool2d_backward(dy, am, shape, (kh, kw), strides, padding)
    ry, ram = ref.maxpool2d_forward(x, (kh, kw), strides, padding)
    np.testing.assert_array_equal(y, ry)
    np.testing.assert_array_equal(am, ram)
    assert_close(dx, ref.maxpool2d_backward(dy, ram, shape, (kh, kw), strides, padding), kh * kw)


# ---- activations, dropout, losses ------------------------------------------------------

shapes = st.lists(st.integers(1, 40), min_size=1, max_size=3).map(tuple)


@given(name=st.sampled_from(["relu", "sigmoid", "tanh", "softmax"]), shape=shapes,
       scale=st.sampled_from([1.0, 10.0, 100.0]), ctx=contexts, seed=seeds)
def test_activation(name, shape, scale, ctx, seed):
    x, dy = away_from_zero(seed, shape) * np.float32(scale), uniform(seed + 2, shape)
    with ctx:
        y = getattr(_C, name + "_forward")(x)
        dx = getattr(_C, name + "_backward")(dy, y)
    with np.errstate(over="ignore"):  # the twin's exp(-x) overflows to inf: sigmoid 0
        assert_close(y, getattr(ref, name + "_forward")(x))
    assert_close(dx, getattr(ref, name + "_backward")(dy, y), shape[-1])


@given(shape=shapes, rate=st.floats(0, 1), seed=st.integers(0, 2 ** 64 - 1),
       ctx=contexts, data_seed=seeds)
@example(shape=(1,), rate=0.9999999999999999, seed=0, ctx=Context(1, ISAS[0]), data_seed=0)
def test_dropout(shape, rate, seed, ctx, data_seed):
    x = uniform(data_seed, shape)
    with ctx:
        y, dx = _C.dropout_forward(x, rate, seed), _C.dropout_backward(x, rate, seed)
    np.testing.assert_array_equal(y, ref.dropout_forward(x, rate, seed))
    np.testing.assert_array_equal(dx, ref.dropout_backward(x, rate, seed))


@given(n=st.integers(1, 50), k=st.integers(1, 50), scale=st.sampled_from([1.0, 30.0]),
       ctx=contexts, seed=seeds)
def test_cross_entropy(n, k, scale, ctx, seed):
    z = uniform(seed, (n, k)) * np.float32(scale)
    t = uniform(seed + 1, (n, k), 0, 1)
    t /= t.sum(axis=1, keepdims=True)
    labels = np.random.default_rng(seed).integers(0, k, n).astype(np.int32)
    with ctx:
        p, loss = _C.softmax_cross_entropy_forward(z, t)
        dz = _C.softmax_cross_entropy_backward(p, t)
        sp, sloss = _C.sparse_softmax_cross_entropy_forward(z, labels)
        sdz = _C.sparse_softmax_cross_entropy_backward(sp, labels, 0.5)
    rp, rloss = ref.softmax_cross_entropy_forward(z, t)
    assert_close(p, rp)
    assert_close(loss, rloss, k)
    assert_close(dz, ref.softmax_cross_entropy_backward(p, t))
    rsp, rsloss = ref.sparse_softmax_cross_entropy_forward(z, labels)
    assert_close(sp, rsp)
    assert_close(sloss, rsloss, k)
    assert_close(sdz, ref.sparse_softmax_cross_entropy_backward(sp, labels, 0.5))


# ---- optimizers ------------------------------------------------------------------------

@given(kind=st.sampled_from(["adam", "sgd", "rmsprop"]), size=st.integers(1, 5000),
       lr=st.floats(1e-4, 0.5), momentum=st.sampled_from([0.0, 0.5, 0.9]),
       nesterov=st.booleans(), steps=st.integers(1, 4), ctx=contexts, seed=seeds)
def test_optimizer(kind, size, lr, momentum, nesterov, steps, ctx, seed):
    w = uniform(seed, size)
    slots = [np.zeros(size, np.float32), np.zeros(size, np.float32)]
    rw, rslots = w.copy(), [s.copy() for s in slots]
    for t in range(1, steps + 1):
        g = uniform(seed + t, size)
        with ctx:
            if kind == "adam":
                _C.adam_update(w, slots[0], slots[1], g, lr, step=t)
            elif kind == "sgd":
                _C.sgd_update(w, slots[0], g, lr, momentum, nesterov)
            else:
                _C.rmsprop_update(w, slots[0], slots[1], g, lr, momentum=momentum)
        if kind == "adam":
            ref.adam_update(rw, rslots[0], rslots[1], g, lr, step=t)
        elif kind == "sgd":
            ref.sgd_update(rw, rslots[0], g, lr, momentum, nesterov)
        else:
            ref.rmsprop_update(rw, rslots[0], rslots[1], g, lr, momentum=momentum)
    for a, b in zip([w] + slots, [rw] + rslots):
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-7)


# ---- fastnn.ops: any layout of the input gives the contiguous answer -------------------

layouts = st.sampled_from(["C", "F", "strided", "reversed", "float64", "big-endian"])


def relayout(a, how):
    if how == "F":
        return np.asfortranarray(a)
    if how == "strided":
        wide = np.zeros(a.shape[:-1] + (3 * a.shape[-1],), a.dtype)
        wide[..., 1::3] = a
        return wide[..., 1::3]
    if how == "reversed":
        return a[::-1].copy()[::-1]
    if how == "float64":
        return a.astype(np.float64)
    if how == "big-endian":
        return a.astype(">f4")
    return a


@given(n=st.integers(1, 3), geo=windows(8), c=st.integers(1, 5), f=st.integers(1, 5),
       how=st.tuples(layouts, layouts), seed=seeds)
def test_ops_accept_any_layout(n, geo, c, f, how, seed):
    h, w, kh, kw, sh, sw, padding = geo
    x, k = uniform(seed, (n, h, w, c)), uniform(seed + 1, (kh, kw, c, f))
    expected = _C.conv2d_forward(x, k, None, (sh, sw), padding)
    y = ops.conv2d_forward(relayout(x, how[0]), relayout(k, how[1]), None, (sh, sw), padding)
    np.testing.assert_array_equal(y, expected)
    pooled = ops.maxpool2d_forward(relayout(x, how[0]), (kh, kw), (sh, sw), padding)
    for a, b in zip(pooled, _C.maxpool2d_forward(x, (kh, kw), (sh, sw), padding)):
        np.testing.assert_array_equal(a, b)


def test_geometry_matches_the_reference_everywhere():
    """Exhaustively over small sizes: the C wrappers and the twins agree on every output
    size, and 'same' windows always overlap the image (never all padding)."""
    for size in range(1, 9):
        for window in range(1, 9):
            for stride in range(1, 4):
                oh, _, pt, _ = window_geometry(size, size, (window, window), (stride, stride),
                                               "same", "t")
                for o in range(oh):
                    start = o * stride - pt
                    assert start < size and start + window > 0
