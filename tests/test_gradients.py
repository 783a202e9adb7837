"""The maths: finite differences in float64 on the NumPy twins, and adjoint identities
<A x, y> == <x, A^T y> for the linear ops (on the C kernels in float32 and on the twins
in float64).  With test_kernels (C == twin) they prove the C gradients."""
import numpy as np
import pytest

from fastnn import _C
from fastnn import _reference as ref

EPS = 1e-6


def check_gradient(name, loss, x, grad, rng, directions=4, rtol=1e-6):
    """Central differences of the scalar loss along random directions v must match
    <grad, v>; the tolerance is relative to |grad| |v| (Cauchy-Schwarz bound)."""
    assert grad.shape == x.shape and grad.dtype == np.float64, name
    for _ in range(directions):
        v = rng.standard_normal(x.shape)
        fd = (loss(x + EPS * v) - loss(x - EPS * v)) / (2 * EPS)
        exact = float(np.sum(grad * v))
        tol = rtol * (np.linalg.norm(grad) * np.linalg.norm(v) + abs(fd)) + 1e-9
        assert abs(fd - exact) <= tol, f"d/d{name}: finite difference {fd}, gradient {exact}"


def linear_loss(f, dy):
    """<f(x), dy>: its gradient is the op's backward applied to dy."""
    return lambda x: float(np.sum(f(x) * dy))


# ---- Dense and Conv2D -------------------------------------------------------------

@pytest.mark.parametrize("n, k, u", [(1, 1, 1), (4, 5, 3), (7, 2, 6)])
def test_dense_gradients(rng, n, k, u):
    x, w, b, dy = (rng.standard_normal(s) for s in [(n, k), (k, u), (u,), (n, u)])
    dw, db = ref.dense_backward_weight(dy, x)
    check_gradient("x", linear_loss(lambda t: ref.dense_forward(t, w, b), dy), x,
                   ref.dense_backward_input(dy, w), rng)
    check_gradient("kernel", linear_loss(lambda t: ref.dense_forward(x, t, b), dy), w, dw, rng)
    check_gradient("bias", linear_loss(lambda t: ref.dense_forward(x, w, t), dy), b, db, rng)


CONV = [  # (id, x shape NHWC, kernel (KH, KW, F), strides, padding)
    ("3x3-valid", (2, 5, 6, 3), (3, 3, 2), 1, "valid"),
    ("3x3-same", (2, 5, 6, 3), (3, 3, 2), 1, "same"),
    ("3x3-s2-valid", (1, 7, 6, 2), (3, 3, 3), 2, "valid"),
    ("3x3-s2-same", (1, 7, 6, 2), (3, 3, 3), 2, "same"),
    ("3x2-s21-same", (2, 5, 5, 2), (3, 2, 2), (2, 1), "same"),
    ("1x5-valid", (1, 4, 7, 1), (1, 5, 2), 1, "valid"),
    ("4x4-same-uneven-pad", (1, 5, 5, 1), (4, 4, 2), 1, "same"),
    ("pointwise", (2, 3, 4, 3), (1, 1, 2), 1, "valid"),
]
CONV_IDS = [c[0] for c in CONV]


@pytest.mark.parametrize("_, xs, ks, strides, padding", CONV, ids=CONV_IDS)
def test_conv2d_gradients(rng, _, xs, ks, strides, padding):
    x = rng.standard_normal(xs)
    w = rng.standard_normal((ks[0], ks[1], xs[3], ks[2]))
    b = rng.standard_normal(ks[2])
    fwd = lambda x, w, b: ref.conv2d_forward(x, w, b, strides, padding)
    dy = rng.standard_normal(fwd(x, w, b).shape)
    dx = ref.conv2d_backward_input(dy, w, xs, strides, padding)
    dw, db = ref.conv2d_backward_weight(dy, x, ks[:2], strides, padding)
    check_gradient("x", linear_loss(lambda t: fwd(t, w, b), dy), x, dx, rng)
    check_gradient("kernel", linear_loss(lambda t: fwd(x, t, b), dy), w, dw, rng)
    check_gradient("bias", linear_loss(lambda t: fwd(x, w, t), dy), b, db, rng)


# ---- MaxPooling2D and activations -------------------------------------------------

POOL = [  # (x shape, pool_size, strides, padding)
    ((2, 4, 6, 3), (2, 2), None, "valid"),
    ((1, 7, 7, 2), (3, 3), (2, 2), "same"),   # overlapping windows
    ((2, 5, 6, 1), (3, 2), (1, 1), "same"),
    ((1, 5, 7, 2), (2, 3), (2, 1), "valid"),
]


@pytest.mark.parametrize("xs, pool, strides, padding", POOL, ids=str)
def test_maxpool2d_gradient(rng, xs, pool, strides, padding):
    # Distinct values 0.1 apart: no ties, and EPS steps never change a winner.
    x = rng.permutation(np.prod(xs)).reshape(xs) * 0.1
    y, argmax = ref.maxpool2d_forward(x, pool, strides, padding)
    dy = rng.standard_normal(y.shape)
    dx = ref.maxpool2d_backward(dy, argmax, xs, pool, strides, padding)
    check_gradient("x", linear_loss(lambda t: ref.maxpool2d_forward(t, pool, strides, padding)[0],
                                    dy), x, dx, rng)


def relu_input(rng, shape):  # |x| > 0.1: away from the kink
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.1, 2.0, shape)


@pytest.mark.parametrize("shape", [(7,), (3, 4, 5)], ids=str)
@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "softmax"])
def test_activation_gradient(rng, name, shape):
    fwd, bwd = getattr(ref, name + "_forward"), getattr(ref, name + "_backward")
    x = relu_input(rng, shape) if name == "relu" else 2 * rng.standard_normal(shape)
    dy = rng.standard_normal(shape)
    check_gradient("x", linear_loss(fwd, dy), x, bwd(dy, fwd(x)), rng)


def targets(rng, kind, n, k):
    if kind == "onehot":
        return np.eye(k)[rng.integers(0, k, n)]
    t = rng.uniform(0.01, 1, (n, k))
    return t / t.sum(1, keepdims=True) if kind == "soft" else 2.3 * t


@pytest.mark.parametrize("kind", ["onehot", "soft", "unnormalized"])
@pytest.mark.parametrize("n, k", [(1, 1), (1, 4), (5, 7)], ids=str)
def test_softmax_cross_entropy_gradient(rng, n, k, kind):
    z, t = 3 * rng.standard_normal((n, k)), targets(rng, kind, n, k)
    mean_loss = lambda z: ref.softmax_cross_entropy_forward(z, t)[1].mean()
    p = ref.softmax_cross_entropy_forward(z, t)[0]
    check_gradient("logits", mean_loss, z, ref.softmax_cross_entropy_backward(p, t), rng)
    summed = lambda z: 0.37 * ref.softmax_cross_entropy_forward(z, t)[1].sum()
    check_gradient("logits", summed, z, ref.softmax_cross_entropy_backward(p, t, 0.37), rng)


@pytest.mark.parametrize("n, k", [(1, 1), (1, 4), (5, 7)], ids=str)
def test_sparse_softmax_cross_entropy_gradient(rng, n, k):
    z, labels = 3 * rng.standard_normal((n, k)), rng.integers(0, k, n).astype(np.int32)
    mean_loss = lambda z: ref.sparse_softmax_cross_entropy_forward(z, labels)[1].mean()
    p = ref.sparse_softmax_cross_entropy_forward(z, labels)[0]
    check_gradient("logits", mean_loss, z,
                   ref.sparse_softmax_cross_entropy_backward(p, labels), rng)
    # sparse labels == one-hot targets
    np.testing.assert_allclose(ref.sparse_softmax_cross_entropy_forward(z, labels)[1],
                               ref.softmax_cross_entropy_forward(z, np.eye(k)[labels])[1])


# ---- adjoint identities: exact for linear maps ------------------------------------

IMPLS = pytest.mark.parametrize("impl, dtype, rtol", [(_C, np.float32, 1e-5),
                                                      (ref, np.float64, 1e-12)],
                                ids=["C-float32", "twin-float64"])


def assert_adjoint(*pairs, rtol):
    """<a1, b1> == <a2, b2> == ...; tolerance relative to max |a| |b| (Cauchy-Schwarz)."""
    dots = [float(np.sum(a.astype(np.float64) * b)) for a, b in pairs]
    scale = max(np.linalg.norm(a) * np.linalg.norm(b) for a, b in pairs)
    for d in dots[1:]:
        assert abs(d - dots[0]) <= rtol * scale, f"inner products differ: {dots}"


@IMPLS
@pytest.mark.parametrize("_, xs, ks, strides, padding", CONV, ids=CONV_IDS)
def test_conv2d_adjoint(rand, impl, dtype, rtol, _, xs, ks, strides, padding):
    x, w = rand(xs, dtype), rand((ks[0], ks[1], xs[3], ks[2]), dtype)
    y = impl.conv2d_forward(x, w, None, strides, padding)
    dy = rand(y.shape, dtype)
    dx = impl.conv2d_backward_input(dy, w, xs, strides, padding)
    dw, _ = impl.conv2d_backward_weight(dy, x, ks[:2], strides, padding, False)
    assert_adjoint((y, dy), (x, dx), (w, dw), rtol=rtol)


@IMPLS
@pytest.mark.parametrize("n, k, u", [(1, 1, 1), (5, 7, 3), (33, 300, 17)], ids=str)
def test_dense_adjoint(rand, impl, dtype, rtol, n, k, u):
    x, w, dy = rand((n, k), dtype), rand((k, u), dtype), rand((n, u), dtype)
    y = impl.dense_forward(x, w)
    dw, _ = impl.dense_backward_weight(dy, x, False)
    assert_adjoint((y, dy), (x, impl.dense_backward_input(dy, w)), (w, dw), rtol=rtol)


@IMPLS
@pytest.mark.parametrize("ta, tb", [(False, False), (True, False), (False, True), (True, True)],
                         ids=["NN", "TN", "NT", "TT"])
def test_sgemm_adjoint(rand, impl, dtype, rtol, ta, tb):
    """Y = op(A) op(B):  <Y, G> == <op(A), G op(B)^T> == <op(B), op(A)^T G>, with every
    product itself computed by sgemm (the transposes expressed through the flags)."""
    m, n, k = 13, 11, 29
    a = rand((k, m) if ta else (m, k), dtype)
    b = rand((n, k) if tb else (k, n), dtype)
    g = rand((m, n), dtype)
    y = impl.sgemm(a, b, trans_a=ta, trans_b=tb)
    ga = impl.sgemm(g, b, trans_b=not tb)   # G op(B)^T   (m, k)
    gb = impl.sgemm(a, g, trans_a=not ta)   # op(A)^T G   (k, n)
    opa, opb = (a.T if ta else a), (b.T if tb else b)
    assert_adjoint((y, g), (opa, ga), (opb, gb), rtol=rtol)


@IMPLS
def test_dropout_adjoint(rand, impl, dtype, rtol):
    x, dy = rand((17, 13), dtype), rand((17, 13), dtype)
    assert_adjoint((impl.dropout_forward(x, 0.3, 11), dy),
                   (x, impl.dropout_backward(dy, 0.3, 11)), rtol=rtol)


@IMPLS
@pytest.mark.parametrize("xs, pool, strides, padding", POOL, ids=str)
def test_maxpool2d_euler_identity(rng, rand, impl, dtype, rtol, xs, pool, strides, padding):
    """Max pooling is positively homogeneous, so <x, J^T dy> == <J x, dy> == <y, dy>."""
    x = (rng.permutation(np.prod(xs)).reshape(xs) - 50).astype(dtype)
    y, argmax = impl.maxpool2d_forward(x, pool, strides, padding)
    dy = rand(y.shape, dtype)
    dx = impl.maxpool2d_backward(dy, argmax, xs, pool, strides, padding)
    assert_adjoint((y, dy), (x, dx), rtol=rtol)
