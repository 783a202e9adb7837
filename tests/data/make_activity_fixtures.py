"""Keras 3's activity regularizers in fit and evaluate, for tests/test_activity_regularizers.py.

Run with TensorFlow/Keras 3 installed (not a fastnn dependency):
    python tests/data/make_activity_fixtures.py
        -> tests/data/keras_activity_{cnn,rnn}.keras and keras_activity_expected.npz
Two models saved before training (their configs carry the regularizers), then trained two
epochs with SGD in batches of 5 (the last batch of 2: Keras divides each penalty by the
batch size); records the logged losses, the weights after training and evaluate().
"""
import os

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402
from keras import layers, regularizers  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def cnn():
    return keras.Sequential([
        keras.Input((6, 6, 2)),
        layers.Conv2D(3, 3, activation="relu", activity_regularizer=regularizers.l1(0.01)),
        layers.MaxPooling2D(2),
        layers.BatchNormalization(activity_regularizer=regularizers.l2(0.01)),
        layers.Activation("relu"),
        layers.Flatten(),
        layers.Dense(4, activation="tanh", activity_regularizer=regularizers.l2(0.05)),
        layers.Dense(3, activation="softmax",
                     activity_regularizer=regularizers.l1_l2(l1=0.01, l2=0.02)),
    ])


def rnn():
    return keras.Sequential([
        keras.Input((5,), dtype="int32"),
        layers.Embedding(10, 4, activity_regularizer=regularizers.l2(0.1)),
        layers.LSTM(3, return_sequences=True, activity_regularizer=regularizers.l2(0.05)),
        layers.GRU(2, activity_regularizer=regularizers.l1(0.02)),
        layers.Dense(1),
    ])


def main():
    keras.utils.set_random_seed(3)
    rng = np.random.default_rng(3)
    out = {}
    x_img = rng.normal(size=(12, 6, 6, 2)).astype("float32")
    y_img = rng.integers(0, 3, size=12)
    x_seq = rng.integers(0, 10, size=(12, 5)).astype("int32")
    y_seq = rng.normal(size=(12, 1)).astype("float32")
    for name, make, loss, x, y in (("cnn", cnn, "sparse_categorical_crossentropy", x_img, y_img),
                                   ("rnn", rnn, "mse", x_seq, y_seq)):
        model = make()
        model.compile(keras.optimizers.SGD(0.1), loss)
        model.save(os.path.join(HERE, f"keras_activity_{name}.keras"))
        h = model.fit(x, y, batch_size=5, epochs=2, shuffle=False, verbose=0)
        out[f"{name}_history"] = np.asarray(h.history["loss"])
        out[f"{name}_evaluate"] = np.asarray(model.evaluate(x, y, batch_size=5, verbose=0))
        for i, w in enumerate(model.get_weights()):
            out[f"{name}_weight_{i}"] = w
        out[f"{name}_x"], out[f"{name}_y"] = x, y
    np.savez(os.path.join(HERE, "keras_activity_expected.npz"), **out)
    print("wrote", sorted(out))


if __name__ == "__main__":
    main()
