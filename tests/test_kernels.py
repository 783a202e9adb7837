"""Every fastnn._C kernel against its NumPy twin in fastnn._reference, in float32."""
import numpy as np
import pytest

from fastnn import _C
from fastnn import _reference as ref
from fastnn._shapes import normalize_pair, window_geometry


def assert_close(actual, expected, k=1, rtol=1e-4, atol=1e-5):
    """Tolerance relative to magnitude; atol grows like sqrt(k) for sums of k terms."""
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol * np.sqrt(k) * scale)


# ---- GEMM -------------------------------------------------------------------------
# Shapes for every micro-kernel; test_gemm_isa.py derives edge shapes from each one's blocking.

GEMM_SHAPES = [  # (id, M, N, K)
    ("1x1x1", 1, 1, 1), ("one-tile-6x8x5", 6, 8, 5), ("edges-7x9x7", 7, 9, 7),
    ("odd-5x15x3", 5, 15, 3), ("primes-31x37x41", 31, 37, 41),
    ("mc-edge-121x17x33", 121, 17, 33), ("kc-edge-13x11x257", 13, 11, 257),
    ("k>512", 7, 10, 600), ("n>2048", 3, 2100, 5), ("m>2mc-257x6x15", 257, 6, 15),
]
TRANS = [(False, False), (True, False), (False, True), (True, True)]
TRANS_IDS = ["NN", "TN", "NT", "TT"]


def gemm_operands(rand, m, n, k, ta, tb):
    return rand((k, m) if ta else (m, k)), rand((n, k) if tb else (k, n))


@pytest.mark.parametrize("ta, tb", TRANS, ids=TRANS_IDS)
@pytest.mark.parametrize("_, m, n, k", GEMM_SHAPES, ids=[c[0] for c in GEMM_SHAPES])
def test_sgemm_shapes(rand, isa, threads, _, m, n, k, ta, tb):
    a, b = gemm_operands(rand, m, n, k, ta, tb)
    c = _C.sgemm(a, b, trans_a=ta, trans_b=tb)
    assert_close(c, ref.sgemm(a, b, trans_a=ta, trans_b=tb), k)


ALPHA_BETA = [(1.0, 0.0), (0.5, 1.0), (-2.0, 0.5), (0.0, -2.0), (0.0, 0.0), (1.0, 1.0),
              (-2.0, 0.0), (0.5, -2.0)]


@pytest.mark.parametrize("alpha, beta", ALPHA_BETA)
@pytest.mark.parametrize("m, n, k, ta, tb", [(13, 17, 19, False, False),
                                              (121, 9, 257, True, True)])
def test_sgemm_alpha_beta(rand, isa, threads, m, n, k, ta, tb, alpha, beta):
    a, b = gemm_operands(rand, m, n, k, ta, tb)
    # beta == 0 must never read C: fill it with NaN, which would poison any read.
    c = np.full((m, n), np.nan, np.float32) if beta == 0 else rand((m, n))
    expected = ref.sgemm(a, b, c.copy(), alpha, beta, ta, tb)
    assert _C.sgemm(a, b, c, alpha, beta, ta, tb) is c
    assert np.isfinite(c).all()
    assert_close(c, expected, k)


@pytest.mark.parametrize("ta, tb", TRANS, ids=TRANS_IDS)
def test_sgemm_leading_dimensions(rand, isa, threads, ta, tb):
    """a, b and c are column slices of wider arrays (lda, ldb, ldc > row length)."""
    m, n, k = 23, 19, 37
    a_shape, b_shape = ((k, m) if ta else (m, k)), ((n, k) if tb else (k, n))
    a = rand((a_shape[0], a_shape[1] + 5))[:, :a_shape[1]]
    b = rand((b_shape[0], b_shape[1] + 3))[:, :b_shape[1]]
    c_big = rand((m, n + 7))
    before = c_big.copy()  # its columns n: lie beyond ldc's row length and stay untouched
    expected = ref.sgemm(a.copy(), b.copy(), before[:, :n].copy(), 0.5, -2.0, ta, tb)
    c = _C.sgemm(a, b, c_big[:, :n], 0.5, -2.0, ta, tb)
    assert c.base is c_big
    assert_close(c_big[:, :n], expected, k)
    np.testing.assert_array_equal(c_big[:, n:], before[:, n:])


def test_sgemm_empty_inner_dimension():
    a, b = np.zeros((3, 0), np.float32), np.zeros((0, 4), np.float32)
    np.testing.assert_array_equal(_C.sgemm(a, b), np.zeros((3, 4), np.float32))


# ---- Dense ------------------------------------------------------------------------

DENSE = [("1x1x1", 1, 1, 1), ("5x7x3", 5, 7, 3), ("64x257x10", 64, 257, 10),
         ("k>512", 3, 600, 13), ("u>2048", 2, 5, 2100)]


@pytest.mark.parametrize("use_bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("_, n, k, u", DENSE, ids=[c[0] for c in DENSE])
def test_dense(rand, threads, _, n, k, u, use_bias):
    x, w, dy = rand((n, k)), rand((k, u)), rand((n, u))
    b = rand(u) if use_bias else None
    assert_close(_C.dense_forward(x, w, b), ref.dense_forward(x, w, b), k)
    assert_close(_C.dense_backward_input(dy, w), ref.dense_backward_input(dy, w), u)
    dw, db = _C.dense_backward_weight(dy, x, use_bias)
    rdw, rdb = ref.dense_backward_weight(dy, x, use_bias)
    assert_close(dw, rdw, n)
    assert (db is None) == (not use_bias)
    if use_bias:
        assert_close(db, rdb, n)


# ---- Conv2D -----------------------------------------------------------------------

CONV = [  # (id, x shape NHWC, kernel (KH, KW, F), strides, padding)
    ("1x1-image", (1, 1, 1, 1), (1, 1, 1), 1, "valid"),
    ("pointwise", (3, 5, 7, 3), (1, 1, 4), 1, "valid"),
    ("pointwise-same-c32", (1, 5, 7, 32), (1, 1, 5), 1, "same"),
    ("1x1-stride2", (3, 5, 7, 3), (1, 1, 4), 2, "same"),
    ("3x3-valid", (3, 5, 7, 3), (3, 3, 4), 1, "valid"),
    ("3x3-same", (3, 5, 7, 3), (3, 3, 4), 1, "same"),
    ("3x2-s2-same-28x28", (1, 28, 28, 1), (3, 2, 5), 2, "same"),
    ("3x2-s2-valid", (3, 5, 7, 1), (3, 2, 2), 2, "valid"),
    ("1x5-s21-valid-c32", (3, 5, 7, 32), (1, 5, 6), (2, 1), "valid"),
    ("1x5-s21-same", (1, 5, 7, 3), (1, 5, 6), (2, 1), "same"),
    ("4x4-same-uneven-pad", (1, 5, 5, 1), (4, 4, 2), 1, "same"),
    ("kernel=image", (2, 3, 3, 2), (3, 3, 3), 1, "valid"),
    ("5x5-s2-valid-28x28", (1, 28, 28, 3), (5, 5, 8), 2, "valid"),
    ("many-tiles-c32", (3, 28, 28, 32), (3, 3, 16), 1, "same"),
    # few input channels, stride 1: backward_input scatters dP tiles (conv2d.c FEW_CHANNELS)
    ("3x3-same-c1-f32", (2, 28, 28, 1), (3, 3, 32), 1, "same"),
    ("2x2-s3-same-skips-pixels", (2, 7, 8, 3), (2, 2, 4), 3, "same"),
    # patch length KH*KW*C above the packers' 1024-entry table (and above NC = 4096):
    # the weight gradient once overflowed a stack table here (segfault at C=256)
    ("3x3-c128-patch1152", (2, 6, 6, 128), (3, 3, 8), 1, "same"),
    ("3x3-c520-patch4680", (1, 4, 4, 520), (3, 3, 3), 1, "valid"),
]


@pytest.mark.parametrize("use_bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("_, xs, ks, strides, padding", CONV, ids=[c[0] for c in CONV])
def test_conv2d(rand, threads, _, xs, ks, strides, padding, use_bias):
    kh, kw, f = ks
    x, w = rand(xs), rand((kh, kw, xs[3], f))
    b = rand(f) if use_bias else None
    y = _C.conv2d_forward(x, w, b, strides, padding)
    assert y.shape == _C.conv2d_output_shape(xs, w.shape, strides, padding)
    assert_close(y, ref.conv2d_forward(x, w, b, strides, padding), kh * kw * xs[3])

    dy = rand(y.shape)
    assert_close(_C.conv2d_backward_input(dy, w, xs, strides, padding),
                 ref.conv2d_backward_input(dy, w, xs, strides, padding), kh * kw * f)
    dw, db = _C.conv2d_backward_weight(dy, x, (kh, kw), strides, padding, use_bias)
    rdw, rdb = ref.conv2d_backward_weight(dy, x, (kh, kw), strides, padding, use_bias)
    rows = y.shape[0] * y.shape[1] * y.shape[2]
    assert_close(dw, rdw, rows)
    assert (db is None) == (not use_bias)
    if use_bias:
        assert_close(db, rdb, rows)


# ---- MaxPooling2D -----------------------------------------------------------------

POOL = [  # (id, x shape, pool_size, strides, padding)
    ("1x1-image", (1, 1, 1, 1), (1, 1), None, "valid"),
    ("2x2", (2, 6, 6, 3), (2, 2), None, "valid"),
    ("2x2-odd-image-same", (1, 7, 5, 2), (2, 2), None, "same"),
    ("3x3-same", (1, 7, 7, 2), (3, 3), None, "same"),
    ("3x2-s1-valid", (3, 5, 7, 4), (3, 2), (1, 1), "valid"),
    ("3x2-s1-same", (1, 5, 7, 1), (3, 2), (1, 1), "same"),
    ("3x3-s2-valid-28x28", (2, 28, 28, 16), (3, 3), (2, 2), "valid"),
    ("3x2-s21-same", (2, 5, 7, 3), (3, 2), (2, 1), "same"),
    ("2x2-s21-valid", (1, 5, 7, 3), (2, 2), (2, 1), "valid"),
    ("3x3-s21-same", (2, 9, 8, 5), (3, 3), (2, 1), "same"),
    ("2x2-s3-same-skips-pixels", (2, 7, 8, 3), (2, 2), (3, 3), "same"),
]


@pytest.mark.parametrize("_, xs, pool, strides, padding", POOL, ids=[c[0] for c in POOL])
def test_maxpool2d(rng, rand, isa, threads, _, xs, pool, strides, padding):
    # Distinct values (a permutation of 0..size-1, exact in float32): no ties.
    x = rng.permutation(np.prod(xs)).astype(np.float32).reshape(xs)
    y, am = _C.maxpool2d_forward(x, pool, strides, padding)
    ry, ram = ref.maxpool2d_forward(x, pool, strides, padding)
    np.testing.assert_array_equal(y, ry)
    np.testing.assert_array_equal(am, ram)
    assert am.dtype == np.int32
    dy = rand(y.shape)
    assert_close(_C.maxpool2d_backward(dy, am, xs, pool, strides, padding),
                 ref.maxpool2d_backward(dy, ram, xs, pool, strides, padding), 9)


@pytest.mark.parametrize("_, xs, pool, strides, padding", POOL, ids=[c[0] for c in POOL])
def test_maxpool2d_ties_pick_first_pixel(_, xs, pool, strides, padding):
    """Constant input: every window ties; the winner is its first in-image pixel in
    row-major order, and padding never wins (the input is negative, padding is not)."""
    x = np.full(xs, -1.5, np.float32)
    y, am = _C.maxpool2d_forward(x, pool, strides, padding)
    assert (y == -1.5).all()
    sh, sw = normalize_pair(strides if strides is not None else pool, "strides", "test")
    oh, ow, pt, pl = window_geometry(xs[1], xs[2], pool, (sh, sw), padding, "test")
    h0 = np.maximum(np.arange(oh) * sh - pt, 0)
    w0 = np.maximum(np.arange(ow) * sw - pl, 0)
    first = (h0[:, None] * xs[2] + w0[None, :])[None, :, :, None]
    np.testing.assert_array_equal(am, np.broadcast_to(first, am.shape))
    np.testing.assert_array_equal(am, ref.maxpool2d_forward(x, pool, strides, padding)[1])


# ---- activations ------------------------------------------------------------------

ACT_SHAPES = [(1,), (7,), (3, 5, 7), (1000, 33)]


@pytest.mark.parametrize("shape", ACT_SHAPES, ids=str)
@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "softmax"])
def test_activation(rand, name, shape):
    fwd, bwd = getattr(_C, name + "_forward"), getattr(_C, name + "_backward")
    x = rand(shape) * 4
    y = fwd(x)
    assert_close(y, getattr(ref, name + "_forward")(x))
    assert fwd(x, out=x) is x  # forward may run in place too
    np.testing.assert_array_equal(x, y)
    dy = rand(shape)
    dx = bwd(dy, y)
    assert_close(dx, getattr(ref, name + "_backward")(dy, y), shape[-1])
    out = bwd(dy, y, out=dy)  # in place: dx overwrites dy
    assert out is dy
    np.testing.assert_array_equal(dy, dx)


def test_softmax_large_logits(rand):
    x = rand((4, 10)) * 1000  # overflows without the max shift
    y = _C.softmax_forward(x)
    assert np.isfinite(y).all()
    assert_close(y, ref.softmax_forward(x))
    assert_close(y.sum(axis=-1), np.ones(4, np.float32))


# ---- dropout ----------------------------------------------------------------------

RATES = [0.0, 0.25, 0.5, 0.999, 1.0]
SEEDS = [0, 7, 2 ** 63 + 5, 2 ** 64 - 1]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("rate", RATES)
def test_dropout_matches_twin_exactly(rand, isa, rate, seed):
    x, dy = rand((37, 29)), rand((37, 29))
    np.testing.assert_array_equal(_C.dropout_forward(x, rate, seed),
                                  ref.dropout_forward(x, rate, seed))
    np.testing.assert_array_equal(_C.dropout_backward(dy, rate, seed),
                                  ref.dropout_backward(dy, rate, seed))


@pytest.mark.parametrize("seed", SEEDS)
def test_dropout_bits_match_twin(seed):
    idx = np.arange(0, 10 ** 6, 997)
    bits = np.array([_C.dropout_bits(seed, int(i)) for i in idx], np.uint32)
    np.testing.assert_array_equal(bits, ref.dropout_bits(seed, idx))
    assert bits.max() < 2 ** 24


def test_dropout_rate_not_representable_in_float32():
    rate = (2 ** 23 + 1) / 2 ** 24 - 1e-12  # float32(rate) * 2**24 is 2**23 + 1; rate's is not
    x = np.ones(3509138, np.float32)  # element 3509137 draws bits == 2**23
    np.testing.assert_array_equal(_C.dropout_forward(x, rate, 0), ref.dropout_forward(x, rate, 0))


@pytest.mark.parametrize("rate", [0.1, 0.25, 0.5, 0.9])
def test_dropout_statistics(rate):
    x = np.ones(10 ** 6, np.float32)
    y = _C.dropout_forward(x, rate, seed=123)
    assert abs(np.mean(y == 0) - rate) < 0.005  # ~10 standard deviations
    scale = np.float32(1.0 / (1.0 - float(np.float32(rate))))
    np.testing.assert_array_equal(np.unique(y), [0, scale])


def test_dropout_edge_rates_and_seeds(rand):
    x = rand(10000) + 2  # no zeros
    np.testing.assert_array_equal(_C.dropout_forward(x, 0.0, 5), x)
    np.testing.assert_array_equal(_C.dropout_forward(x, 1.0, 5), np.zeros_like(x))
    mask = lambda seed: _C.dropout_forward(x, 0.5, seed) == 0
    np.testing.assert_array_equal(mask(5), mask(5))
    assert np.mean(mask(5) != mask(6)) > 0.4  # independent masks differ in ~half
    # backward recomputes forward's mask
    np.testing.assert_array_equal(_C.dropout_backward(x, 0.5, 5) == 0, mask(5))



@pytest.mark.parametrize("offset", [1, 29 * 13, 2 ** 32 - 37 * 29])
def test_dropout_offset_matches_twin_and_the_whole_tensor(rand, offset):
    # A data-parallel rank passes its share's offset and draws the mask one process would.
    x, dy = rand((37, 29)), rand((37, 29))
    np.testing.assert_array_equal(_C.dropout_forward(x, 0.5, 9, offset=offset),
                                  ref.dropout_forward(x, 0.5, 9, offset=offset))
    np.testing.assert_array_equal(_C.dropout_backward(dy, 0.5, 9, offset=offset),
                                  ref.dropout_backward(dy, 0.5, 9, offset=offset))
    if offset % 29 == 0 and offset < 37 * 29:
        whole = rand((37 + offset // 29, 29)) + 2
        whole[-37:] = x
        np.testing.assert_array_equal(_C.dropout_forward(whole, 0.5, 9)[-37:],
                                      _C.dropout_forward(x, 0.5, 9, offset=offset))


# ---- softmax + cross-entropy ------------------------------------------------------

CE_SHAPES = [(1, 1), (5, 7), (64, 10), (3, 1000)]


def make_targets(rng, kind, n, k):
    if kind == "onehot":
        return np.eye(k, dtype=np.float32)[rng.integers(0, k, n)]
    t = rng.uniform(0.01, 1, (n, k)).astype(np.float32)
    return t / t.sum(1, keepdims=True) if kind == "soft" else t * 2.3  # "unnormalized"


@pytest.mark.parametrize("kind", ["onehot", "soft", "unnormalized"])
@pytest.mark.parametrize("n, k", CE_SHAPES, ids=str)
def test_softmax_cross_entropy(rng, rand, n, k, kind):
    z, t = rand((n, k)) * 5, make_targets(rng, kind, n, k)
    p, loss = _C.softmax_cross_entropy_forward(z, t)
    rp, rloss = ref.softmax_cross_entropy_forward(z, t)
    assert_close(p, rp)
    assert_close(loss, rloss, k)
    for scale in [None, 0.37]:
        assert_close(_C.softmax_cross_entropy_backward(p, t, scale),
                     ref.softmax_cross_entropy_backward(p, t, scale), k)


@pytest.mark.parametrize("n, k", CE_SHAPES, ids=str)
def test_sparse_softmax_cross_entropy(rng, rand, n, k):
    z, labels = rand((n, k)) * 5, rng.integers(0, k, n).astype(np.int32)
    p, loss = _C.sparse_softmax_cross_entropy_forward(z, labels)
    rp, rloss = ref.sparse_softmax_cross_entropy_forward(z, labels)
    assert_close(p, rp)
    assert_close(loss, rloss, k)
    for scale in [None, 0.37, -2.0]:
        assert_close(_C.sparse_softmax_cross_entropy_backward(p, labels, scale),
                     ref.sparse_softmax_cross_entropy_backward(p, labels, scale))


# ---- optimizers -------------------------------------------------------------------

OPTIMIZERS = [  # (id, kind, hyper-parameters)
    ("adam-default", "adam", {}),
    ("adam-custom", "adam", dict(learning_rate=0.1, beta_1=0.8, beta_2=0.99, epsilon=1e-4)),
    ("sgd", "sgd", dict(learning_rate=0.1)),
    ("sgd-momentum", "sgd", dict(learning_rate=0.1, momentum=0.9)),
    ("sgd-nesterov", "sgd", dict(learning_rate=0.1, momentum=0.9, nesterov=True)),
    ("rmsprop", "rmsprop", dict(learning_rate=0.01)),
    ("rmsprop-momentum", "rmsprop", dict(learning_rate=0.01, rho=0.8, momentum=0.5)),
]


def optimizer_step(impl, kind, w, slots, g, t, hp):
    if kind == "adam":
        impl.adam_update(w, slots[0], slots[1], g, step=t, **hp)
    elif kind == "sgd":
        impl.sgd_update(w, slots[0], g, **hp)
    else:
        impl.rmsprop_update(w, slots[0], slots[1], g, **hp)


@pytest.mark.parametrize("_, kind, hp", OPTIMIZERS, ids=[c[0] for c in OPTIMIZERS])
def test_optimizer_matches_twin(rand, _, kind, hp):
    w, n = rand(1001), {"adam": 2, "sgd": 1, "rmsprop": 2}[kind]
    slots = [np.zeros_like(w) for _ in range(n)]
    if kind != "adam" and hp.get("momentum", 0.0) == 0.0:
        slots[-1] = None  # the momentum buffer may be omitted without momentum
    w0, rw, rslots = w.copy(), w.copy(), [None if s is None else s.copy() for s in slots]
    for t in range(1, 6):
        g = rand(w.shape)
        optimizer_step(_C, kind, w, slots, g, t, hp)
        optimizer_step(ref, kind, rw, rslots, g, t, hp)
    for a, b in zip([w] + slots, [rw] + rslots):
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)
    assert np.abs(w - w0).min() > 0  # every element moved


# ---- out= and work= ---------------------------------------------------------------

@pytest.fixture
def arrays(rand):
    return dict(m=rand((5, 5)), v=rand(5), img=rand((1, 6, 6, 3)), k=rand((3, 3, 3, 2)),
                dy=rand((1, 4, 4, 2)), pdy=rand((1, 3, 3, 3)), am=np.zeros((1, 3, 3, 3), np.int32),
                x=rand((64, 300)), w=rand((300, 70)), img4=rand((4, 12, 12, 3)),
                k4=rand((3, 3, 3, 5)), dy4=rand((4, 10, 10, 5)))


OUT_CALLS = [  # (op, call(arrays, out))
    ("sgemm", lambda a, out: _C.sgemm(a["m"], a["m"], out)),
    ("dense_forward", lambda a, out: _C.dense_forward(a["m"], a["m"], a["v"], out=out)),
    ("dense_backward_input", lambda a, out: _C.dense_backward_input(a["m"], a["m"], out=out)),
    ("conv2d_forward", lambda a, out: _C.conv2d_forward(a["img"], a["k"], out=out)),
    ("conv2d_backward_input",
     lambda a, out: _C.conv2d_backward_input(a["dy"], a["k"], a["img"].shape, out=out)),
    ("maxpool2d_backward",
     lambda a, out: _C.maxpool2d_backward(a["pdy"], a["am"], a["img"].shape, out=out)),
    ("relu_forward", lambda a, out: _C.relu_forward(a["m"], out=out)),
    ("softmax_forward", lambda a, out: _C.softmax_forward(a["m"], out=out)),
    ("dropout_forward", lambda a, out: _C.dropout_forward(a["m"], 0.5, 3, out=out)),
    ("softmax_cross_entropy_backward",
     lambda a, out: _C.softmax_cross_entropy_backward(a["m"], a["m"] + 1, out=out)),
]


@pytest.mark.parametrize("_, call", OUT_CALLS, ids=[c[0] for c in OUT_CALLS])
def test_out_is_filled_and_returned(arrays, _, call):
    expected = call(arrays, None)
    out = np.full_like(expected, np.nan)
    assert call(arrays, out) is out
    np.testing.assert_array_equal(out, expected)


def test_multi_output_out_arguments(arrays):
    img, pdy = arrays["img"], arrays["pdy"]
    y, am = np.empty_like(pdy), np.empty(pdy.shape, np.int32)
    assert list(map(id, _C.maxpool2d_forward(img, out=y, out_argmax=am))) == [id(y), id(am)]
    dk, db = np.empty((2, 2, 3, 3), np.float32), np.empty(3, np.float32)
    r = _C.conv2d_backward_weight(pdy, img, 2, 2, out_kernel=dk, out_bias=db)
    assert list(map(id, r)) == [id(dk), id(db)]
    np.testing.assert_array_equal(dk, _C.conv2d_backward_weight(pdy, img, 2, 2)[0])


WORK_CALLS = [  # (op, workspace size, call(arrays, work))
    ("dense_forward", lambda: _C.dense_workspace_size(64, 300, 70),
     lambda a, work: _C.dense_forward(a["x"], a["w"], work=work)),
    ("conv2d_forward", lambda: _C.conv2d_workspace_size((4, 12, 12, 3), (3, 3, 3, 5)),
     lambda a, work: _C.conv2d_forward(a["img4"], a["k4"], work=work)),
    ("conv2d_backward_weight", lambda: _C.conv2d_workspace_size((4, 12, 12, 3), (3, 3, 3, 5)),
     lambda a, work: _C.conv2d_backward_weight(a["dy4"], a["img4"], 3, work=work)[0]),
    ("sgemm", lambda: _C.sgemm_workspace_size(64, 70, 300),
     lambda a, work: _C.sgemm(a["x"], a["w"], work=work)),
]


@pytest.mark.parametrize("op, size, call", WORK_CALLS, ids=[c[0] for c in WORK_CALLS])
def test_work_too_small_raises(arrays, op, size, call):
    need = size() if op != "sgemm" else 2  # sgemm's need is not exposed: any K>0 needs more
    count = str(need) if op != "sgemm" else r"\d+"
    with pytest.raises(ValueError, match=f"{op}: `work` needs {count} floats, received {need - 1}"):
        call(arrays, np.empty(need - 1, np.float32))


@pytest.mark.parametrize("_, size, call", WORK_CALLS, ids=[c[0] for c in WORK_CALLS])
def test_work_is_used(arrays, threads, _, size, call):
    """A NaN-filled workspace, larger than needed, is written (so it is used) and
    poisons nothing."""
    work = np.full(size() + 17, np.nan, np.float32)
    np.testing.assert_array_equal(call(arrays, work), call(arrays, None))
    assert not np.isnan(work).all()
