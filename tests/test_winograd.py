"""The Winograd F(2x2, 3x3) path of 3x3 stride-1 Conv2D (csrc/conv2d_winograd.c) against
the exact NumPy twins and against the GEMM path, forced with _C.conv2d_set_winograd.

Tolerance: the same as the kernel tests (rtol 1e-4, atol 1e-5 * sqrt(terms) * max|twin|).
The transforms only add, subtract and halve, so float32 error grows by a small constant
factor; observed max |winograd - twin| / max|twin| is ~1e-6 on these shapes."""
import contextlib

import numpy as np
import pytest

import fastnn
from fastnn import _C
from fastnn import _reference as ref

from test_kernels import assert_close


@contextlib.contextmanager
def winograd(mode):
    old = _C.conv2d_set_winograd(mode)
    try:
        yield
    finally:
        _C.conv2d_set_winograd(old)


def all_passes(x, w, b, dy, padding, relu=False):
    y = _C.conv2d_forward(x, w, b, 1, padding, relu=relu)
    dx = _C.conv2d_backward_input(dy, w, x.shape, 1, padding)
    dw, db = _C.conv2d_backward_weight(dy, x, 3, 1, padding, b is not None)
    return y, dx, dw, db


# (id, x shape NHWC, filters): odd H and W (edge tiles), C and F not multiples of 16 (nor
# of any MR or NR), batches 1 and 3 (fewer images than the lanes of a register tile), a
# batch past one register tile (13 > MR = 12), a 1x1 image, wide and narrow images.
SHAPES = [
    ("1-5x7-c9-f11", (1, 5, 7, 9), 11),
    ("3-7x6-c17-f33", (3, 7, 6, 17), 33),
    ("3-3x3-c8-f8", (3, 3, 3, 8), 8),
    ("1-1x1-c8-f19", (1, 1, 1, 8), 19),
    ("13-9x8-c19-f13", (13, 9, 8, 19), 13),
    ("2-4x17-c40-f70", (2, 4, 17, 40), 70),
    ("3-13x13-c32-f64", (3, 13, 13, 32), 64),
]


CASES = [(name, xs, f, padding) for name, xs, f in SHAPES for padding in ("valid", "same")
         if padding == "same" or min(xs[1:3]) >= 3]


@pytest.mark.parametrize("relu", [False, True], ids=["linear", "relu"])
@pytest.mark.parametrize("use_bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("_, xs, f, padding", CASES, ids=[f"{c[0]}-{c[3]}" for c in CASES])
def test_winograd_matches_twin_and_gemm_path(rand, isa, threads, _, xs, f, padding, use_bias,
                                             relu):
    c = xs[3]
    x, w = rand(xs), rand((3, 3, c, f))
    b = rand(f) if use_bias else None
    oh, ow = (xs[1] - 2, xs[2] - 2) if padding == "valid" else xs[1:3]
    dy = rand((xs[0], oh, ow, f))
    with winograd("always"):
        y, dx, dw, db = all_passes(x, w, b, dy, padding, relu)
    with winograd("never"):
        gy, gdx, gdw, gdb = all_passes(x, w, b, dy, padding, relu)
    rows = xs[0] * oh * ow
    linear = ref.conv2d_forward(x, w, b, 1, padding)
    ry = np.maximum(linear, 0) if relu else linear
    near_kink = relu & (np.abs(linear) < 1e-4 * np.sqrt(9 * c))  # clipped on one side only
    for got in (y, gy):
        assert_close(np.where(near_kink, 0, got), np.where(near_kink, 0, ry), 9 * c)
    rdx = ref.conv2d_backward_input(dy, w, xs, 1, padding)
    rdw, rdb = ref.conv2d_backward_weight(dy, x, 3, 1, padding, use_bias)
    for got, want, k in ((dx, rdx, 9 * f), (gdx, rdx, 9 * f), (dw, rdw, rows), (gdw, rdw, rows)):
        assert_close(got, want, k)
    assert (db is None) == (not use_bias)
    if use_bias:
        assert_close(db, rdb, rows)
        assert_close(gdb, rdb, rows)
    assert_close(y, gy, 9 * c)
    assert_close(dx, gdx, 9 * f)
    assert_close(dw, gdw, rows)


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_winograd_bitwise_identical_for_1_2_3_threads(rand, isa, padding):
    """Big enough that every pass splits its work (2 and 3 threads on 2 cores)."""
    x, w, b = rand((29, 15, 13, 24)), rand((3, 3, 24, 40)), rand(40)
    y0 = ref.conv2d_forward(x, w, b, 1, padding)
    dy = rand(y0.shape)
    old = fastnn.get_num_threads()
    outs = []
    try:
        with winograd("always"):
            for n in (1, 2, 3):
                fastnn.set_num_threads(n)
                outs.append(all_passes(x, w, b, dy, padding, relu=True))
    finally:
        fastnn.set_num_threads(old)
    for other in outs[1:]:
        for a, o in zip(outs[0], other):
            assert a.tobytes() == o.tobytes()


def test_auto_mode_takes_winograd_where_it_pays(rand):
    """auto gives the bits of "always" on the seed CNN's conv2 (C=32, F=64), and on its
    first layer (C=1) those of "never" for the passes that layer runs (forward, weight
    gradient), and for backward_input too: below 4 input channels it scatters dP tiles
    (conv2d.c), 8x faster than Winograd at C=1, whose output channels pad to NR lanes."""
    cases = [((48, 13, 13, 32), 64, ("always", "always", "always")),
             ((16, 28, 28, 1), 32, ("never", "never", "never")),
             ((48, 13, 13, 4), 16, ("always", "always", "never"))]
    for xs, f, expect in cases:
        x, w, b = rand(xs), rand((3, 3, xs[3], f)), rand(f)
        dy = rand((xs[0], xs[1] - 2, xs[2] - 2, f))
        with winograd("auto"):
            auto = all_passes(x, w, b, dy, "valid", relu=True)
        for i, mode in enumerate(expect):
            with winograd(mode):
                forced = all_passes(x, w, b, dy, "valid", relu=True)
            for j in ((0,), (1,), (2, 3))[i]:
                assert auto[j].tobytes() == forced[j].tobytes(), (xs, f, i, mode)


def test_nan_reaches_exactly_the_outputs_whose_window_holds_it(rand, isa):
    """The transforms never multiply by a structural 0, so a NaN input pixel makes NaN
    exactly the outputs (and input gradients, and no others) the direct convolution does;
    a NaN kernel entry makes its whole filter NaN; a NaN in dy poisons dw's filter."""
    x, w, b = rand((2, 9, 8, 10)), rand((3, 3, 10, 12)), rand(12)
    for pixel in [(0, 0, 0), (0, 4, 5), (1, 8, 7), (1, 3, 0)]:
        xn = x.copy()
        xn[pixel[0], pixel[1], pixel[2], 3] = np.nan
        for padding in ("valid", "same"):
            with winograd("always"):
                y = _C.conv2d_forward(xn, w, b, 1, padding, relu=True)
            want = ref.conv2d_forward(xn, w, b, 1, padding, relu=True)
            np.testing.assert_array_equal(np.isnan(y), np.isnan(want))
            dyn = np.zeros(want.shape, np.float32)
            dyn[tuple(pixel[:1]) + (min(pixel[1], want.shape[1] - 1),
                                    min(pixel[2], want.shape[2] - 1), 5)] = np.nan
            with winograd("always"):
                dx = _C.conv2d_backward_input(dyn, w, x.shape, 1, padding)
                dw, db = _C.conv2d_backward_weight(dyn, x, 3, 1, padding)
            np.testing.assert_array_equal(
                np.isnan(dx), np.isnan(ref.conv2d_backward_input(dyn, w, x.shape, 1, padding)))
            assert np.isnan(dw[..., 5]).all() and not np.isnan(np.delete(dw, 5, -1)).any()
            assert np.isnan(db[5]) and np.isnan(db).sum() == 1
    wn = w.copy()
    wn[2, 1, 4, 7] = np.nan
    with winograd("always"):
        y = _C.conv2d_forward(x, wn, b, 1, "same", relu=True)
    assert np.isnan(y[..., 7]).all() and not np.isnan(np.delete(y, 7, -1)).any()


def test_set_winograd_rejects_unknown_modes():
    with pytest.raises(ValueError, match="never"):
        _C.conv2d_set_winograd("sometimes")
