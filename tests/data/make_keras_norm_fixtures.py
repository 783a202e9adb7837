"""Make the Keras-written fixture of the per-sample normalization layers (LayerNormalization,
GroupNormalization, UnitNormalization) that tests/test_norm_keras.py loads.

Run with real Keras 3 (TensorFlow backend), from the repository root:

    /work/tfvenv/bin/python tests/data/make_keras_norm_fixtures.py

It writes into tests/data/:
  keras_norm_layers.keras        a Functional model using the three layers with several
      axes, groups and options, trained a few steps by Keras (gamma and beta moved)
  keras_norm_layers_expected.npz inputs and Keras's predictions
"""
import os
import warnings

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402
from keras import layers  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def model():
    inp = keras.Input((6, 6, 8))
    x = layers.Conv2D(8, 3, padding="same")(inp)
    x = layers.GroupNormalization(groups=4)(x)
    x = layers.GroupNormalization(groups=2, axis=1, center=False, epsilon=0.01)(x)
    x = layers.LayerNormalization(axis=[1, 2, 3])(x)
    x = layers.Reshape((36, 8))(x)
    x = layers.LayerNormalization()(x)
    x = layers.Conv1D(8, 1, activation="relu")(x)
    x = layers.LayerNormalization(axis=1, scale=False)(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x = layers.LayerNormalization(rms_scaling=True)(x)
    x = layers.UnitNormalization()(x)
    x = layers.UnitNormalization(axis=[1, 2])(x)
    x = layers.GroupNormalization(groups=-1)(x)
    x = layers.GlobalAveragePooling1D()(x)
    out = layers.Dense(3, activation="softmax")(x)
    return keras.Model(inp, out)


def main():
    keras.utils.set_random_seed(2468)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 6, 6, 8)).astype("float32") * 2 + 1
    m = model()
    m.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    m.fit(x, rng.integers(0, 3, 64), batch_size=16, epochs=2, verbose=0)
    m.save(os.path.join(HERE, "keras_norm_layers.keras"))
    xt = rng.standard_normal((8, 6, 6, 8)).astype("float32") * 2 + 1
    np.savez(os.path.join(HERE, "keras_norm_layers_expected.npz"), x=xt,
             pred=m.predict(xt, verbose=0),
             weight_names=np.array([w.path for w in m.weights]))


if __name__ == "__main__":
    main()
