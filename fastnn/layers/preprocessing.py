"""Preprocessing layers that run in training and inference alike: Rescaling, Normalization,
Resizing, CenterCrop (the pixel work in csrc/image_ops.c).

Each is differentiable (exact gradients), so it may sit anywhere in a model.
"""
import numbers

import numpy as np

from fastnn import _C
from fastnn.layers.layer import Layer

EPSILON = 1e-7  # keras.backend.epsilon()


def _check_data_format(layer, data_format):
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{type(layer).__name__} '{layer.name}': fastnn supports "
                         f"data_format='channels_last' only, received data_format={data_format!r}")


def _per_channel(value, name, layer):
    """A float, or a 1-D list of per-channel floats -> float32 array (1,) or (C,)."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.ndim > 1 or arr.size == 0 or not np.isfinite(arr).all():
        raise ValueError(f"{type(layer).__name__} '{layer.name}': `{name}` must be a finite "
                         f"number or a list of per-channel numbers, received {name}={value!r}")
    return arr.reshape(-1).astype(np.float32)


class Rescaling(Layer):
    """Rescales inputs: y = x * scale + offset (in training and inference).

    Args:
        scale: float (or a list with one float per channel, the last axis).
        offset: float (or per-channel list). Defaults to 0.

    >>> import numpy as np
    >>> Rescaling(1 / 127.5, offset=-1)(np.array([[0.0, 255.0]]))
    array([[-1.,  1.]], dtype=float32)
    """

    supports_masking = True

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.offset = scale, offset
        self._scale = _per_channel(scale, "scale", self)
        self._offset = _per_channel(offset, "offset", self)

    def _vectors(self, channels):
        n = max(self._scale.size, self._offset.size)
        if n > 1 and n != channels or 1 < self._scale.size != self._offset.size > 1:
            raise ValueError(f"Layer '{self.name}': per-channel `scale`/`offset` of "
                             f"{n} values cannot broadcast to {channels} channels")
        return (np.ascontiguousarray(np.broadcast_to(self._scale, (n,))),
                np.ascontiguousarray(np.broadcast_to(self._offset, (n,))))

    def check_input_shape(self, input_shape):
        if len(input_shape) < 2:
            raise self.incompatible(input_shape, "expected min_ndim=2")
        self._vectors(input_shape[-1])

    def forward(self, x, training=False):
        scale, shift = self._vectors(x.shape[-1])
        return _C.scale_shift(x, scale, shift, out=self.buffer("y", x.shape))

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        return _C.scale_shift(dy, self._vectors(dy.shape[-1])[0], out=dy)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


class Normalization(Layer):
    """Standardizes inputs per feature: y = (x - mean) / max(sqrt(variance), 1e-7)
    (or the inverse, x * sqrt(variance) + mean, with invert=True).

    The statistics come from `mean` and `variance` arguments or from `adapt(data)`,
    which computes them over every axis not in `axis`; adapted statistics are
    non-trainable weights `mean`, `variance` and `count`, saved as Keras saves them.

    Args:
        axis: int, tuple of ints or None: the axes that keep their own statistics
            (default -1, the features/channels). None: one mean and variance for all.
        mean, variance: optional, broadcastable to the kept axes' shape.
        invert: apply the inverse transformation.

    >>> import numpy as np
    >>> norm = Normalization()
    >>> norm.adapt(np.array([[0.0, 10.0], [2.0, 30.0]]))
    >>> norm(np.array([[1.0, 20.0]]))
    array([[0., 0.]], dtype=float32)
    """

    supports_masking = True

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, numbers.Integral):
            axis = (int(axis),)
        else:
            axis = tuple(int(a) for a in axis)
        self.axis = axis
        self.input_mean, self.input_variance = mean, variance
        self.invert = bool(invert)
        self._adapted = False
        if (mean is not None) != (variance is not None):
            raise ValueError("When setting values directly, both `mean` and `variance` must "
                             f"be set. Received: mean={mean} and variance={variance}")
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError("When setting values directly, `mean` and `variance` must "
                                 f"have the same shape. Received: mean shape "
                                 f"{np.shape(mean)} and variance shape {np.shape(variance)}")
            if len(np.shape(mean)) > len(self.axis):
                raise ValueError(f"The rank of `mean` must be less than or equal to the "
                                 f"number of axes ({len(self.axis)}). Received: mean shape "
                                 f"{np.shape(mean)} for axis {self.axis}")

    def check_input_shape(self, input_shape):
        ndim = len(input_shape)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError(f"All `axis` values must be in the range [-ndim, ndim). "
                             f"Received inputs with ndim={ndim}, while axis={self.axis}")
        keep = sorted(a % ndim for a in self.axis)
        for d in keep:
            if input_shape[d] is None:
                raise ValueError(f"All `axis` values to be kept must have a known shape. "
                                 f"Received axis={self.axis}, inputs.shape={tuple(input_shape)}, "
                                 f"with unknown axis at index {d}")
        if self.built and tuple(input_shape[d] for d in keep) != self._stat_shape:
            raise self.incompatible(input_shape, f"expected the kept axes {tuple(keep)} to "
                                    f"have shape {self._stat_shape}")

    def build(self, input_shape):
        ndim = len(input_shape)
        self._keep = tuple(sorted(a % ndim for a in self.axis))
        self._stat_shape = tuple(input_shape[d] for d in self._keep)
        # statistics broadcast over the trailing axes from the first kept one (one row of P)
        self._first = self._keep[0] if self._keep else ndim
        self._bshape = tuple(input_shape[d] if d in self._keep else 1
                             for d in range(self._first, ndim))
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(self._stat_shape, "zeros", "mean", trainable=False)
            self.adapt_variance = self.add_weight(self._stat_shape, "ones", "variance",
                                                  trainable=False)
            self.count = self.add_weight((), "zeros", "count", trainable=False)
        else:
            shape = [1] * len(self._keep)
            mshape = np.shape(self.input_mean)
            if mshape:
                shape[-len(mshape):] = mshape
            try:
                mean = np.broadcast_to(np.reshape(self.input_mean, shape), self._stat_shape)
                var = np.broadcast_to(np.reshape(self.input_variance, shape), self._stat_shape)
            except ValueError:
                raise ValueError(f"Layer '{self.name}': `mean` of shape {mshape} does not "
                                 f"broadcast to the kept axes' shape {self._stat_shape}") from None
            self._given = (np.array(mean, np.float64), np.array(var, np.float64))

    def adapt(self, data):
        """Compute the mean and variance over the non-kept axes of `data` (an array, or an
        iterable of batches, combined as Keras combines them)."""
        batches = [data] if hasattr(data, "shape") or not hasattr(data, "__iter__") else data
        total_mean = total_var = None
        total = 0
        for batch in batches:
            if isinstance(batch, (tuple, list)) and batch and hasattr(batch[0], "shape"):
                batch = batch[0]  # (x, y) pairs: Keras adapts on x
            batch = np.asarray(batch, dtype=np.float64)
            if not self.built:
                shape = (None,) + batch.shape[1:]
                self.check_input_shape(shape)
                self.ensure_built(shape)
            elif batch.ndim != len(self.input_spec_shape) or \
                    tuple(batch.shape[d] for d in self._keep) != self._stat_shape:
                raise ValueError(f"The layer was built with input_shape="
                                 f"{tuple(self.input_spec_shape)}, but adapt() is being called "
                                 f"with data with an incompatible shape, data.shape={batch.shape}")
            reduce = tuple(d for d in range(batch.ndim) if d not in self._keep)
            mean, var = batch.mean(axis=reduce), batch.var(axis=reduce)
            count = int(np.prod([batch.shape[d] for d in reduce]))
            if total_mean is None:
                total_mean, total_var, total = mean, var, count
                continue
            total += count
            w = count / total
            new_mean = total_mean * (1 - w) + mean * w
            total_var = (total_var + (total_mean - new_mean) ** 2) * (1 - w) + \
                (var + (mean - new_mean) ** 2) * w
            total_mean = new_mean
        if total_mean is None:
            raise ValueError("adapt() received an empty iterable (no batches). Expected at "
                             "least one batch.")
        if self.input_mean is not None:
            raise ValueError(f"Layer '{self.name}' was given `mean` and `variance`; it has no "
                             f"statistics to adapt")
        self.adapt_mean.assign(total_mean)
        self.adapt_variance.assign(total_var)
        self._adapted = True

    def set_weights(self, weights):
        super().set_weights(weights)
        self._adapted = True

    def _stats(self):
        if self.input_mean is not None:
            return self._given
        mean, var = self.adapt_mean.value, self.adapt_variance.value
        if not self._adapted and not mean.any() and (var == 1).all():
            raise ValueError(f"Normalization layer '{self.name}' has not been adapted: call "
                             f"`adapt(data)` or pass `mean` and `variance` before using it")
        return mean.astype(np.float64), var.astype(np.float64)

    def _vectors(self):
        mean, var = (np.broadcast_to(s.reshape(self._bshape), self._full) for s in self._stats())
        std = np.maximum(np.sqrt(var), EPSILON)
        scale = std if self.invert else 1.0 / std
        shift = mean if self.invert else -mean / std
        return (np.ascontiguousarray(scale.reshape(-1), np.float32),
                np.ascontiguousarray(shift.reshape(-1), np.float32))

    def forward(self, x, training=False):
        self._full = x.shape[self._first:]
        self._scale, shift = self._vectors()
        return _C.scale_shift(x, self._scale, shift, out=self.buffer("y", x.shape))

    def backward(self, dy, need_dx=True):
        return _C.scale_shift(dy, self._scale, out=dy) if need_dx else None

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "invert": self.invert,
                "mean": np.array(self.input_mean).tolist(),
                "variance": np.array(self.input_variance).tolist()}


def aspect_crop_box(h, w, th, tw):
    """Keras's largest centred window of (h, w) with the aspect ratio of (th, tw):
    (top, left, height, width)."""
    ch = max(min(h, int(float(w * th) / tw)), 1)
    cw = max(min(w, int(float(h * tw) / th)), 1)
    return int(float(h - ch) / 2), int(float(w - cw) / 2), ch, cw


class _ImageWindow(Layer):
    """A layer whose output resamples a window of each image to (height, width)."""

    def _init_size(self, height, width, data_format):
        from fastnn.layers.dense import positive_int
        self.height = positive_int(height, "height", self.name)
        self.width = positive_int(width, "width", self.name)
        _check_data_format(self, data_format)

    def check_input_shape(self, input_shape):
        if len(input_shape) != 4:
            raise self.incompatible(input_shape, f"expected ndim=4 (a batch of images), "
                                    f"found ndim={len(input_shape)}")

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.height, self.width, input_shape[3])

    def window(self, h, w):
        """(crop box or None, interpolation) for images of height h and width w."""
        raise NotImplementedError

    def forward(self, x, training=False):
        self._x_shape = x.shape
        self._box, self._interp = self.window(x.shape[1], x.shape[2])
        out = self.buffer("y", self.compute_output_shape(x.shape))
        return _C.resize_forward(x, (self.height, self.width), self._interp, self._box, out=out)

    def backward(self, dy, need_dx=True):
        if not need_dx:
            return None
        return _C.resize_backward(dy, self._x_shape, self._interp, self._box,
                                  out=self.buffer("dx", self._x_shape))


RESIZE_INTERPOLATIONS = ("bilinear", "nearest", "lanczos3", "lanczos5", "bicubic", "area")


class Resizing(_ImageWindow):
    """Resizes a batch of images to (height, width), in training and inference.

    Args:
        height, width: the output size.
        interpolation: "bilinear" (default) or "nearest" (TensorFlow's half-pixel
            resampling, bit-exact); Keras's other methods are not supported by fastnn.
        crop_to_aspect_ratio: resize the largest centred window with the target aspect
            ratio instead of distorting the image.
        pad_to_aspect_ratio, fill_mode, fill_value, antialias: only at their defaults.

    >>> import numpy as np
    >>> Resizing(4, 6)(np.ones((2, 8, 8, 3))).shape
    (2, 4, 6, 3)
    """

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
                 pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0,
                 antialias=False, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self._init_size(height, width, data_format)
        if interpolation not in RESIZE_INTERPOLATIONS:
            raise ValueError(f"Invalid value for argument `interpolation`. Expected of one "
                             f"{RESIZE_INTERPOLATIONS}. Received: interpolation={interpolation}")
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(f"Resizing '{self.name}': interpolation={interpolation!r} is not "
                             f"supported by fastnn (use 'bilinear' or 'nearest')")
        if fill_mode != "constant":
            raise ValueError(f"Invalid value for argument `fill_mode`. Only `'constant'` is "
                             f"supported. Received: fill_mode={fill_mode}")
        if pad_to_aspect_ratio and crop_to_aspect_ratio:
            raise ValueError("Only one of `pad_to_aspect_ratio` & `crop_to_aspect_ratio` can "
                             "be `True`.")
        if pad_to_aspect_ratio or antialias:
            raise ValueError(f"Resizing '{self.name}': pad_to_aspect_ratio=True and "
                             f"antialias=True are not supported by fastnn")
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.fill_value = float(fill_value)

    def window(self, h, w):
        box = aspect_crop_box(h, w, self.height, self.width) if self.crop_to_aspect_ratio \
            else None
        return box, self.interpolation

    def get_config(self):
        return {**super().get_config(), "data_format": "channels_last", "height": self.height,
                "width": self.width, "interpolation": self.interpolation,
                "crop_to_aspect_ratio": self.crop_to_aspect_ratio, "pad_to_aspect_ratio": False,
                "fill_mode": "constant", "fill_value": self.fill_value, "antialias": False}


class CenterCrop(_ImageWindow):
    """Crops the centre (height, width) window of each image, in training and inference.
    An image smaller than the target in either dimension is resized instead (its largest
    centred window with the target aspect ratio, bilinear), as in Keras.

    >>> import numpy as np
    >>> CenterCrop(2, 2)(np.arange(16.0).reshape(1, 4, 4, 1))[0, :, :, 0]
    array([[ 5.,  6.],
           [ 9., 10.]], dtype=float32)
    """

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self._init_size(height, width, data_format)

    def window(self, h, w):
        if h >= self.height and w >= self.width:  # an exact crop: nearest at scale 1
            return ((h - self.height) // 2, (w - self.width) // 2, self.height,
                    self.width), "nearest"
        return aspect_crop_box(h, w, self.height, self.width), "bilinear"

    def get_config(self):
        return {**super().get_config(), "data_format": "channels_last", "height": self.height,
                "width": self.width}
