"""The image kernels (csrc/image_ops.c) against their NumPy twins, against Keras 3 on
TensorFlow (tests/data/keras_image_ops.npz, made by tests/data/make_image_fixtures.py),
adjoint identities for the backward passes, finite differences for brightness/contrast,
and bitwise thread-count independence."""
import os

import numpy as np
import pytest

import fastnn
from fastnn import _C
from fastnn import _reference as ref

FIXTURES = np.load(os.path.join(os.path.dirname(__file__), "data", "keras_image_ops.npz"))


def keras_crop_box(h, w, th, tw):
    ch = max(min(h, int(float(w * th) / tw)), 1)
    cw = max(min(w, int(float(h * tw) / th)), 1)
    return int(float(h - ch) / 2), int(float(w - cw) / 2), ch, cw


@pytest.mark.parametrize("key", [k for k in FIXTURES.files if k.startswith("resize")])
def test_resize_matches_keras(key):
    _, interp, size, crop = key.split("_")
    oh, ow = map(int, size.split("x"))
    x = FIXTURES["x"]
    box = keras_crop_box(x.shape[1], x.shape[2], oh, ow) if crop == "crop" else None
    np.testing.assert_array_equal(_C.resize_forward(x, (oh, ow), interp, box), FIXTURES[key])
    np.testing.assert_allclose(ref.resize_forward(x, (oh, ow), interp, box), FIXTURES[key],
                               atol=1e-6)


@pytest.mark.parametrize("key", [k for k in FIXTURES.files if k.startswith("warp")])
def test_warp_matches_keras(key):
    _, interp, mode = key.split("_")
    x, t = FIXTURES["x"], FIXTURES["transforms"]
    np.testing.assert_array_equal(_C.warp_forward(x, t, None, interp, mode, 0.25), FIXTURES[key])
    np.testing.assert_allclose(ref.warp_forward(x, t, None, interp, mode, 0.25), FIXTURES[key],
                               atol=1e-6)


def random_transforms(rng, n, h, w):
    a = rng.uniform(-np.pi, np.pi, n)
    t = np.zeros((n, 8), np.float32)
    t[:, 0], t[:, 1] = np.cos(a) * rng.uniform(0.5, 1.5, n), -np.sin(a)
    t[:, 3], t[:, 4] = np.sin(a), np.cos(a) * rng.uniform(0.5, 1.5, n)
    t[:, 2], t[:, 5] = rng.uniform(-w, w, n), rng.uniform(-h, h, n)
    t[:, 6:] = rng.uniform(-0.01, 0.01, (n, 2))
    return t


@pytest.mark.parametrize("interp", ["bilinear", "nearest"])
@pytest.mark.parametrize("mode", ["reflect", "wrap", "nearest", "constant"])
@pytest.mark.parametrize("size", [None, (5, 13)])
def test_warp_twin_and_adjoint(rng, rand, threads, interp, mode, size):
    x = rand((3, 9, 11, 4))
    t = random_transforms(rng, 3, 9, 11)
    y = _C.warp_forward(x, t, size, interp, mode, 0.0)
    np.testing.assert_allclose(y, ref.warp_forward(x, t, size, interp, mode, 0.0), atol=1e-5)
    dy = rand(y.shape)
    dx = _C.warp_backward(dy, t, x.shape, interp, mode)
    np.testing.assert_allclose(dx, ref.warp_backward(dy, t, x.shape, interp, mode), atol=1e-5)
    # adjoint: <warp(x), dy> == <x, warp^T(dy)> (fill value 0 makes the map linear)
    np.testing.assert_allclose(np.sum(y * dy, dtype=np.float64),
                               np.sum(x * dx, dtype=np.float64), rtol=1e-4)


def test_warp_flip_and_crop_are_exact(rand):
    x = rand((2, 5, 6, 3))
    flip = np.array([[-1, 0, 5, 0, 1, 0, 0, 0]] * 2, np.float32)  # x_in = W - 1 - x_out
    np.testing.assert_array_equal(_C.warp_forward(x, flip, None, "nearest"), x[:, :, ::-1])
    crop = np.array([[1, 0, 2, 0, 1, 1, 0, 0]] * 2, np.float32)  # offset (1, 2)
    np.testing.assert_array_equal(_C.warp_forward(x, crop, (3, 3), "nearest"), x[:, 1:4, 2:5])


@pytest.mark.parametrize("interp", ["bilinear", "nearest"])
@pytest.mark.parametrize("xs, size, crop", [((2, 7, 9, 3), (4, 5), None),
                                            ((2, 7, 9, 3), (13, 20), (1, 2, 5, 6)),
                                            ((1, 1, 1, 2), (3, 2), None)])
def test_resize_twin_and_adjoint(rand, threads, interp, xs, size, crop):
    x = rand(xs)
    y = _C.resize_forward(x, size, interp, crop)
    np.testing.assert_allclose(y, ref.resize_forward(x, size, interp, crop), atol=1e-6)
    dy = rand(y.shape)
    dx = _C.resize_backward(dy, xs, interp, crop)
    np.testing.assert_allclose(dx, ref.resize_backward(dy, xs, interp, crop), atol=1e-5)
    np.testing.assert_allclose(np.sum(y * dy, dtype=np.float64),
                               np.sum(x * dx, dtype=np.float64), rtol=1e-4)


def test_scale_shift(rand):
    x = rand((4, 3, 5))
    s, b = rand((5,)), rand((5,))
    np.testing.assert_allclose(_C.scale_shift(x, s, b), ref.scale_shift(x, s, b), atol=1e-6)
    s2 = rand((15,))
    np.testing.assert_allclose(_C.scale_shift(x, s2), ref.scale_shift(x, s2), atol=1e-6)
    with pytest.raises(ValueError, match="trailing axes"):
        _C.scale_shift(x, rand((4,)))


def numeric_grad(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        hi = f()
        x[i] = old - eps
        lo = f()
        x[i] = old
        g[i] = (hi - lo) / (2 * eps)
    return g


@pytest.mark.parametrize("op", ["brightness", "contrast"])
def test_brightness_contrast(rand, threads, op):
    x = rand((3, 4, 5, 2), low=0, high=1)
    per = (rand((3,), low=-0.3, high=0.3) if op == "brightness"
           else rand((3,), low=0.5, high=1.5))
    fwd, bwd = getattr(_C, f"{op}_forward"), getattr(_C, f"{op}_backward")
    rfwd, rbwd = getattr(ref, f"{op}_forward"), getattr(ref, f"{op}_backward")
    y = fwd(x, per, (0.0, 1.0))
    np.testing.assert_allclose(y, rfwd(x, per, (0.0, 1.0)), atol=1e-6)
    assert y.min() >= 0 and y.max() <= 1
    dy = rand(x.shape)
    dx = bwd(dy, x, per, (0.0, 1.0))
    np.testing.assert_allclose(dx, rbwd(dy, x, per, (0.0, 1.0)), atol=1e-6)
    x64, p64, dy64 = x.astype(np.float64), per.astype(np.float64), dy.astype(np.float64)
    fd = numeric_grad(lambda: float(np.sum(rfwd(x64, p64, (0.0, 1.0)) * dy64)), x64)
    np.testing.assert_allclose(rbwd(dy64, x64, p64, (0.0, 1.0)), fd, atol=1e-6)


def test_thread_count_independence(rng, rand):
    x = rand((8, 40, 40, 3))
    t = random_transforms(rng, 8, 40, 40)
    outs = []
    old = fastnn.get_num_threads()
    try:
        for n in (1, 2):
            fastnn.set_num_threads(n)
            outs.append([_C.warp_forward(x, t), _C.warp_backward(x, t, x.shape),
                         _C.resize_forward(x, (57, 23)),
                         _C.resize_backward(_C.resize_forward(x, (57, 23)), x.shape),
                         _C.contrast_backward(x, x, np.ones(8, np.float32) * 0.7, (-1, 1))])
    finally:
        fastnn.set_num_threads(old)
    for a, b in zip(*outs):
        np.testing.assert_array_equal(a, b)


def test_bad_arguments(rand):
    x = rand((2, 4, 4, 1))
    t = np.zeros((2, 8), np.float32)
    with pytest.raises(ValueError, match="fill_mode"):
        _C.warp_forward(x, t, fill_mode="mirror")
    with pytest.raises(ValueError, match="interpolation"):
        _C.resize_forward(x, (2, 2), "bicubic")
    with pytest.raises(ValueError, match=r"\(2, 8\)"):
        _C.warp_forward(x, t[:1])
    with pytest.raises(ValueError, match="crop window"):
        _C.resize_forward(x, (2, 2), crop=(1, 1, 4, 4))
    with pytest.raises(ValueError, match="one value per image"):
        _C.brightness_forward(x, np.zeros(3, np.float32), (0, 1))
