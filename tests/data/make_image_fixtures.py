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
