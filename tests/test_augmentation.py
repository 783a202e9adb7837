"""Augmentation layers in training: outputs against the NumPy twins for the parameters
the layer drew, exact gradients, reproducibility through random_state(), data-parallel
equivalence (a rank's share of a batch draws what one process draws), Keras's argument
validation, and a model that trains with them."""
import numpy as np
import pytest

from fastnn import _reference as ref
from fastnn import random
from fastnn.layers import (Conv2D, Dense, Flatten, Input, RandomBrightness, RandomContrast,
                           RandomCrop, RandomFlip, RandomRotation, RandomTranslation,
                           RandomZoom, Rescaling)
from fastnn.models import Sequential

WARPS = [lambda: RandomRotation(0.3, seed=1),
         lambda: RandomRotation((-0.1, 0.4), fill_mode="constant", fill_value=0.5,
                                interpolation="nearest", seed=2),
         lambda: RandomZoom(0.4, seed=3),
         lambda: RandomZoom((-0.5, 0.3), (0.1, 0.6), fill_mode="wrap", seed=4),
         lambda: RandomTranslation(0.3, 0.4, fill_mode="nearest", seed=5),
         lambda: RandomTranslation((-0.2, 0.0), 0.5, interpolation="nearest", seed=6)]


def images(rng, shape=(5, 8, 9, 3)):
    return rng.uniform(0, 255, shape).astype(np.float32)


@pytest.mark.parametrize("make", WARPS)
def test_warps_match_twin_and_gradient_is_the_adjoint(rng, threads, make):
    layer = make()
    x = images(rng)
    state = layer.random_state()
    y = layer(x, training=True)
    twin = make()
    twin.set_random_state(state)
    t = twin.transforms(*x.shape[:3]).astype(np.float32)
    np.testing.assert_allclose(y, ref.warp_forward(x, t, None, layer.interpolation,
                                                   layer.fill_mode, layer.fill_value),
                               atol=2e-3)
    assert not np.array_equal(y, x)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx = layer.backward(dy.copy())
    np.testing.assert_allclose(dx, ref.warp_backward(dy, t, x.shape, layer.interpolation,
                                                     layer.fill_mode), atol=1e-4)
    np.testing.assert_array_equal(layer(x), x)  # inference: the identity


def test_flip_modes(rng):
    x = images(rng, (64, 4, 5, 2))
    for mode, axes in [("horizontal", (1,)), ("vertical", (0,)),
                       ("horizontal_and_vertical", (0, 1))]:
        layer = RandomFlip(mode, seed=11)
        y = layer(x, training=True)
        flipped = np.array([np.array_equal(y[i], np.flip(x[i], axes)) for i in range(64)])
        kept = np.array([np.array_equal(y[i], x[i]) for i in range(64)])
        assert (flipped | kept).all() and 16 < flipped.sum() < 48
        dy = rng.standard_normal(y.shape).astype(np.float32)
        dx = layer.backward(dy.copy())
        for i in range(64):
            np.testing.assert_array_equal(dx[i], np.flip(dy[i], axes) if flipped[i] else dy[i])


def test_rotation_angles_cover_the_range():
    layer = RandomRotation((0.0, 0.25), seed=3)
    t = layer.transforms(2000, 9, 9)
    angle = np.degrees(np.arctan2(t[:, 3], t[:, 0]))
    assert angle.min() >= 0 and angle.max() <= 90 and angle.min() < 1 and angle.max() > 89


def test_random_crop_training_window(rng):
    layer = RandomCrop(3, 4, seed=7)
    x = images(rng, (3, 6, 8, 2))
    y = layer(x, training=True)
    top, left = layer._box[:2]
    np.testing.assert_array_equal(y, x[:, top:top + 3, left:left + 4])
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx = layer.backward(dy)
    want = np.zeros_like(x)
    want[:, top:top + 3, left:left + 4] = dy
    np.testing.assert_array_equal(dx, want)
    seen = set()
    for _ in range(60):
        layer(x, training=True)
        seen.add(layer._box[:2])
    assert len(seen) > 10 and all(0 <= t <= 3 and 0 <= l <= 4 for t, l in seen)


@pytest.mark.parametrize("make, op", [(lambda: RandomContrast(0.5, seed=1), "contrast"),
                                      (lambda: RandomContrast((0.2, 0.9), (0, 1), seed=2),
                                       "contrast"),
                                      (lambda: RandomBrightness(0.4, seed=3), "brightness"),
                                      (lambda: RandomBrightness((-0.1, 0.5), [0, 1], seed=4),
                                       "brightness")])
def test_contrast_brightness_match_twin(rng, make, op):
    layer = make()
    hi = layer.value_range[1]
    x = rng.uniform(0, hi, (6, 4, 5, 3)).astype(np.float32)
    y = layer(x, training=True)
    per = layer._f if op == "contrast" else layer._d
    lo_f, hi_f = layer.factor
    if op == "contrast":
        assert ((per >= 1 - lo_f - 1e-6) & (per <= 1 + hi_f + 1e-6)).all()
    else:
        span = layer.value_range[1] - layer.value_range[0]
        assert ((per >= lo_f * span - 1e-4) & (per <= hi_f * span + 1e-4)).all()
    np.testing.assert_allclose(y, getattr(ref, f"{op}_forward")(x, per, layer.value_range),
                               atol=1e-4)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    np.testing.assert_allclose(layer.backward(dy.copy()),
                               getattr(ref, f"{op}_backward")(dy, x, per, layer.value_range),
                               atol=1e-5)


ALL = WARPS + [lambda: RandomFlip(seed=8), lambda: RandomCrop(4, 5, seed=9),
               lambda: RandomContrast(0.3, seed=10), lambda: RandomBrightness(0.3, seed=11)]


@pytest.mark.parametrize("make", ALL)
def test_reproducible_and_restorable(rng, make):
    x = images(rng, (4, 7, 8, 3))
    a, b = make(), make()
    ya1, ya2 = a(x, training=True), a(x, training=True)
    assert not np.array_equal(ya1, ya2)  # a new draw per call
    np.testing.assert_array_equal(b(x, training=True), ya1)  # same seed, same stream
    state = a.random_state()
    y3 = a(x, training=True)
    a.set_random_state(state)
    np.testing.assert_array_equal(a(x, training=True), y3)
    b.skip_batch()
    np.testing.assert_array_equal(b(x, training=True), y3)


@pytest.mark.parametrize("make", ALL)
def test_rank_shares_draw_what_one_process_draws(rng, make):
    x = images(rng, (6, 7, 8, 3))
    whole = make()(x, training=True)
    parts = []
    try:
        for lo, hi in [(0, 2), (2, 6)]:
            layer = make()
            random.set_batch_offset(lo)
            parts.append(layer(x[lo:hi], training=True))
    finally:
        random.set_batch_offset(0)
    np.testing.assert_array_equal(np.concatenate(parts), whole)


@pytest.mark.parametrize("call, message", [
    (lambda: RandomFlip("diagonal"), "unknown mode argument"),
    (lambda: RandomRotation(2.0), r"range \[-1, 1\]. Received: factor=2.0"),
    (lambda: RandomRotation((0.1, 0.2, 0.3)), "list of two numbers"),
    (lambda: RandomZoom(-1.0), r"\(-1.0, 1.0\]. Received: input_number=-1.0"),
    (lambda: RandomZoom(0.1, width_factor=1.5), "input_number=1.5"),
    (lambda: RandomTranslation(0.1, -1.2), r"\[-1.0, 1.0\]. Received: input_number=-1.2"),
    (lambda: RandomContrast(-0.1), r"range \[0, 1\]. Received: factor=-0.1"),
    (lambda: RandomBrightness(1.5), r"range \[-1, 1\]. Received: factor=1.5"),
    (lambda: RandomBrightness(0.1, value_range=(0, 1, 2)), "`value_range` argument"),
    (lambda: RandomCrop(0, 3), "expected a positive integer"),
    (lambda: RandomRotation(0.1, seed="x"), "`seed` must be an int"),
])
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("layer", [RandomRotation, RandomZoom])
def test_unknown_fill_mode_and_interpolation(layer):
    with pytest.raises(NotImplementedError, match="Unknown `fill_mode` mirror"):
        layer(0.1, fill_mode="mirror")
    with pytest.raises(NotImplementedError, match="Unknown `interpolation` cubic"):
        layer(0.1, interpolation="cubic")


def test_model_trains_with_augmentation(rng):
    x = rng.uniform(0, 255, (64, 8, 8, 1)).astype(np.float32)
    y = (x[:, :4].mean(axis=(1, 2, 3)) > x[:, 4:].mean(axis=(1, 2, 3))).astype(np.int32)
    model = Sequential([Input((8, 8, 1)), Rescaling(1 / 255.0), RandomFlip("horizontal"),
                        RandomRotation(0.05), RandomZoom(0.1), RandomTranslation(0.05, 0.05),
                        RandomContrast(0.1, value_range=(0, 1)),
                        RandomBrightness(0.05, value_range=(0, 1)), Conv2D(4, 3),
                        Flatten(), Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert np.isfinite(hist.history["loss"]).all()
    p1, p2 = model.predict(x, verbose=0), model.predict(x, verbose=0)
    np.testing.assert_array_equal(p1, p2)  # inference: no randomness
