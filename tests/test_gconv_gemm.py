"""The GEMM path of grouped and dilated convolution (csrc/conv2d_grouped.c: im2col per
group into the workspace + fnn_sgemm): against the NumPy twins on every ISA and thread
count, on shapes that take it (many channels per group) with edge cases (strides, valid and
same padding, dilation, a 1x1 kernel, images split into several chunks), bitwise
thread-count independence, and a caller's workspace."""
import numpy as np
import pytest

import fastnn
from fastnn import _C
from fastnn import _reference as ref

# (x shape, kernel shape, strides, padding, dilation, groups)
SHAPES = [((3, 9, 9, 16), (3, 3, 8, 16), 1, "same", 1, 2),
          ((2, 10, 10, 32), (3, 3, 32, 24), 1, "same", 2, 1),
          ((2, 11, 9, 24), (3, 3, 8, 24), 2, "valid", 2, 3),
          ((4, 7, 7, 64), (1, 1, 32, 32), 1, "valid", 1, 2),
          ((3, 8, 8, 48), (3, 2, 12, 32), (2, 1), "same", (1, 3), 4),
          ((70, 12, 12, 64), (3, 3, 16, 64), 1, "same", 1, 4)]  # more than one image chunk


def close(got, want):
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=2e-5 * max(1.0, np.abs(want).max()))


@pytest.mark.parametrize("xs, ks, strides, padding, dilation, groups", SHAPES, ids=str)
def test_gemm_path_matches_twin(rng, isa, threads, xs, ks, strides, padding, dilation, groups):
    assert _C.gconv2d_uses_gemm(xs, ks, strides, padding, dilation, groups)
    x = rng.standard_normal(xs).astype(np.float32)
    k = rng.standard_normal(ks).astype(np.float32)
    b = rng.standard_normal(ks[3]).astype(np.float32)
    args = (strides, padding, dilation, groups)
    x64, k64 = x.astype(np.float64), k.astype(np.float64)
    y = _C.gconv2d_forward(x, k, b, *args)
    close(y, ref.gconv2d_forward(x64, k64, b.astype(np.float64), *args))
    dy = rng.standard_normal(y.shape).astype(np.float32)
    close(_C.gconv2d_backward_input(dy, k, xs, *args),
          ref.gconv2d_backward_input(dy.astype(np.float64), k64, xs, *args))
    dw, db = _C.gconv2d_backward_weight(dy, x, ks, *args)
    rw, rb = ref.gconv2d_backward_weight(dy.astype(np.float64), x64, ks, *args)
    close(dw, rw)
    close(db, rb)


def test_depthwise_and_thin_groups_keep_the_direct_path():
    assert not _C.gconv2d_uses_gemm((2, 8, 8, 16), (3, 3, 1, 16), 1, "same", 1, 16)
    assert not _C.gconv2d_uses_gemm((2, 8, 8, 16), (3, 3, 2, 8), 1, "same", 1, 8)


def test_gemm_path_is_bitwise_thread_count_independent(rng):
    x = rng.standard_normal((70, 12, 12, 64)).astype(np.float32)
    k = rng.standard_normal((3, 3, 16, 64)).astype(np.float32)
    outs = []
    old = fastnn.get_num_threads()
    try:
        for n in (1, 2):
            fastnn.set_num_threads(n)
            y = _C.gconv2d_forward(x, k, None, 1, "same", 2, 4)
            outs.append([y, _C.gconv2d_backward_input(y, k, x.shape, 1, "same", 2, 4),
                         *_C.gconv2d_backward_weight(y, x, k.shape, 1, "same", 2, 4)])
    finally:
        fastnn.set_num_threads(old)
    for a, b in zip(*outs):
        assert a.tobytes() == b.tobytes()


def test_a_callers_workspace_is_used_and_checked(rng):
    x = rng.standard_normal((2, 6, 6, 32)).astype(np.float32)
    k = rng.standard_normal((3, 3, 16, 32)).astype(np.float32)
    size = _C.gconv2d_workspace_size(x.shape, k.shape, 1, "same", 1, 2)
    work = np.zeros(size, np.float32)
    want = _C.gconv2d_forward(x, k, None, 1, "same", 1, 2)
    np.testing.assert_array_equal(_C.gconv2d_forward(x, k, None, 1, "same", 1, 2, work=work),
                                  want)
    assert np.any(work != 0)
    with pytest.raises(ValueError, match="`work` needs"):
        _C.gconv2d_forward(x, k, None, 1, "same", 1, 2, work=work[:10])
