"""Image files to arrays and back, with Keras's signatures: `load_img`, `img_to_array`,
`array_to_img`, `save_img`.  They need Pillow, an optional extra:
`pip install "fastnn[image]"` (or `pip install pillow`)."""
import io
import os
import pathlib
import warnings

import numpy as np

INSTALL_HINT = ('fastnn.utils.{name} needs Pillow, which is not installed: pip install '
                '"fastnn[image]" (or pip install pillow)')


def _pil(name):
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(INSTALL_HINT.format(name=name)) from None
    return Image


def _resampling(Image):
    r = getattr(Image, "Resampling", Image)
    return {"nearest": r.NEAREST, "bilinear": r.BILINEAR, "bicubic": r.BICUBIC,
            "hamming": r.HAMMING, "box": r.BOX, "lanczos": r.LANCZOS}


def _data_format(data_format):
    if data_format not in (None, "channels_last", "channels_first"):
        raise ValueError(f"The `data_format` argument must be one of 'channels_first', "
                         f"'channels_last'. Received: data_format={data_format}")
    return data_format or "channels_last"


def load_img(path, color_mode="rgb", target_size=None, interpolation="nearest",
             keep_aspect_ratio=False):
    """Loads an image file into a PIL image.

    Args:
        path: path of the file (str, bytes or pathlib.Path) or an io.BytesIO.
        color_mode: "rgb" (default), "rgba" or "grayscale" (8-bit "L" unless the file is
            already 16- or 32-bit grayscale).
        target_size: None (the file's size) or (height, width).
        interpolation: the resampling when resizing: "nearest" (default), "bilinear",
            "bicubic", "hamming", "box" or "lanczos".
        keep_aspect_ratio: resize the largest centred window with the target's aspect
            ratio instead of distorting the image.

    Returns:
        A PIL Image.
    """
    Image = _pil("load_img")
    if isinstance(path, io.BytesIO):
        img = Image.open(path)
    elif isinstance(path, (str, bytes, pathlib.Path, os.PathLike)):
        with open(path, "rb") as f:
            img = Image.open(io.BytesIO(f.read()))
    else:
        raise TypeError(f"path should be path-like or io.BytesIO, not {type(path)}")
    modes = {"grayscale": ("L", ("L", "I;16", "I")), "rgba": ("RGBA", ("RGBA",)),
             "rgb": ("RGB", ("RGB",))}
    if color_mode not in modes:
        raise ValueError('color_mode must be "grayscale", "rgb", or "rgba"')
    mode, keep = modes[color_mode]
    if img.mode not in keep:
        img = img.convert(mode)
    if target_size is None:
        return img
    th, tw = target_size
    if img.size == (tw, th):
        return img
    methods = _resampling(Image)
    if interpolation not in methods:
        raise ValueError(f"Invalid interpolation method {interpolation} specified. Supported "
                         f"methods are {', '.join(methods)}")
    box = None
    if keep_aspect_ratio:
        w, h = img.size
        ch, cw = min(h, (w * th) // tw), min(w, (h * tw) // th)
        top, left = (h - ch) // 2, (w - cw) // 2
        box = (left, top, left + cw, top + ch)
    return img.resize((tw, th), methods[interpolation], box=box)


def img_to_array(img, data_format=None, dtype=None):
    """A PIL image as a 3-D float32 (or `dtype`) array, (height, width, channels) or with
    data_format="channels_first" (channels, height, width)."""
    data_format = _data_format(data_format)
    x = np.asarray(img, dtype=dtype or "float32")
    if x.ndim == 2:
        x = x[:, :, None]
    elif x.ndim != 3:
        raise ValueError(f"Unsupported image shape: {x.shape}")
    return x.transpose(2, 0, 1) if data_format == "channels_first" else x


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """A 3-D array (one image) as a PIL image: 1 channel gives "L" (or 32-bit "I" when
    values exceed 255), 3 "RGB", 4 "RGBA".  scale=True maps the array's range onto
    [0, 255] first."""
    Image = _pil("array_to_img")
    data_format = _data_format(data_format)
    x = np.array(x, dtype=dtype or "float32")
    if x.ndim != 3:
        raise ValueError(f"Expected image array to have rank 3 (single image). Got array "
                         f"with shape: {x.shape}")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - x.min()
        top = x.max()
        if top != 0:
            x = x / top
        x = x * 255
    channels = x.shape[2]
    if channels == 4:
        return Image.fromarray(x.astype("uint8"), "RGBA")
    if channels == 3:
        return Image.fromarray(x.astype("uint8"), "RGB")
    if channels == 1:
        if x.max() > 255:
            return Image.fromarray(x[:, :, 0].astype("int32"), "I")
        return Image.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(f"Unsupported channel number: {channels}")


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Saves a 3-D image array to a file (format from `file_format` or the path's
    extension; "jpg" means JPEG, which cannot hold RGBA: converted to RGB with a
    warning).  Extra keyword arguments go to PIL's `Image.save`."""
    if file_format is None and isinstance(path, (str, pathlib.Path)):
        file_format = pathlib.Path(path).suffix[1:].lower() or None
    if file_format and file_format.lower() == "jpg":
        file_format = "jpeg"
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and file_format == "jpeg":
        warnings.warn("The JPEG format does not support RGBA images, converting to RGB.")
        img = img.convert("RGB")
    img.save(path, format=file_format, **kwargs)
