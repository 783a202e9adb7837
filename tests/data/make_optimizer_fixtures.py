"""Keras's optimizer updates on a fixed gradient sequence, for tests/test_optimizers.py.

Run with TensorFlow/Keras 3 installed (not a fastnn dependency):
    python tests/data/make_optimizer_fixtures.py   ->   tests/data/keras_optimizers.json
Two variables (shapes (3,) and (2, 2)), five steps; records the variables after each step,
the optimizer's variables at the end, and its config.
"""
import json
import os

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402

CASES = [  # (class, kwargs)
    ("Adam", {}), ("AdamW", {}), ("AdamW", {"learning_rate": 0.01, "weight_decay": 0.1}),
    ("Adamax", {"learning_rate": 0.01}), ("Adagrad", {"learning_rate": 0.05}),
    ("Adadelta", {"learning_rate": 1.0}), ("Nadam", {"learning_rate": 0.01}),
    ("Lion", {"learning_rate": 0.01}), ("Ftrl", {"learning_rate": 0.05}),
    ("Ftrl", {"learning_rate": 0.05, "l1_regularization_strength": 0.01,
              "l2_regularization_strength": 0.02, "l2_shrinkage_regularization_strength": 0.03,
              "beta": 0.1, "learning_rate_power": -0.7}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "clipnorm": 0.5}),
    ("SGD", {"learning_rate": 0.1, "global_clipnorm": 0.7}),
    ("RMSprop", {"clipvalue": 0.3, "weight_decay": 0.05}),
    ("Adam", {"learning_rate": 0.01, "weight_decay": 0.02, "clipnorm": 1.0}),
    ("SGD", {"learning_rate": {"class_name": "ExponentialDecay", "config": {
        "initial_learning_rate": 0.1, "decay_steps": 2, "decay_rate": 0.5}}}),
    ("AdamW", {"learning_rate": {"class_name": "CosineDecay", "config": {
        "initial_learning_rate": 0.0, "decay_steps": 3, "warmup_target": 0.05,
        "warmup_steps": 2}}, "weight_decay": 0.1}),
    ("Adam", {"learning_rate": 0.05, "use_ema": True, "ema_momentum": 0.8}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.5, "use_ema": True,
             "ema_overwrite_frequency": 2}),
    ("Adam", {"learning_rate": 0.05, "gradient_accumulation_steps": 2, "clipnorm": 0.5}),
    ("Nadam", {"learning_rate": 0.05, "gradient_accumulation_steps": 3, "use_ema": True}),
]


def build(name, kwargs):
    kwargs = dict(kwargs)
    lr = kwargs.get("learning_rate")
    if isinstance(lr, dict):
        kwargs["learning_rate"] = getattr(keras.optimizers.schedules, lr["class_name"])(
            **lr["config"])
    return getattr(keras.optimizers, name)(**kwargs)


def main():
    rng = np.random.default_rng(15)
    w0 = [rng.normal(size=(3,)), rng.normal(size=(2, 2))]
    grads = [[rng.normal(0, 1.5, size=w.shape) for w in w0] for _ in range(5)]
    grads[2][0][1] = 0.0  # a zero gradient entry
    out = []
    for name, kwargs in CASES:
        opt = build(name, kwargs)
        vs = [keras.Variable(w.astype("float32")) for w in w0]
        steps = []
        for g in grads:
            opt.apply([keras.ops.convert_to_tensor(x.astype("float32")) for x in g], vs)
            steps.append([np.asarray(v).tolist() for v in vs])
        config = json.loads(json.dumps(opt.get_config(), default=lambda o: np.asarray(o).tolist()))
        out.append({"class": name, "kwargs": kwargs, "steps": steps, "config": config,
                    "variables": [np.asarray(v).tolist() for v in opt.variables]})
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keras_optimizers.json")
    with open(path, "w") as f:
        json.dump({"keras_version": keras.__version__, "w0": [w.tolist() for w in w0],
                   "grads": [[x.tolist() for x in g] for g in grads], "cases": out}, f)
    print(f"wrote {len(out)} cases to {path}")


if __name__ == "__main__":
    main()
