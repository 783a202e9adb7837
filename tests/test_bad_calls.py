"""Bad calls raise TypeError or ValueError naming the op (never crash); fastnn.ops
converts what it can (dtypes, layouts) and gives the right answer."""
import numpy as np
import pytest

from fastnn import _C, ops
from fastnn import _reference as ref


def f(*shape):
    return np.ones(shape, np.float32)


def readonly(a):
    a.flags.writeable = False
    return a


def unaligned(a):
    """A copy of `a` whose data starts one byte past an aligned address."""
    raw = np.zeros(a.nbytes + 1, np.uint8)
    u = np.frombuffer(raw.data, a.dtype, a.size, offset=1).reshape(a.shape)
    u[...] = a
    assert not u.flags.aligned and u.flags.c_contiguous
    return u


def swapped(a):
    """`a` in the other byte order: the same values, the same numpy type number."""
    return a.astype(a.dtype.newbyteorder())


x45, k53, dy43 = f(4, 5), f(5, 3), f(4, 3)
img, ker = f(2, 5, 5, 3), f(3, 3, 3, 4)           # conv: y (2, 3, 3, 4) with 'valid'
pimg, pdy, pam = f(1, 4, 4, 2), f(1, 2, 2, 2), np.zeros((1, 2, 2, 2), np.int32)
z35, t35, lab3 = f(3, 5), f(3, 5), np.array([0, 4, 2], np.int32)
sq = f(4, 4)
T, V = TypeError, ValueError

BAD = [  # (id, call, exception, message pattern)
    # ---- dense
    ("dense-x-1d", lambda: _C.dense_forward(f(5), k53), V, "dense_forward: `x` must have 2"),
    ("dense-x-3d", lambda: _C.dense_forward(f(2, 4, 5), k53), V, "dense_forward"),
    ("dense-mismatch", lambda: _C.dense_forward(x45, f(4, 3)), V, r"dense_forward: x \(4, 5\)"),
    ("dense-bias-length", lambda: _C.dense_forward(x45, k53, f(4)), V, "dense_forward: bias"),
    ("dense-float64", lambda: _C.dense_forward(np.ones((4, 5)), k53), T, "dense_forward.*float32"),
    ("dense-int", lambda: _C.dense_forward(x45.astype(int), k53), T, "dense_forward"),
    ("dense-list", lambda: _C.dense_forward(x45.tolist(), k53), T, "dense_forward"),
    ("dense-noncontig", lambda: _C.dense_forward(f(5, 4).T, k53), V, "dense_forward.*contiguous"),
    ("dense-empty-batch", lambda: _C.dense_forward(f(0, 5), k53), V, "dense_forward.*empty"),
    ("dense-out-shape", lambda: _C.dense_forward(x45, k53, out=f(4, 4)), V, "dense_forward: `out`"),
    ("dense-out-dtype", lambda: _C.dense_forward(x45, k53, out=np.ones((4, 3))), T, "dense_forward"),
    ("dense-out-readonly", lambda: _C.dense_forward(x45, k53, out=readonly(f(4, 3))), V,
     "dense_forward: `out` is read-only"),
    ("dense-out-overlap", lambda: _C.dense_forward(sq, sq.copy(), out=sq), V,
     "dense_forward: `out` must not overlap"),
    ("dense-work-dtype", lambda: _C.dense_forward(x45, k53, work=np.ones(10 ** 5)), T,
     "dense_forward: `work`"),
    ("dense-bwd-in-dy", lambda: _C.dense_backward_input(f(4, 4), k53), V, "dense_backward_input"),
    ("dense-bwd-in-empty", lambda: _C.dense_backward_input(f(0, 3), k53), V, "dense_backward_input"),
    ("dense-bwd-w-batch", lambda: _C.dense_backward_weight(f(3, 3), x45), V,
     "dense_backward_weight.*batch"),
    ("ops-dense-mismatch", lambda: ops.dense_forward(np.ones((4, 5)), np.ones((4, 3))), V,
     "dense_forward"),
    # ---- sgemm
    ("sgemm-inner", lambda: _C.sgemm(x45, x45), V, "sgemm: inner dimensions"),
    ("sgemm-inner-trans", lambda: _C.sgemm(x45, k53, trans_a=True), V, "sgemm: inner"),
    ("sgemm-1d", lambda: _C.sgemm(f(5), k53), T, "sgemm: `a` must be a 2-D"),
    ("sgemm-float64", lambda: _C.sgemm(x45, np.ones((5, 3))), T, "sgemm: `b`"),
    ("sgemm-column-stride", lambda: _C.sgemm(f(4, 10)[:, ::2], k53), V, "sgemm: the rows of `a`"),
    ("sgemm-beta-no-c", lambda: _C.sgemm(x45, k53, beta=1.0), V, "sgemm: beta=1.0 needs"),
    ("sgemm-c-shape", lambda: _C.sgemm(x45, k53, f(3, 4)), V, "sgemm: `c` must have shape"),
    ("sgemm-c-dtype", lambda: _C.sgemm(x45, k53, np.ones((4, 3))), T, "sgemm: `c`"),
    ("sgemm-c-readonly", lambda: _C.sgemm(x45, k53, readonly(f(4, 3))), V, "sgemm: `c` is read"),
    ("sgemm-c-overlap", lambda: _C.sgemm(sq, sq.copy(), sq), V, "sgemm: `c` must not overlap"),
    ("sgemm-c-overlap-strided", lambda: (lambda big: _C.sgemm(big[:4, :5], k53, big[3:7, 4:7]))(
        f(8, 9)), V, "sgemm: `c` must not overlap `a`"),
    ("sgemm-c-overlap-last-row", lambda: (lambda big: _C.sgemm(k53, big[:3, :4], big[2:7, 3:7]))(
        f(7, 9)), V, "sgemm: `c` must not overlap `a` or `b`"),
    ("sgemm-big-endian", lambda: _C.sgemm(x45.astype(">f4"), k53), T, "sgemm: `a` must be a 2-D"),
    ("sgemm-work-small", lambda: _C.sgemm(x45, k53, work=f(1)), V, "sgemm: `work` needs"),
    # ---- conv2d
    ("conv-x-3d", lambda: _C.conv2d_forward(f(5, 5, 3), ker), V, "conv2d_forward: `x` must have 4"),
    ("conv-kernel-3d", lambda: _C.conv2d_forward(img, f(3, 3, 3)), V, "conv2d_forward"),
    ("conv-channels", lambda: _C.conv2d_forward(img, f(3, 3, 2, 4)), V,
     "conv2d_forward: input .* has 3 channels"),
    ("conv-bias-length", lambda: _C.conv2d_forward(img, ker, f(3)), V, "conv2d_forward: bias"),
    ("conv-empty-batch", lambda: _C.conv2d_forward(f(0, 5, 5, 3), ker), V,
     "conv2d_forward: empty"),
    ("conv-kernel-too-big", lambda: _C.conv2d_forward(f(1, 2, 5, 3), ker), V,
     "conv2d_forward: the window 3x3 is larger"),
    ("conv-padding-full", lambda: _C.conv2d_forward(img, ker, padding="full"), V,
     "conv2d_forward: `padding`"),
    ("conv-stride-0", lambda: _C.conv2d_forward(img, ker, strides=0), V,
     "conv2d_forward: `strides`"),
    ("conv-stride-3-tuple", lambda: _C.conv2d_forward(img, ker, strides=(1, 2, 3)), V,
     "conv2d_forward: `strides`"),
    ("conv-stride-float", lambda: _C.conv2d_forward(img, ker, strides=1.5), V,
     "conv2d_forward: `strides`"),
    ("conv-float64", lambda: _C.conv2d_forward(img.astype(float), ker), T, "conv2d_forward"),
    ("conv-noncontig", lambda: _C.conv2d_forward(f(2, 5, 5, 6)[..., ::2], ker), V,
     "conv2d_forward.*contiguous"),
    ("conv-out-shape", lambda: _C.conv2d_forward(img, ker, out=f(2, 5, 5, 4)), V,
     "conv2d_forward: `out`"),
    ("conv-bwd-in-dy", lambda: _C.conv2d_backward_input(f(2, 5, 5, 4), ker, img.shape), V,
     "conv2d_backward_input: dy must have shape"),
    ("conv-bwd-in-channels", lambda: _C.conv2d_backward_input(f(2, 3, 3, 4), ker, (2, 5, 5, 2)),
     V, "conv2d_backward_input"),
    ("conv-bwd-w-dy", lambda: _C.conv2d_backward_weight(f(2, 4, 3, 4), img, 3), V,
     "conv2d_backward_weight: dy must have shape"),
    ("conv-bwd-w-kernel-size", lambda: _C.conv2d_backward_weight(f(2, 3, 3, 4), img, 0), V,
     "conv2d_backward_weight: `kernel_size`"),
    # ---- maxpool
    ("pool-x-3d", lambda: _C.maxpool2d_forward(f(4, 4, 2)), V, "maxpool2d_forward"),
    ("pool-empty-batch", lambda: _C.maxpool2d_forward(f(0, 4, 4, 2)), V, "maxpool2d_forward"),
    ("pool-too-big", lambda: _C.maxpool2d_forward(pimg, 5), V, "maxpool2d_forward: the window"),
    ("pool-padding-full", lambda: _C.maxpool2d_forward(pimg, padding="full"), V,
     "maxpool2d_forward: `padding`"),
    ("pool-stride-0", lambda: _C.maxpool2d_forward(pimg, strides=(0, 1)), V,
     "maxpool2d_forward: `strides`"),
    ("pool-float64", lambda: _C.maxpool2d_forward(pimg.astype(float)), T, "maxpool2d_forward"),
    ("pool-bwd-argmax-range", lambda: _C.maxpool2d_backward(pdy, pam + 16, pimg.shape), V,
     "maxpool2d_backward: argmax holds positions outside"),
    ("pool-bwd-argmax-negative", lambda: _C.maxpool2d_backward(pdy, pam - 1, pimg.shape), V,
     "maxpool2d_backward: argmax"),
    ("pool-bwd-argmax-int64", lambda: _C.maxpool2d_backward(pdy, pam.astype(np.int64), pimg.shape),
     T, "maxpool2d_backward: `argmax`"),
    ("pool-bwd-dy-shape", lambda: _C.maxpool2d_backward(f(1, 2, 2, 1), pam, pimg.shape), V,
     "maxpool2d_backward: dy"),
    ("pool-out-argmax-dtype", lambda: _C.maxpool2d_forward(pimg, out_argmax=pdy.copy()), T,
     "maxpool2d_forward: `out_argmax`"),
    # ---- activations
    ("relu-empty", lambda: _C.relu_forward(f(0, 3)), V, "relu_forward: `x` is empty"),
    ("sigmoid-float64", lambda: _C.sigmoid_forward(np.ones(3)), T, "sigmoid_forward"),
    ("tanh-noncontig", lambda: _C.tanh_forward(f(6)[::2]), V, "tanh_forward.*contiguous"),
    ("tanh-bwd-shapes", lambda: _C.tanh_backward(f(3), f(4)), V, "tanh_backward: `dy` and `y`"),
    ("relu-bwd-empty", lambda: _C.relu_backward(f(0), f(0)), V, "relu_backward"),
    ("softmax-empty", lambda: _C.softmax_forward(f(3, 0)), V, "softmax_forward"),
    ("softmax-bwd-shapes", lambda: _C.softmax_backward(f(2, 3), f(3, 2)), V, "softmax_backward"),
    ("softmax-0d", lambda: _C.softmax_forward(np.array(1, np.float32)), V, "softmax_forward"),
    # ---- dropout
    ("dropout-rate-neg", lambda: _C.dropout_forward(sq, -0.1, 1), V, "dropout_forward: `rate`"),
    ("dropout-rate-big", lambda: _C.dropout_forward(sq, 1.5, 1), V, "dropout_forward: `rate`"),
    ("dropout-seed-neg", lambda: _C.dropout_forward(sq, 0.5, -1), V, "dropout_forward: `seed`"),
    ("dropout-seed-2**64", lambda: _C.dropout_backward(sq, 0.5, 2 ** 64), V, "dropout_backward"),
    ("dropout-empty", lambda: _C.dropout_forward(f(0), 0.5, 1), V, "dropout_forward"),
    ("dropout-rate-str", lambda: _C.dropout_forward(sq, "abc", 1), V, "dropout_forward"),
    ("dropout-offset-neg", lambda: _C.dropout_forward(sq, 0.5, 1, offset=-1), V, "dropout_forward: element"),
    ("dropout-offset-2**32", lambda: _C.dropout_backward(sq, 0.5, 1, offset=2 ** 32 - 1), V,
     "dropout_backward: element"),
    # ---- cross-entropy
    ("ce-empty", lambda: _C.softmax_cross_entropy_forward(f(0, 5), f(0, 5)), V,
     "softmax_cross_entropy_forward"),
    ("ce-logits-1d", lambda: _C.softmax_cross_entropy_forward(f(5), f(5)), V,
     "softmax_cross_entropy_forward: `logits`"),
    ("ce-targets-shape", lambda: _C.softmax_cross_entropy_forward(z35, f(3, 4)), V,
     "softmax_cross_entropy_forward: `logits` and `targets`"),
    ("ce-bwd-targets-shape", lambda: _C.softmax_cross_entropy_backward(z35, f(2, 5)), V,
     "softmax_cross_entropy_backward"),
    ("sparse-label-high", lambda: _C.sparse_softmax_cross_entropy_forward(z35, lab3 + 1), V,
     r"sparse_softmax_cross_entropy_forward: labels must be in \[0, 5\)"),
    ("sparse-label-negative", lambda: _C.sparse_softmax_cross_entropy_backward(z35, lab3 - 1), V,
     "sparse_softmax_cross_entropy_backward: labels"),
    ("sparse-labels-length", lambda: _C.sparse_softmax_cross_entropy_forward(z35, lab3[:2]), V,
     "sparse_softmax_cross_entropy_forward: 2 labels for a batch of 3"),
    ("sparse-labels-float", lambda: _C.sparse_softmax_cross_entropy_forward(z35, f(3)), T,
     "sparse_softmax_cross_entropy_forward: `labels`"),
    ("sparse-labels-2d", lambda: _C.sparse_softmax_cross_entropy_forward(z35, lab3[:, None]), V,
     "sparse_softmax_cross_entropy_forward: `labels`"),
    ("sparse-empty", lambda: _C.sparse_softmax_cross_entropy_forward(f(0, 5), lab3[:0]), V,
     "sparse_softmax_cross_entropy_forward"),
    ("ops-sparse-label-high", lambda: ops.sparse_softmax_cross_entropy_forward(z35, [0, 1, 5]),
     V, "sparse_softmax_cross_entropy_forward: labels"),
    # ---- optimizers
    ("adam-step-0", lambda: _C.adam_update(f(3), f(3), f(3), f(3), step=0), V,
     "adam_update: `step`"),
    ("adam-grad-shape", lambda: _C.adam_update(f(3), f(3), f(3), f(4)), V, "adam_update"),
    ("adam-readonly-param", lambda: _C.adam_update(readonly(f(3)), f(3), f(3), f(3)), V,
     "adam_update: `param` is read-only"),
    ("adam-m-is-param", lambda: _C.adam_update(sq, sq, f(4, 4), f(4, 4)), V,
     "adam_update: `m` must not overlap"),
    ("adam-float64", lambda: _C.adam_update(np.ones(3), f(3), f(3), f(3)), T, "adam_update"),
    ("sgd-momentum-no-buffer", lambda: _C.sgd_update(f(3), None, f(3), momentum=0.9), V,
     "sgd_update: momentum=0.9 needs"),
    ("sgd-readonly-param", lambda: _C.sgd_update(readonly(f(3)), None, f(3)), V,
     "sgd_update: `param` is read-only"),
    ("rmsprop-momentum-no-buffer", lambda: _C.rmsprop_update(f(3), f(3), None, f(3),
                                                             momentum=0.5), V, "rmsprop_update"),
    ("rmsprop-velocity-shape", lambda: _C.rmsprop_update(f(3), f(2), None, f(3)), V,
     "rmsprop_update"),
    ("ops-sgd-momentum-no-buffer", lambda: ops.sgd_update(f(3), None, f(3), momentum=0.9), V,
     "sgd_update"),
    # ---- bytes the C code cannot read as they are (both were read as garbage: swapped
    # int32 labels or argmax were used as indices, a segfault)
    ("dense-byteswapped", lambda: _C.dense_forward(swapped(x45), k53), T,
     "dense_forward: `x` must be in native byte order, received dtype >f4"),
    ("sparse-labels-byteswapped", lambda: _C.sparse_softmax_cross_entropy_forward(
        z35, swapped(lab3)), T, "sparse_softmax_cross_entropy_forward: `labels` must be in native"),
    ("pool-bwd-argmax-byteswapped", lambda: _C.maxpool2d_backward(pdy, swapped(pam), pimg.shape),
     T, "maxpool2d_backward: `argmax` must be in native"),
    ("adam-out-byteswapped", lambda: _C.adam_update(f(3), swapped(f(3)), f(3), f(3)), T,
     "adam_update: `m` must be in native"),
    ("sgemm-byteswapped", lambda: _C.sgemm(swapped(x45), k53), T, "sgemm: `a` must be a 2-D"),
    ("relu-unaligned", lambda: _C.relu_forward(unaligned(f(10))), V,
     "relu_forward: `x` must be aligned"),
    ("conv-unaligned-out", lambda: _C.conv2d_forward(img, ker, out=unaligned(f(2, 3, 3, 4))), V,
     "conv2d_forward: `out` must be aligned"),
    ("sgemm-unaligned", lambda: _C.sgemm(unaligned(x45), k53), V, "sgemm: `a` must be aligned"),
    ("sgemm-column-negative-stride", lambda: _C.sgemm(f(4, 3)[::-1, :1], f(1, 2)), V,
     "sgemm: `a` has an unsupported row stride"),
    ("sgemm-column-zero-stride", lambda: _C.sgemm(np.broadcast_to(f(1, 1), (4, 1)), f(1, 2)), V,
     "sgemm: `a` has an unsupported row stride"),
    ("ops-labels-beyond-int32", lambda: ops.sparse_softmax_cross_entropy_forward(
        z35, [0, 1, 2 ** 32]), V, "sparse_softmax_cross_entropy_forward: labels must fit in int32"),
    ("ops-complex", lambda: ops.relu_forward(np.ones(3, complex)), T, "relu_forward: expected real"),
    ("ops-inplace-unaligned", lambda: ops.sgd_update(unaligned(f(3)), None, f(3)), T,
     "sgd_update: `param` is updated in place"),
    # ---- thread counts
    ("threads-0", lambda: _C.set_num_threads(0), V, "set_num_threads: the thread count must be"),
    ("threads-huge", lambda: _C.set_num_threads(100000), V, r"between 1 and \d+, received 100000"),
    ("threads-beyond-int", lambda: _C.set_num_threads(2 ** 40), V, "set_num_threads"),
    ("threads-float", lambda: _C.set_num_threads(2.0), T, "set_num_threads"),
]
BAD_IDS = [b.values[0] if hasattr(b, "values") else b[0] for b in BAD]


@pytest.mark.parametrize("_, call, exc, match", BAD, ids=BAD_IDS)
def test_bad_call_raises_naming_the_op(_, call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ---- fastnn.ops: TypeError for what cannot be converted ---------------------------

NOT_NUMERIC = [  # every ops function runs its inputs through the same converters
    ("object-array", lambda: ops.dense_forward(np.array([[object()]]), np.ones((1, 1))),
     "dense_forward"),
    ("string", lambda: ops.relu_forward("abc"), "relu_forward"),
    ("float-labels", lambda: ops.sparse_softmax_cross_entropy_forward(z35, [0.0, 1.0, 2.0]),
     "sparse_softmax_cross_entropy_forward"),
    ("float64-param", lambda: ops.adam_update(np.ones(3), f(3), f(3), f(3)), "adam_update"),
]


@pytest.mark.parametrize("_, call, op", NOT_NUMERIC, ids=[c[0] for c in NOT_NUMERIC])
def test_ops_rejects_unconvertible_inputs(_, call, op):
    with pytest.raises(TypeError):
        call()


@pytest.mark.parametrize("_, call, op", NOT_NUMERIC, ids=[c[0] for c in NOT_NUMERIC])
def test_ops_type_errors_name_the_op(_, call, op):
    with pytest.raises(TypeError, match=op):
        call()


# ---- fastnn.ops converts dtypes and layouts ---------------------------------------

def test_ops_converts_float64_and_layouts(rand):
    x, w, b = rand((6, 5), np.float64), rand((5, 3), np.float64), rand(3, np.float64)
    expected = ref.dense_forward(x, w, b).astype(np.float32)
    for xx in [x, np.asfortranarray(x), np.repeat(x, 2, axis=1)[:, ::2], x.tolist()]:
        y = ops.dense_forward(xx, w, b)
        assert y.dtype == np.float32
        np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)
    a = rand((6, 5))
    for aa in [np.asfortranarray(a), np.repeat(a, 3, axis=1)[:, ::3], a.astype(np.float64)]:
        np.testing.assert_allclose(ops.sgemm(aa, w), ref.sgemm(a, w.astype(np.float32)),
                                   rtol=1e-5, atol=1e-6)


def test_ops_conv_and_pool_accept_fortran_order(rand):
    x, k = rand((2, 6, 5, 3), np.float64), rand((3, 2, 3, 4), np.float64)
    xf = np.asfortranarray(x)
    np.testing.assert_allclose(ops.conv2d_forward(xf, k, None, 2, "same"),
                               ref.conv2d_forward(x, k, None, 2, "same"), rtol=1e-5, atol=1e-5)
    y, am = ops.maxpool2d_forward(xf, 2, 1, "same")
    ry, ram = ref.maxpool2d_forward(x.astype(np.float32), 2, 1, "same")
    np.testing.assert_array_equal(y, ry)
    np.testing.assert_array_equal(am, ram)
    dy = rand(y.shape, np.float64)
    dx = ops.maxpool2d_backward(dy, am.astype(np.int64), x.shape, 2, 1, "same")
    np.testing.assert_allclose(dx, ref.maxpool2d_backward(dy, ram, x.shape, 2, 1, "same"),
                               rtol=1e-5, atol=1e-6)


def test_ops_converts_byte_order_and_alignment(rand):
    x, w = rand((6, 5)), rand((5, 3))
    expected = _C.dense_forward(x, w)
    for xx in [swapped(x), unaligned(x), unaligned(swapped(x))]:
        np.testing.assert_array_equal(ops.dense_forward(xx, w), expected)
    z, labels = rand((4, 6)), np.array([5, 0, 3, 3])
    expected = _C.sparse_softmax_cross_entropy_forward(z, labels.astype(np.int32))
    for ll in [swapped(labels), swapped(labels.astype(np.int32)), unaligned(labels)]:
        for a, b in zip(ops.sparse_softmax_cross_entropy_forward(z, ll), expected):
            np.testing.assert_array_equal(a, b)


def test_sgemm_reads_and_writes_strided_single_columns(rand):
    """(n, 1) column views of wider arrays: their row stride is the wide array's (they
    were once read and written as if contiguous: wrong values, other columns overwritten)."""
    wide_a, b = rand((10, 3)), rand((1, 4))
    a = wide_a[:, 1:2]
    np.testing.assert_allclose(_C.sgemm(a, b), a @ b, rtol=1e-6)
    wide_c = rand((4, 3))
    before = wide_c.copy()
    x, y = rand((4, 2)), rand((2, 1))
    _C.sgemm(x, y, wide_c[:, 2:3])
    np.testing.assert_allclose(wide_c[:, 2:3], x @ y, rtol=1e-6)
    np.testing.assert_array_equal(wide_c[:, :2], before[:, :2])
    row = rand((1, 8))[:, ::2]  # one row, strided columns: refused, not misread
    with pytest.raises(ValueError, match="rows of `a` must be contiguous"):
        _C.sgemm(row, rand((4, 2)))


def test_ops_updates_in_place(rand):
    w, g = rand(7), rand(7, np.float64)
    expected = w - np.float32(0.1) * g.astype(np.float32)
    ops.sgd_update(w, None, g, learning_rate=0.1)  # float64 grad is converted
    np.testing.assert_allclose(w, expected, rtol=1e-6)


def test_ops_keeps_the_shape_of_0d_input():
    assert ops.relu_forward(np.float64(3.0)).shape == ()
