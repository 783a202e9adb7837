"""Make the Keras-written fixture files that tests/test_saving_keras.py loads.

Run with real Keras 3 (TensorFlow backend) installed, from the repository root:

    python tests/data/make_keras_fixtures.py

It writes, into tests/data/:
  keras_seed_cnn.keras / keras_seed_cnn.weights.h5   the seed CNN, trained briefly on the
      Fashion-MNIST subset shipped with fastnn, Adam state included
  keras_functional.keras   a small Functional model (Add, Concatenate, Activation), SGD
      with momentum, trained a few steps
  keras_fixtures_expected.npz   inputs and the predictions Keras made on them
"""
import os

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def subset():
    with np.load(os.path.join(HERE, "..", "..", "fastnn", "datasets", "data",
                              "fashion_mnist_subset.npz")) as f:
        return f["x_train"], f["y_train"]


def main():
    keras.utils.set_random_seed(1234)
    x, y = subset()
    x = (x[:1024].astype("float32") / 255.0)[..., None]
    y = y[:1024]
    cnn = keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(32, (3, 3), activation="relu"),
        keras.layers.MaxPooling2D((2, 2)),
        keras.layers.Conv2D(64, (3, 3), activation="relu"),
        keras.layers.MaxPooling2D((2, 2)),
        keras.layers.Flatten(),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(10, activation="softmax"),
    ])
    cnn.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    cnn.fit(x, y, batch_size=128, epochs=1, verbose=0)
    cnn.save(os.path.join(HERE, "keras_seed_cnn.keras"))
    cnn.save_weights(os.path.join(HERE, "keras_seed_cnn.weights.h5"))

    inp = keras.Input((8,), name="features")
    a = keras.layers.Dense(6, activation="relu")(inp)
    b = keras.layers.Dense(6, activation="tanh")(inp)
    s = keras.layers.Add()([a, b])
    c = keras.layers.Concatenate()([s, a])
    c = keras.layers.Activation("sigmoid")(c)
    out = keras.layers.Dense(3, activation="softmax")(c)
    fn = keras.Model(inp, out)
    fn.compile(keras.optimizers.SGD(0.05, momentum=0.9), "categorical_crossentropy")
    rng = np.random.default_rng(0)
    xf = rng.standard_normal((64, 8)).astype("float32")
    yf = keras.utils.to_categorical(rng.integers(0, 3, 64), 3)
    fn.fit(xf, yf, batch_size=16, epochs=2, verbose=0)
    fn.save(os.path.join(HERE, "keras_functional.keras"))

    x_check = x[-16:]
    np.savez(os.path.join(HERE, "keras_fixtures_expected.npz"),
             cnn_x=x_check, cnn_pred=cnn.predict(x_check, verbose=0),
             cnn_iterations=int(cnn.optimizer.iterations.numpy()),
             fn_x=xf[:10], fn_pred=fn.predict(xf[:10], verbose=0),
             keras_version=keras.__version__)


if __name__ == "__main__":
    main()
