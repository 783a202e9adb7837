"""Keras's dataset utilities, returning fastnn `Dataset`s: image and text folders, windows of
a series, and splitting.

File order, labels, the seeded file shuffle and the validation split follow Keras
(`keras.utils.*_dataset_from_directory`): files are listed per class folder in sorted
order, shuffled once with `np.random.RandomState(seed)`, and the LAST `validation_split`
of that list is the validation subset. Within each iteration the training dataset is
also shuffled through a buffer of `8 * batch_size` elements (Keras does the same with
TensorFlow's generator, so that order differs from Keras's).
"""
import io
import os
import random as _py_random

import numpy as np

from fastnn.utils.dataset import (Dataset, _Batch, _Cache, _Prefetch, _Slices, flatten,
                                  pack_like)

IMAGE_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5", "gaussian",
                  "mitchellcubic")


# ---- listing files ------------------------------------------------------------------------
def _check_split(validation_split, subset, shuffle, seed):
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"`validation_split` must be between 0 and 1, received: "
                         f"{validation_split}")
    if (validation_split or subset) and not (validation_split and subset):
        raise ValueError("If `subset` is set, `validation_split` must be set, and inversely.")
    if subset not in ("training", "validation", "both", None):
        raise ValueError(f'`subset` must be either "training", "validation" or "both", '
                         f'received: {subset}')
    if validation_split and shuffle and seed is None:
        raise ValueError("If using `validation_split` and shuffling the data, you must provide a "
                         "`seed` argument, to make sure that there is no overlap between the "
                         "training and validation subset.")


def _valid_files(directory, follow_links, formats):
    for root, _, files in sorted(os.walk(directory, followlinks=follow_links),
                                 key=lambda w: w[0]):
        for name in sorted(files):
            if name.lower().endswith(formats):
                yield os.path.join(root, name)


def index_directory(directory, labels, formats, class_names=None, shuffle=True, seed=None,
                    follow_links=False, verbose=True):
    """(file paths, integer labels or None, class names), in Keras's order."""
    if not os.path.isdir(directory):
        raise ValueError(f"Could not find directory {directory}")
    if labels == "inferred":
        subdirs = [d for d in sorted(os.listdir(directory))
                   if os.path.isdir(os.path.join(directory, d)) and not d.startswith(".")]
        if class_names is not None:
            if not set(class_names).issubset(subdirs):
                raise ValueError(f"The `class_names` passed did not match the names of the "
                                 f"subdirectories of the target directory. Expected: {subdirs} "
                                 f"(or a subset of it), but received: class_names={class_names}")
            subdirs = list(class_names)
    else:
        subdirs = [""]
        if class_names is not None:
            raise ValueError("When `labels=None` (no labels), argument `class_names` cannot be "
                             "specified." if labels is None else
                             "When argument `labels` is specified, argument `class_names` cannot "
                             "be specified (the `class_names` will be the sorted list of labels).")
    paths, found = [], []
    for i, sub in enumerate(subdirs):
        files = list(_valid_files(os.path.join(directory, sub), follow_links, formats))
        paths += files
        found += [i] * len(files)
    if labels == "inferred":
        labels, class_names = np.array(found, dtype=np.int32), subdirs
    elif labels is None:
        class_names = None
    else:
        if len(labels) != len(paths):
            raise ValueError(f"Expected the lengths of `labels` to match the number of files in "
                             f"the target directory. len(labels) is {len(labels)} while we "
                             f"found {len(paths)} files in directory {directory}.")
        class_names = [str(label) for label in sorted(set(labels))]
        labels = np.asarray(labels)
    if verbose:
        print(f"Found {len(paths)} files." if labels is None else
              f"Found {len(paths)} files belonging to {len(class_names)} classes.")
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(paths)
        if labels is not None:
            np.random.RandomState(seed).shuffle(labels)
    return paths, labels, class_names


def _split(paths, labels, validation_split, subset, verbose=True):
    if not validation_split:
        return paths, labels
    n_val = int(validation_split * len(paths))
    if subset == "training":
        if verbose:
            print(f"Using {len(paths) - n_val} files for training.")
        return paths[:len(paths) - n_val], None if labels is None else labels[:len(paths) - n_val]
    if verbose:
        print(f"Using {n_val} files for validation.")
    return paths[len(paths) - n_val:], None if labels is None else labels[len(paths) - n_val:]


def _encode_labels(labels, label_mode, num_classes):
    if label_mode == "binary":
        return labels.astype(np.float32).reshape(-1, 1)
    if label_mode == "categorical":
        return np.eye(num_classes, dtype=np.float32)[labels]
    return labels.astype(np.int32) if labels.dtype.kind in "iu" else labels


def _check_labels(labels, label_mode, class_names):
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple)):
            raise ValueError("`labels` argument should be a list/tuple of integer labels, of the "
                             "same size as the number of files in the target directory. If you "
                             "wish to infer the labels from the subdirectory names in the target "
                             'directory, pass `labels="inferred"`. If you wish to get a dataset '
                             f"that only contains the files (no labels), pass `labels=None`. "
                             f"Received: labels={labels}")
        if class_names:
            raise ValueError(f'You can only pass `class_names` if `labels="inferred"`. '
                             f"Received: labels={labels}, and class_names={class_names}")
    if label_mode not in {"int", "categorical", "binary", None}:
        raise ValueError(f'`label_mode` argument must be one of "int", "categorical", "binary", '
                         f"or None. Received: label_mode={label_mode}")


def _make_dataset(paths, labels, label_mode, class_names, load, batch_size, shuffle, seed,
                  load_batch=None):
    """Shuffle (path, label) pairs, then load; with `load_batch`, whole batches of paths are
    loaded into one array (the same elements as loading each and stacking them)."""
    n_classes = len(class_names) if class_names else 0
    labelled = bool(label_mode) and labels is not None
    if labelled:
        ds = Dataset.from_tensor_slices((np.array(paths, dtype=object),
                                         _encode_labels(labels, label_mode, n_classes)))
    else:
        ds = Dataset.from_tensor_slices(np.array(paths, dtype=object))
    if shuffle:
        ds = ds.shuffle(batch_size * 8 if batch_size else 1024, seed=seed)
    if batch_size is not None and load_batch is not None:
        ds = ds.batch(batch_size)
        ds = ds.map((lambda p, y: (load_batch(p), y)) if labelled else load_batch)
    else:
        ds = ds.map((lambda p, y: (load(p), y)) if labelled else load)
        if batch_size is not None:
            ds = ds.batch(batch_size)
    ds = ds.prefetch(-1)
    ds.class_names = class_names
    ds.file_paths = list(paths)
    return ds


def _datasets(directory, labels, label_mode, class_names, formats, load, batch_size, shuffle,
              seed, validation_split, subset, follow_links, verbose, what, load_batch=None):
    _check_split(validation_split, subset, shuffle, seed)
    if seed is None:
        seed = np.random.randint(1e6)
    paths, labels, class_names = index_directory(directory, labels, formats, class_names,
                                                 shuffle, seed, follow_links, verbose)
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError(f'When passing `label_mode="binary"`, there must be exactly 2 '
                         f"class_names. Received: class_names={class_names}")
    if batch_size is not None:
        batch_size = int(batch_size)
    subsets = ("training", "validation") if subset == "both" else (subset,)
    out = []
    for s in subsets:
        p, lab = _split(paths, labels, validation_split, s, verbose)
        if not p:
            kind = {"training": "training ", "validation": "validation "}.get(
                s if subset == "both" else None, "")
            raise ValueError(f"No {kind}{what} found in directory {directory}. "
                             f"Allowed formats: {formats}")
        out.append(_make_dataset(p, lab, label_mode, class_names, load, batch_size,
                                 shuffle and s != "validation" or (shuffle and subset != "both"),
                                 seed, load_batch))
    return out if subset == "both" else out[0]


# ---- images -------------------------------------------------------------------------------
def _pil():
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("Loading images requires Pillow: pip install pillow "
                          "(or pip install 'fastnn[image]')") from None
    return Image


def _resize_axis(n_in, n_out):
    """Half-pixel bilinear sampling along one axis: (low index, high index, weight of high)."""
    pos = (np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5
    pos = np.clip(pos, 0, n_in - 1)
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, n_in - 1)
    return lo, hi, (pos - lo).astype(np.float32)


def resize_image(img, size, interpolation="bilinear"):
    """An HWC float32 image resized to `size` = (height, width) like `tf.image.resize`
    (half-pixel centres, no antialiasing) for "bilinear" and "nearest"; other methods
    use Pillow's filter of that name."""
    h, w = img.shape[:2]
    th, tw = size
    if (h, w) == (th, tw):
        return img
    if interpolation == "nearest":
        rows = np.minimum(np.floor((np.arange(th) + 0.5) * (h / th)).astype(np.intp), h - 1)
        cols = np.minimum(np.floor((np.arange(tw) + 0.5) * (w / tw)).astype(np.intp), w - 1)
        return img[rows][:, cols]
    if interpolation == "bilinear":
        r0, r1, fr = _resize_axis(h, th)
        c0, c1, fc = _resize_axis(w, tw)
        top = img[r0] * (1 - fr)[:, None, None] + img[r1] * fr[:, None, None]
        return top[:, c0] * (1 - fc)[None, :, None] + top[:, c1] * fc[None, :, None]
    image = _pil()
    filters = {"bicubic": image.BICUBIC, "area": image.BOX, "lanczos3": image.LANCZOS,
               "lanczos5": image.LANCZOS, "gaussian": image.BILINEAR,
               "mitchellcubic": image.BICUBIC}
    channels = [np.asarray(image.fromarray(img[..., c], mode="F").resize(
        (tw, th), filters[interpolation])) for c in range(img.shape[2])]
    return np.stack(channels, axis=-1)


def _crop_box(h, w, th, tw):
    crop_h = min(h, int(float(w * th) / tw))
    crop_w = min(w, int(float(h * tw) / th))
    top, left = int(float(h - crop_h) / 2), int(float(w - crop_w) / 2)
    return top, left, crop_h, crop_w


_PIL_FORMATS = {".bmp": "BMP", ".gif": "GIF", ".jpeg": "JPEG", ".jpg": "JPEG", ".png": "PNG"}


def _open_image(image, path):
    """Pillow's image of the file, read whole first (Pillow parses headers with many small
    reads) and decoded by the decoder of the file's extension (not every decoder's header
    check in turn), else by the one its content matches."""
    with open(path, "rb") as f:
        data = io.BytesIO(f.read())
    fmt = _PIL_FORMATS.get(os.path.splitext(str(path))[1].lower())
    try:
        if fmt is not None:
            try:
                return image.open(data, formats=(fmt,))
            except image.UnidentifiedImageError:  # a misnamed file: let Pillow look at it
                data.seek(0)
        return image.open(data)
    except image.UnidentifiedImageError:
        raise image.UnidentifiedImageError(f"cannot identify image file {str(path)!r}") \
            from None


def load_image(path, image_size, num_channels, interpolation, crop_to_aspect_ratio=False,
               pad_to_aspect_ratio=False, out=None):
    """One image file as an (height, width, channels) float32 array, resized (written into
    `out` when given)."""
    image = _pil()
    th, tw = image_size
    with _open_image(image, path) as im:
        mode = {1: "L", 3: "RGB", 4: "RGBA"}[num_channels]
        im = im if im.mode == mode else im.convert(mode)
        im.load()
        w, h = im.size  # 8-bit channels: the raw bytes are the HWC array
        pixels = np.frombuffer(im.tobytes(), np.uint8).reshape(h, w, num_channels)
    if out is not None and pixels.shape[:2] == (th, tw) and not pad_to_aspect_ratio:
        out[...] = pixels  # the common case: no resizing, one cast into the batch
        return out
    arr = pixels.astype(np.float32)
    if crop_to_aspect_ratio:
        top, left, ch, cw = _crop_box(arr.shape[0], arr.shape[1], th, tw)
        arr = arr[top:top + ch, left:left + cw]
    elif pad_to_aspect_ratio:
        h, w = arr.shape[:2]
        ph, pw = max(h, int(round(w * th / tw))), max(w, int(round(h * tw / th)))
        padded = np.zeros((ph, pw, arr.shape[2]), np.float32)
        top, left = (ph - h) // 2, (pw - w) // 2
        padded[top:top + h, left:left + w] = arr
        arr = padded
    arr = resize_image(arr, (th, tw), interpolation)
    if out is not None:
        out[...] = arr
        return out
    return np.ascontiguousarray(arr, dtype=np.float32)


def image_dataset_from_directory(directory, labels="inferred", label_mode="int",
                                 class_names=None, color_mode="rgb", batch_size=32,
                                 image_size=(256, 256), shuffle=True, seed=None,
                                 validation_split=None, subset=None, interpolation="bilinear",
                                 follow_links=False, crop_to_aspect_ratio=False,
                                 pad_to_aspect_ratio=False, data_format=None, format="tf",
                                 verbose=True):
    """A `Dataset` of `(images, labels)` batches from a folder with one subfolder per class.

    Keras's arguments and defaults: `labels` "inferred" (from the subfolder names, sorted,
    or in `class_names`' order), a list of labels, or None; `label_mode` "int",
    "categorical", "binary" or None; `color_mode` "grayscale", "rgb" or "rgba";
    `image_size` (height, width); `validation_split` with `subset` "training",
    "validation" or "both" (a pair of datasets). Images are float32 in [0, 255], NHWC.
    Needs Pillow. The dataset has `class_names` and `file_paths`.
    """
    _check_labels(labels, label_mode, class_names)
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    channels = {"rgb": 3, "rgba": 4, "grayscale": 1}.get(color_mode)
    if channels is None:
        raise ValueError(f'`color_mode` must be one of {{"rgb", "rgba", "grayscale"}}. '
                         f"Received: color_mode={color_mode}")
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    elif not isinstance(image_size, (list, tuple)) or len(image_size) != 2:
        raise ValueError(f"Invalid `image_size` value. Expected a tuple of 2 integers. "
                         f"Received: image_size={image_size}")
    interpolation = interpolation.lower()
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"Argument `interpolation` should be one of {INTERPOLATIONS}. "
                         f"Received: interpolation={interpolation}")
    if pad_to_aspect_ratio and crop_to_aspect_ratio:
        raise ValueError("Only one of `pad_to_aspect_ratio`, `crop_to_aspect_ratio` can be set "
                         "to `True`.")
    if data_format not in (None, "channels_last"):
        raise ValueError(f"fastnn works channels-last: `data_format` must be 'channels_last' "
                         f"or None, received {data_format!r}")
    if format != "tf":
        raise ValueError(f'`format` should be "tf" (fastnn returns its own Dataset). '
                         f"Received: format={format}")
    _pil()
    size = tuple(int(s) for s in image_size)

    def load(path, out=None):
        return load_image(path, size, channels, interpolation, crop_to_aspect_ratio,
                          pad_to_aspect_ratio, out)

    def load_batch(paths):
        batch = np.empty((len(paths),) + size + (channels,), np.float32)
        for i, path in enumerate(paths):
            load(path, batch[i])
        return batch
    return _datasets(directory, labels, label_mode, class_names, IMAGE_FORMATS, load,
                     batch_size, shuffle, seed, validation_split, subset, follow_links, verbose,
                     "images", load_batch)


# ---- text ---------------------------------------------------------------------------------
def text_dataset_from_directory(directory, labels="inferred", label_mode="int",
                                class_names=None, batch_size=32, max_length=None, shuffle=True,
                                seed=None, validation_split=None, subset=None,
                                follow_links=False, format="tf", verbose=True):
    """A `Dataset` of `(texts, labels)` batches from `.txt` files, one subfolder per class.

    Keras's arguments and defaults (see `image_dataset_from_directory`); texts are
    Python strings (a NumPy array of str per batch), cut to `max_length` characters.
    """
    _check_labels(labels, label_mode, class_names)
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    if format != "tf":
        raise ValueError(f'`format` should be "tf" (fastnn returns its own Dataset). '
                         f"Received: format={format}")

    def load(path):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        return text[:max_length] if max_length is not None else text
    return _datasets(directory, labels, label_mode, class_names, (".txt",), load, batch_size,
                     shuffle, seed, validation_split, subset, follow_links, verbose,
                     "text files")


# ---- series -------------------------------------------------------------------------------
class _Windows(_Slices):
    """Windows `data[p : p + length * rate : rate]` (and `targets[p]`) for start positions p."""

    def __init__(self, data, targets, positions, length, rate):
        Dataset.__init__(self)
        self._data, self._targets = data, targets
        self._positions, self._offsets = positions, np.arange(length) * rate
        self._n = len(positions)

    def gather(self, idx):
        p = self._positions[idx]
        windows = self._data[np.add.outer(p, self._offsets)] if np.ndim(p) else \
            self._data[p + self._offsets]
        return windows if self._targets is None else (windows, self._targets[p])


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1,
                                  sampling_rate=1, batch_size=128, shuffle=False, seed=None,
                                  start_index=None, end_index=None):
    """A `Dataset` of sliding windows over a series, with Keras's arguments and semantics.

    Window i holds `data[s, s + r, ..., s + r * (sequence_length - 1)]` for its start
    `s = start_index + i * sequence_stride`; its target is `targets[s - start_index]`... as
    Keras indexes them: both arrays are cut to `[start_index:end_index]` first.
    `shuffle` reorders the windows with `np.random.RandomState(seed)` (as Keras does)
    and then through a buffer of `8 * batch_size` windows on each iteration.
    """
    data = np.asarray(data)
    if start_index:
        if start_index < 0:
            raise ValueError(f"`start_index` must be 0 or greater. Received: "
                             f"start_index={start_index}")
        if start_index >= len(data):
            raise ValueError(f"`start_index` must be lower than the length of the data. "
                             f"Received: start_index={start_index}, for data of length "
                             f"{len(data)}")
    if end_index:
        if start_index and end_index <= start_index:
            raise ValueError(f"`end_index` must be higher than `start_index`. Received: "
                             f"start_index={start_index}, and end_index={end_index} ")
        if end_index >= len(data):
            raise ValueError(f"`end_index` must be lower than the length of the data. "
                             f"Received: end_index={end_index}, for data of length {len(data)}")
        if end_index <= 0:
            raise ValueError(f"`end_index` must be higher than 0. Received: end_index={end_index}")
    for name, value in (("sampling_rate", sampling_rate), ("sequence_stride", sequence_stride)):
        if value <= 0:
            raise ValueError(f"`{name}` must be higher than 0. Received: {name}={value}")
        if value >= len(data):
            raise ValueError(f"`{name}` must be lower than the length of the data. Received: "
                             f"{name}={value}, for data of length {len(data)}")
    start_index = start_index or 0
    end_index = len(data) if end_index is None else end_index
    num_seqs = end_index - start_index - (sequence_length - 1) * sampling_rate
    if targets is not None:
        targets = np.asarray(targets)
        num_seqs = min(num_seqs, len(targets))
    positions = np.arange(0, max(num_seqs, 0), sequence_stride)
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(positions)
    ds = _Windows(data[start_index:end_index],
                  None if targets is None else targets[start_index:end_index],
                  positions, int(sequence_length), int(sampling_rate))
    if batch_size is not None:
        if shuffle:
            ds = ds.shuffle(batch_size * 8, seed=seed)
        return ds.batch(batch_size)
    return ds.shuffle(1024, seed=seed) if shuffle else ds


# ---- splitting ----------------------------------------------------------------------------
def _split_sizes(left_size, right_size, total):
    for name, v in (("left_size", left_size), ("right_size", right_size)):
        if v is not None and type(v) not in (int, float):
            raise TypeError(f"Invalid `{name}` Type. Expected: int or float or None, "
                            f"Received: type({name})={type(v)}.")
    if left_size == 0 and right_size == 0:
        raise ValueError("Both `left_size` and `right_size` are zero. At least one of the "
                         "split sizes must be non-zero.")
    for name, v in (("left_size", left_size), ("right_size", right_size)):
        if (type(v) is int and (v <= 0 or v >= total)) or (
                type(v) is float and (v <= 0 or v >= 1)):
            raise ValueError(f"`{name}` should be either a positive integer smaller than "
                             f"{total}, or a float within the range `[0, 1]`. Received: "
                             f"{name}={v}")
    if type(left_size) is float and type(right_size) is float and left_size + right_size > 1:
        raise ValueError("The sum of `left_size` and `right_size` is greater than 1. It must be "
                         "less than or equal to 1.")
    left = round(left_size * total) if type(left_size) is float else left_size
    right = round(right_size * total) if type(right_size) is float else right_size
    left = total - right if left is None else left
    right = total - left if right is None else right
    if left + right > total:
        raise ValueError(f"The sum of `left_size` and `right_size` should be smaller than the "
                         f"{total}. Received: left_size + right_size = {left + right}and "
                         f"total_length = {total}")
    for split, side in ((left, "left"), (right, "right")):
        if split == 0:
            raise ValueError(f"With `dataset` of length={total}, `left_size`={left} and "
                             f"`right_size`={right}.Resulting {side} side dataset split will be "
                             f"empty. Adjust any of the aforementioned parameters")
    return int(left), int(right)


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None):
    """Split arrays (or a tuple/list/dict of them, or a `Dataset`) into two `Dataset`s.

    Sizes are sample counts (int) or fractions (float); `None` is the complement. With
    `shuffle`, samples are shuffled first with Python's `random.Random(seed)`, in Keras's
    order. A batched `Dataset` is split sample by sample and re-batched with its batch size.
    """
    if right_size is None and left_size is None:
        raise ValueError("At least one of the `left_size` or `right_size` must be specified. "
                         "Received: left_size=None and right_size=None")
    batch_size = None
    if isinstance(dataset, Dataset):
        node = dataset
        while isinstance(node, (_Prefetch, _Cache)):
            node = node._parent
        batch_size = node._size if isinstance(node, _Batch) else None
        samples = list(dataset.unbatch() if batch_size else dataset)
    elif isinstance(dataset, np.ndarray) or isinstance(dataset, (tuple, list, dict)):
        leaves = [np.asarray(a) for a in flatten(dataset)]
        if len({len(a) for a in leaves}) != 1:
            raise ValueError("split_dataset: the arrays must all have the same length, received "
                             f"lengths {[len(a) for a in leaves]}")
        samples = [pack_like(dataset, [a[i] for a in leaves]) if not isinstance(
            dataset, np.ndarray) else leaves[0][i] for i in range(len(leaves[0]))]
    else:
        raise TypeError(f"The `dataset` argument must be either a `Dataset` object, or a "
                        f"list/tuple of arrays. Received: dataset={dataset} of type "
                        f"{type(dataset)}")
    if shuffle:
        if seed is None:
            seed = _py_random.randint(0, int(1e6))
        _py_random.Random(seed).shuffle(samples)
    left, right = _split_sizes(left_size, right_size, len(samples))
    out = []
    for part in (samples[:left], samples[len(samples) - right:]):
        first = part[0]
        leaves = [np.array(col) for col in zip(*(flatten(s) for s in part))]
        ds = Dataset.from_tensor_slices(pack_like(first, leaves) if isinstance(
            first, (tuple, list, dict)) else leaves[0])
        if batch_size:
            ds = ds.batch(batch_size)
        ds.class_names = getattr(dataset, "class_names", None)
        out.append(ds)
    return tuple(out)
