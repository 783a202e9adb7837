"""Make tests/data/keras_freeze.npz: what Keras 3 does to Adam's state when a layer is
frozen, then unfrozen, between fits (tests/test_optimizer_slots.py replays it in fastnn).

Run with real Keras 3 (TensorFlow backend), from the repository root:

    python tests/data/make_keras_freeze_fixture.py

Keras keys each optimizer slot by its variable: a frozen layer's moments stay as they
were, the other layers' moments carry on, and unfreezing resumes from the kept moments.
Keras needs `compile` again for a `trainable` change to take effect; the optimizer object
(and its state) is passed back to `compile`.
"""
import os

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    keras.utils.set_random_seed(7)
    rng = np.random.default_rng(7)
    x = rng.normal(size=(48, 5)).astype("float32")
    y = rng.normal(size=(48, 2)).astype("float32")
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="tanh"),
                              keras.layers.Dense(3, activation="tanh"), keras.layers.Dense(2)])
    initial = [w.numpy().copy() for w in model.weights]
    opt = keras.optimizers.Adam(0.05)
    out = {"x": x, "y": y}
    for i, w in enumerate(initial):
        out[f"initial_{i}"] = w
    model.compile(opt, "mse")
    model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    model.layers[1].trainable = False
    model.compile(opt, "mse")
    model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    for i, w in enumerate(model.weights):
        out[f"frozen_{i}"] = w.numpy()
    model.layers[1].trainable = True
    model.compile(opt, "mse")
    model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    for i, w in enumerate(model.weights):
        out[f"final_{i}"] = w.numpy()
    out["n_optimizer_variables"] = np.array(len(opt.variables))
    np.savez(os.path.join(HERE, "keras_freeze.npz"), **out)


if __name__ == "__main__":
    main()
