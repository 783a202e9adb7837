"""Average pooling kernels against their NumPy twins (every ISA, 1 and 2 threads), the
adjoint identity of forward and backward, and Keras's "same" rule (padding not counted)."""
import numpy as np
import pytest

from fastnn import _C
from fastnn import _reference as ref

POOL = [  # (id, x shape, pool, strides, padding)
    ("2x2-valid", (2, 6, 7, 3), (2, 2), None, "valid"),
    ("3x3-s2-same", (3, 7, 7, 5), (3, 3), (2, 2), "same"),
    ("3x2-s1-same", (2, 5, 6, 17), (3, 2), (1, 1), "same"),
    ("2x2-s3-same-skips", (2, 7, 8, 3), (2, 2), (3, 3), "same"),
    ("global-9x6", (4, 9, 6, 33), (9, 6), (1, 1), "valid"),
    ("1x1", (1, 1, 1, 1), (1, 1), None, "valid"),
]


@pytest.mark.parametrize("_, xs, pool, strides, padding", POOL, ids=[c[0] for c in POOL])
def test_avgpool2d_matches_twin_and_is_adjoint(rng, isa, threads, _, xs, pool, strides, padding):
    x = rng.standard_normal(xs).astype(np.float32)
    y = _C.avgpool2d_forward(x, pool, strides, padding)
    np.testing.assert_allclose(y, ref.avgpool2d_forward(x, pool, strides, padding),
                               rtol=1e-5, atol=1e-6)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx = _C.avgpool2d_backward(dy, xs, pool, strides, padding)
    np.testing.assert_allclose(dx, ref.avgpool2d_backward(dy, xs, pool, strides, padding),
                               rtol=1e-5, atol=1e-6)
    x64, dy64 = x.astype(np.float64), dy.astype(np.float64)
    lhs = float((ref.avgpool2d_forward(x64, pool, strides, padding) * dy64).sum())
    rhs = float((ref.avgpool2d_backward(dy64, xs, pool, strides, padding) * x64).sum())
    assert abs(lhs - rhs) < 1e-9 * max(1.0, abs(lhs))


def test_same_padding_counts_only_image_pixels():
    x = np.ones((1, 3, 3, 1), np.float32)
    y = _C.avgpool2d_forward(x, (2, 2), (2, 2), "same")
    np.testing.assert_array_equal(y, np.ones((1, 2, 2, 1), np.float32))


def test_avgpool2d_bad_calls():
    x = np.zeros((1, 3, 3, 1), np.float32)
    with pytest.raises(ValueError, match="avgpool2d_forward"):
        _C.avgpool2d_forward(x, (4, 4))
    with pytest.raises(ValueError, match="dy must have shape"):
        _C.avgpool2d_backward(np.zeros((1, 2, 2, 1), np.float32), x.shape, (3, 3))
