"""Make the Keras-written graph fixture that tests/test_functional_api.py loads.

Run with real Keras 3 installed, from the repository root:

    python tests/data/make_keras_graph_fixtures.py

It writes, into tests/data/:
  keras_nested.keras   a Functional model holding a nested Sequential ("encoder"), a layer
      called twice ("shared"), and a nested two-output Functional ("two"), trained a step
      with Adam
  keras_nested_expected.npz   inputs and the three predictions Keras made on them
"""
import os

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402
from keras import layers  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    keras.utils.set_random_seed(1)
    encoder = keras.Sequential([keras.Input((6,)), layers.Dense(4, activation="relu"),
                                layers.Dense(2)], name="encoder")
    inp = keras.Input((6,), name="x")
    z = encoder(inp)
    shared = layers.Dense(3, name="shared")
    a = shared(z)
    b = shared(layers.Dense(2, name="other")(inp))
    ti = keras.Input((3,), name="ti")
    two = keras.Model(ti, [layers.Dense(1, name="t1")(ti), layers.Dense(2, name="t2")(ti)],
                      name="two")
    o1, o2 = two(layers.Add()([a, b]))
    model = keras.Model(inp, [o1, o2, z], name="outer")
    model.compile("adam", ["mse", "mse", "mse"])
    x = np.random.default_rng(0).random((5, 6)).astype("float32")
    model.fit(x, [np.zeros((5, 1)), np.zeros((5, 2)), np.zeros((5, 2))], epochs=1, verbose=0)
    model.save(os.path.join(HERE, "keras_nested.keras"))
    y = model.predict(x, verbose=0)
    np.savez(os.path.join(HERE, "keras_nested_expected.npz"), x=x, y0=y[0], y1=y[1], y2=y[2],
             keras_version=keras.__version__)


if __name__ == "__main__":
    main()
