"""image/text_dataset_from_directory, timeseries_dataset_from_array, split_dataset: Keras's
semantics (file order, labels, seeded shuffle, validation split, windows, split sizes),
checked against real Keras in /work/tfvenv on folders this test writes, where it exists."""
import json
import os
import subprocess

import numpy as np
import pytest

from fastnn.utils import (Dataset, image_dataset_from_directory, split_dataset,
                          text_dataset_from_directory, timeseries_dataset_from_array)

Image = pytest.importorskip("PIL.Image")
TF_PYTHON = os.environ.get("FASTNN_TF_PYTHON", "/work/tfvenv/bin/python")


def write_images(root, sizes=((20, 24), (16, 16), (30, 18)), per_class=(5, 4, 3), ext="png"):
    rng = np.random.default_rng(0)
    for c, count in enumerate(per_class):
        os.makedirs(root / f"class_{'abc'[c]}", exist_ok=True)
        for i in range(count):
            h, w = sizes[(c + i) % len(sizes)]
            arr = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            Image.fromarray(arr).save(root / f"class_{'abc'[c]}" / f"img_{i:02d}.{ext}")
    (root / "class_a" / "notes.txt").write_text("not an image")
    os.makedirs(root / ".hidden", exist_ok=True)


def write_texts(root):
    for c, words in enumerate((["good", "great", "fine"], ["bad", "awful"])):
        os.makedirs(root / ("neg", "pos")[c], exist_ok=True)
        for i, w in enumerate(words):
            (root / ("neg", "pos")[c] / f"t{i}.txt").write_text(f"{w} movie {i}")


KERAS_SCRIPT = r"""
import json, sys, numpy as np, os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import keras
results = []
for args in json.loads(sys.argv[1]):
    kind = args.pop("kind")
    out = []
    if kind == "image":
        res = keras.utils.image_dataset_from_directory(verbose=False, **args)
    else:
        res = keras.utils.text_dataset_from_directory(verbose=False, **args)
    for ds in (res if isinstance(res, (list, tuple)) else [res]):
        xs, ys = [], []
        for b in ds:
            x, y = b if isinstance(b, tuple) else (b, None)
            xs.append(x.numpy())
            ys.append(None if y is None else y.numpy())
        x = np.concatenate(xs)
        entry = {"file_paths": getattr(ds, "file_paths", None), "class_names": ds.class_names,
                 "shapes": [list(a.shape) for a in xs]}
        if kind == "image":
            entry["x"] = x.astype(float).round(3).tolist()
        else:
            entry["x"] = [t.decode() for t in x]
        entry["y"] = None if ys[0] is None else np.concatenate(ys).tolist()
        out.append(entry)
    results.append(out)
print(json.dumps(results))
"""

IMAGE_CASES = [
    dict(image_size=(16, 16), shuffle=False, batch_size=4),
    dict(image_size=(12, 20), shuffle=False, batch_size=5, label_mode="categorical",
         interpolation="nearest"),
    dict(image_size=(10, 10), shuffle=False, batch_size=3, crop_to_aspect_ratio=True,
         class_names=["class_c", "class_a"]),
    dict(image_size=(10, 10), shuffle=False, batch_size=3, color_mode="grayscale"),
]
SPLIT_CASE = dict(image_size=(8, 8), validation_split=0.25, subset="both", seed=1337,
                  batch_size=2)
TEXT_CASE = dict(shuffle=False, batch_size=2, max_length=6)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """The test folders and what real Keras makes of them (one TensorFlow start-up)."""
    root = tmp_path_factory.mktemp("folders")
    write_images(root / "images")
    write_texts(root / "texts")
    cases = [dict(kind="image", directory=str(root / "images"), **c)
             for c in IMAGE_CASES + [SPLIT_CASE]]
    cases.append(dict(kind="text", directory=str(root / "texts"), **TEXT_CASE))
    if not os.path.exists(TF_PYTHON):
        return root, None
    proc = subprocess.run([TF_PYTHON, "-c", KERAS_SCRIPT, json.dumps(cases)],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode:
        return root, None
    return root, json.loads(proc.stdout.strip().splitlines()[-1])


def keras_result(folders, index):
    if folders[1] is None:
        pytest.skip("no TensorFlow/Keras venv to compare with")
    return folders[1][index]


def ours(ds):
    xs, ys = [], []
    for b in ds:
        x, y = b if isinstance(b, tuple) else (b, None)
        xs.append(x)
        ys.append(y)
    return xs, ys


@pytest.mark.parametrize("index", range(len(IMAGE_CASES)))
def test_images_match_keras_without_shuffling(folders, index):
    options = IMAGE_CASES[index]
    expected = keras_result(folders, index)[0]
    ds = image_dataset_from_directory(str(folders[0] / "images"), verbose=False, **options)
    xs, ys = ours(ds)
    assert ds.class_names == expected["class_names"]
    assert [list(a.shape) for a in xs] == expected["shapes"]
    assert ds.file_paths == expected["file_paths"]
    # grayscale: Pillow's ITU-R 601 luma and libpng's differ by up to one level
    tol = 1.01 if options.get("color_mode") == "grayscale" else 2e-3
    np.testing.assert_allclose(np.concatenate(xs), np.array(expected["x"]), atol=tol)
    np.testing.assert_array_equal(np.concatenate(ys), np.array(expected["y"]))
    assert np.concatenate(xs).dtype == np.float32


def test_seeded_shuffle_and_validation_split_match_keras(folders):
    expected = keras_result(folders, len(IMAGE_CASES))
    tmp_path = folders[0] / "images"
    train, val = image_dataset_from_directory(str(tmp_path), verbose=False, **SPLIT_CASE)
    assert train.file_paths == expected[0]["file_paths"]
    assert val.file_paths == expected[1]["file_paths"]
    assert train.class_names == val.class_names == ["class_a", "class_b", "class_c"]
    # validation is not reshuffled: same batches as Keras; training: same samples
    vx, vy = ours(val)
    np.testing.assert_allclose(np.concatenate(vx), np.array(expected[1]["x"]), atol=2e-3)
    assert np.concatenate(vy).tolist() == expected[1]["y"]
    tx, ty = ours(train)
    assert sorted(np.concatenate(ty).tolist()) == sorted(expected[0]["y"])
    one = image_dataset_from_directory(str(tmp_path), image_size=(8, 8), verbose=False,
                                       validation_split=0.25, subset="validation", seed=1337)
    assert one.file_paths == val.file_paths


def test_texts_match_keras(folders):
    expected = keras_result(folders, len(IMAGE_CASES) + 1)[0]
    ds = text_dataset_from_directory(str(folders[0] / "texts"), verbose=False, **TEXT_CASE)
    xs, ys = ours(ds)
    assert [str(t) for t in np.concatenate(xs)] == expected["x"]
    assert np.concatenate(ys).tolist() == expected["y"]
    assert ds.class_names == expected["class_names"] == ["neg", "pos"]


def test_directory_errors(tmp_path):
    write_images(tmp_path)
    with pytest.raises(ValueError, match="must provide a `seed`"):
        image_dataset_from_directory(str(tmp_path), validation_split=0.2, subset="training")
    with pytest.raises(ValueError, match="If `subset` is set"):
        image_dataset_from_directory(str(tmp_path), subset="training", seed=1)
    with pytest.raises(ValueError, match="exactly 2"):
        image_dataset_from_directory(str(tmp_path), label_mode="binary", verbose=False)
    with pytest.raises(ValueError, match="`color_mode` must be one of"):
        image_dataset_from_directory(str(tmp_path), color_mode="cmyk")
    with pytest.raises(ValueError, match="did not match the names"):
        image_dataset_from_directory(str(tmp_path), class_names=["nope"])
    with pytest.raises(ValueError, match="Could not find directory"):
        image_dataset_from_directory(str(tmp_path / "missing"))
    os.makedirs(tmp_path / "empty" / "x")
    with pytest.raises(ValueError, match="No images found"):
        image_dataset_from_directory(str(tmp_path / "empty"), verbose=False)


def test_labels_list_and_none(tmp_path, capsys):
    write_images(tmp_path, per_class=(2, 2, 0))
    ds = image_dataset_from_directory(str(tmp_path), labels=[1, 0, 1, 0], shuffle=False,
                                      image_size=(4, 4))
    assert "Found 4 files belonging to 2 classes." in capsys.readouterr().out
    assert np.concatenate(ours(ds)[1]).tolist() == [1, 0, 1, 0]
    images = image_dataset_from_directory(str(tmp_path), labels=None, image_size=(4, 4),
                                          verbose=False)
    assert next(iter(images)).shape == (4, 4, 4, 3)


def test_timeseries_matches_keras_semantics():
    data = np.arange(100)
    ds = timeseries_dataset_from_array(data[:-10], data[10:], sequence_length=10,
                                       sampling_rate=2, sequence_stride=3, batch_size=4,
                                       start_index=5, end_index=60)
    xs, ys = ours(ds)
    x, y = np.concatenate(xs), np.concatenate(ys)
    # windows of the series cut to [5:60): starts 5, 8, ...; targets cut the same way
    starts = np.arange(5, 60 - 18, 3)
    np.testing.assert_array_equal(x, starts[:, None] + 2 * np.arange(10))
    np.testing.assert_array_equal(y, starts + 10)
    assert [len(b) for b in xs][:-1] == [4] * (len(xs) - 1)
    shuffled = timeseries_dataset_from_array(data, None, 5, batch_size=8, shuffle=True, seed=4)
    got = np.concatenate(list(shuffled))
    assert sorted(got[:, 0].tolist()) == list(range(96))
    expected_positions = np.arange(96)
    np.random.RandomState(4).shuffle(expected_positions)
    plain = timeseries_dataset_from_array(data, None, 5, batch_size=None, shuffle=False)
    assert len(list(plain)) == 96
    with pytest.raises(ValueError, match="`sampling_rate` must be higher than 0"):
        timeseries_dataset_from_array(data, None, 5, sampling_rate=0)


def test_split_dataset():
    x, y = np.arange(10), np.arange(10) * 2
    left, right = split_dataset((x, y), left_size=0.8)
    assert len(left) == 8 and len(right) == 2
    assert [int(a) for a, _ in right] == [8, 9]
    left, right = split_dataset((x, y), left_size=3, right_size=2, shuffle=True, seed=5)
    import random
    order = list(range(10))
    random.Random(5).shuffle(order)  # Keras: random.seed(seed); random.shuffle(...)
    assert [int(a) for a, _ in left] == order[:3] and [int(a) for a, _ in right] == order[-2:]
    batched = Dataset.from_tensor_slices(x).batch(4).prefetch(2)
    left, right = split_dataset(batched, right_size=0.3)
    assert [b.tolist() for b in left] == [[0, 1, 2, 3], [4, 5, 6]]
    left, right = split_dataset(Dataset.from_tensor_slices(x).prefetch(2), left_size=2)
    assert [int(a) for a in left] == [0, 1] and len(right) == 8
    with pytest.raises(ValueError, match="At least one of"):
        split_dataset((x, y))
    with pytest.raises(ValueError, match="`left_size` should be"):
        split_dataset(x, left_size=1.5)


def test_load_img_img_to_array_save_img(tmp_path):
    from fastnn.utils import array_to_img, img_to_array, load_img, save_img
    rng = np.random.default_rng(1)
    arr = rng.integers(0, 256, (12, 20, 3)).astype(np.float32)
    save_img(tmp_path / "a.png", arr, scale=False)
    img = load_img(tmp_path / "a.png")
    np.testing.assert_array_equal(img_to_array(img), arr)
    assert img_to_array(load_img(tmp_path / "a.png", target_size=(6, 10))).shape == (6, 10, 3)
    assert img_to_array(load_img(tmp_path / "a.png", color_mode="grayscale")).shape == (12, 20, 1)
    assert img_to_array(img, data_format="channels_first").shape == (3, 12, 20)
    assert array_to_img(arr).size == (20, 12)
    with pytest.raises(ValueError, match="color_mode"):
        load_img(tmp_path / "a.png", color_mode="cmyk")
    with pytest.raises(ValueError, match="Invalid interpolation"):
        load_img(tmp_path / "a.png", target_size=(3, 3), interpolation="fancy")


def test_misnamed_and_broken_image_files(tmp_path):
    """The decoder is picked by extension, then by content: a PNG named .jpg loads; a file
    no decoder reads is an error naming it."""
    from PIL import Image
    for c in ("a", "b"):
        (tmp_path / c).mkdir()
    pixels = np.arange(64, dtype=np.uint8).reshape(8, 8)
    Image.fromarray(pixels).save(tmp_path / "a" / "x.png")
    Image.fromarray(pixels).save(tmp_path / "b" / "y.png")
    os.rename(tmp_path / "b" / "y.png", tmp_path / "b" / "y.jpg")
    ds = image_dataset_from_directory(tmp_path, color_mode="grayscale", image_size=(8, 8),
                                      shuffle=False, verbose=False)
    images, labels = next(iter(ds))
    np.testing.assert_array_equal(images[..., 0], np.stack([pixels, pixels]))
    (tmp_path / "b" / "z.png").write_bytes(b"not an image at all")
    ds = image_dataset_from_directory(tmp_path, color_mode="grayscale", image_size=(8, 8),
                                      shuffle=False, verbose=False)
    with pytest.raises(Exception, match="cannot identify image file .*z.png"):
        list(ds)
