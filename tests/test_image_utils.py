"""utils.load_img / img_to_array / array_to_img / save_img (Pillow, an optional extra)."""
import builtins
import io

import numpy as np
import pytest

from fastnn import utils

PIL = pytest.importorskip("PIL")


def test_round_trip_png(tmp_path, rng):
    x = rng.integers(0, 256, (5, 7, 3)).astype(np.float32)
    utils.save_img(tmp_path / "a.png", x, scale=False)
    img = utils.load_img(tmp_path / "a.png")
    assert img.size == (7, 5) and img.mode == "RGB"
    np.testing.assert_array_equal(utils.img_to_array(img), x)
    assert utils.img_to_array(img, data_format="channels_first").shape == (3, 5, 7)
    with open(tmp_path / "a.png", "rb") as f:
        assert utils.load_img(io.BytesIO(f.read())).size == (7, 5)


def test_modes_sizes_and_scaling(tmp_path, rng):
    x = rng.uniform(-1, 1, (6, 8, 4))
    img = utils.array_to_img(x)
    assert img.mode == "RGBA"
    a = utils.img_to_array(img)
    assert a.min() == 0 and a.max() == 255 and a.dtype == np.float32
    gray = utils.array_to_img(np.full((4, 4, 1), 1000.0), scale=False)
    assert gray.mode == "I"
    with pytest.warns(UserWarning, match="JPEG format does not support RGBA"):
        utils.save_img(tmp_path / "b.jpg", x)
    g = utils.load_img(tmp_path / "b.jpg", color_mode="grayscale", target_size=(3, 2),
                       interpolation="bilinear")
    assert g.mode == "L" and g.size == (2, 3)
    assert utils.img_to_array(g).shape == (3, 2, 1)
    k = utils.load_img(tmp_path / "b.jpg", target_size=(4, 4), keep_aspect_ratio=True)
    assert k.size == (4, 4)


def test_errors(tmp_path):
    with pytest.raises(ValueError, match="rank 3"):
        utils.array_to_img(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="Unsupported channel number: 2"):
        utils.array_to_img(np.zeros((2, 2, 2)))
    utils.save_img(tmp_path / "c.png", np.zeros((2, 2, 3)))
    with pytest.raises(ValueError, match="color_mode"):
        utils.load_img(tmp_path / "c.png", color_mode="cmyk")
    with pytest.raises(ValueError, match="Invalid interpolation method"):
        utils.load_img(tmp_path / "c.png", target_size=(3, 3), interpolation="cubic")
    with pytest.raises(TypeError, match="path-like"):
        utils.load_img(3)


def test_missing_pillow_says_how_to_install(monkeypatch):
    real = builtins.__import__

    def fake(name, *args, **kwargs):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError("No module named 'PIL'")
        return real(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(ImportError, match=r'pip install "fastnn\[image\]"'):
        utils.array_to_img(np.zeros((2, 2, 3)))
