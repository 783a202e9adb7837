"""Keras's image file helpers: `load_img`, `img_to_array`, `array_to_img`, `save_img` (Pillow)."""
import io
import os

import numpy as np

from fastnn.utils.dataset_utils import _crop_box, _pil

_FILTERS = {"nearest": "NEAREST", "bilinear": "BILINEAR", "bicubic": "BICUBIC",
            "hamming": "HAMMING", "box": "BOX", "lanczos": "LANCZOS"}


def load_img(path, color_mode="rgb", target_size=None, interpolation="nearest",
             keep_aspect_ratio=False):
    """Load an image file (or file-like object) into a PIL image, as Keras does.

    Args:
        path: a path or an open binary file.
        color_mode: "grayscale", "rgb" or "rgba".
        target_size: None (the original size) or (height, width).
        interpolation: "nearest", "bilinear", "bicubic", "hamming", "box" or "lanczos".
        keep_aspect_ratio: crop the centre to the target aspect ratio before resizing.
    """
    image = _pil()
    if isinstance(path, (str, os.PathLike)):
        with open(path, "rb") as f:
            img = image.open(io.BytesIO(f.read()))
    elif hasattr(path, "read"):
        img = image.open(io.BytesIO(path.read()))
    else:
        raise TypeError(f"path should be path-like or io.BytesIO, not {type(path)}")
    modes = {"grayscale": "L", "rgba": "RGBA", "rgb": "RGB"}
    if color_mode not in modes:
        raise ValueError('color_mode must be "grayscale", "rgb", or "rgba"')
    if color_mode == "grayscale" and img.mode not in ("L", "I;16", "I"):
        img = img.convert("L")
    elif color_mode != "grayscale" and img.mode != modes[color_mode]:
        img = img.convert(modes[color_mode])
    if target_size is not None:
        width_height = (target_size[1], target_size[0])
        if img.size != width_height:
            if interpolation not in _FILTERS:
                raise ValueError(f"Invalid interpolation method {interpolation} specified. "
                                 f"Supported methods are {', '.join(_FILTERS)}")
            resample = getattr(image, _FILTERS[interpolation])
            if keep_aspect_ratio:
                w, h = img.size
                top, left, ch, cw = _crop_box(h, w, target_size[0], target_size[1])
                img = img.crop((left, top, left + cw, top + ch))
            img = img.resize(width_height, resample)
    return img


def img_to_array(img, data_format=None, dtype=None):
    """A PIL image as a float32 (height, width, channels) array."""
    if data_format not in (None, "channels_last", "channels_first"):
        raise ValueError(f"Unknown data_format: {data_format}")
    x = np.asarray(img, dtype=dtype or "float32")
    if x.ndim == 2:
        x = x[:, :, None]
    elif x.ndim != 3:
        raise ValueError(f"Unsupported image shape: {x.shape}")
    return np.transpose(x, (2, 0, 1)) if data_format == "channels_first" else x


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """A (height, width, channels) array as a PIL image (scaled to 0..255 when `scale`)."""
    image = _pil()
    x = np.asarray(x, dtype=dtype or "float32")
    if x.ndim != 3:
        raise ValueError(f"Expected image array to have rank 3 (single image). Got array with "
                         f"shape: {x.shape}")
    if data_format == "channels_first":
        x = np.transpose(x, (1, 2, 0))
    if scale:
        x = x - np.min(x)
        peak = np.max(x)
        if peak != 0:
            x = x / peak
        x = x * 255
    channels = x.shape[2]
    if channels not in (1, 3, 4):
        raise ValueError(f"Unsupported channel number: {channels}")
    x = x.astype("uint8")
    return image.fromarray(x[:, :, 0] if channels == 1 else x, {1: "L", 3: "RGB", 4: "RGBA"}[channels])


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Save an image array to a file (the format from `file_format` or the extension)."""
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and (file_format == "jpg" or file_format == "jpeg" or str(
            path).lower().endswith((".jpg", ".jpeg"))):
        img = img.convert("RGB")
    img.save(path, format={"jpg": "jpeg"}.get(file_format, file_format), **kwargs)
