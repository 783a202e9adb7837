"""Keras-saved models whose optimizer state is Adafactor's, Adam(amsgrad=True)'s and
RMSprop(centered=True, momentum)'s, for tests/test_optimizers_extra.py.

Run with TensorFlow/Keras 3 installed (not a fastnn dependency):
    python tests/data/make_optimizer_state_fixtures.py
        -> tests/data/keras_optstate_{adafactor,amsgrad,centered}.keras, keras_optstate.npz
Each model (Conv2D, Flatten, Dense: variables of rank 1, 2 and 4) is fit two steps, saved,
then fit one more step; the weights after that step are what fastnn must reach from the
file.
"""
import os

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OPTIMIZERS = {
    "adafactor": lambda: keras.optimizers.Adafactor(learning_rate=0.05),
    "amsgrad": lambda: keras.optimizers.Adam(learning_rate=0.01, amsgrad=True),
    "centered": lambda: keras.optimizers.RMSprop(learning_rate=0.01, centered=True,
                                                 momentum=0.5),
}


def main():
    keras.utils.set_random_seed(11)
    rng = np.random.default_rng(11)
    x = rng.normal(size=(16, 5, 5, 2)).astype("float32")
    y = rng.integers(0, 3, size=16)
    out = {"x": x, "y": y}
    for name, make in OPTIMIZERS.items():
        model = keras.Sequential([keras.Input((5, 5, 2)), keras.layers.Conv2D(3, 3),
                                  keras.layers.Flatten(), keras.layers.Dense(3)])
        model.compile(make(), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
        model.save(os.path.join(HERE, f"keras_optstate_{name}.keras"))
        model.fit(x[:8], y[:8], batch_size=8, epochs=1, shuffle=False, verbose=0)
        for i, w in enumerate(model.get_weights()):
            out[f"{name}_{i}"] = w
    np.savez(os.path.join(HERE, "keras_optstate.npz"), **out)
    print("wrote", sorted(out))


if __name__ == "__main__":
    main()
