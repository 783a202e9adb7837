"""Keras's Adafactor, Adam/AdamW(amsgrad=True) and RMSprop(centered=True) on a fixed
gradient sequence, for tests/test_optimizers_extra.py.

Run with TensorFlow/Keras 3 installed (not a fastnn dependency):
    python tests/data/make_optimizer_fixtures_extra.py -> tests/data/keras_optimizers_extra.json
Four variables (shapes (3,), (2, 3), (2, 3, 4) and ()), five steps; records the variables
after each step, the optimizer's variables at the end (Keras's order and shapes), its config.
"""
import json
import os

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402

CASES = [  # (class, kwargs)
    ("Adafactor", {}),
    ("Adafactor", {"learning_rate": 0.05, "beta_2_decay": -0.5, "epsilon_2": 1e-2,
                   "clip_threshold": 0.5}),
    ("Adafactor", {"learning_rate": 0.5, "relative_step": False, "clipnorm": 1.0}),
    ("Adam", {"learning_rate": 0.05, "amsgrad": True}),
    ("AdamW", {"learning_rate": 0.05, "amsgrad": True, "weight_decay": 0.1}),
    ("RMSprop", {"learning_rate": 0.01, "centered": True}),
    ("RMSprop", {"learning_rate": 0.01, "centered": True, "momentum": 0.9}),
    ("RMSprop", {"learning_rate": 0.01, "momentum": 0.5}),
]


def main():
    rng = np.random.default_rng(151)
    shapes = [(3,), (2, 3), (2, 3, 4), ()]
    w0 = [rng.normal(size=s) for s in shapes]
    grads = [[rng.normal(0, 1.5, size=s) for s in shapes] for _ in range(5)]
    grads[1][1][0, 2] = 0.0  # a zero gradient entry
    grads[3][0] *= 40.0  # a large gradient: Adafactor's update clipping
    out = []
    for name, kwargs in CASES:
        opt = getattr(keras.optimizers, name)(**kwargs)
        vs = [keras.Variable(np.asarray(w, np.float32)) for w in w0]
        steps = []
        for g in grads:
            opt.apply([keras.ops.convert_to_tensor(np.asarray(x, np.float32)) for x in g], vs)
            steps.append([np.asarray(v).tolist() for v in vs])
        config = json.loads(json.dumps(opt.get_config(), default=lambda o: np.asarray(o).tolist()))
        out.append({"class": name, "kwargs": kwargs, "steps": steps, "config": config,
                    "variables": [np.asarray(v).tolist() for v in opt.variables],
                    "shapes": [list(np.shape(v)) for v in opt.variables]})
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keras_optimizers_extra.json")
    with open(path, "w") as f:
        json.dump({"keras_version": keras.__version__, "w0": [np.asarray(w).tolist() for w in w0],
                   "shapes": [list(s) for s in shapes],
                   "grads": [[np.asarray(x).tolist() for x in g] for g in grads], "cases": out}, f)
    print(f"wrote {len(out)} cases to {path}")


if __name__ == "__main__":
    main()
