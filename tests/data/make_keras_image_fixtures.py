"""Make the Keras-written fixtures of the image layers (BatchNormalization, pooling,
activation and shape layers) that tests/test_image_layers_keras.py loads.

Run with real Keras 3 (TensorFlow backend), from the repository root:

    /work/tfvenv/bin/python tests/data/make_keras_image_fixtures.py

It writes into tests/data/:
  keras_bn_cnn.keras      Conv2D(no bias) + BatchNormalization + ReLU blocks and the
      other image layers, trained a few steps by Keras (moving statistics moved)
  keras_bn_cnn_expected.npz   inputs, Keras's predictions (inference mode) and the
      output of one training-mode call on a fresh copy (batch statistics)
"""
import os

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402
from keras import layers  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def model():
    inp = keras.Input((12, 12, 3))
    x = layers.Conv2D(8, 3, padding="same", use_bias=False)(inp)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(6, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization(momentum=0.9, epsilon=1e-2, center=False)(x)
    x = layers.Activation("relu")(x)
    x = layers.Flatten()(x)
    x = layers.BatchNormalization(scale=False)(x)
    out = layers.Dense(4, activation="softmax")(x)
    return keras.Model(inp, out)


def main():
    keras.utils.set_random_seed(4321)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((96, 12, 12, 3)).astype("float32") * 2 + 1
    y = rng.integers(0, 4, 96)
    m = model()
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    m.fit(x, y, batch_size=32, epochs=2, verbose=0)
    m.save(os.path.join(HERE, "keras_bn_cnn.keras"))
    xt = rng.standard_normal((8, 12, 12, 3)).astype("float32") * 2 + 1
    pred = m.predict(xt, verbose=0)
    train_out = keras.ops.convert_to_numpy(m(xt, training=True))
    np.savez(os.path.join(HERE, "keras_bn_cnn_expected.npz"), x=xt, pred=pred,
             train_out=train_out)


if __name__ == "__main__":
    main()
