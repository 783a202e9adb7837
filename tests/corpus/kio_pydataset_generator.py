# Corpus program, written after: https://keras.io/guides/training_with_built_in_methods/
#   (keras-io guides/training_with_built_in_methods.py, "Training & evaluation with the
#   built-in methods": the sections "Using a keras.utils.PyDataset object" and
#   "Using sample weighting and class weighting" (class_weight), Apache-2.0)
# Same Keras calls in the same order; shrunk: 600/200 samples, 1 epoch per fit; data: the
# local Fashion-MNIST subset in place of keras.datasets.mnist.load_data().
import math

import numpy as np
import keras
from keras import layers

import _corpus_data


def get_uncompiled_model():
    inputs = keras.Input(shape=(784,), name="digits")
    x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    return model


def get_compiled_model():
    model = get_uncompiled_model()
    model.compile(
        optimizer="rmsprop",
        loss="sparse_categorical_crossentropy",
        metrics=["sparse_categorical_accuracy"],
    )
    return model


(x_train, y_train), (x_test, y_test) = _corpus_data.fashion_mnist()
x_train = x_train.reshape(600, 784).astype("float32") / 255
x_test = x_test.reshape(200, 784).astype("float32") / 255
y_train = y_train.astype("float32")
y_test = y_test.astype("float32")
x_val, y_val = x_train[-100:], y_train[-100:]
x_train, y_train = x_train[:-100], y_train[:-100]


class ExamplePyDataset(keras.utils.PyDataset):
    def __init__(self, x, y, batch_size, **kwargs):
        super().__init__(**kwargs)
        self.x = x
        self.y = y
        self.batch_size = batch_size

    def __len__(self):
        return int(np.ceil(len(self.x) / float(self.batch_size)))

    def __getitem__(self, idx):
        batch_x = self.x[idx * self.batch_size : (idx + 1) * self.batch_size]
        batch_y = self.y[idx * self.batch_size : (idx + 1) * self.batch_size]
        return batch_x, batch_y


train_py_dataset = ExamplePyDataset(x_train, y_train, batch_size=32)
val_py_dataset = ExamplePyDataset(x_val, y_val, batch_size=32)

model = get_compiled_model()
model.fit(train_py_dataset, validation_data=val_py_dataset, epochs=1)


# A Python generator, as the guide's "fit on any iterable" shows
def batches(x, y, batch_size):
    while True:
        for i in range(0, len(x), batch_size):
            yield x[i : i + batch_size], y[i : i + batch_size]


model.fit(batches(x_train, y_train, 64), steps_per_epoch=math.ceil(len(x_train) / 64),
          epochs=1)

class_weight = {
    0: 1.0,
    1: 1.0,
    2: 1.0,
    3: 1.0,
    4: 1.0,
    # Set weight "2" for class "5",
    # making this class 2x more important
    5: 2.0,
    6: 1.0,
    7: 1.0,
    8: 1.0,
    9: 1.0,
}

print("Fit with class weight")
model = get_compiled_model()
model.fit(x_train, y_train, class_weight=class_weight, batch_size=64, epochs=1)

print("Evaluate on test data")
results = model.evaluate(ExamplePyDataset(x_test, y_test, batch_size=64))
print("test loss, test acc:", results)
