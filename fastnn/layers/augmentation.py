"""Image augmentation layers: random flips, rotations, zooms, translations, crops,
contrast and brightness, active only in training (the identity at inference, as in
Keras 3).  Rotation, zoom, translation, flips and crops are projective warps
(csrc/image_ops.c, bit-exact with TensorFlow's ImageProjectiveTransformV3).

Randomness: each training call draws its parameters from a counter-based stream keyed by
(seed, call number, the sample's index in the global batch), like Dropout's mask: the
draws are reproducible, independent of the thread count and, in data-parallel training,
of the number of ranks; `random_state()`/`set_random_state()` save and restore the stream
(BackupAndRestore and fastnn.distributed use them).

Gradients: exact (the adjoint of the warp, the crop or the clip), so the layers may sit
anywhere in a model; at the model's input nothing reads them.
"""
import math
import numbers

import numpy as np

from fastnn import _C, random
from fastnn.layers.dense import positive_int
from fastnn.layers.layer import Layer
from fastnn.layers.preprocessing import _check_data_format, aspect_crop_box

FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("nearest", "bilinear")


def counter_uniform(seed, index):
    """Uniform floats in [0, 1), one per integer of `index` (an array), from the counter-
    based hash of (seed, index) that Dropout uses (24 bits each)."""
    idx = np.asarray(index, dtype=np.int64)
    bits = np.fromiter((_C.dropout_bits(seed, int(i) & 0xFFFFFFFF) for i in idx.reshape(-1)),
                       dtype=np.float64, count=idx.size)
    return (bits / 2.0 ** 24).reshape(idx.shape)


def _number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


class _RandomImage(Layer):
    """Seeded per-call randomness, rank checks, and identity outside training."""

    def _init_random(self, seed, data_format):
        _check_data_format(self, data_format)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
            raise ValueError(f"Layer '{self.name}': `seed` must be an int or None, received "
                             f"seed={seed!r}")
        self.seed = seed
        self._base_seed = random.draw_seed() if seed is None else int(seed) % 2 ** 63
        self._calls = 0
        self._active = False

    def check_input_shape(self, input_shape):
        if len(input_shape) != 4:
            raise self.incompatible(input_shape, f"expected ndim=4 (a batch of images), "
                                    f"found ndim={len(input_shape)}")

    def _step_seed(self):
        self._calls += 1
        return (self._base_seed * 1000003 + self._calls) % 2 ** 64

    def draw(self, n, k):
        """(n, k) uniforms for this call: row i belongs to the sample at global index
        batch_offset() + i."""
        first = random.batch_offset()
        idx = (first + np.arange(n, dtype=np.int64))[:, None] * k + np.arange(k)
        return counter_uniform(self._step_seed(), idx)

    def skip_batch(self):
        self._calls += 1

    def random_state(self):
        return {"seed": self._base_seed, "calls": self._calls}

    def set_random_state(self, state):
        self._base_seed, self._calls = int(state["seed"]), int(state["calls"])

    def forward(self, x, training=False):
        self._active = bool(training)
        return self.augment(x) if training else x

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        return self.augment_backward(dy) if self._active else dy


class _Warp(_RandomImage):
    """Augmentations that are projective warps of each image (transforms (N, 8))."""

    def _init_warp(self, fill_mode, interpolation, fill_value):
        if fill_mode not in FILL_MODES:
            raise NotImplementedError(f"Unknown `fill_mode` {fill_mode}. Expected of one "
                                      f"{FILL_MODES}.")
        if interpolation not in INTERPOLATIONS:
            raise NotImplementedError(f"Unknown `interpolation` {interpolation}. Expected of "
                                      f"one {INTERPOLATIONS}.")
        if not _number(fill_value):
            raise ValueError(f"Layer '{self.name}': `fill_value` must be a number, received "
                             f"fill_value={fill_value!r}")
        self.fill_mode, self.interpolation, self.fill_value = fill_mode, interpolation, \
            float(fill_value)

    def transforms(self, n, h, w):
        raise NotImplementedError

    def augment(self, x):
        self._x_shape = x.shape
        self._t = np.ascontiguousarray(self.transforms(*x.shape[:3]), dtype=np.float32)
        return _C.warp_forward(x, self._t, None, self.interpolation, self.fill_mode,
                               self.fill_value, out=self.buffer("y", x.shape))

    def augment_backward(self, dy):
        return _C.warp_backward(dy, self._t, self._x_shape, self.interpolation, self.fill_mode,
                                out=self.buffer("dx", self._x_shape))

    def _warp_config(self):
        return {"data_format": "channels_last", "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "interpolation": self.interpolation,
                "seed": self.seed}


def affine_matrix(angle, scale, h, w):
    """Keras's rotation-about-the-centre transforms (angle in radians, per image)."""
    cx, cy = 0.5 * (w - 1), 0.5 * (h - 1)
    c, s = np.cos(angle), np.sin(angle)
    a0, a1, b0, b1 = scale * c, -scale * s, scale * s, scale * c
    t = np.zeros((len(angle), 8))
    t[:, 0], t[:, 1], t[:, 2] = a0, a1, cx - cx * a0 - cy * a1
    t[:, 3], t[:, 4], t[:, 5] = b0, b1, cy - cx * b0 - cy * b1
    return t


HORIZONTAL, VERTICAL, BOTH = "horizontal", "vertical", "horizontal_and_vertical"


class RandomFlip(_RandomImage):
    """Randomly flips each image while training: mode "horizontal", "vertical" or
    "horizontal_and_vertical" (as Keras 3, one draw per image: with probability 1/2 it
    is flipped, along both axes in the last mode).

    >>> import numpy as np
    >>> RandomFlip("horizontal", seed=1)(np.ones((2, 4, 4, 3))).shape  # inference: identity
    (2, 4, 4, 3)
    """

    def __init__(self, mode=BOTH, seed=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if mode not in (HORIZONTAL, VERTICAL, BOTH):
            raise ValueError(f"RandomFlip layer {self.name} received an unknown mode argument "
                             f"{mode!r}: expected one of '{HORIZONTAL}', '{VERTICAL}', '{BOTH}'")
        self.mode = mode
        self._init_random(seed, data_format)

    def augment(self, x):
        n, h, w = x.shape[:3]
        flip = self.draw(n, 1)[:, 0] <= 0.5
        t = np.zeros((n, 8), np.float32)
        t[:, 0] = t[:, 4] = 1
        if self.mode in (HORIZONTAL, BOTH):
            t[flip, 0], t[flip, 2] = -1, w - 1
        if self.mode in (VERTICAL, BOTH):
            t[flip, 4], t[flip, 5] = -1, h - 1
        self._t, self._x_shape = t, x.shape
        return _C.warp_forward(x, t, None, "nearest", "constant", 0.0,
                               out=self.buffer("y", x.shape))

    def augment_backward(self, dy):
        return _C.warp_backward(dy, self._t, self._x_shape, "nearest", "constant",
                                out=self.buffer("dx", self._x_shape))

    def get_config(self):
        return {**super().get_config(), "data_format": "channels_last", "seed": self.seed,
                "mode": self.mode}


def _factor_pair(layer, factor, bounds, name="factor"):
    """Keras's base-layer factor rule: a number f -> (max(-|f|, low), |f|); a pair sorted."""
    msg = (f"The `{name}` argument should be a number (or a list of two numbers) in the range "
           f"[{bounds[0]}, {bounds[1]}]. Received: {name}={factor}")
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or not all(_number(f) for f in factor) or \
                factor[0] > bounds[1] or factor[1] < bounds[0]:
            raise ValueError(msg)
        return tuple(sorted(factor))
    if not _number(factor) or factor < bounds[0] or factor > bounds[1]:
        raise ValueError(msg)
    return (max(-abs(factor), bounds[0]), abs(factor))


class RandomRotation(_Warp):
    """Rotates each image by a random angle while training: factor f (or (lo, hi)) in
    [-1, 1], a fraction of 2 pi: the angle is uniform in [lo * 2 pi, hi * 2 pi].

    Args:
        factor: number or pair of numbers, fractions of a full turn.
        fill_mode: "reflect" (default), "wrap", "nearest" or "constant".
        interpolation: "bilinear" (default) or "nearest".
        seed: optional int.  fill_value: the value of "constant" fill.
    """

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.factor = _factor_pair(self, factor, (-1, 1))
        self._init_warp(fill_mode, interpolation, fill_value)
        self._init_random(seed, data_format)

    def transforms(self, n, h, w):
        lo, hi = self.factor[0] * 360.0, self.factor[1] * 360.0
        angle = (lo + (hi - lo) * self.draw(n, 1)[:, 0]) * (math.pi / 180.0)
        return affine_matrix(angle, 1.0, h, w)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, **self._warp_config()}


def _range_pair(layer, factor, name, low_open):
    """RandomZoom's and RandomTranslation's factor rule (each number in (-1, 1] or
    [-1, 1])."""
    rng = "(-1.0, 1.0]" if low_open else "[-1.0, 1.0]"
    head = ("The `height_factor` and `width_factor` arguments should be a number (or a list "
            "of two numbers) in the range " if low_open else
            "The `factor` argument should be a number (or a list of two numbers) in the range ")

    def check(v):
        if not _number(v) or v > 1.0 or (v <= -1.0 if low_open else v < -1.0):
            raise ValueError(f"{head}{rng}. Received: input_number={v}")

    if isinstance(factor, (tuple, list)):
        if len(factor) != 2:
            raise ValueError(f"{head}{rng}. Received: {name}={factor}")
        check(factor[0])
        check(factor[1])
        return tuple(sorted(factor))
    if not _number(factor):
        raise ValueError(f"{head}{rng}. Received: {name}={factor}")
    check(factor)
    return (-abs(factor), abs(factor))


class RandomZoom(_Warp):
    """Zooms each image by a random factor while training.

    height_factor (and width_factor) f or (lo, hi), each in (-1, 1]: the zoom is uniform
    in [1 + lo, 1 + hi] (a value above 1 zooms out, as Keras); width_factor None keeps
    the aspect ratio (the width zoom is the height zoom).
    """

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._h = _range_pair(self, height_factor, "height_factor", True)
        self._w = None if width_factor is None else \
            _range_pair(self, width_factor, "width_factor", True)
        self._init_warp(fill_mode, interpolation, fill_value)
        self._init_random(seed, data_format)

    def transforms(self, n, h, w):
        u = self.draw(n, 2)
        zh = 1.0 + self._h[0] + (self._h[1] - self._h[0]) * u[:, 0]
        zw = zh if self._w is None else 1.0 + self._w[0] + (self._w[1] - self._w[0]) * u[:, 1]
        t = np.zeros((n, 8))
        t[:, 0], t[:, 2] = zw, (w - 1) / 2.0 * (1.0 - zw)
        t[:, 4], t[:, 5] = zh, (h - 1) / 2.0 * (1.0 - zh)
        return t

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor, **self._warp_config()}


class RandomTranslation(_Warp):
    """Shifts each image by a random fraction of its height and width while training:
    height_factor and width_factor, f or (lo, hi) each in [-1, 1]."""

    def __init__(self, height_factor, width_factor, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._h = _range_pair(self, height_factor, "height_factor", False)
        self._w = _range_pair(self, width_factor, "width_factor", False)
        self._init_warp(fill_mode, interpolation, fill_value)
        self._init_random(seed, data_format)

    def transforms(self, n, h, w):
        u = self.draw(n, 2)
        ty = (self._h[0] + (self._h[1] - self._h[0]) * u[:, 0]) * h
        tx = (self._w[0] + (self._w[1] - self._w[0]) * u[:, 1]) * w
        t = np.zeros((n, 8))
        t[:, 0] = t[:, 4] = 1
        t[:, 2], t[:, 5] = -tx, -ty
        return t

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor, **self._warp_config()}


class RandomCrop(_RandomImage):
    """Crops a random (height, width) window while training (one window per batch, as
    Keras 3); at inference, and in training when the image is not larger than the
    target, the largest centred window with the target's aspect ratio is resized to
    (height, width) (the behaviour Keras documents; Keras 3.15 returns the input
    uncropped at inference, a shape that contradicts its own compute_output_shape).
    """

    def __init__(self, height, width, seed=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.height = positive_int(height, "height", self.name)
        self.width = positive_int(width, "width", self.name)
        self._init_random(random.draw_seed() % 2 ** 31 if seed is None else seed, data_format)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.height, self.width, input_shape[3])

    def forward(self, x, training=False):
        self._active = True  # the window always resamples
        n, h, w = x.shape[:3]
        if training and h > self.height and w > self.width:
            # one window per batch, the same on every data-parallel rank: keyed by the
            # call only, not by the sample
            u = counter_uniform(self._step_seed(), np.arange(2))
            top, left = int(u[0] * (h - self.height + 1)), int(u[1] * (w - self.width + 1))
            self._box, self._interp = (top, left, self.height, self.width), "nearest"
        else:
            self._box, self._interp = aspect_crop_box(h, w, self.height, self.width), "bilinear"
        self._x_shape = x.shape
        return _C.resize_forward(x, (self.height, self.width), self._interp, self._box,
                                 out=self.buffer("y", self.compute_output_shape(x.shape)))

    def augment_backward(self, dy):
        return _C.resize_backward(dy, self._x_shape, self._interp, self._box,
                                  out=self.buffer("dx", self._x_shape))

    def get_config(self):
        return {**super().get_config(), "data_format": "channels_last", "height": self.height,
                "width": self.width, "seed": self.seed}


def _value_range(layer, value_range):
    if not isinstance(value_range, (tuple, list)) or len(value_range) != 2 or \
            not all(_number(v) for v in value_range):
        raise ValueError(f"The `value_range` argument should be a list of two numbers. "
                         f"Received: value_range={value_range}")
    return sorted(value_range)


class RandomContrast(_RandomImage):
    """Adjusts each image's contrast by a random factor while training:
    y = clip((x - mean) * f + mean, *value_range), mean per image and channel.

    factor: a number or pair in [0, 1]; as Keras 3, f is uniform in
    [1 - lower, 1 + upper] where a number c gives (lower, upper) = (0, c).
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        data_format = kwargs.pop("data_format", None)
        super().__init__(**kwargs)
        self.factor = _factor_pair(self, factor, (0, 1))
        self.value_range = _value_range(self, value_range)
        self._init_random(seed, data_format)

    def augment(self, x):
        self._x = x
        lo, hi = self.factor
        self._f = np.ascontiguousarray(1.0 - lo + (hi + lo) * self.draw(x.shape[0], 1)[:, 0],
                                       dtype=np.float32)
        return _C.contrast_forward(x, self._f, self.value_range, out=self.buffer("y", x.shape),
                                   work=self._work(x))

    def _work(self, x):
        return self.buffer("work", (_C.contrast_workspace_size(x.shape[0], x.shape[3]),))

    def augment_backward(self, dy):
        return _C.contrast_backward(dy, self._x, self._f, self.value_range, out=dy,
                                    work=self._work(self._x))

    def get_config(self):
        return {**super().get_config(), "data_format": "channels_last", "factor": self.factor,
                "value_range": self.value_range, "seed": self.seed}


class RandomBrightness(_RandomImage):
    """Adds a random brightness delta to each image while training: factor f (or
    (lo, hi)) in [-1, 1], delta uniform in [lo, hi] times the value range's width;
    y = clip(x + delta, *value_range)."""

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        data_format = kwargs.pop("data_format", None)
        super().__init__(**kwargs)
        self.factor = _factor_pair(self, factor, (-1, 1))
        self.value_range = _value_range(self, value_range)
        self._init_random(seed, data_format)

    def augment(self, x):
        self._x = x
        lo, hi = self.factor
        span = self.value_range[1] - self.value_range[0]
        self._d = np.ascontiguousarray((lo + (hi - lo) * self.draw(x.shape[0], 1)[:, 0]) * span,
                                       dtype=np.float32)
        return _C.brightness_forward(x, self._d, self.value_range, out=self.buffer("y", x.shape))

    def augment_backward(self, dy):
        return _C.brightness_backward(dy, self._x, self._d, self.value_range, out=dy)

    def get_config(self):
        return {**super().get_config(), "data_format": "channels_last", "factor": self.factor,
                "value_range": self.value_range, "seed": self.seed}
