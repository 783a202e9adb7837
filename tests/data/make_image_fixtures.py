"""Make tests/data/keras_image_ops.npz with real Keras 3 on TensorFlow (run with the TF venv:
/work/tfvenv/bin/python tests/data/make_image_fixtures.py): Keras's resize (bilinear and
nearest, with and without crop_to_aspect_ratio) and affine_transform (each fill mode and
interpolation) on fixed inputs, which tests/test_image_ops.py compares fastnn's kernels with."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
from keras import ops

rng = np.random.default_rng(7)
out = {}
x = rng.uniform(0, 1, (2, 7, 9, 3)).astype(np.float32)
out["x"] = x
for interp in ("bilinear", "nearest"):
    for size in ((4, 5), (11, 6), (7, 9)):
        for crop in (False, True):
            key = f"resize_{interp}_{size[0]}x{size[1]}_{'crop' if crop else 'plain'}"
            out[key] = np.array(ops.image.resize(x, size, interpolation=interp,
                                                 crop_to_aspect_ratio=crop))
angle = np.array([0.4, -1.1], np.float32)
c, s = np.cos(angle), np.sin(angle)
t = np.zeros((2, 8), np.float32)
t[:, 0], t[:, 1], t[:, 3], t[:, 4] = c * 1.3, -s, s, c * 0.8
t[:, 2], t[:, 5] = [3.5, -9.2], [-6.1, 12.7]
out["transforms"] = t
for interp in ("bilinear", "nearest"):
    for mode in ("reflect", "wrap", "nearest", "constant"):
        out[f"warp_{interp}_{mode}"] = np.array(ops.image.affine_transform(
            x, t, interpolation=interp, fill_mode=mode, fill_value=0.25))
np.savez_compressed(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                 "keras_image_ops.npz"), **out)
print(sorted(out))

# A model of the preprocessing and augmentation layers (inference: the augmentations are
# the identity), saved as a .keras file with its predictions.
import keras  # noqa: E402

keras.utils.set_random_seed(1)
norm = keras.layers.Normalization()
norm.adapt(rng.uniform(0, 1, (50, 3)).astype(np.float32))
model = keras.Sequential([
    keras.Input((12, 14, 3)), keras.layers.Rescaling(1 / 255.0, offset=0.1), norm,
    keras.layers.Normalization(axis=None, mean=0.5, variance=2.0, invert=True),
    keras.layers.Resizing(10, 11, crop_to_aspect_ratio=True),
    keras.layers.Resizing(9, 9, interpolation="nearest"), keras.layers.CenterCrop(7, 8),
    keras.layers.RandomFlip("horizontal"), keras.layers.RandomRotation(0.1, fill_mode="wrap"),
    keras.layers.RandomZoom(0.2, 0.1), keras.layers.RandomTranslation(0.1, 0.2),
    keras.layers.RandomContrast(0.3, value_range=(0, 1)),
    keras.layers.RandomBrightness(0.2, value_range=(0, 1)),
    keras.layers.Flatten(), keras.layers.Dense(3)])
xm = rng.uniform(0, 255, (4, 12, 14, 3)).astype(np.float32)
here = os.path.dirname(os.path.abspath(__file__))
model.save(os.path.join(here, "keras_image_layers.keras"))
np.savez_compressed(os.path.join(here, "keras_image_layers_expected.npz"), x=xm,
                    pred=model.predict(xm, verbose=0))
